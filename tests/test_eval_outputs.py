"""`callqa eval`'s redaction measurement (pipeline.lab.eval_outputs) on controlled inputs: muted speech,
over-redaction in audio, transcript recall and payment counting, without any model."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.lab.eval_outputs import (
    FRAME_S,
    SAMPLE_RATE,
    CallRedactionScore,
    count_near,
    heard_text,
    muted_frames,
    score_call,
    summarise,
)
from pipeline.lab.eval_redact import value_leaks
from pipeline.lab.scripts import CallScript
from pipeline.lab.truth import CallTruth, TruthTurn

TEXT = "My card number is four one one one and that is all."
VALUE = "four one one one"


def _script() -> CallScript:
    return CallScript.model_validate({
        "call_id": "t-1", "channel_type": "telephone",
        "turns": [{"speaker": "customer", "text": TEXT, "pii": [{"type": "CREDIT_CARD", "text": VALUE}]}],
    })


def _truth(start: float = 1.0, end: float = 6.0) -> CallTruth:
    turn = TruthTurn(index=0, speaker="customer", text=TEXT, start_s=start, end_s=end, channel=None,
                     pii=_script().turns[0].pii)
    return CallTruth(call_id="t-1", channel_type="telephone", layout="mono", sample_rate=8000, duration_s=7.0,
                     channel_map=None, turns=[turn], greeting_latency_s=None,
                     talk_time_s={"agent": 0.0, "customer": end - start})


def _audio(seconds: float = 7.0, speech: tuple[float, float] = (1.0, 6.0)) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(seconds * SAMPLE_RATE)
    x = rng.standard_normal(n) * 1e-3  # noise floor
    a, b = (int(t * SAMPLE_RATE) for t in speech)
    t = np.arange(b - a) / SAMPLE_RATE
    x[a:b] += 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))  # "speech"
    return x[None, :].astype(np.float32)


def _mute(audio: np.ndarray, t0: float, t1: float, tone: bool = False) -> np.ndarray:
    out = audio.copy()
    a, b = int(t0 * SAMPLE_RATE), int(t1 * SAMPLE_RATE)
    out[:, a:b] = 0.1 * np.sin(2 * np.pi * 1000 * np.arange(b - a) / SAMPLE_RATE) if tone else 0.0
    return out


@pytest.mark.parametrize("tone", [False, True])
def test_muted_frames_finds_silence_and_tone_and_nothing_else(tone):
    original = _audio()
    n = int(7.0 / FRAME_S)
    assert not muted_frames(original, original, n)[0, 50:300].any()
    muted = muted_frames(original, _mute(original, 2.0, 3.0, tone), n)[0]
    assert abs(muted[50:300].sum() * FRAME_S - 1.0) <= 2 * FRAME_S


def test_over_redaction_in_audio_counts_non_value_speech_only():
    original, script, truth = _audio(), _script(), _truth()
    # The value sits at characters 18..34 of 51: about 2.8-4.3 s of the 1-6 s turn.
    only_value = score_call(script, truth, redacted_text="", original_audio=original,
                            redacted_audio=_mute(original, 2.8, 4.3), margin_s=0.35)
    speech, muted = only_value.audio_speech_s
    assert speech == pytest.approx(5.0 - (1.5 + 0.7), abs=0.1)
    assert muted <= 0.1
    assert only_value.pii_speech_s[1] == pytest.approx(1.5, abs=0.1)
    whole_turn = score_call(script, truth, redacted_text="", original_audio=original,
                            redacted_audio=_mute(original, 1.0, 6.0), margin_s=0.35)
    assert whole_turn.audio_speech_s[1] == pytest.approx(whole_turn.audio_speech_s[0], abs=0.05)
    withheld = score_call(script, truth, redacted_text="", original_audio=original, redacted_audio=None,
                          audio_withheld=True)
    assert withheld.audio_withheld and withheld.audio_speech_s[1] == withheld.audio_speech_s[0]


def test_a_value_counts_as_exposed_by_time_when_half_its_speech_is_left_unmuted():
    """The time proxy needs no re-listen: the value (about 2.8-4.3 s) muted in full, or all but its
    edges, is not exposed; muted for a third of it, or not at all, it is - and counted as payment."""
    original, script, truth = _audio(), _script(), _truth()

    def exposed(t0: float, t1: float) -> dict[str, int]:
        return score_call(script, truth, redacted_text="", original_audio=original,
                          redacted_audio=_mute(original, t0, t1)).exposed

    assert exposed(2.7, 4.4) == {}
    assert exposed(3.0, 4.1) == {}
    assert exposed(2.8, 3.3) == {"CREDIT_CARD": 1}
    assert exposed(5.0, 5.5) == {"CREDIT_CARD": 1}
    withheld = score_call(script, truth, redacted_text="", original_audio=original, redacted_audio=None,
                          audio_withheld=True)
    assert withheld.exposed == {}
    s = summarise([score_call(script, truth, redacted_text="", original_audio=original,
                              redacted_audio=original)], relisten_model=None)
    assert s.exposed["payment"] == 1 and s.exposed["calls_with_payment_exposed"] == 1
    assert s.exposed["recall"] == 0.0


@pytest.mark.parametrize("redacted, leaked", [
    ("My card number is <CREDIT_CARD> and that is all.", 0),
    ("My card number is four one one <CREDIT_CARD> and that is all.", 0),  # three digits identify nothing
    ("My card number is 4111 and that is all.", 1),
    ("My card number is four one one one and that is all.", 1),
])
def test_transcript_leaks(redacted, leaked):
    score = score_call(_script(), None, redacted_text=redacted, unredacted_text=TEXT)
    assert sum(score.text_leaked.values()) == leaked
    assert score.text_words[0] > 0


def test_summary_counts_payment_apart():
    a = CallRedactionScore(call_id="a", labelled={"CREDIT_CARD": 2, "PERSON": 2, "CARD_EXPIRY": 1},
                           text_leaked={"PERSON": 1}, relisten_leaked={"CREDIT_CARD": 1, "CARD_EXPIRY": 1})
    b = CallRedactionScore(call_id="b", labelled={"UK_SORT_CODE": 1, "PERSON": 1}, text_leaked={},
                           relisten_leaked={})
    s = summarise([a, b], relisten_model="base")
    assert s.payment_audible["audible"] == 1 and s.payment_audible["labelled"] == 3
    assert s.payment_audible["calls_with_payment_audible"] == 1
    assert s.payment_audible["card_expiry_audible"] == 1
    assert s.relisten["recall"] == pytest.approx(1 - 2 / 7, abs=1e-4)
    assert s.transcript["per_type"]["PERSON"]["leaked"] == 1


def test_a_values_time_is_placed_by_its_spoken_length_not_its_characters():
    """'4111' is said as 'four thousand one hundred and eleven': measured in spoken units, a
    value written in digits takes its real share of the turn, so muting it is not counted as
    muting non-PII speech."""
    from pipeline.lab.eval_outputs import nonpii_speech_frames

    original, script, truth = _audio(), _script(), _truth()
    n = int(7.0 / FRAME_S)
    # A spoken length that makes the value half of the turn (the 16 characters of VALUE count x5).
    def spoken(text: str) -> int:
        return len(text) + 4 * min(len(text), max(0, len(text) - TEXT.index(VALUE)), len(VALUE))

    _, by_chars = nonpii_speech_frames(script, truth, original, n, 0.0)
    _, by_sound = nonpii_speech_frames(script, truth, original, n, 0.0, spoken)
    assert by_sound.sum() > 2 * by_chars.sum()
    assert by_sound.sum() * FRAME_S == pytest.approx(5.0 * (5 * 16) / (51 + 4 * 16), abs=0.1)


def test_muted_speech_is_attributed_to_the_finding_its_padding_and_coverage_by_distance_from_the_value():
    from pipeline.lab.challenge.attribute import attribute_call

    original, script, truth = _audio(), _script(), _truth()
    # The value's estimated time is about 2.8-4.3 s. A code_run finding 2.8-4.3 s padded by 0.3 s
    # (2.5-4.6 s), and a coverage stretch far from it (5.5-6.0 s) are muted.
    redacted = _mute(_mute(original, 2.5, 4.6), 5.5, 6.0)
    redo = {"findings": [{"recognizer": "code_run", "channel": None, "start_s": 2.8, "end_s": 4.3}],
            "unaligned": [{"channel": 0, "start_s": 5.5, "end_s": 6.0, "speech_s": 0.5, "speech_like": True}]}
    got = attribute_call(script, truth, original, redacted, redo, padding_s=0.3, merge_gap_s=0.6, margin_s=0.35,
                         near_s=0.5, far_s=1.0)
    assert got.calls == 1
    # Padding reaches 0.3 s past the value, inside the scorer's 0.35 s margin: none of it counts as non-PII speech.
    assert "code_run:pad" not in got.causes and "code_run" not in got.causes
    far = got.causes["unaligned_speech"]
    assert far.total_s == pytest.approx(0.5, abs=0.05)
    assert far.far_s == pytest.approx(0.5, abs=0.05) and far.near_s == 0.0  # 1.2 s and more from the value
    assert got.muted_s == pytest.approx(sum(c.total_s for c in got.causes.values()), abs=1e-6)
    # A wider padding (0.8 s) mutes speech near the value: the padding, all of it within 0.9 s of the value.
    wide = attribute_call(script, truth, original, _mute(original, 2.0, 5.1), redo | {"unaligned": []},
                          padding_s=0.8, merge_gap_s=0.6, margin_s=0.35, near_s=0.9, far_s=2.0)
    pad = wide.causes["code_run:pad"]
    assert pad.total_s == pytest.approx(2 * (0.8 - 0.35), abs=0.15)
    assert pad.near_s == pytest.approx(pad.total_s, abs=0.05)
    assert set(wide.causes) == {"code_run:pad"}


def test_a_value_heard_only_far_from_its_time_counts_anywhere_but_not_near():
    """The strict figure counts a value's word heard anywhere in the call ("old" of "The Old Forge" in "the old
    bank" a minute later); the near figure only what was heard within `near_s` of the value's time."""
    values = [("The Old Forge", "STREET_ADDRESS"), ("4111 1111 1111 1111", "CREDIT_CARD")]
    spans = [(10.0, 11.0), (30.0, 33.0)]
    segments = [[(0.0, 8.0, "Hello, thanks for calling."), (70.0, 74.0, "I went to the old bank.")],
                [(29.0, 34.0, "It's four one one one, one one.")]]
    assert count_near(values, spans, segments, near_s=5.0) == {"CREDIT_CARD": 1}
    assert count_near(values, spans, segments, near_s=60.0) == {"STREET_ADDRESS": 1, "CREDIT_CARD": 1}
    # the same segments scored as one text, as the headline figure is
    assert all(value_leaks(v, t, heard_text(segments)) for v, t in values)


def test_summary_reports_the_near_figure_beside_the_strict_one():
    a = CallRedactionScore(call_id="a", labelled={"CREDIT_CARD": 1, "STREET_ADDRESS": 1}, text_leaked={},
                           relisten_leaked={"CREDIT_CARD": 1, "STREET_ADDRESS": 1},
                           relisten_near_leaked={"CREDIT_CARD": 1})
    s = summarise([a], relisten_model="base")
    assert s.relisten["leaked"] == 2
    assert s.relisten_near["leaked"] == 1 and s.relisten_near["payment"] == 1
    assert s.relisten_near["recall"] == pytest.approx(0.5)
