"""Speech regions (pipeline/vad.py) on synthesised telephone audio: Piper's voice at 8 kHz, hold music.

The case that matters: hold music on the agent's channel, then the agent's return about 0.4 s
after the music stops. Music and return form one energy island; Silero must still find the
return from its first word, and must not call the music speech.
"""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("piper") is None:
    pytest.skip("needs the [synth] extra (piper is not installed)", allow_module_level=True)

from pipeline.config import VadOptions, load_config  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.lab.synth import synthesize_script  # noqa: E402
from pipeline.lab.scripts import CallScript, ScriptTurn  # noqa: E402
from pipeline.vad import SAMPLE_RATE, energy_islands, speech_regions  # noqa: E402

SCRIPT = CallScript(
    call_id="vad-test-001",
    channel_type="telephone",
    organisation="Larchfield Water",
    agent_name="Sam",
    turns=[
        ScriptTurn(speaker="customer", text="Hi, I'd like to check when my next payment is due."),
        ScriptTurn(speaker="agent", hold_s=60.0, text="No problem, bear with me one moment while I find that."),
        ScriptTurn(speaker="agent", text="Right, I've had a look at that for you. Your next payment goes out on the first."),
    ],
)


@pytest.fixture(scope="module")
def held_call(tmp_path_factory):
    result = synthesize_script(SCRIPT, tmp_path_factory.mktemp("vad_hold"), layout="stereo")
    config = load_config()
    recording = ingest(result.audio_path, config.ingest)
    agent = recording.audio[result.truth.channel_map.index("agent")]
    return result.truth, agent, config.transcribe.vad_parameters


def _covered(regions: list[dict[str, int]], start_s: float, end_s: float) -> float:
    inside = sum(max(0, min(end_s * SAMPLE_RATE, r["end"]) - max(start_s * SAMPLE_RATE, r["start"])) for r in regions)
    return inside / ((end_s - start_s) * SAMPLE_RATE)


def test_return_after_hold_music_is_speech_from_its_first_word(held_call):
    truth, agent, options = held_call
    hold = truth.holds[0]
    back = truth.turns[hold.after_turn + 1]
    assert hold.audio == "music" and back.speaker == "agent"
    # The premise: music and the return are one energy island, so islands alone cannot separate them.
    assert any(s <= hold.end_s * SAMPLE_RATE and back.start_s * SAMPLE_RATE < e for s, e in energy_islands(agent, options))
    regions = speech_regions(agent, options)
    assert _covered(regions, back.start_s, back.end_s) == pytest.approx(1.0)
    assert _covered(regions, hold.start_s + 1.0, hold.end_s - 1.0) < 0.1


def test_one_silero_run_per_island_lags_the_return(held_call):
    # Why the windows exist: with Silero's state carried over 60 s of music (window 0), the
    # return's opening words are missed. If this starts passing, Silero changed and the
    # windows may no longer be needed.
    truth, agent, options = held_call
    back = truth.turns[truth.holds[0].after_turn + 1]
    whole_island = VadOptions(**{**options.model_dump(), "silero_window_s": 0.0})
    assert _covered(speech_regions(agent, whole_island), back.start_s, back.start_s + 1.0) < 0.9


def test_without_windows_the_regions_are_faster_whispers(held_call):
    # The hysteresis over combined scores is ours; with one run per island it must give what
    # faster-whisper's own get_speech_timestamps gives on each island.
    from faster_whisper.vad import VadOptions as SileroOptions
    from faster_whisper.vad import get_speech_timestamps

    _, agent, options = held_call
    whole_island = VadOptions(**{**options.model_dump(), "silero_window_s": 0.0})
    silero = SileroOptions(threshold=options.threshold, min_speech_duration_ms=options.min_speech_duration_ms,
                           min_silence_duration_ms=options.min_silence_duration_ms, speech_pad_ms=options.speech_pad_ms)
    theirs = []
    for start, end in energy_islands(agent, options):
        for c in get_speech_timestamps(agent[start:end], silero):
            if theirs and c["start"] + start <= theirs[-1][1]:
                theirs[-1] = (theirs[-1][0], max(theirs[-1][1], c["end"] + start))
            else:
                theirs.append((c["start"] + start, c["end"] + start))
    ours = [(r["start"], r["end"]) for r in speech_regions(agent, whole_island)]
    assert len(theirs) >= 2 and ours == theirs


def test_window_below_one_second_is_refused():
    with pytest.raises(ValueError, match="silero_window_s"):
        VadOptions(silero_window_s=0.25)
