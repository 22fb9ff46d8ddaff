"""A customer channel 40 dB quieter than the agent's (a common line fault), the customer reading
a card number (Piper, 8 kHz stereo): after the whole pipeline, each channel of
audio.redacted.wav, peak-normalised and transcribed again by a different model (the manifest's
`base`, no VAD), reveals no run of the card number's digits, and the call is flagged for the
level difference. Slow: Piper, the pipeline (tiny.en) and four short base passes (~60-90 s on
a 2-core CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from pipeline.config import TranscribeOptions
from pipeline.lab.eval_redact import value_leaks
from pipeline.lab.scripts import CallScript
from pipeline.models import resolve_model
from pipeline.schema import Recording, RecordingMetadata, Source

CARD = "four five three nine, one four eight eight, zero three four three, six four six seven"  # Luhn-valid


def _luhn_ok(digits: str) -> bool:
    total = 0
    for k, d in enumerate(int(c) for c in reversed(digits)):
        total += d if k % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


SCRIPT = CallScript.model_validate({
    "call_id": "quiet-customer-001",
    "channel_type": "telephone",
    "organisation": "Northgate Energy",
    "turns": [
        {"speaker": "agent", "text": "Good morning, Northgate Energy. How can I help you today?", "pause_before_s": 0.5},
        {"speaker": "customer", "text": "Hello. I'd like to pay the balance on my gas bill, please."},
        {"speaker": "agent", "text": "Of course. Can I take the long number on your card, please?"},
        {"speaker": "customer", "text": f"Yes, it's {CARD}.",
         "pii": [{"type": "CREDIT_CARD", "text": CARD}]},
        {"speaker": "agent", "text": "Thank you. That payment has gone through, and you'll get a receipt by post."},
    ],
})


def _heard(audio: np.ndarray, sample_rate: int, whisper, options: TranscribeOptions) -> str:
    """Text a listener could recover: each channel peak-normalised, transcribed with no VAD."""
    from pipeline.transcribe import transcribe

    texts = []
    for channel in audio:
        peak = float(np.max(np.abs(channel)))
        if peak == 0.0:
            continue
        mono = (channel / peak * 0.9).astype(np.float32)[None, :]
        source = Source(path="x.wav", sha256="0" * 64, format="wav", duration_s=mono.shape[1] / sample_rate,
                        sample_rate=sample_rate, channels=1)
        rec = Recording(call_id="relisten", channel_type="telephone", source=source, metadata=RecordingMetadata(),
                        audio=mono, sample_rate=sample_rate)
        texts.append(" ".join(s.text for s in transcribe(rec, options, whisper).segments))
    return " ".join(texts)


@pytest.mark.slow
def test_card_number_on_a_40_db_quieter_customer_channel_is_not_audible(tmp_path) -> None:
    from pipeline.config import IngestOptions
    from pipeline.ingest import discover_inputs, ingest
    from pipeline.lab.synth import synthesize_script
    from pipeline.run import Models, run_batch
    from pipeline.settings import load_settings
    from pipeline.transcribe import load_whisper

    assert _luhn_ok("4539148803436467")
    inputs = tmp_path / "in"
    made = synthesize_script(SCRIPT, inputs, layout="stereo", sample_rate=8000, audio_format="wav",
                             hold_audio="silence", truth_dir=tmp_path / "truth")
    audio, sr = sf.read(made.audio_path, always_2d=True)
    audio[:, 1] *= 10 ** (-40 / 20)  # the customer's channel, 40 dB down
    sf.write(made.audio_path, audio, sr, subtype="PCM_16")

    settings = load_settings()
    out = tmp_path / "out"
    summary = run_batch(discover_inputs([inputs]), out, settings, Models(settings))
    assert summary.counts()["failed"] == 0
    result = json.loads((out / SCRIPT.call_id / "result.json").read_text(encoding="utf-8"))
    assert result["redaction"]["flagged"] and any("quieter" in r for r in result["redaction"]["reasons"])
    # The quiet party was transcribed (decoded at a normal level), not skipped and muted whole.
    customer_words = sum(len(t["words"]) for t in result["turns"] if t["channel"] == 1)
    customer_s = sum(t.end_s - t.start_s for t in made.truth.turns if t.speaker == "customer")
    assert customer_words >= 8 and result["redaction"]["muted_speech_s"] < 0.5 * customer_s

    # A different model from the pipeline's tiny.en: base when installed.
    try:
        resolve_model("base", settings.core.models)
        model = "base"
    except Exception:  # noqa: BLE001 - any reason base cannot be used: fall back to the default
        model = settings.core.transcribe.model
    relisten = TranscribeOptions(model=model, vad=False)
    whisper = load_whisper(relisten, settings.core.models)
    original = ingest(made.audio_path, IngestOptions())
    # The control: normalised, the quiet original does give the number away to this listener.
    assert value_leaks(CARD, "CREDIT_CARD", _heard(original.audio, original.sample_rate, whisper, relisten))
    redacted = ingest(out / SCRIPT.call_id / "audio.redacted.wav", IngestOptions())
    assert not value_leaks(CARD, "CREDIT_CARD", _heard(redacted.audio, redacted.sample_rate, whisper, relisten))
