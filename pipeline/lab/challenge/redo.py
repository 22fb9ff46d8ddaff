"""Redact the dumped ASR turns of a challenge run again, text AND audio, without transcribing again.

A run's transcription and diarisation do not depend on the redaction policy, so the turns that
`callqa challenge run` dumped (ASR_DIR/<call_id>.turns.json, exactly what the run handed to
`redact_text`) and the recording decoded as ingest decodes it give the same redaction a full run
of the current code would: in a minute instead of an hour. `callqa eval --outputs` then scores
the result like any run's (re-listen included).

Beside result.json (the redacted turns) and audio.redacted.wav it writes `redo.json` per call:
each finding's recogniser, turn and time, and each muted stretch of unaligned speech - no value,
no text - so muted speech can be traced to what muted it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["redo_redaction"]


def redo_redaction(audio_dir: Path, asr_dir: Path, out_dir: Path, *, config: Path | None = None,
                   progress=None) -> list[str]:
    """Redact every dumped call in `asr_dir` again with the current policy.

    Args:
        audio_dir: the synthesised recordings the dumps came from (`callqa synth` output).
        asr_dir: <call_id>.turns.json dumps (`callqa challenge run`).
        out_dir: where OUT/<call_id>/ (result.json, audio.redacted.wav, redo.json) go.
        config: a site configuration (default: the packaged settings).
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        The call ids redacted.

    Raises:
        InputError: a dump has no recording beside it in `audio_dir`, or there is no dump.
    """
    from pipeline.errors import InputError
    from pipeline.ingest import InputItem, ingest
    from pipeline.redact import load_aligner, load_analyzer, redact_audio, redact_text, redaction_key, write_redacted_audio
    from pipeline.schema import Turn
    from pipeline.settings import load_settings

    settings = load_settings(config)
    analyzer = load_analyzer(settings.redact, settings.core.models)
    aligner = load_aligner(settings.redact.audio.align, settings.core.models)
    key = redaction_key(True)  # lab data only: the HMACs are thrown away
    dumps = sorted(Path(asr_dir).glob("*.turns.json"))
    if not dumps:
        raise InputError("no <call_id>.turns.json dump here", path=str(asr_dir), reason="empty")
    done = []
    for n, path in enumerate(dumps):
        dump = json.loads(path.read_text(encoding="utf-8"))
        cid = dump["call_id"]
        flac = Path(audio_dir) / f"{cid}.flac"
        if not flac.is_file():
            raise InputError("no recording for this dump", path=str(flac), reason="missing")
        sidecar = Path(audio_dir) / f"{cid}.json"
        recording = ingest(InputItem(flac, "audio", sidecar if sidecar.is_file() else None), settings.core.ingest)
        turns = [Turn.model_validate(t) for t in dump["turns"]]
        keep = (dump["organisation"],) if dump.get("organisation") else ()
        text = redact_text(turns, settings.redact, analyzer, key, keep_words=keep)
        audio = redact_audio(recording, text.findings, settings.redact, turns, aligner)
        folder = Path(out_dir) / cid
        folder.mkdir(parents=True, exist_ok=True)
        wav = folder / "audio.redacted.wav"
        if audio.audio is not None:
            write_redacted_audio(audio.audio, audio.sample_rate, wav)
        elif wav.exists():
            wav.unlink()
        _write(folder / "result.json", {"call_id": cid, "turns": [
            {"speaker": t.speaker, "channel": t.channel, "start_s": t.start_s, "end_s": t.end_s, "text": t.text}
            for t in text.turns]})
        _write(folder / "redo.json", {
            "call_id": cid, "flagged": text.flagged or audio.flagged,
            "findings": [{"type": f.entity_type, "recognizer": f.recognizer, "turn": f.turn_index,
                          "channel": turns[f.turn_index].channel, "start_s": f.start_s, "end_s": f.end_s}
                         for f in text.findings],
            "unaligned": [s.model_dump(mode="json") for s in audio.unaligned],
        })
        done.append(cid)
        if progress:
            progress("calls", n + 1, len(dumps))
    return done


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
