"""The one exception tree of callqa.

    CallqaError
     ├── ConfigError            a configuration file or value is wrong (names file, key, allowed)
     ├── ModelUnavailableError  a model is missing, unknown, or fails its hash check
     ├── InputError             one input file cannot be used (bad audio, sidecar or transcript)
     ├── StageError             a stage failed on good input (a bug or a transient fault)
     ├── ReviewError            a review action was refused (unknown call, card finalised, ...)
     ├── UserError              an account change was refused (bad name, role or password)
     └── AuthError              a login was refused (bad credentials, rate limited)
          └── LoginRequired     no session: the web app redirects to /login (pages) or answers 401

Every command maps these to one exit-code table (pipeline/cli/_common.py, README "Exit codes").

Messages never contain personal data: they name files, keys and reasons, not the content of a
recording or a transcript.
"""

from __future__ import annotations

__all__ = ["CallqaError", "ConfigError", "ModelUnavailableError", "InputError", "StageError", "ReviewError",
           "UserError", "AuthError", "LoginRequired"]


class CallqaError(Exception):
    """Base of every error callqa raises on purpose."""


class ConfigError(CallqaError):
    """A configuration file or value is invalid.

    Attributes:
        file: the file the bad value came from (or "<defaults>").
        key: the dotted key path of the bad value, when known.
    """

    def __init__(self, message: str, *, file: str = "<defaults>", key: str | None = None):
        self.file = file
        self.key = key
        where = f"{file}" + (f", key '{key}'" if key else "")
        super().__init__(f"{where}: {message}")


class ModelUnavailableError(CallqaError):
    """A model named in the manifest cannot be loaded (missing, unknown or corrupt)."""

    def __init__(self, message: str, *, model: str):
        self.model = model
        super().__init__(f"model '{model}': {message}")


class InputError(CallqaError):
    """One input file cannot be processed; the batch records it as failed and goes on.

    Attributes:
        path: the input file.
        reason: a short machine-readable reason code (e.g. "empty", "corrupt", "too_short").
    """

    def __init__(self, message: str, *, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {message}")


class StageError(CallqaError):
    """A pipeline stage failed on input that passed ingest."""

    def __init__(self, message: str, *, stage: str, call_id: str | None = None):
        self.stage = stage
        self.call_id = call_id
        super().__init__(f"stage '{stage}'" + (f" (call {call_id})" if call_id else "") + f": {message}")


class ReviewError(CallqaError):
    """A review action was refused (unknown call or item, card finalised, items pending, ...).

    Attributes:
        call_id: the call concerned, when known.
        reason: a short code: unknown_call, unknown_item, finalised, pending, bad_value,
            reason_required, no_suggestion, already_self_assessed, unknown_action.
    """

    def __init__(self, message: str, *, reason: str, call_id: str | None = None):
        self.call_id = call_id
        self.reason = reason
        super().__init__((f"call {call_id}: " if call_id else "") + message)


class UserError(CallqaError):
    """An account change was refused (bad name, role or password; unknown or existing user)."""


class AuthError(CallqaError):
    """A login was refused. reason: bad_credentials | rate_limited | login_required."""

    def __init__(self, message: str, *, reason: str):
        self.reason = reason
        super().__init__(message)


class LoginRequired(AuthError):
    """No valid session; the web app turns it into a redirect to /login (pages) or 401 (API)."""

    def __init__(self, message: str = "log in first"):
        super().__init__(message, reason="login_required")
