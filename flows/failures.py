"""What an exception may carry out of a task: its kind and a message without input values.

Prefect stores a failed task's exception (its state, its result storage) and logs its traceback
with every chained cause. A pydantic error quotes the offending value (`input_value=...`), a
library's message may quote the data, and an `InputError` names the file (a telephony export names
files by the caller's number). So `process_call` raises a `TaskFailure` instead, built by
`wrap_failure` with the chain cut off: the kind, a reason code, a message with no path or value,
and whether a retry may help (decided before the chain is dropped).
"""

from __future__ import annotations

import re

from pipeline.errors import CallqaError, ConfigError, InputError, ModelUnavailableError, StageError

__all__ = ["TaskFailure", "wrap_failure", "safe_message"]

# pydantic's "input_value=..., input_type=..." and anything after it on the line
_INPUT_VALUE = re.compile(r"input_value=.*", re.IGNORECASE)
_FATAL = (ModelUnavailableError, ConfigError)


class TaskFailure(Exception):
    """A task's failure as Prefect may keep it.

    Attributes:
        kind: the original exception's class name.
        reason: a reason code (InputError.reason, "stage_error", "config", "model", "internal_error").
        message: what was wrong, without file names or input values.
        transient: a retry may help (I/O, database connection).
        fatal: the batch cannot go on (no model, bad configuration).
    """

    def __init__(self, kind: str, reason: str, message: str, transient: bool = False, fatal: bool = False):
        super().__init__(kind, reason, message, transient, fatal)
        self.kind, self.reason, self.message = kind, reason, message
        self.transient, self.fatal = transient, fatal

    def __str__(self) -> str:
        return f"{self.kind} ({self.reason}): {self.message}"


def safe_message(exc: BaseException) -> str:
    """The exception's message without its path prefix or any quoted input value."""
    if isinstance(exc, InputError):
        text = str(exc).removeprefix(f"{exc.path}: ")
    elif isinstance(exc, CallqaError):
        text = str(exc)
    else:
        return f"internal error ({type(exc).__name__}); see the worker's log for where it happened"
    return _INPUT_VALUE.sub("input_value=<withheld>", text)


def wrap_failure(exc: BaseException, *, transient: bool) -> TaskFailure:
    """The `TaskFailure` to raise (`from None`) in place of `exc`."""
    if isinstance(exc, TaskFailure):
        return exc
    if isinstance(exc, InputError):
        reason = exc.reason
    elif isinstance(exc, ConfigError):
        reason = "config"
    elif isinstance(exc, ModelUnavailableError):
        reason = "model"
    elif isinstance(exc, (StageError, CallqaError)):
        reason = "stage_error"
    else:
        reason = "internal_error"
    return TaskFailure(type(exc).__name__, reason, safe_message(exc), transient=transient,
                       fatal=isinstance(exc, _FATAL))
