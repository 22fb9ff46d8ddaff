"""A value's edges from a forced alignment (pipeline/redact/align.py, issue #15).

Real speech: each word is spoken by Piper on its own and placed on a timeline with silences of
known length, so every word's true time is known to the sample. The transcriber's times are
simulated off by a quarter of a second (tiny.en's are off by up to ~0.3 s), and the aligner must
find the words again; the redacted audio must mute the value whole and keep its neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.redact.align import aligned_edges, load_aligner, spoken_tokens
from pipeline.redact.audio import redact_audio
from pipeline.schema import PiiFinding, Recording, RecordingMetadata, Source, Turn, Word
from tests._redact_support import options

SR = 8000
WORDS = ["my", "name", "is", "Harriet", "Okonkwo", "and", "I", "live", "in", "Leeds"]
VALUE = (3, 4)  # "Harriet Okonkwo": the words of the finding
GAP_S = 0.12    # silence between words: shorter than the 0.3 s padding, as in running speech


@pytest.fixture(scope="module")
def spoken():
    """(audio at 8 kHz, [(start_s, end_s)] true time of each of WORDS)."""
    from pipeline.lab.synth.voice import load_voice

    voice = load_voice("piper")
    pieces, times, t = [np.zeros(int(0.5 * SR), dtype=np.float32)], [], 0.5
    for word in WORDS:
        x = voice.synthesize(word)
        n = int(round(x.size * SR / voice.sample_rate))  # to telephone rate, band-limited
        x = (np.fft.irfft(np.fft.rfft(x.astype(np.float64)), n=n) * (n / x.size)).astype(np.float32)
        loud = np.flatnonzero(np.abs(x) > 0.02 * np.max(np.abs(x)))
        x = x[loud[0]:loud[-1] + 1]  # Piper pads each utterance with silence: the word itself only
        times.append((t, t + len(x) / SR))
        pieces += [x, np.zeros(int(GAP_S * SR), dtype=np.float32)]
        t += len(x) / SR + GAP_S
    pieces.append(np.zeros(int(0.5 * SR), dtype=np.float32))
    audio = np.concatenate(pieces)
    return 0.5 * audio / np.max(np.abs(audio)), times


def _recording(audio: np.ndarray, channels: int = 2) -> Recording:
    """Stereo: the customer's words on channel 1, the agent's channel silent."""
    source = Source(path="x.wav", sha256="0" * 64, format="wav", duration_s=audio.size / SR, sample_rate=SR,
                    channels=channels)
    stacked = np.stack([np.zeros_like(audio)] * (channels - 1) + [audio])
    return Recording(call_id="c1", channel_type="telephone", source=source, metadata=RecordingMetadata(),
                     audio=stacked.astype(np.float32), sample_rate=SR)


def _turn(times: list[tuple[float, float]], shift: float) -> Turn:
    """The transcriber's turn: every word's time moved by `shift` (late or early)."""
    words = [Word(start_s=a + shift, end_s=b + shift, text=w, probability=0.9) for w, (a, b) in zip(WORDS, times)]
    return Turn(index=0, speaker="customer", start_s=words[0].start_s, end_s=words[-1].end_s,
                text=" ".join(WORDS), words=words, channel=1)


def _finding(turn: Turn) -> PiiFinding:
    first, last = turn.words[VALUE[0]], turn.words[VALUE[1]]
    return PiiFinding(entity_type="PERSON", turn_index=0, char_start=0, char_end=1, start_s=first.start_s,
                      end_s=last.end_s, recognizer="SpacyRecognizer", score=0.85, value_hmac="0" * 64)


def _opts(enabled: bool):
    return options(audio={"align": {"enabled": enabled}})


def test_spoken_tokens_say_digits_and_letters_as_words():
    assert spoken_tokens("E5,") == ["e", "five"]
    assert spoken_tokens("4111") == ["four", "one", "one", "one"]
    assert spoken_tokens("12") == ["twelve"]
    assert spoken_tokens("it's") == ["it's"]
    assert spoken_tokens("-") == []


@pytest.mark.parametrize("shift", [0.25, -0.25])
def test_the_aligner_finds_a_values_words_where_they_were_said(spoken, shift):
    audio, times = spoken
    turn = _turn(times, shift)
    aligner = load_aligner(_opts(True).audio.align)
    edges = aligned_edges(aligner, _recording(audio), [turn], [_finding(turn)], _opts(True).audio.align)
    assert set(edges) == {0}
    start, end = edges[0]
    # Within 60 ms of the truth, where the transcriber was 250 ms off.
    assert abs(start - times[VALUE[0]][0]) < 0.06
    assert abs(end - times[VALUE[1]][1]) < 0.06


def test_an_edge_too_far_from_the_transcribers_is_not_trusted(spoken):
    audio, times = spoken
    turn = _turn(times, 0.25)
    opts = options(audio={"align": {"enabled": True, "max_shift_ms": 100}})
    edges = aligned_edges(load_aligner(opts.audio.align), _recording(audio), [turn], [_finding(turn)], opts.audio.align)
    assert edges == {}


def _kept_share(out, a: float, b: float, audio: np.ndarray) -> float:
    """Share of the original's energy between a and b that the redacted audio keeps."""
    i, j = int(a * SR), int(b * SR)
    return float(np.sum(out.audio[-1, i:j] ** 2) / np.sum(audio[i:j] ** 2))


