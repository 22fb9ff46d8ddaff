"""Reading a call's redacted outputs from the output folder: result.json and audio.redacted.wav.

Paths are built from a validated call id under the configured output folder and checked to
stay inside it; nothing but the redacted outputs is ever opened.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.schema import CallResult, is_valid_call_id

__all__ = ["REDACTED_AUDIO", "TimelineSpan", "call_file", "load_result", "timeline"]

log = logging.getLogger(__name__)

REDACTED_AUDIO = "audio.redacted.wav"


class TimelineSpan(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # silence | hold | overtalk
    start_s: float
    end_s: float


def call_file(out_dir: Path, call_id: str, name: str) -> Path | None:
    """out/<call_id>/<name> when the id is safe, the file exists and it lies inside out/."""
    if not is_valid_call_id(call_id) or name not in (REDACTED_AUDIO, "result.json"):
        return None
    root = Path(out_dir).resolve()
    path = (root / call_id / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def load_result(out_dir: Path, call_id: str) -> CallResult | None:
    """The call's redacted result.json, or None when missing or unreadable (the page says so)."""
    path = call_file(out_dir, call_id, "result.json")
    if path is None:
        return None
    try:
        result = CallResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("result.json of a call could not be read; showing the card without the transcript")
        return None
    return result if result.call_id == call_id else None


def timeline(result: CallResult) -> tuple[float, list[TimelineSpan]]:
    """(duration, spans) for the page's timeline of silences, holds and overtalk."""
    metrics = result.metrics
    spans = ([TimelineSpan(kind="silence", start_s=s.start_s, end_s=s.end_s) for s in metrics.silences]
             + [TimelineSpan(kind="hold", start_s=h.start_s, end_s=h.end_s) for h in metrics.holds]
             + [TimelineSpan(kind="overtalk", start_s=o.start_s, end_s=o.end_s) for o in metrics.overtalk])
    ends = [t.end_s for t in result.turns if t.end_s is not None] + [s.end_s for s in spans]
    duration = result.source.duration_s or max(ends, default=0.0)
    return duration, sorted(spans, key=lambda s: s.start_s)
