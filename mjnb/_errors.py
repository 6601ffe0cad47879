"""mjnb's exceptions, one hierarchy::

    MjnbError
    ├── APIError                  the server answered with an error (status, code, message)
    │   ├── AuthenticationError   401/403, bad or missing key
    │   ├── RateLimitError        429, queue full, quota; carries retry_after when known
    │   ├── ValidationError       the request was refused as invalid (also raised before
    │   │                         sending, for bad input, with ``field`` set)
    │   ├── ModerationError       banned prompt / content policy; carries banned_word
    │   ├── TaskNotFound          unknown task id
    │   └── ServerError           5xx, system failure
    ├── TransportError            no usable answer: connection refused, reset, timeout
    ├── SubmitUncertain           a paid submit may or may not have created a job; it is
    │                             journaled and never resent silently
    ├── TaskFailed                the job ended in failure; carries the Task
    ├── TaskTimeout               wait() gave up; carries the last Task seen
    ├── UnsupportedOperation      the dialect does not offer this operation
    └── JournalError              the journal could not record a submit; carries the Task
                                  (when the job was created) so its id is never lost

Every APIError carries the dialect's own ``code`` and ``message`` as received.  No error
text ever contains an API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Sequence

    from ._models import Task

__all__ = [
    "MjnbError",
    "APIError",
    "AuthenticationError",
    "RateLimitError",
    "ValidationError",
    "ModerationError",
    "TaskNotFound",
    "ServerError",
    "TransportError",
    "SubmitUncertain",
    "TaskFailed",
    "TaskTimeout",
    "UnsupportedOperation",
    "JournalError",
]


class MjnbError(Exception):
    """Base of every mjnb error."""


class APIError(MjnbError):
    """The server answered with an error.

    ``status_code`` is the HTTP status (None for client-side validation), ``code`` and
    ``message`` are the dialect's own (``code`` may be an int or a string), ``dialect``
    names the wire dialect and ``body`` keeps the decoded error payload.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | int | None = None,
        dialect: str | None = None,
        body: Any = None,
        job_may_exist: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: The service's request id for support (AceData ``trace_id``), when it gives one.
        self.trace_id: str | None = None
        #: True when the server says it failed *after* a job may have been created upstream
        #: (a gateway that lost the upstream answer): a submit is then treated as uncertain.
        self.job_may_exist = job_may_exist
        self.status_code = status_code
        self.code = code
        self.dialect = dialect
        self.body = body

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.dialect and f"[{self.dialect}]",
                self.status_code is not None and f"HTTP {self.status_code}",
                self.code is not None and f"code {self.code}",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class AuthenticationError(APIError):
    """The key was missing, wrong or lacks the rights for this call."""


class RateLimitError(APIError):
    """Too many requests, a full queue or an exhausted quota."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ValidationError(APIError):
    """The request is invalid.  ``field`` names the offending input when known."""

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field


class ModerationError(APIError):
    """The prompt or image was refused by moderation."""

    def __init__(self, message: str, *, banned_word: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.banned_word = banned_word


class TaskNotFound(APIError):
    """The server knows no task with this id."""


class ServerError(APIError):
    """The server failed (5xx or a system-failure code)."""


class TransportError(MjnbError):
    """No usable answer reached us: refused, reset, timed out, or not HTTP at all."""


class SubmitUncertain(MjnbError):
    """A submit was sent but its outcome is unknown: a job may exist and may be billed.

    It is recorded in the journal under ``journal_id`` and is never resent silently.  Look
    for it with ``client.tasks()`` or the server's own listing before submitting again.
    """

    def __init__(
        self, message: str, *, operation: str, journal_id: int | None, cause: BaseException | None = None
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.journal_id = journal_id
        self.__cause__ = cause


class TaskFailed(MjnbError):
    """The job ended in failure or was cancelled; ``task`` holds its last state."""

    def __init__(self, task: Task) -> None:
        reason = task.fail_reason or "no reason given"
        code = f" (code {task.error_code})" if task.error_code is not None else ""
        super().__init__(f"task {task.id} on {task.dialect} {task.status.value}: {reason}{code}")
        self.task = task


class TaskTimeout(MjnbError):
    """wait() gave up before the job reached a final state; ``task`` is the last one seen."""

    def __init__(self, task: Task, timeout: float, unfinished: Sequence[Task] = ()) -> None:
        progress = "unknown" if task.progress is None else f"{task.progress}%"
        more = f" ({len(unfinished)} tasks unfinished in all)" if len(unfinished) > 1 else ""
        super().__init__(
            f"task {task.id} on {task.dialect} still {task.status.value} (progress {progress}) "
            f"after {timeout:g} s{more}; it keeps running on the server: wait() on it again"
        )
        self.task = task
        self.timeout = timeout
        #: Every task still unfinished when wait_all / as_completed gave up (just ``task`` for wait).
        self.unfinished: tuple[Task, ...] = tuple(unfinished) or (task,)


class UnsupportedOperation(MjnbError):
    """The dialect has no such operation; ``supported_by`` names dialects that do."""

    def __init__(self, dialect: str, operation: str, supported_by: tuple[str, ...] = ()) -> None:
        hint = f"; offered by: {', '.join(supported_by)}" if supported_by else ""
        super().__init__(f"{operation!r} is not supported by the {dialect} dialect{hint}")
        self.dialect = dialect
        self.operation = operation
        self.supported_by = supported_by


class JournalError(MjnbError):
    """The journal (SQLite) could not record a submit.

    Raised *before* sending when the row that must precede a paid submit cannot be written
    (nothing was sent), or *after* an accepted submit when its task id could not be written
    in time: ``task`` then holds the created job, and the journal keeps the id in memory and
    writes it once the database is free.  ``journal_id`` is the row concerned, when known.
    """

    def __init__(self, message: str, *, task: Task | None = None, journal_id: int | None = None) -> None:
        super().__init__(message)
        self.task = task
        self.journal_id = journal_id
