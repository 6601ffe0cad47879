"""Where the kernel runs, and what that front end needs before mjnb's widgets can show.

Google Colab renders only its own built-in widgets until its *custom widget manager* is enabled;
without it an ipycanvas canvas (the CanvasEditor) shows as an error instead of a picture.  The
widgets package calls :func:`enable_colab_widgets` when it is first imported, so a Colab user needs
no extra cell; elsewhere (JupyterLab, Notebook 7, VS Code, Voilà, Binder) it does nothing.

Colab docs: "Third-party Jupyter widgets" (``google.colab.output.enable_custom_widget_manager``).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

__all__ = ["in_colab", "enable_colab_widgets", "COLAB_WIDGETS_LINE"]

#: The one line a Colab user runs by hand when mjnb could not enable the widget manager itself.
COLAB_WIDGETS_LINE = "from google.colab import output; output.enable_custom_widget_manager()"

_enabled = False


def in_colab() -> bool:
    """Whether this Python process is a Google Colab kernel.

    Colab's kernel imports ``google.colab`` before the first cell runs, so its presence in
    ``sys.modules`` is the sign; a process that merely has the package installed but does not run
    in Colab (``COLAB_RELEASE_TAG`` unset) is not taken for Colab.

    Returns:
        True in a Colab kernel, False anywhere else.  Never imports anything outside Colab.
    """
    if "google.colab" in sys.modules:
        return True
    if not os.environ.get("COLAB_RELEASE_TAG"):  # set by Colab's runtime for every process it starts
        return False
    try:
        importlib.import_module("google.colab")
    except ImportError:
        return False
    return True


def enable_colab_widgets() -> bool:
    """Enable Colab's custom widget manager so that ipycanvas (the CanvasEditor) renders there.

    Outside Colab this does nothing.  In Colab it calls
    ``google.colab.output.enable_custom_widget_manager()`` once per process.  If that fails (an old
    or changed Colab), the widgets still import: a ``RuntimeWarning`` says what failed and gives the
    one line to run by hand (:data:`COLAB_WIDGETS_LINE`).

    Returns:
        True when the custom widget manager is enabled (now or by an earlier call); False outside
        Colab or when enabling it failed (after the warning).

    Raises:
        Nothing: a failure to enable is reported as a ``RuntimeWarning``, never hidden.

    Colab docs: https://colab.research.google.com/notebooks/widgets.ipynb ("Third-party widgets").
    """
    global _enabled
    if _enabled:
        return True
    if not in_colab():
        return False
    try:
        # As ``from google.colab import output``: an attribute of the package, else its submodule.
        colab = importlib.import_module("google.colab")
        output = getattr(colab, "output", None) or importlib.import_module("google.colab.output")
        output.enable_custom_widget_manager()
    except Exception as exc:  # any failure in Colab's own code: the user can still do it by hand
        warnings.warn(
            f"mjnb could not enable Colab's custom widget manager ({type(exc).__name__}: {exc}); "
            f"the image canvas will not show until you run this line in a cell: {COLAB_WIDGETS_LINE}",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    _enabled = True
    return True
