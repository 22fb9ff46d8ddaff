"""Redaction stage: Presidio + UK recognisers + spoken-form handling; text and audio redaction;
hash-chained audit log.

    options  = load_redact_options()                 # configs/redaction.yaml (+ site overrides)
    analyzer = load_analyzer(options)                # once per process (spaCy via the manifest)
    text     = redact_text(turns, options, analyzer, redaction_key(), keep_words=(organisation,))
    audio    = redact_audio(recording, text.findings, options)   # audio.audio is None -> flagged
    write_redacted_audio(audio.audio, audio.sample_rate, out / call_id / "audio.redacted.wav")
    append_call(log_path, call_id, text, audio)      # hash-chained audit records

`text.flagged` / `audio.flagged` mean human review (residual PII, unplaceable findings).
"""

from pipeline.redact.analyzer import Detection, load_analyzer
from pipeline.redact.scan import detect_call
from pipeline.redact.audio import AudioRedaction, redact_audio, write_redacted_audio
from pipeline.redact.audit import append_call, find_value, report, verify_log
from pipeline.redact.keys import hmac_value, redaction_key
from pipeline.redact.normalise import canonicalise, normalise_value
from pipeline.redact.options import RedactOptions, load_redact_options
from pipeline.redact.text import ResidualFinding, TextRedaction, redact_text

__all__ = [
    "Detection",
    "detect_call",
    "load_analyzer",
    "AudioRedaction",
    "redact_audio",
    "write_redacted_audio",
    "append_call",
    "find_value",
    "report",
    "verify_log",
    "hmac_value",
    "redaction_key",
    "canonicalise",
    "normalise_value",
    "RedactOptions",
    "load_redact_options",
    "ResidualFinding",
    "TextRedaction",
    "redact_text",
]
