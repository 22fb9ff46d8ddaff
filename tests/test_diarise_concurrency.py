"""The shared mono diariser in parallel threads (issue #16): each call keeps its own frame features.

The diariser used to take a call's CAM++ frame features off the shared pipeline after releasing
its lock, so a second call that took the lock in between could hand its features to the first
(speakers then mislabelled by the word-level refinement). The test makes that interleaving
certain rather than lucky: the lock is wrapped so that the first call, having released it, waits
until the second call's features exist before going on. Real models, two real mono recordings.
"""

from __future__ import annotations

import importlib.util
import threading

import numpy as np
import pytest

if importlib.util.find_spec("pyannote") is None:
    pytest.skip("needs the [diarise] extra (pyannote.audio is not installed)", allow_module_level=True)

from pipeline.config import load_config  # noqa: E402
from pipeline.diarise import load_diarise_options, load_diariser  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from tests._paths import SAMPLE_CALLS  # noqa: E402

pytestmark = pytest.mark.slow

SR = 16000
WAIT_S = 120.0  # generous: two shared CPU cores


@pytest.fixture(scope="module")
def calls() -> dict[str, np.ndarray]:
    """Two different mono calls of different lengths, from the bundled samples."""
    options = load_config().ingest
    mono = ingest(SAMPLE_CALLS / "sample-002.flac", options).audio[0]
    stereo = ingest(SAMPLE_CALLS / "sample-004.flac", options).audio
    return {"a": np.ascontiguousarray(mono[: 20 * SR]), "b": np.ascontiguousarray(stereo.mean(axis=0)[: 12 * SR])}


@pytest.fixture(scope="module")
def diariser():
    return load_diariser(load_diarise_options(overrides={"device": "cpu"}))


class _HoldAfterRelease:
    """The diariser's lock, except that the first release by `holder` waits for `until` to be set."""

    def __init__(self, inner: threading.Lock, holder: list[threading.Thread], until: threading.Event):
        self.inner, self.holder, self.until, self.held_once = inner, holder, until, False

    def __enter__(self):
        self.inner.acquire()
        return self

    def __exit__(self, *exc):
        self.inner.release()
        if not self.held_once and self.holder and threading.current_thread() is self.holder[0]:
            self.held_once = True
            self.until.wait(WAIT_S)
        return False


def _run(diariser, audio, hook=None):
    return diariser.run(audio, SR, min_speakers=1, max_speakers=3, hook=hook)


def test_two_mono_calls_in_parallel_each_get_their_own_features(diariser, calls, monkeypatch):
    sequential = {name: _run(diariser, audio).features for name, audio in calls.items()}
    for name, features in sequential.items():
        assert features is not None
        assert abs(features.shape[1] - len(calls[name]) / SR / 0.02) <= 2  # CAM++ frames: one per 20 ms

    a_inside, b_has_features = threading.Event(), threading.Event()
    first: list[threading.Thread] = []
    monkeypatch.setattr(diariser, "_lock", _HoldAfterRelease(diariser._lock, first, b_has_features))
    results, errors = {}, []

    def hook_a(step, completed, total):
        a_inside.set()

    def hook_b(step, completed, total):
        if step == "embeddings":  # pyannote's embedding step starts once this call's features are computed
            b_has_features.set()

    def worker(name, hook, wait_for=None):
        try:
            if wait_for is not None:
                assert wait_for.wait(WAIT_S)
            results[name] = _run(diariser, calls[name], hook)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            b_has_features.set()

    thread_a = threading.Thread(target=worker, args=("a", hook_a))
    thread_b = threading.Thread(target=worker, args=("b", hook_b, a_inside))
    first.append(thread_a)
    thread_a.start()
    thread_b.start()
    thread_a.join(2 * WAIT_S)
    thread_b.join(2 * WAIT_S)
    assert not errors, errors
    assert b_has_features.is_set(), "the second call never reached its embeddings while the first waited"
    for name in calls:
        features = results[name].features
        assert features is not None, f"call {name} lost its features"
        assert features.shape == sequential[name].shape, f"call {name} got another call's features"
        assert np.allclose(features.cpu().numpy(), sequential[name].cpu().numpy(), atol=1e-4)
