"""Fail-closed audio on controlled arrays (fast): speech-like bursts in a channel that no kept,
timed word of that channel covers are muted and logged as "unaligned_speech"; covered speech
is kept; a party 40 dB quieter still counts and flags the call; steady noise is not speech; and
the transcriber decodes a quiet channel at a normal level instead of skipping it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.redact.audio import redact_audio
from pipeline.redact.audit import append_call, read_log
from pipeline.redact.text import TextRedaction
from pipeline.schema import PiiFinding, Recording, RecordingMetadata, Source, Turn, Word
from pipeline.transcribe import channel_gain
from tests._redact_support import options

SR = 16000
LOUD = 0.3  # about -13 dBFS peak: normal speech
QUIET = LOUD / 100  # 40 dB quieter: the line fault of issue #15


def _burst(audio: np.ndarray, channel: int, start: float, end: float, level: float, seed: int = 0) -> None:
    """Speech-like signal: noise under a 4 Hz syllable envelope, never fully silent inside."""
    rng = np.random.default_rng(seed)
    n = int((end - start) * SR)
    t = np.arange(n) / SR
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    audio[channel, int(start * SR):int(start * SR) + n] = level * envelope * rng.standard_normal(n)


def _recording(audio: np.ndarray) -> Recording:
    channels, samples = audio.shape
    source = Source(path="x.wav", sha256="0" * 64, format="wav", duration_s=samples / SR, sample_rate=SR,
                    channels=channels)
    return Recording(call_id="c1", channel_type="telephone", source=source, metadata=RecordingMetadata(),
                     audio=audio.astype(np.float32), sample_rate=SR)


def _turn(index: int, channel: int | None, words: list[tuple[float, float]]) -> Turn:
    ws = [Word(start_s=a, end_s=b, text=f"w{k}", probability=0.9) for k, (a, b) in enumerate(words)]
    return Turn(index=index, speaker="agent" if channel in (0, None) else "customer", start_s=words[0][0],
                end_s=words[-1][1], text=" ".join(w.text for w in ws), words=ws, channel=channel)


def _finding(start: float, end: float, entity_type: str = "CREDIT_CARD", recognizer: str = "x") -> PiiFinding:
    return PiiFinding(entity_type=entity_type, turn_index=0, char_start=0, char_end=2, start_s=start, end_s=end,
                      recognizer=recognizer, score=0.9, value_hmac="0" * 64)


def _email(start: float, end: float) -> PiiFinding:
    """Not payment data: its padding is limited by the kept words beside it."""
    return _finding(start, end, "EMAIL_ADDRESS")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _span(audio: np.ndarray, channel: int, a: float, b: float) -> np.ndarray:
    return audio[channel, int(a * SR):int(b * SR)]


def test_uncovered_speech_is_muted_in_its_channel_and_logged(tmp_path) -> None:
    audio = np.zeros((2, 6 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)  # covered by the agent's words
    _burst(audio, 0, 2.5, 3.0, LOUD, seed=1)  # dropped by the transcriber: no word
    _burst(audio, 1, 4.0, 5.0, LOUD, seed=2)  # customer speech the transcriber lost
    rec = _recording(audio)
    # A customer word at 2.5-3.0 does not cover the agent channel's speech then.
    turns = [_turn(0, 0, [(0.5, 0.9), (0.9, 1.5)]), _turn(1, 1, [(2.6, 2.9)])]
    out = redact_audio(rec, [], options(), turns)
    assert out.audio is not None and not out.flagged
    np.testing.assert_array_equal(_span(out.audio, 0, 0.5, 1.5), _span(rec.audio, 0, 0.5, 1.5))
    assert _rms(_span(out.audio, 0, 2.5, 3.0)) == 0.0
    assert _rms(_span(out.audio, 1, 4.0, 5.0)) == 0.0
    assert sorted(s.channel for s in out.unaligned) == [0, 1]
    # 0.5 s + 1.0 s of uncovered sound; noise bursts are not speech to Silero, so they are
    # reported apart from speech (Piper speech: test_redact_coverage_speech.py), muted all the same.
    assert abs(sum(s.speech_s for s in out.unaligned) - 1.5) < 0.15
    assert not any(s.speech_like for s in out.unaligned) and out.muted_speech_s == 0.0
    assert abs(out.muted_other_s - 1.5) < 0.15
    for s in out.unaligned:  # each stretch holds its burst, and is not much longer
        burst = (2.5, 3.0) if s.channel == 0 else (4.0, 5.0)
        assert s.start_s <= burst[0] and s.end_s >= burst[1] and s.end_s - s.start_s < burst[1] - burst[0] + 0.3

    text = TextRedaction(turns=turns, findings=[], operators=[], residual=[], flagged=False, reasons=[])
    append_call(tmp_path / "audit.jsonl", "c1", text, out)
    records = [r for r in read_log(tmp_path / "audit.jsonl") if r.kind == "unaligned_speech"]
    assert len(records) == len(out.unaligned)
    assert {r.reason.split(":")[0] for r in records} == {"channel 0", "channel 1"}
    assert all(r.start_s is not None and r.end_s > r.start_s and r.value_hmac is None for r in records)


def test_covered_speech_in_every_channel_is_kept() -> None:
    audio = np.zeros((2, 4 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)
    _burst(audio, 1, 2.0, 3.0, LOUD, seed=1)
    rec = _recording(audio)
    out = redact_audio(rec, [], options(), [_turn(0, 0, [(0.6, 1.0), (1.0, 1.4)]), _turn(1, 1, [(2.1, 2.9)])])
    assert out.unaligned == [] and out.muted_speech_s == 0.0
    np.testing.assert_array_equal(out.audio, rec.audio)


def test_mono_words_cover_the_one_channel_whatever_their_turn_channel() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 1.0, LOUD)
    _burst(audio, 0, 1.5, 2.0, LOUD, seed=1)
    out = redact_audio(_recording(audio), [], options(), [_turn(0, None, [(0.55, 0.95)]), _turn(1, 1, [(1.55, 1.95)])])
    assert out.unaligned == []


def test_a_word_stretched_over_seconds_does_not_cover_the_speech_in_its_middle() -> None:
    """tiny.en gave "the" the 2.7 s of a number it dropped: the word covers its ends, not the bursts between."""
    audio = np.zeros((1, 6 * SR))
    _burst(audio, 0, 0.5, 0.8, LOUD)                   # the word itself, at its start
    for k, start in enumerate((1.4, 2.0, 2.6)):        # the dropped digits, apart
        _burst(audio, 0, start, start + 0.35, LOUD, seed=k + 1)
    stretched = [_turn(0, None, [(0.5, 3.4)])]
    out = redact_audio(_recording(audio), [], options(), stretched)
    assert out.unaligned and all(s.start_s >= 1.0 for s in out.unaligned)
    assert _rms(_span(out.audio, 0, 1.4, 1.75)) == 0.0 and _rms(_span(out.audio, 0, 2.0, 2.35)) == 0.0
    assert _rms(_span(out.audio, 0, 0.5, 0.8)) > 0.0   # its own start is kept
    lenient = redact_audio(_recording(audio), [], options(audio={"coverage": {"max_word_s": None}}), stretched)
    assert lenient.unaligned == []


def test_a_redacted_word_covers_nothing() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 1.0, 2.0, LOUD)
    opts = options(audio={"padding_ms": 0})
    # The word spans the whole burst but is the finding's: only the finding's own span is
    # silenced by it, and the rest of the burst (1.3-2.0) is speech no kept word covers.
    out = redact_audio(_recording(audio), [_finding(1.0, 1.3)], opts, [_turn(0, 0, [(1.0, 1.3)])])
    assert _rms(_span(out.audio, 0, 1.0, 2.0)) == 0.0
    assert 0.5 < sum(s.speech_s for s in out.unaligned) < 0.9


def test_a_party_40_db_quieter_still_counts_and_flags_the_call() -> None:
    audio = np.zeros((2, 4 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)
    _burst(audio, 1, 2.0, 3.0, QUIET, seed=1)  # no words: the quiet party's speech was lost
    rec = _recording(audio)
    out = redact_audio(rec, [], options(), [_turn(0, 0, [(0.6, 1.4)])])
    assert out.audio is not None and out.flagged
    assert any("quieter" in r and "channel 1" in r for r in out.reasons)
    assert [s.channel for s in out.unaligned] == [1]
    assert _rms(_span(out.audio, 1, 2.0, 3.0)) == 0.0
    gap = out.levels[0].speech_dbfs - out.levels[1].speech_dbfs
    assert 35 < gap < 45


def test_steady_noise_is_not_speech_and_digital_silence_mutes_nothing() -> None:
    rng = np.random.default_rng(3)
    audio = np.zeros((2, 4 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)
    audio[1] = 10 ** (-70 / 20) * rng.standard_normal(4 * SR)  # a line's noise floor, nobody talking
    out = redact_audio(_recording(audio), [], options(), [_turn(0, 0, [(0.6, 1.4)])])
    assert out.unaligned == [] and not out.flagged
    assert out.levels[1].speech_dbfs is None


def test_coverage_cannot_be_computed_without_words_so_no_audio_is_claimed() -> None:
    audio = np.zeros((1, 2 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)
    out = redact_audio(_recording(audio), [], options())
    assert out.audio is None and out.flagged and out.reasons
    untimed = Turn(index=0, speaker="agent", start_s=None, end_s=None, text="hello")
    out = redact_audio(_recording(audio), [], options(), [untimed])
    assert out.audio is None and out.flagged


def test_quiet_channel_is_decoded_at_a_normal_level_and_only_nothing_is_skipped() -> None:
    audio = np.zeros((1, 4 * SR))
    _burst(audio, 0, 0.5, 2.0, QUIET)
    gain = channel_gain(audio[0])
    assert gain is not None and 0.3 < gain * float(np.max(np.abs(audio[0]))) <= 0.5 + 1e-6
    loud = audio[0] * 100
    assert channel_gain(loud) == 1.0
    assert channel_gain(np.zeros(4 * SR)) is None  # digital silence
    assert channel_gain(np.full(4 * SR, 1 / 32768)) is None
    rng = np.random.default_rng(4)
    assert channel_gain(10 ** (-70 / 20) * rng.standard_normal(4 * SR)) is None  # a steady floor, no speech


def test_a_kept_word_inside_a_findings_padding_still_covers_its_speech() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 1.0, 2.0, LOUD)
    # The finding (1.0-1.3) is silenced with 0.3 s padding, up to 1.6; the next word, "thanks"
    # at 1.4-2.0, is kept and covers the rest of the burst: nothing else is muted.
    out = redact_audio(_recording(audio), [_finding(1.0, 1.3)], options(audio={"padding_ms": 300}),
                       [_turn(0, 0, [(1.0, 1.3), (1.4, 2.0)])])
    assert out.unaligned == []
    assert _rms(_span(out.audio, 0, 1.7, 2.0)) > 0.05


def _customer_finding(start: float, end: float) -> PiiFinding:
    return PiiFinding(entity_type="CREDIT_CARD", turn_index=1, char_start=0, char_end=2, start_s=start, end_s=end,
                      recognizer="x", score=0.9, value_hmac="0" * 64)


def test_stereo_finding_is_muted_in_its_speakers_channel_and_the_other_partys_words_beside_it_stay() -> None:
    audio = np.zeros((2, 5 * SR))
    _burst(audio, 0, 3.2, 4.2, LOUD)          # the agent answers right after the value
    _burst(audio, 1, 1.0, 3.0, LOUD, seed=1)  # the customer reads the card number
    turns = [_turn(0, 0, [(3.25, 3.7), (3.7, 4.15)]), _turn(1, 1, [(1.0, 3.0)])]
    out = redact_audio(_recording(audio), [_customer_finding(1.0, 3.0)], options(), turns)
    assert _rms(_span(out.audio, 1, 1.0, 3.0)) == 0.0
    # padding_ms (300) would reach 3.3 s: in "own" mode the agent's reply keeps its start
    np.testing.assert_array_equal(_span(out.audio, 0, 3.2, 4.2), _span(audio.astype(np.float32), 0, 3.2, 4.2))
    every = redact_audio(_recording(audio), [_customer_finding(1.0, 3.0)],
                         options(audio={"finding_channels": "all"}), turns)
    assert _rms(_span(every.audio, 0, 3.2, 3.3)) == 0.0


def test_crosstalk_of_a_value_in_the_other_channel_is_muted_even_under_the_other_partys_word() -> None:
    audio = np.zeros((2, 5 * SR))
    _burst(audio, 1, 1.0, 3.0, LOUD, seed=1)  # the value, on the customer's channel
    _burst(audio, 0, 1.0, 3.0, QUIET * 10, seed=2)  # ... heard again, 20 dB down, on the agent's (echo)
    _burst(audio, 0, 3.5, 4.5, LOUD)
    # the agent's "mm-hm" inside the value's time covers nothing: it overlaps a finding
    turns = [_turn(0, 0, [(1.8, 2.1), (3.5, 4.5)]), _turn(1, 1, [(1.0, 3.0)])]
    out = redact_audio(_recording(audio), [_customer_finding(1.0, 3.0)], options(), turns)
    assert _rms(_span(out.audio, 0, 1.05, 2.95)) < 1e-4
    assert _rms(_span(out.audio, 1, 1.0, 3.0)) == 0.0


def test_an_answer_gap_is_muted_in_the_answering_channel_not_the_requesters() -> None:
    audio = np.zeros((2, 5 * SR))
    _burst(audio, 0, 0.5, 2.0, LOUD)           # the agent asks
    _burst(audio, 0, 2.6, 3.5, LOUD, seed=2)   # ... and goes on, 0.6 s later
    _burst(audio, 1, 2.0, 2.5, LOUD, seed=1)   # the customer's answer, never transcribed
    turns = [_turn(0, 0, [(0.5, 2.0)]), _turn(1, 0, [(2.6, 3.5)])]
    gap = PiiFinding(entity_type="UK_POSTCODE", turn_index=0, char_start=0, char_end=0, start_s=2.0, end_s=2.6,
                     recognizer="answer_gap", score=0.5, value_hmac="0" * 64)
    out = redact_audio(_recording(audio), [gap], options(), turns)
    assert _rms(_span(out.audio, 1, 1.7, 2.9)) == 0.0
    np.testing.assert_array_equal(_span(out.audio, 0, 2.6, 3.5), _span(audio.astype(np.float32), 0, 2.6, 3.5))


def test_the_other_partys_words_beside_a_findings_reach_still_cover_their_speech() -> None:
    # A finding's time reaches into the silence beside its words (up to 0.3 s, text._times); the
    # agent's question ending in that reach is the agent's own speech, not crosstalk: it stays.
    audio = np.zeros((2, 5 * SR))
    _burst(audio, 0, 0.5, 1.5, LOUD)          # the agent asks, ending at 1.5 s
    _burst(audio, 1, 1.7, 3.0, LOUD, seed=1)  # the customer's value
    turns = [_turn(0, 0, [(0.5, 1.0), (1.0, 1.5)]), _turn(1, 1, [(1.7, 3.0)])]
    out = redact_audio(_recording(audio), [_customer_finding(1.4, 3.0)], options(), turns)
    np.testing.assert_array_equal(_span(out.audio, 0, 0.5, 1.5), _span(audio.astype(np.float32), 0, 0.5, 1.5))
    assert _rms(_span(out.audio, 1, 1.7, 3.0)) == 0.0


# The neighbour limit and payment's full padding alone: the same padding after a finding as before it, no stop at a
# pause, gaps padded too.
_SYMMETRIC = {"padding_after_ms": None, "payment_padding_after_ms": None, "pause_stop_ms": None, "pad_gaps": True}


def test_a_findings_padding_goes_into_silence_but_only_a_little_into_a_kept_word_beside_it() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 2.0, LOUD)
    turns = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5), (1.6, 2.0)])]  # kept, a pause, the value, a pause, kept
    opts = options(audio={"padding_ms": 300, "neighbour_overlap_ms": 100, "turn_overlap_ms": 0, **_SYMMETRIC})
    out = redact_audio(_recording(audio), [_email(1.0, 1.5)], opts, turns)
    assert out.spans_s == [(0.8, 1.7)]
    assert out.unaligned == []
    # a neighbour said with no pause may be the value's own start garbled ("card or" for "l carter"): padded over
    touching = redact_audio(_recording(audio), [_email(1.0, 1.5)], opts,
                            [_turn(0, 0, [(0.5, 1.0), (1.0, 1.5), (1.6, 2.0)])])
    assert touching.spans_s == [(0.7, 1.7)]
    # alone in its turn, the padding reaches its full length into the silence around it
    alone = redact_audio(_recording(audio), [_email(1.0, 1.5)], opts, [_turn(0, 0, [(1.0, 1.5)])])
    assert alone.spans_s == [(0.7, 1.8)]
    # a kept word of the next turn (its first word, timed late): no overlap into it with turn_overlap_ms 0
    split = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5)]), _turn(1, 0, [(1.6, 2.0)])]
    assert redact_audio(_recording(audio), [_email(1.0, 1.5)], opts, split).spans_s == [(0.8, 1.6)]
    # without the setting, padding ignores the words beside it
    old = redact_audio(_recording(audio), [_email(1.0, 1.5)], options(audio={
        "padding_ms": 300, "neighbour_overlap_ms": None, **_SYMMETRIC}), turns)
    assert old.spans_s == [(0.7, 1.8)]


def test_findings_are_not_merged_across_a_kept_word_between_them() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 2.6, LOUD)
    turns = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.3), (1.45, 1.75), (1.9, 2.2), (2.3, 2.6)])]
    findings = [_email(1.0, 1.3), _email(1.9, 2.2)]
    opts = options(audio={"padding_ms": 300, **_SYMMETRIC, "merge_gap_ms": 600, "neighbour_overlap_ms": 100, "turn_overlap_ms": None})
    out = redact_audio(_recording(audio), findings, opts, turns)
    assert out.spans_s == [(0.8, 1.55), (1.65, 2.4)]
    assert _rms(_span(out.audio, 0, 1.57, 1.63)) > 0.05
    # with nothing kept between them (a pause), they are muted as one
    gap = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.3)]), _turn(1, 0, [(1.9, 2.2), (2.3, 2.6)])]
    assert redact_audio(_recording(audio), findings, opts, gap).spans_s == [(0.8, 2.4)]


def test_the_other_party_answering_as_the_value_ends_keeps_its_words_while_an_echo_of_the_value_is_muted() -> None:
    audio = np.zeros((2, 5 * SR))
    _burst(audio, 1, 1.0, 3.0, LOUD, seed=1)          # the customer's value
    _burst(audio, 0, 1.0, 2.9, LOUD / 20, seed=2)     # its echo, 26 dB down, on the agent's channel
    _burst(audio, 0, 3.1, 4.2, LOUD)                  # the agent answers as it ends
    # The finding's time reaches 0.6 s past the value (late word times), over the agent's first word.
    turns = [_turn(0, 0, [(1.5, 1.8), (3.1, 3.6), (3.6, 4.2)]), _turn(1, 1, [(1.0, 3.6)])]
    out = redact_audio(_recording(audio), [_customer_finding(1.0, 3.6)], options(audio={
        "coverage": {"crosstalk_margin_db": 6}}), turns)
    np.testing.assert_array_equal(_span(out.audio, 0, 3.1, 4.2), _span(audio.astype(np.float32), 0, 3.1, 4.2))
    assert _rms(_span(out.audio, 0, 1.05, 2.85)) < 1e-4   # the echo, even under the agent's word at 1.5-1.8
    # the inset rule alone (no levels) mutes the start of the agent's answer
    inset = redact_audio(_recording(audio), [_customer_finding(1.0, 3.6)], options(audio={
        "coverage": {"crosstalk_margin_db": None, "snap_ms": 0}}), turns)
    assert _rms(_span(inset.audio, 0, 3.12, 3.28)) == 0.0


def test_a_short_onset_before_a_kept_word_is_that_words_but_a_longer_run_or_one_beside_a_value_is_muted() -> None:
    opts = options(audio={"coverage": {"snap_ms": 400, "word_padding_ms": 250}})
    audio = np.zeros((1, 4 * SR))
    _burst(audio, 0, 1.0, 1.6, LOUD)   # "Okay." said at 1.0-1.6; the word is timed at 1.6 with no duration
    out = redact_audio(_recording(audio), [], opts, [_turn(0, 0, [(1.6, 1.6)])])
    assert out.unaligned == []          # 1.0-1.35 uncovered, 0.35 s, between silence and the word's cover
    off = redact_audio(_recording(audio), [], options(audio={"coverage": {"snap_ms": 0, "word_padding_ms": 250}}),
                       [_turn(0, 0, [(1.6, 1.6)])])
    assert off.unaligned and off.unaligned[0].start_s <= 1.0
    longer = np.zeros((1, 4 * SR))
    _burst(longer, 0, 0.5, 1.6, LOUD)  # 0.85 s the transcriber did not write: dropped speech
    out = redact_audio(_recording(longer), [], opts, [_turn(0, 0, [(1.6, 1.6)])])
    assert out.unaligned and _rms(_span(out.audio, 0, 0.55, 1.3)) == 0.0
    # beside a muted value (1.6-2.0, padded to 1.3), 0.3 s of uncovered speech is not taken for a word's onset
    beside = np.zeros((1, 4 * SR))
    _burst(beside, 0, 1.0, 2.0, LOUD)
    out = redact_audio(_recording(beside), [_finding(1.6, 2.0)], options(audio={
        "padding_ms": 300, "coverage": {"snap_ms": 400}}), [_turn(0, 0, [(1.6, 2.0)])])
    assert _rms(_span(out.audio, 0, 1.02, 1.28)) == 0.0


def test_payment_data_keeps_its_full_padding_over_the_kept_words_beside_it() -> None:
    # Mono word times run into the other speaker: a kept word beside a card number may hold its
    # first or last digit. The limit that holds an e-mail's padding back does not apply (issue #15).
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 2.0, LOUD)
    turns = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5), (1.6, 2.0)])]  # kept, a pause, the value, a pause, kept
    split = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5)]), _turn(1, 0, [(1.6, 2.0)])]  # the next word in another turn
    opts = options(audio={"padding_ms": 300, **_SYMMETRIC, "neighbour_overlap_ms": 100, "turn_overlap_ms": 0})
    assert opts.audio.payment_full_padding  # the default
    for card in (_finding(1.0, 1.5), _finding(1.0, 1.5, "UK_SORT_CODE", "payment_window"),
                 _finding(1.0, 1.5, "ACCOUNT_NUMBER", "code_run")):  # a card number with a digit lost
        assert redact_audio(_recording(audio), [card], opts, turns).spans_s == [(0.7, 1.8)]
        assert redact_audio(_recording(audio), [card], opts, split).spans_s == [(0.7, 1.8)]
    # a reference that is not a code run (an account pattern) is limited like the e-mail
    ref = _finding(1.0, 1.5, "ACCOUNT_NUMBER", "AccountNumberRecognizer")
    assert redact_audio(_recording(audio), [ref], opts, turns).spans_s == [(0.8, 1.7)]
    # payment findings either side of a kept word reach over it and are muted as one
    two = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.3), (1.45, 1.75), (1.9, 2.2), (2.3, 2.6)])]
    merged = redact_audio(_recording(audio), [_finding(1.0, 1.3), _finding(1.9, 2.2)],
                          options(audio={"padding_ms": 300, **_SYMMETRIC, "merge_gap_ms": 600, "neighbour_overlap_ms": 100}), two)
    assert merged.spans_s == [(0.7, 2.5)]


def test_a_payment_gap_is_not_padded_over_the_kept_words_beside_it() -> None:
    # A gap's edges are other words' times (an aside the text keeps, the turn that ends the exchange):
    # its padding reaches a kept word only as far as any finding's may (issue #15: the aside's edges
    # were muted by the gap's full padding).
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 2.0, LOUD)
    turns = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5), (1.6, 2.0)])]
    opts = options(audio={"padding_ms": 300, **_SYMMETRIC, "neighbour_overlap_ms": 100, "turn_overlap_ms": 0,
                          "payment_full_padding": True})
    gap = _finding(1.0, 1.5, "CREDIT_CARD", "payment_gap")
    assert redact_audio(_recording(audio), [gap], opts, turns).spans_s == [(0.8, 1.7)]
    # the card number itself keeps its full padding
    assert redact_audio(_recording(audio), [_finding(1.0, 1.5)], opts, turns).spans_s == [(0.7, 1.8)]


def test_the_payment_switch_off_restores_the_neighbour_limit() -> None:
    audio = np.zeros((1, 3 * SR))
    _burst(audio, 0, 0.5, 2.0, LOUD)
    turns = [_turn(0, 0, [(0.5, 0.9), (1.0, 1.5), (1.6, 2.0)])]
    opts = options(audio={"padding_ms": 300, **_SYMMETRIC, "neighbour_overlap_ms": 100, "turn_overlap_ms": 0,
                          "payment_full_padding": False})
    assert redact_audio(_recording(audio), [_finding(1.0, 1.5)], opts, turns).spans_s == [(0.8, 1.7)]
    with pytest.raises(ConfigError, match="payment_full_padding"):
        options(audio={"payment_full_padding": "sometimes"})
