"""Paths the tests share: the bundled samples and the labelled datasets shipped in tests/data.

Every test takes its data paths from here, and nothing here points outside the repository: the
tests pass on a fresh clone with nothing beside it (tests/data/SCHEMA.md describes the format).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "pipeline" / "samples"
SAMPLE_CALLS = SAMPLES / "calls"
SAMPLE_TRUTH = SAMPLES / "truth"
DATASETS = REPO / "tests" / "data"
DEV_CALLS = DATASETS / "dev_calls"
DETECT_HELDOUT = DATASETS / "detect_heldout"
REDACTION_HELDOUT = DATASETS / "redaction_heldout"
