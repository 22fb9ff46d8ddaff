"""Paths the tests share: the bundled samples and the shared labelled datasets."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "pipeline" / "samples"
SAMPLE_CALLS = SAMPLES / "calls"
SAMPLE_TRUTH = SAMPLES / "truth"
DATASETS = REPO.parent / "shared" / "datasets"
DEV_CALLS = DATASETS / "dev_calls"
