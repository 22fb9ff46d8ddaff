"""Detect stage: LASS, complaint, SLA / compliance / timing events, needs and sales behaviours.

    options = load_detect_options()            # configs/detect.yaml + sla.yaml + lexicons/
    models = load_detect_models(options)       # spaCy + sentence embeddings, once per process
    detection = detect(turns, channel_type="telephone", options=options, models=models)
"""

from pipeline.detect.core import Detection, detect
from pipeline.detect.lass import LassAssessment, LassStage, assess_lass, call_lass
from pipeline.detect.models import DetectModels, load_detect_models
from pipeline.detect.options import DetectOptions, load_detect_options

__all__ = [
    "Detection",
    "detect",
    "DetectOptions",
    "load_detect_options",
    "DetectModels",
    "load_detect_models",
    "LassAssessment",
    "LassStage",
    "assess_lass",
    "call_lass",
]
