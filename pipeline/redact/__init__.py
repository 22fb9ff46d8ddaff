"""Redaction stage: Presidio + UK recognisers + spoken-form handling; text and audio redaction;
hash-chained audit log.

    options  = load_redact_options()                 # configs/redaction.yaml (+ site overrides)
    analyzer = load_analyzer(options)                # once per process (spaCy via the manifest)
    text     = redact_text(turns, options, analyzer, redaction_key(), keep_words=(organisation,))
    aligner  = load_aligner(options.audio.align)      # once per worker; None unless audio.align.enabled
    audio    = redact_audio(recording, text.findings, options, turns, aligner)   # audio.audio None -> flagged
    write_redacted_audio(audio.audio, audio.sample_rate, out / call_id / "audio.redacted.wav")
    append_call(log_path, call_id, text, audio)      # hash-chained audit records

`text.flagged` / `audio.flagged` mean human review (residual PII, unplaceable findings).

The names below load on first use: importing the package (the CLI, settings, the audit report)
must not import Presidio, spaCy or transformers, which take seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from pipeline.redact.align import load_aligner
    from pipeline.redact.analyzer import Detection, load_analyzer
    from pipeline.redact.audio import AudioRedaction, redact_audio, write_redacted_audio
    from pipeline.redact.audit import anchor_log, append_call, find_value, repair_log, report, verify_log
    from pipeline.redact.keys import audit_key, hmac_value, is_dev_key_id, key_id, redaction_key
    from pipeline.redact.normalise import canonicalise, normalise_value
    from pipeline.redact.options import RedactOptions, load_redact_options
    from pipeline.redact.scan import detect_call
    from pipeline.redact.text import ResidualFinding, TextRedaction, redact_text

# public name -> the submodule that defines it
_EXPORTS = {
    "Detection": "analyzer",
    "load_analyzer": "analyzer",
    "load_aligner": "align",
    "detect_call": "scan",
    "AudioRedaction": "audio",
    "redact_audio": "audio",
    "write_redacted_audio": "audio",
    "append_call": "audit",
    "find_value": "audit",
    "report": "audit",
    "verify_log": "audit",
    "repair_log": "audit",
    "anchor_log": "audit",
    "hmac_value": "keys",
    "redaction_key": "keys",
    "audit_key": "keys",
    "key_id": "keys",
    "is_dev_key_id": "keys",
    "canonicalise": "normalise",
    "normalise_value": "normalise",
    "RedactOptions": "options",
    "load_redact_options": "options",
    "ResidualFinding": "text",
    "TextRedaction": "text",
    "redact_text": "text",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
