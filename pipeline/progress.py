"""The one progress-hook shape every long step reports through.

    hook(step, completed, total)

`step` names what is counted ("calls", "transcribe", "embeddings", "turns", ...), `completed`
how many are done, `total` how many there are (None when unknown). The shape is pyannote.audio's
hook without the artefact: stages call it, the CLI turns it into a progress bar, the flows into
log lines. Stages never print.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ProgressHook", "prefixed"]


class ProgressHook(Protocol):
    def __call__(self, step: str, completed: int, total: int | None) -> None: ...


def prefixed(hook: ProgressHook | None, prefix: str) -> ProgressHook | None:
    """The same hook with `prefix/` before each step (a call's stages inside a batch)."""
    if hook is None:
        return None

    def inner(step: str, completed: int, total: int | None) -> None:
        hook(f"{prefix}/{step}", completed, total)

    return inner
