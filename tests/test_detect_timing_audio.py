"""Timing metrics end to end on synthesised audio: Piper -> ingest -> whisper tiny.en -> diarise -> measure.

A short stereo call in our own words with a lead-in, an interruption, dead air and a music hold;
every timing metric must agree with the synthesiser's timing truth within 0.3 s.
"""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("piper") is None:
    pytest.skip("needs the [synth] extra (piper is not installed)", allow_module_level=True)

from pipeline.config import load_config  # noqa: E402
from pipeline.lab.eval_detect import score_timing  # noqa: E402
from pipeline.detect.options import load_detect_options  # noqa: E402
from pipeline.detect.timing import measure  # noqa: E402
from pipeline.diarise import diarise, load_diarise_options  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.lab.synth import synthesize_script  # noqa: E402
from pipeline.lab.scripts import CallScript, ScriptTurn  # noqa: E402
from pipeline.transcribe import load_whisper, transcribe  # noqa: E402

pytestmark = pytest.mark.slow

SCRIPT = CallScript(
    call_id="timing-test-001",
    channel_type="telephone",
    organisation="Hillside Energy",
    agent_name="Jo",
    turns=[
        ScriptTurn(speaker="agent", pause_before_s=1.7, text="Good afternoon, Hillside Energy, Jo speaking. How can I help?"),
        ScriptTurn(speaker="customer", text="Hello, my direct debit went out twice this month and I need it sorted."),
        ScriptTurn(speaker="agent", overlap_s=0.8, text="Oh dear, I can certainly check that for you right away."),
        ScriptTurn(speaker="customer", pause_before_s=6.0, text="Thanks. It was forty pounds both times."),
        ScriptTurn(speaker="agent", hold_s=8.0, text="Let me pop you on hold while I look."),
        ScriptTurn(speaker="agent", text="Thanks for waiting. The second payment will be refunded by Friday."),
        ScriptTurn(speaker="customer", text="That's great, thank you."),
    ],
)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    result = synthesize_script(SCRIPT, tmp_path_factory.mktemp("timing_stereo"), layout="stereo")
    config = load_config()
    recording = ingest(result.audio_path, config.ingest)
    transcript = transcribe(recording, config.transcribe, load_whisper(config.transcribe, config.models))
    turns = diarise(recording, transcript, load_diarise_options()).turns
    timing = load_detect_options().timing
    return result.truth, timing, turns, measure(turns, [], timing, audio=recording.audio, sample_rate=16000)


def test_audio_timing_agrees_with_truth_within_0_3_s(measured):
    truth, timing, _, metrics = measured
    assert len(truth.holds) == 1 and len(truth.overlaps) == 1
    assert [s for s in truth.silences if s.end_s - s.start_s >= timing.silence_min_s]
    scores = score_timing({truth.call_id: truth}, {truth.call_id: metrics},
                          silence_min_s=timing.silence_min_s, overtalk_min_s=timing.overtalk_min_s)
    assert scores.count_errors == {"holds": 0, "silences": 0, "overtalk": 0}
    assert scores.matched == {"holds": [1, 1, 1], "silences": [1, 1, 1], "overtalk": [1, 1, 1]}
    for name in ("greeting_latency_s", "silences_start_s", "silences_end_s", "overtalk_start_s", "overtalk_end_s",
                 "holds_start_s", "holds_end_s"):
        assert scores.max_abs_error_s[name] <= 0.3, (name, scores.max_abs_error_s[name])
    [ot] = metrics.overtalk
    assert (ot.interrupter, ot.interrupted) == ("agent", "customer")
    assert metrics.holds[0].detected_from == ["music"]


def test_word_times_alone_are_coarser_than_the_audio(measured):
    # The same turns without the audio: the metric still exists, but from Whisper's word times.
    truth, timing, turns, with_audio = measured
    words_only = measure(turns, [], timing)
    assert words_only.greeting_latency_s is not None
    assert abs(with_audio.greeting_latency_s - truth.greeting_latency_s) <= abs(
        words_only.greeting_latency_s - truth.greeting_latency_s) + 0.02
