"""The GPU path of `callqa bench --device cuda`: whether CUDA is there, and which Whisper models to
measure on it (tiny.en and every larger one the model store holds)."""

from __future__ import annotations

from pipeline.config import ModelsOptions
from pipeline.errors import ModelUnavailableError

__all__ = ["cuda_missing", "gpu_models", "GPU_COMMAND"]

GPU_COMMAND = "callqa bench --device cuda --quick --json-file bench-cuda.json --plot bench-cuda.png"


def cuda_missing() -> str | None:
    """Why the GPU path cannot run here (None when CTranslate2 and PyTorch both see a CUDA device).

    faster-whisper runs on CTranslate2 and pyannote on PyTorch: the path measures both on the GPU,
    so both must see one.
    """
    try:
        import ctranslate2

        ct2 = ctranslate2.get_cuda_device_count()
    except Exception as e:  # noqa: BLE001 - a CUDA-less build raises rather than counting 0
        return f"CTranslate2 cannot query CUDA ({type(e).__name__})"
    try:
        import torch

        torch_ok = torch.cuda.is_available()
        torch_build = torch.version.cuda
    except ImportError:
        torch_ok, torch_build = False, None
    if ct2 == 0:
        return "CTranslate2 sees no CUDA device (faster-whisper would run on the CPU)"
    if not torch_ok:
        build = f"a CUDA {torch_build} build" if torch_build else "a CPU-only build"
        return f"PyTorch ({build}) sees no CUDA device (pyannote would run on the CPU)"
    return None


def gpu_models(first: str, options: ModelsOptions | None = None) -> list[str]:
    """`first` (tiny.en) and every Whisper model listed after it in the manifest that the model
    store holds, smallest first (the manifest lists them so)."""
    from pipeline.models import load_manifest, resolve_model

    names = [m.name for m in load_manifest(options).models if m.kind == "whisper"]
    later = names[names.index(first) + 1:] if first in names else names
    present = []
    for name in later:
        try:
            resolve_model(name, options)
        except ModelUnavailableError:
            continue
        present.append(name)
    return [first, *present]