@pytest.mark.parametrize("shift", [0.25, 0.15, 0.0, -0.15, -0.25])
def test_aligned_mute_takes_the_value_whole_however_the_transcriber_timed_it(spoken, shift):
    audio, times = spoken
    turn = _turn(times, shift)
    out = redact_audio(_recording(audio), [_finding(turn)], _opts(True), [turn], load_aligner(_opts(True).audio.align))
    assert _kept_share(out, times[VALUE[0]][0], times[VALUE[1]][1], audio) == 0.0


@pytest.mark.parametrize("shift", [0.15, 0.0, -0.15])
def test_aligned_mute_keeps_the_words_beside_the_value(spoken, shift):
    """The transcriber's times, padded 300 ms before and 100 ms after, cut into a neighbour; the
    aligned mute (80 ms around the aligned words, joined with the finding's own time) keeps them.
    (Off by 0.25 s, the finding's own time already reaches into a neighbour: joined, it stays muted.)"""
    audio, times = spoken
    turn = _turn(times, shift)
    rec = _recording(audio)
    neighbours = (times[VALUE[0] - 1], times[VALUE[1] + 1])  # "is", "and"
    with_align = redact_audio(rec, [_finding(turn)], _opts(True), [turn], load_aligner(_opts(True).audio.align))
    without = redact_audio(rec, [_finding(turn)], _opts(False), [turn])
    kept_with = min(_kept_share(with_align, *n, audio) for n in neighbours)
    kept_without = min(_kept_share(without, *n, audio) for n in neighbours)
    assert kept_with >= 0.85
    assert kept_with > kept_without + 0.3


def test_without_an_aligner_the_padding_stands(spoken):
    audio, times = spoken
    turn = _turn(times, 0.25)
    rec = _recording(audio)
    off = redact_audio(rec, [_finding(turn)], _opts(False), [turn])
    on_no_aligner = redact_audio(rec, [_finding(turn)], _opts(True), [turn], None)
    assert np.array_equal(off.audio, on_no_aligner.audio)


def test_mono_and_payment_keep_the_padding_unless_asked(spoken):
    """Mono word times run into the other party, and a garbled word beside a payment value may be
    part of it ("in 30" for "ten thirty"): by default both keep audio.padding_ms."""
    audio, times = spoken
    turn = _turn(times, 0.0).model_copy(update={"channel": None})
    mono = _recording(audio, channels=1)
    aligner = load_aligner(_opts(True).audio.align)
    plain = redact_audio(mono, [_finding(turn)], _opts(False), [turn])
    assert np.array_equal(redact_audio(mono, [_finding(turn)], _opts(True), [turn], aligner).audio, plain.audio)
    asked = options(audio={"align": {"enabled": True, "mono": True}})
    assert not np.array_equal(redact_audio(mono, [_finding(turn)], asked, [turn], aligner).audio, plain.audio)

    stereo_turn = _turn(times, 0.0)
    card = _finding(stereo_turn).model_copy(update={"entity_type": "CREDIT_CARD", "recognizer": "CardNumberRecognizer"})
    stereo = _recording(audio)
    plain = redact_audio(stereo, [card], _opts(False), [stereo_turn])
    assert np.array_equal(redact_audio(stereo, [card], _opts(True), [stereo_turn], aligner).audio, plain.audio)


