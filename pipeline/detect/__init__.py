"""Detect stage: LASS, complaint, SLA / compliance / timing events, needs and sales behaviours.

    options = load_detect_options()            # configs/detect.yaml + sla.yaml + lexicons/
    models = load_detect_models(options)       # spaCy + sentence embeddings, once per process
    detection = detect(turns, channel_type="telephone", options=options, models=models)

The names below load on first use, so that importing the package (settings, the CLI) stays
cheap; spaCy and sentence-transformers load only inside `load_detect_models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from pipeline.detect.core import Detection, detect
    from pipeline.detect.lass import LassAssessment, LassStage, assess_lass, call_lass
    from pipeline.detect.models import DetectModels, load_detect_models
    from pipeline.detect.options import DetectOptions, load_detect_options

# public name -> the submodule that defines it
_EXPORTS = {
    "Detection": "core",
    "detect": "core",
    "DetectOptions": "options",
    "load_detect_options": "options",
    "DetectModels": "models",
    "load_detect_models": "models",
    "LassAssessment": "lass",
    "LassStage": "lass",
    "assess_lass": "lass",
    "call_lass": "lass",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
