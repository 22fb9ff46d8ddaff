"""End to end through audio: synthesise a dev call, transcribe it, redact text and audio,
re-transcribe audio.redacted.wav, and check that none of the call's PII values (in digits or
words) can be heard again. Slow: Piper TTS and two Whisper passes on CPU."""

from __future__ import annotations

import pytest

from pipeline.config import IngestOptions, TranscribeOptions
from pipeline.ingest import ingest
from pipeline.redact.audio import redact_audio, write_redacted_audio
from pipeline.redact.evaluate import load_labelled_calls, value_leaks
from pipeline.redact.text import redact_text
from pipeline.schema import Transcript, Turn
from tests._redact_support import DEV_CALLS, KEY, analyzer, options



def _turns(transcript: Transcript, channel_map: list[str]) -> list[Turn]:
    """One turn per segment, speaker by channel (stereo synthesis: agent ch0, customer ch1)."""
    return [
        Turn(index=i, speaker=channel_map[s.channel], start_s=s.start_s, end_s=s.end_s,
             text=" ".join(w.text for w in s.words), words=list(s.words), channel=s.channel)
        for i, s in enumerate(transcript.segments)
    ]


# dev-004: policy number, postcode, DOB, landline and mobile read as words, names.
# dev-008: booking reference, a card number read across two turns, expiry, security code, e-mail.
# (~1 min of CPU each; every telephone dev call passes too: see the redaction report.)
E2E_CALLS = ["dev-004", "dev-008"]


@pytest.mark.slow
@pytest.mark.parametrize("call_id", E2E_CALLS)
def test_redacted_audio_does_not_reveal_pii(tmp_path, call_id: str) -> None:
    from pipeline.synth import load_script, synthesize_script
    from pipeline.transcribe import load_whisper, transcribe

    script = load_script(DEV_CALLS / f"{call_id}.yaml")
    synth = synthesize_script(script, tmp_path / "synth", layout="stereo", sample_rate=8000, audio_format="wav",
                              hold_audio="silence")
    recording = ingest(synth.audio_path, IngestOptions())
    topts = TranscribeOptions()
    whisper = load_whisper(topts)
    transcript = transcribe(recording, topts, whisper)
    turns = _turns(transcript, ["agent", "customer"])

    opts = options()
    text = redact_text(turns, opts, analyzer(opts), KEY)
    audio = redact_audio(recording, text.findings, opts)
    assert not audio.flagged and audio.audio is not None
    assert len(text.findings) >= 6
    path = write_redacted_audio(audio.audio, audio.sample_rate, tmp_path / "out" / call_id / "audio.redacted.wav")

    again = transcribe(ingest(path, IngestOptions()), topts, whisper)
    heard = " ".join(s.text for s in again.segments)
    labelled = next(c for c in load_labelled_calls(DEV_CALLS) if c.call_id == call_id)
    leaked = [(i, entity) for i, turn in enumerate(labelled.turns) for entity, value in turn.pii
              if value_leaks(value, entity, heard)]
    assert leaked == []
