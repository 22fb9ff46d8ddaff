"""Turn loudness (LUFS, ITU-R BS.1770), speaking rate and raised-voice moments (issue #18).

Controlled input: tones and noise whose level is set in dB read back within a margin; a
synthesised (Piper) stereo call whose customer channel is 12 dB louder on one turn yields one
voice.raised event on that turn, with basis objective, and none without the boost.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.detect.experience import load_experience_options
from pipeline.detect.loudness import LoudnessOptions, raised_voice_events, speaking_rates, turn_loudness
from pipeline.schema import Turn

SR = 16000


def _tone(seconds: float, dbfs: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _turn(i: int, speaker: str, start: float, end: float, *, channel: int | None = None, text: str = "a b c") -> Turn:
    return Turn(index=i, speaker=speaker, start_s=start, end_s=end, text=text, channel=channel)


def test_a_tone_10_db_louder_reads_10_lu_louder():
    audio = np.concatenate([_tone(3.0, -30.0), _tone(3.0, -20.0)])[None, :]
    quiet, loud = turn_loudness(audio, SR, [_turn(0, "customer", 0.0, 3.0), _turn(1, "customer", 3.0, 6.0)])
    assert loud - quiet == pytest.approx(10.0, abs=0.3)
    # BS.1770 reads a full-scale 1 kHz sine at about -3 LUFS: -30 dBFS peak is about -33 LUFS.
    assert quiet == pytest.approx(-33.0, abs=1.0)


def test_each_turn_is_measured_on_its_own_channel_and_silence_or_short_turns_have_none():
    agent = _tone(4.0, -20.0, 500.0)
    customer = np.concatenate([np.zeros(2 * SR, np.float32), _tone(2.0, -35.0, 700.0)])
    audio = np.stack([agent, customer])
    turns = [_turn(0, "agent", 0.0, 2.0, channel=0), _turn(1, "customer", 0.0, 2.0, channel=1),
             _turn(2, "customer", 2.0, 4.0, channel=1), _turn(3, "customer", 3.0, 3.2, channel=1),
             _turn(4, "agent", None, None, channel=0)]
    values = turn_loudness(audio, SR, turns)
    assert values[0] == pytest.approx(-23.0 - 0.0, abs=1.5)  # -20 dBFS sine at 500 Hz
    assert values[1] is None  # the customer's channel is silent there, though the agent speaks
    assert values[2] == pytest.approx(-38.0, abs=1.5)
    assert values[3] is None and values[4] is None  # under one 400 ms block; no times


def test_speaking_rate_is_words_over_the_turn_span():
    rates = speaking_rates([_turn(0, "agent", 1.0, 3.0, text="one two three four five"),
                            _turn(1, "customer", None, None), _turn(2, "customer", 5.0, 5.1)])
    assert rates == [2.5, None, None]


def test_raised_voice_needs_a_margin_over_the_speakers_own_median():
    options = LoudnessOptions(raised_lu=8.0, min_turns=4)
    turns = [_turn(i, "customer" if i % 2 else "agent", i * 2.0, i * 2.0 + 1.5) for i in range(12)]
    # customer turns 1, 3, 5, 7, 9, 11; the agent's loud turns never count.
    levels = {1: -30.0, 3: -29.0, 5: -31.0, 7: -19.5, 9: -30.5, 11: -24.0}
    loudness = [levels.get(i, -10.0) for i in range(12)]
    events = raised_voice_events(turns, loudness, options)
    assert [e.turn_index for e in events] == [7]  # 10.5 LU over the median; turn 11 is only 6
    e = events[0]
    assert e.kind == "voice.raised" and e.basis == "objective" and e.speaker == "customer"
    assert "LU louder" in e.evidence and e.start_s == 14.0
    # Too few customer turns: no median to speak of, no event.
    assert raised_voice_events(turns[:6], loudness[:6], options) == []


def test_packaged_thresholds_load():
    options = load_experience_options()
    assert options.loudness.raised_lu == 8.0 and options.loudness.speakers == ["customer"]
    assert options.sentiment.model == "turn-sentiment"


@pytest.fixture(scope="module")
def synthesised_call(tmp_path_factory):
    """A Piper-voiced stereo call (agent ch0, customer ch1) at 16 kHz and its timing truth."""
    import soundfile as sf

    from pipeline.lab.scripts import CallScript
    from pipeline.lab.synth import synthesize_script

    lines = [
        ("agent", "Good morning, Northwind Energy, how can I help?"),
        ("customer", "Hello, I'm calling about my latest bill, please."),
        ("agent", "Of course, can I take the account number?"),
        ("customer", "Yes, it is on the letter in front of me here."),
        ("agent", "Thank you, I can see the account now."),
        ("customer", "The bill is three times what I normally pay each month."),
        ("agent", "I understand, let me look at the readings."),
        ("customer", "I have sent the readings every month on the app."),
        ("agent", "I can see an estimate was used instead."),
        ("customer", "So can you correct it and send me a new bill then?"),
        ("agent", "Yes, I will correct it today."),
        ("customer", "Thank you, that is all I wanted to know today."),
    ]
    script = CallScript(call_id="loud-001", channel_type="telephone",
                        turns=[{"speaker": s, "text": t} for s, t in lines])
    out = tmp_path_factory.mktemp("loud")
    synth = synthesize_script(script, out, layout="stereo", sample_rate=SR, audio_format="wav")
    audio, sr = sf.read(synth.audio_path, dtype="float32", always_2d=True)
    assert sr == SR
    return audio.T.copy(), synth.truth


def _turns(truth) -> list[Turn]:
    return [Turn(index=t.index, speaker=t.speaker, start_s=t.start_s, end_s=t.end_s, text=t.text, channel=t.channel)
            for t in truth.turns]


@pytest.mark.slow
def test_a_customer_turn_boosted_12_db_is_one_raised_voice_moment(synthesised_call):
    audio, truth = synthesised_call
    turns = _turns(truth)
    options = load_experience_options().loudness
    target = turns[5]  # a customer turn in the middle of the call
    assert target.speaker == "customer" and target.channel == 1

    plain = turn_loudness(audio, SR, turns)
    assert all(v is not None for v in plain)
    assert raised_voice_events(turns, plain, options) == []  # the synthesised voice stays within a few LU

    # The customer's channel 12 dB up on the target turn only (float samples: nothing clips).
    boosted = audio.copy()
    a, b = int(target.start_s * SR), int(target.end_s * SR)
    boosted[1, a:b] *= 10 ** (12 / 20)
    loud = turn_loudness(boosted, SR, turns)
    assert loud[5] - plain[5] == pytest.approx(12.0, abs=0.3)
    assert [loud[i] for i in range(12) if i != 5] == [plain[i] for i in range(12) if i != 5]
    events = raised_voice_events(turns, loud, options)
    assert [(e.turn_index, e.kind, e.basis, e.speaker) for e in events] == [(5, "voice.raised", "objective", "customer")]


def test_the_detection_evaluation_neither_credits_nor_counts_a_measured_event_as_a_miss():
    from pipeline.detect import Detection
    from pipeline.lab.eval_detect import score_events
    from pipeline.lab.scripts import CallScript
    from pipeline.schema import Event, Metrics

    script = CallScript(call_id="ev-001", channel_type="telephone",
                        turns=[{"speaker": "agent", "text": "Hello.", "labels": ["call.greeting"]},
                               {"speaker": "customer", "text": "This is NOT good enough!"}])
    events = [Event(kind=k, turn_index=i, start_s=None, end_s=None, speaker=s, evidence="", confidence=0.9,
                    detector="test", basis="objective")
              for k, i, s in (("call.greeting", 0, "agent"), ("voice.raised", 1, "customer"))]
    scores = score_events([script], {"ev-001": Detection(events=events, metrics=Metrics(), sla=[], lass=[])})
    assert scores.turn_micro_f1 == 1.0 and scores.errors == []
