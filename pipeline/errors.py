"""The one exception tree of callqa.

    CallqaError
     ├── ConfigError            a configuration file or value is wrong (names file, key, allowed)
     ├── ModelUnavailableError  a model is missing, unknown, or fails its hash check
     ├── InputError             one input file cannot be used (bad audio, sidecar or transcript)
     └── StageError             a stage failed on good input (a bug or a transient fault)

Messages never contain personal data: they name files, keys and reasons, not the content of a
recording or a transcript.
"""

from __future__ import annotations

__all__ = ["CallqaError", "ConfigError", "ModelUnavailableError", "InputError", "StageError"]


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
