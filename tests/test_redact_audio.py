"""Audio redaction on synthetic arrays: energy inside padded spans ~0 (or a tone), outside
unchanged, every channel; fail closed when a finding has no time. The findings' spans alone:
speech coverage (muting what no word covers) is off here and tested in test_redact_coverage.py."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pipeline.errors import StageError
from pipeline.redact.audio import Pauses, redact_audio, redaction_spans, write_redacted_audio
from pipeline.schema import PiiFinding, Recording, RecordingMetadata, Source
from tests._redact_support import options

SR = 16000


def _recording(seconds: float = 4.0, channels: int = 2) -> Recording:
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal((channels, int(seconds * SR)))).astype(np.float32)
    source = Source(path="x.wav", sha256="0" * 64, format="wav", duration_s=seconds, sample_rate=SR, channels=channels)
    return Recording(call_id="c1", channel_type="telephone", source=source, metadata=RecordingMetadata(), audio=audio,
                     sample_rate=SR)


def _finding(start: float | None, end: float | None) -> PiiFinding:
    return PiiFinding(entity_type="PHONE_NUMBER", turn_index=0, char_start=0, char_end=5, start_s=start, end_s=end,
                      recognizer="UkPhoneRecognizer", score=0.9, value_hmac="0" * 64)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def test_silence_inside_padded_span_all_channels_and_unchanged_outside() -> None:
    rec = _recording()
    opts = options(audio={"mode": "silence", "padding_ms": 100, "coverage": {"enabled": False}})
    out = redact_audio(rec, [_finding(1.0, 1.5)], opts)
    assert not out.flagged and out.spans_s == [(0.9, 1.6)]
    a, b = int(0.9 * SR), int(1.6 * SR)
    for ch in range(2):
        assert _rms(out.audio[ch, a:b]) == 0.0
        np.testing.assert_array_equal(out.audio[ch, :a - 1], rec.audio[ch, :a - 1])
        np.testing.assert_array_equal(out.audio[ch, b + 1:], rec.audio[ch, b + 1:])
    assert _rms(rec.audio[0, a:b]) > 0.2  # the input was not modified


def test_tone_mode_replaces_speech_with_a_tone() -> None:
    rec = _recording()
    opts = options(audio={"mode": "tone", "padding_ms": 0, "tone_hz": 1000, "tone_level": 0.1,
                          "coverage": {"enabled": False}})
    out = redact_audio(rec, [_finding(2.0, 2.5)], opts)
    seg = out.audio[1, int(2.0 * SR) + 10:int(2.5 * SR) - 10]
    assert abs(_rms(seg) - 0.1 / np.sqrt(2)) < 0.01
    spectrum = np.abs(np.fft.rfft(seg))
    assert abs(np.argmax(spectrum) * SR / len(seg) - 1000) < 5


def test_fail_closed_when_a_finding_has_no_time() -> None:
    out = redact_audio(_recording(), [_finding(1.0, 1.2), _finding(None, None)], options())
    assert out.flagged and out.audio is None and out.reasons


def test_spans_merge_and_clip() -> None:
    spans = redaction_spans([_finding(0.05, 0.5), _finding(0.55, 0.9), _finding(3.9, 4.5)], 0.1, 4.0)
    assert spans == [(0.0, 1.0), (3.8, 4.0)]


def test_write_is_atomic_and_round_trips(tmp_path) -> None:
    audio = np.zeros((2, SR), dtype=np.float32)
    audio[0, :100] = 0.5
    path = write_redacted_audio(audio, SR, tmp_path / "c1" / "audio.redacted.wav")
    data, sr = sf.read(path, always_2d=True)
    assert sr == SR and data.shape == (SR, 2) and abs(data[0, 0] - 0.5) < 1e-3
    assert [p.name for p in path.parent.iterdir()] == ["audio.redacted.wav"]


def test_write_failure_raises_stage_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StageError):
        write_redacted_audio(np.zeros((1, 10), dtype=np.float32), SR, blocker / "audio.redacted.wav")


def _typed(entity_type: str, start: float, end: float, recognizer: str = "SpacyRecognizer") -> PiiFinding:
    return PiiFinding(entity_type=entity_type, turn_index=0, char_start=0, char_end=5, start_s=start, end_s=end,
                      recognizer=recognizer, score=0.9, value_hmac="0" * 64)


def test_padding_after_a_finding_is_its_own_setting() -> None:
    # A finding's time already reaches the next word (text._times): less padding after it than before.
    spans = redaction_spans([_typed("PERSON", 1.0, 1.5)], 0.3, 4.0, padding_after_s=0.1)
    assert [(round(a, 3), round(b, 3)) for a, b in spans] == [(0.7, 1.6)]
    assert [(round(a, 3), round(b, 3)) for a, b in redaction_spans([_typed("PERSON", 1.0, 1.5)], 0.3, 4.0)] == [(0.7, 1.8)]


def test_padding_after_payment_data_is_its_own_setting() -> None:
    is_payment = lambda f: f.entity_type == "CREDIT_CARD"  # noqa: E731
    card = _typed("CREDIT_CARD", 1.0, 1.5, "CardNumberRecognizer")
    kept = [(1.55, 1.9, 0)]  # the next word, beside the card: payment data's padding ignores it
    spans = redaction_spans([card], 0.3, 4.0, kept=kept, overlap_s=0.1, full_padding=is_payment, padding_after_s=0.1,
                            payment_after_s=0.1)
    assert [(round(a, 3), round(b, 3)) for a, b in spans] == [(0.7, 1.6)]
    # unset: payment data keeps padding_s after it too
    assert [(round(a, 3), round(b, 3)) for a, b in redaction_spans(
        [card], 0.3, 4.0, kept=kept, overlap_s=0.1, full_padding=is_payment, padding_after_s=0.1)] == [(0.7, 1.8)]


def test_padding_stops_at_the_speech_past_a_pause_except_for_payment_data() -> None:
    # speech 0-1.0 s, a pause 1.0-1.3 s, speech again 1.3-2.0 s (the next word, its time given late)
    rng = np.random.default_rng(1)
    samples = (0.3 * rng.standard_normal(2 * SR)).astype(np.float32)
    samples[int(1.0 * SR):int(1.3 * SR)] = 0.0
    pauses = Pauses.of(samples, SR, options().audio.coverage, 150)
    is_payment = lambda f: f.entity_type == "CREDIT_CARD"  # noqa: E731
    name, card = _typed("PERSON", 0.5, 0.95), _typed("CREDIT_CARD", 0.5, 0.95, "CardNumberRecognizer")
    clipped = redaction_spans([name], 0.5, 2.0, pauses=pauses, full_padding=is_payment)
    assert len(clipped) == 1 and clipped[0][0] == 0.0 and abs(clipped[0][1] - 1.3) < 0.03  # the pause stays muted
    assert redaction_spans([card], 0.5, 2.0, pauses=pauses, full_padding=is_payment) == [(0.0, 1.45)]
    # a pause shorter than the setting is inside speech (a stop consonant): no stop
    samples[int(1.0 * SR):int(1.3 * SR)] = samples[int(0.5 * SR):int(0.8 * SR)]
    samples[int(1.1 * SR):int(1.2 * SR)] = 0.0
    short = Pauses.of(samples, SR, options().audio.coverage, 150)
    assert redaction_spans([name], 0.5, 2.0, pauses=short) == [(0.0, 1.45)]


def test_a_gap_is_muted_over_its_own_time_unless_gaps_are_padded() -> None:
    gap = _typed("CREDIT_CARD", 1.0, 2.0, "payment_gap")
    assert redaction_spans([gap], 0.3, 4.0, padding_after_s=0.1, pad_gaps=False) == [(1.0, 2.0)]
    assert [(round(a, 3), round(b, 3)) for a, b in redaction_spans([gap], 0.3, 4.0, padding_after_s=0.1)] == [(0.7, 2.1)]
    # a finding beside it keeps its own padding, and the two merge
    name = _typed("PERSON", 2.05, 2.4)
    assert [(round(a, 3), round(b, 3)) for a, b in redaction_spans([gap, name], 0.3, 4.0, padding_after_s=0.1,
                                                                      pad_gaps=False)] == [(1.0, 2.5)]