def _mono_turns(times: list[tuple[float, float]], value_shift: float, late_s: float, probability: float = 0.9,
                first: str | None = None) -> tuple[list[Turn], PiiFinding]:
    """Mono: "my name is Harriet Okonkwo" (the customer's, timed `value_shift` off) and "and I live in
    Leeds" (the other party's next turn), whose first word the transcriber timed `late_s` late; the
    finding's time reaches up to that word, as `text._times` makes it."""
    words = [Word(start_s=a + value_shift, end_s=b + value_shift, text=w, probability=0.9)
             for w, (a, b) in zip(WORDS[:5], times[:5])]
    nxt = [Word(start_s=a + late_s if k == 0 else a, end_s=b, text=first if k == 0 and first else w,
                probability=probability if k == 0 else 0.9)
           for k, (w, (a, b)) in enumerate(zip(WORDS[5:], times[5:]))]
    turns = [Turn(index=0, speaker="customer", start_s=words[0].start_s, end_s=words[-1].end_s,
                  text=" ".join(w.text for w in words), words=words),
             Turn(index=1, speaker="agent", start_s=nxt[0].start_s, end_s=nxt[-1].end_s,
                  text=" ".join(w.text for w in nxt), words=nxt)]
    finding = PiiFinding(entity_type="PERSON", turn_index=0, char_start=0, char_end=1, start_s=words[3].start_s,
                         end_s=nxt[0].start_s, recognizer="SpacyRecognizer", score=0.85, value_hmac="0" * 64)
    return turns, finding


@pytest.mark.parametrize("value_shift", [-0.1, 0.0, 0.1])
def test_mono_a_mute_stops_where_the_next_turns_first_word_begins(spoken, value_shift):
    """The transcriber timed the next turn's first word 0.15 s late and the finding reached up to it: the
    mute (with its padding after) ran into "and". Stopped where the aligner places "and", the word stays and
    the value is muted."""
    audio, times = spoken
    mono = _recording(audio, channels=1)
    turns, finding = _mono_turns(times, value_shift, late_s=0.15)
    aligner = load_aligner(_opts(True).audio.align)
    on = options(audio={"align": {"enabled": True, "next_word": True}})
    off = options(audio={"align": {"enabled": True, "next_word": False}})
    stopped = redact_audio(mono, [finding], on, turns, aligner)
    plain = redact_audio(mono, [finding], off, turns, aligner)
    value, after = (times[3][0], times[4][1]), times[5]
    assert _kept_share(stopped, *value, audio) == 0.0
    assert _kept_share(stopped, *after, audio) >= 0.85
    assert _kept_share(plain, *after, audio) < 0.6


@pytest.mark.parametrize(("first", "probability"), [("for", 0.9), ("and", 0.3), ("4", 0.9)])
def test_mono_a_next_word_that_may_be_the_value_does_not_stop_the_mute(spoken, first, probability):
    """A word heard for a digit, a digit, or a word the transcriber was unsure of may be the value's
    tail: the mute is as without the rule."""
    audio, times = spoken
    mono = _recording(audio, channels=1)
    turns, finding = _mono_turns(times, 0.0, late_s=0.15, probability=probability, first=first)
    aligner = load_aligner(_opts(True).audio.align)
    on = options(audio={"align": {"enabled": True, "next_word": True}})
    off = options(audio={"align": {"enabled": True, "next_word": False}})
    assert np.array_equal(redact_audio(mono, [finding], on, turns, aligner).audio,
                          redact_audio(mono, [finding], off, turns, aligner).audio)
