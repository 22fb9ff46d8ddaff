"""The assessor workflow over the results index: queue, decisions, feedback, calibration, export."""

from pipeline.review._legacy import *  # noqa: F401,F403  (split into modules by the review refactor)
from pipeline.review._legacy import __all__  # noqa: F401
