"""Hub access off while a model loads: weights come from local files only."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["hub_offline"]

_KEYS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Set the Hugging Face offline flags for the duration of a load, then restore them.

    Scoped, not global: a loader must never reach a model hub, but importing callqa must not
    change the caller's environment either.
    """
    saved = {k: os.environ.get(k) for k in _KEYS}
    os.environ.update({k: "1" for k in _KEYS})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
