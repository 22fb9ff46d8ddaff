"""Test-wide setup: a redaction key for the run (the pipeline refuses to run without one), the
`gpu` marker's skip on a machine without a GPU, a watch that fails the run if anything reads the
project's shared/ folder beside the checkout, and the shared pipeline run over the dev calls.

Markers (pyproject.toml): slow, postgres, browser, gpu. Data paths: tests/_paths.py.
"""

import os

# A fixed test key: digests in test outputs are reproducible and never meant to be secret.
os.environ.setdefault("CALLQA_REDACTION_KEY", "callqa-test-key-0123456789abcdef")


import logging  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


# The tests stand alone: CI runs them in a fresh clone with the project's shared/ folder beside
# it, so a test (or a default in the code) that reads ../shared would pass there and fail on a
# clone with nothing beside it. Python's audit events see every file opened and folder listed in
# this process; reads under shared/ are recorded here and fail the run at the end (recorded, not
# raised, so the watch never changes what a test does).
_SHARED = str(Path(__file__).resolve().parents[2] / "shared")
_SHARED_READS: list[str] = []


def _watch_shared(event: str, args: tuple) -> None:
    if event not in ("open", "os.listdir", "os.scandir") or not args or not isinstance(args[0], (str, os.PathLike)):
        return
    path = os.path.abspath(args[0])
    if isinstance(path, str) and (path == _SHARED or path.startswith(_SHARED + os.sep)):
        _SHARED_READS.append(path)


sys.addaudithook(_watch_shared)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SHARED_READS:
        first = sorted(set(_SHARED_READS))[:5]
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(
            f"tests read outside the repository ({len(_SHARED_READS)} times, under {_SHARED}), e.g. {first}: "
            "use the data in tests/data (tests/_paths.py)", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _cuda_devices() -> int:
    """CUDA devices as faster-whisper sees them (ctranslate2: no torch import just for this)."""
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked `gpu` on a machine without a CUDA GPU (CI has none); they run with
    `pytest -m gpu` on a GPU host. Looks for a GPU only when such a test is selected."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_items and _cuda_devices() == 0:
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none found); run `pytest -m gpu` on a GPU host")
        for item in gpu_items:
            item.add_marker(skip)


@dataclass
class DevCallRun:
    """One run of the whole pipeline over every dev call with audio (see `dev_call_run`)."""

    out: Path
    call_ids: list[str]
    log_lines: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def detect_setup():
    """Detection options and models (spaCy, MiniLM), loaded once for every detection test."""
    from pipeline.detect import load_detect_models, load_detect_options

    options = load_detect_options()
    return options, load_detect_models(options)


@pytest.fixture(scope="session")
def detector(detect_setup):
    """detector([(speaker, text), ...], channel_type) -> Detection, on untimed turns."""
    from pipeline.detect import detect
    from pipeline.schema import Turn

    options, models = detect_setup

    def run(script: list[tuple[str, str]], channel_type: str = "telephone"):
        turns = [Turn(index=i, speaker=sp, start_s=None, end_s=None, text=text) for i, (sp, text) in enumerate(script)]
        return detect(turns, channel_type=channel_type, options=options, models=models)

    return run


@pytest.fixture(scope="session")
def dev_call_run(tmp_path_factory) -> DevCallRun:
    """Synthesise every telephone and face-to-face dev call (stereo 8 kHz, as a phone system
    records) and run the whole pipeline on them once, capturing every log line at DEBUG.

    Shared by the slow tests that need the pipeline's real outputs for the dev calls (the
    re-transcription of audio.redacted.wav, the search for PII in every output): one run,
    not one per test.
    """
    from pipeline.ingest import discover_inputs
    from pipeline.run import Models, run_batch
    from pipeline.settings import load_settings
    from pipeline.lab.scripts import load_scripts
    from tests._paths import DEV_CALLS
    from tests._synth_support import synthesise_all

    inputs = tmp_path_factory.mktemp("dev_inputs")
    scripts = [script for script in load_scripts(DEV_CALLS) if script.channel_type != "digital"]
    # One process per core: the calls are independent and Piper uses one core.
    synthesise_all(scripts, inputs, layout="stereo", sample_rate=8000, audio_format="wav", hold_audio="silence")
    call_ids = [script.call_id for script in scripts]
    shutil.rmtree(inputs / "truth")  # the synthesiser's truth holds the script: not an input
    out = tmp_path_factory.mktemp("dev_out")
    run = DevCallRun(out=out, call_ids=call_ids)
    handler = _Collect(run.log_lines)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        settings = load_settings()
        summary = run_batch(discover_inputs([inputs]), out, settings, Models(settings))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert summary.counts()["failed"] == 0, [o.to_json() for o in summary.failed]
    return run
