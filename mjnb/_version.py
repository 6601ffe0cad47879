"""The version, in one place (read by the build backend, ``mjnb.__version__`` and the User-Agent)."""

__version__ = "0.2.0"
