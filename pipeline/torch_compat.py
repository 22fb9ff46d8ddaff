"""Import torchaudio beside the CPU build of torch.

The torchaudio wheel on the package index is built against a different torch; its native library
fails to load beside the pinned CPU torch (OSError). pyannote.audio and transformers import
torchaudio but only use its pure-Python parts (resampling, kaldi fbank), so torchaudio is
re-imported with its native extension marked unavailable, the state torchaudio itself reports
when built without it. Call this before anything that imports transformers or pyannote.
"""

from __future__ import annotations

import logging
import sys
import threading
import types

__all__ = ["import_torchaudio"]

log = logging.getLogger(__name__)
_IMPORT_LOCK = threading.Lock()


def import_torchaudio() -> types.ModuleType:
    """Import torchaudio, without its native extension when that cannot load.

    The native library of the index's torchaudio wheel is linked against CUDA torch; beside the CPU
    build it raises OSError at import. Everything pyannote uses (functional.resample,
    compliance.kaldi) is pure Python, so torchaudio is re-imported with its `_extension` module
    standing in as "not available", the same state torchaudio reports when built without it.

    Returns:
        The torchaudio module.
    """
    with _IMPORT_LOCK:
        try:
            import torchaudio

            return torchaudio
        except OSError as e:
            log.info("torchaudio's native extension does not load (%s); using its pure-Python parts", type(e).__name__)
            for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
                del sys.modules[name]
        stub = types.ModuleType("torchaudio._extension")
        stub._IS_TORCHAUDIO_EXT_AVAILABLE = False  # type: ignore[attr-defined]
        stub._IS_ALIGN_AVAILABLE = False  # type: ignore[attr-defined]

        def fail_if_no_align(func):  # noqa: ANN001, ANN202 - mirrors torchaudio's decorator
            def unavailable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                raise RuntimeError("torchaudio forced alignment needs its native extension")

            return unavailable

        stub.fail_if_no_align = fail_if_no_align  # type: ignore[attr-defined]
        sys.modules["torchaudio._extension"] = stub
        import torchaudio

        return torchaudio
