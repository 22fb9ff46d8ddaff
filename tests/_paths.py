"""Paths the tests share: the bundled samples and the labelled datasets shipped in tests/data."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "pipeline" / "samples"
SAMPLE_CALLS = SAMPLES / "calls"
SAMPLE_TRUTH = SAMPLES / "truth"
DATASETS = REPO / "tests" / "data"
DEV_CALLS = DATASETS / "dev_calls"
