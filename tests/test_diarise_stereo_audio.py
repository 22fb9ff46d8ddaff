"""Stereo diarisation end to end on synthesised audio: Piper -> ingest -> whisper tiny.en -> diarise."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("piper") is None:
    pytest.skip("needs the [synth] extra (piper is not installed)", allow_module_level=True)

from pipeline.config import load_config  # noqa: E402
from pipeline.diarise import diarise, load_diarise_options  # noqa: E402
from pipeline.lab.eval_diarise import evaluate_call  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.lab.synth import synthesize_script  # noqa: E402
from pipeline.transcribe import load_whisper, transcribe  # noqa: E402
from tests._diarise_support import SCRIPT  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory):
    result = synthesize_script(SCRIPT, tmp_path_factory.mktemp("diar_stereo"), layout="stereo", voice_pair="similar")
    config = load_config()
    recording = ingest(result.audio_path, config.ingest)
    transcript = transcribe(recording, config.transcribe, load_whisper(config.transcribe, config.models))
    return recording, transcript, result.truth


def test_stereo_audio_roles_words_and_overlap(stereo_call):
    recording, transcript, truth = stereo_call
    assert recording.n_channels == 2 and recording.metadata.channel_map == ["agent", "customer"]
    result = diarise(recording, transcript, load_diarise_options())
    assert result.method == "stereo-channels"
    assert result.roles.source == "sidecar" and not result.roles.flagged
    scores = evaluate_call(truth, result)
    assert scores.role_word_accuracy == 1.0  # one party per channel: every word is attributable
    assert scores.overlaps == 1 and scores.overlaps_detected == 1
    assert scores.der is not None and scores.der < 0.2


def test_stereo_roles_inferred_without_any_map(stereo_call):
    recording, transcript, _ = stereo_call
    bare = recording.model_copy(update={"metadata": recording.metadata.model_copy(update={"channel_map": None})})
    result = diarise(bare, transcript, load_diarise_options(overrides={"channel_map": None}))
    assert result.roles.source == "evidence"
    assert result.roles.mapping == {"channel:0": "agent", "channel:1": "customer"}
    assert result.roles.confidence >= 0.9 and not result.roles.flagged
