"""Run the stages over inputs: one call at a time, nothing lost, a summary at the end.

`process_input` is the whole pipeline for one input and returns a `CallResult`; `write_outputs`
puts it on disk atomically; `run_batch` loops over inputs, records each bad file as failed with
its reason and goes on. The Prefect flows call these same functions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import pipeline
from pipeline.config import PipelineConfig, config_hash
from pipeline.errors import CallqaError, InputError, ModelUnavailableError
from pipeline.ingest import InputItem, ingest, read_transcript_input
from pipeline.schema import CallResult, PipelineInfo, RecordingMetadata, Turn
from pipeline.transcribe import WhisperHandle, load_whisper, transcribe

__all__ = ["Models", "CallOutcome", "RunSummary", "process_input", "write_outputs", "run_batch", "format_transcript"]

log = logging.getLogger(__name__)

# (event, payload): "start" / "done" per input, so a CLI can draw a bar and a flow can log.
RunHook = Callable[[str, dict], None]


@dataclass
class Models:
    """Models loaded once per worker process and reused for every call it processes."""

    config: PipelineConfig
    _whisper: WhisperHandle | None = field(default=None, repr=False)

    @property
    def whisper(self) -> WhisperHandle:
        if self._whisper is None:
            started = time.perf_counter()
            self._whisper = load_whisper(self.config.transcribe, self.config.models)
            log.info("loaded whisper %s on %s/%s in %.1f s", self.config.transcribe.model, self._whisper.device,
                     self._whisper.compute_type, time.perf_counter() - started)
        return self._whisper


class CallOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    call_id: str | None = None
    status: Literal["done", "skipped", "failed"]
    reason: str | None = Field(None, description="Reason code for a failure (InputError.reason, stage_error, ...).")
    message: str | None = Field(None, description="What was wrong and what to do; never transcript content.")
    audio_s: float | None = None
    elapsed_s: float = 0.0
    words: int = 0
    timings_s: dict[str, float] = Field(default_factory=dict)


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    out_dir: str
    outcomes: list[CallOutcome]
    elapsed_s: float

    @property
    def failed(self) -> list[CallOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {s: sum(o.status == s for o in self.outcomes) for s in ("done", "skipped", "failed")}

    def audio_s(self) -> float:
        return sum(o.audio_s or 0.0 for o in self.outcomes if o.status == "done")

    def to_json(self) -> dict:
        processing = sum(o.elapsed_s for o in self.outcomes if o.status == "done")
        audio = self.audio_s()
        return {
            "out_dir": self.out_dir,
            "counts": self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "audio_s": round(audio, 3),
            "real_time_factor": round(processing / audio, 4) if audio else None,
            "calls": [o.model_dump() for o in self.outcomes],
        }


def _model_refs(models: Models, uses_audio: bool) -> list:
    return [models.whisper.resolved.ref] if uses_audio else []


def process_input(item: InputItem, config: PipelineConfig, models: Models) -> CallResult:
    """Run every stage on one input.

    Raises:
        InputError: the input is bad (the batch records it and goes on).
        StageError: a stage failed on good input.
        ModelUnavailableError: a model cannot be loaded (fatal for the batch).
    """
    timings: dict[str, float] = {}

    def timed(stage: str, fn, *args, **kwargs):
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        timings[stage] = time.perf_counter() - started
        return value

    if item.kind == "unsupported":
        raise InputError(
            f"'{item.path.suffix or '(no extension)'}' is not a supported input; use WAV, FLAC, MP3, Ogg/Opus, M4A or a transcript .json",
            path=str(item.path),
            reason="unsupported_format",
        )
    if item.kind == "transcript":
        transcript_input, source = timed("ingest", read_transcript_input, item.path)
        turns = [
            Turn(index=i, speaker=t.speaker, start_s=t.start_s, end_s=t.end_s, text=t.text)
            for i, t in enumerate(transcript_input.turns)
        ]
        call_id, channel_type = transcript_input.call_id, transcript_input.channel_type
        metadata = RecordingMetadata(
            **{k: v for k, v in transcript_input.metadata.items() if k in RecordingMetadata.model_fields}
        )
        stages = ["ingest"]
        device = None
    else:
        recording = timed("ingest", ingest, item, config.ingest)
        whisper = models.whisper
        transcript = timed("transcribe", transcribe, recording, config.transcribe, whisper)
        turns = timed("diarise", _turns_from_transcript, recording, transcript)
        call_id, channel_type, source, metadata = (
            recording.call_id, recording.channel_type, recording.source, recording.metadata,
        )
        stages = ["ingest", "transcribe", "diarise"]
        device = whisper.device
    return CallResult(
        call_id=call_id,
        channel_type=channel_type,
        source=source,
        metadata=metadata,
        pipeline=PipelineInfo(
            version=pipeline.__version__,
            config_hash=config_hash(config),
            models=_model_refs(models, item.kind == "audio"),
            timings_s=timings,
            device=device,
        ),
        turns=turns,
        stages_run=stages,
    )


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--.---"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:06.3f}"


def format_transcript(result: CallResult) -> str:
    """transcript.txt: one line per turn, '[start - end] SPEAKER: text'."""
    lines = [f"# {result.call_id} ({result.channel_type})"]
    for turn in result.turns:
        lines.append(f"[{_fmt_time(turn.start_s)} - {_fmt_time(turn.end_s)}] {turn.speaker.upper()}: {turn.text}")
    return "\n".join(lines) + "\n"


def write_outputs(result: CallResult, out_dir: Path) -> Path:
    """Write out/<call_id>/ atomically: a crash leaves the old folder or the new one, never half.

    Returns:
        The call's output folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / result.call_id
    tmp = Path(tempfile.mkdtemp(prefix=f".{result.call_id}.", dir=out_dir))
    try:
        (tmp / "result.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
        (tmp / "transcript.txt").write_text(format_transcript(result), encoding="utf-8")
        os.chmod(tmp, 0o750)
        if final.exists():
            old = final.with_name(f".{result.call_id}.old.{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _already_done(out_dir: Path, call_id: str, sha256: str, cfg_hash: str) -> bool:
    path = out_dir / call_id / "result.json"
    if not path.is_file():
        return False
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        return previous["source"]["sha256"] == sha256 and previous["pipeline"]["config_hash"] == cfg_hash
    except (OSError, ValueError, KeyError, TypeError):
        return False


def run_batch(
    items: list[InputItem],
    out_dir: Path,
    config: PipelineConfig,
    models: Models | None = None,
    *,
    force: bool = False,
    hook: RunHook | None = None,
) -> RunSummary:
    """Process every input; a bad one is recorded as failed with its reason and the rest go on.

    Args:
        items: inputs from `discover_inputs`.
        out_dir: where out/<call_id>/ folders are written.
        config: the effective configuration.
        models: models to reuse (loaded on first need when None).
        force: re-process calls whose result is already there for the same bytes and config.
        hook: progress callback, called with ("start", {...}) and ("done", {...}) per input.

    Raises:
        ModelUnavailableError: no model to run with: every call would fail the same way.
    """
    models = models or Models(config)
    cfg_hash = config_hash(config)
    outcomes: list[CallOutcome] = []
    batch_started = time.perf_counter()
    for position, item in enumerate(items):
        if hook:
            hook("start", {"path": str(item.path), "index": position, "total": len(items)})
        started = time.perf_counter()
        try:
            result = process_input(item, config, models)
            if not force and _already_done(out_dir, result.call_id, result.source.sha256, cfg_hash):
                outcome = CallOutcome(path=str(item.path), call_id=result.call_id, status="skipped",
                                      reason="already_done", audio_s=result.source.duration_s)
            else:
                write_outputs(result, out_dir)
                outcome = CallOutcome(
                    path=str(item.path), call_id=result.call_id, status="done", audio_s=result.source.duration_s,
                    elapsed_s=time.perf_counter() - started, words=sum(len(t.text.split()) for t in result.turns),
                    timings_s=dict(result.pipeline.timings_s),
                )
        except ModelUnavailableError:
            raise
        except InputError as e:
            log.info("failed %s: %s", item.path.name, e)
            outcome = CallOutcome(path=str(item.path), status="failed", reason=e.reason, message=str(e))
        except CallqaError as e:
            log.error("failed %s: %s", item.path.name, e)
            outcome = CallOutcome(path=str(item.path), status="failed", reason="stage_error", message=str(e))
        except Exception as e:  # noqa: BLE001 - one call's bug must not stop the night's batch
            # Only the type and the code location: a library's message may quote the data.
            log.error("failed %s: internal error %s\n%s", item.path.name, type(e).__name__,
                      "".join(traceback.format_tb(e.__traceback__)))
            outcome = CallOutcome(path=str(item.path), status="failed", reason="internal_error",
                                  message=f"internal error ({type(e).__name__}); see the log for where it happened")
        outcomes.append(outcome)
        if hook:
            hook("done", outcome.model_dump())
    return RunSummary(out_dir=str(out_dir), outcomes=outcomes, elapsed_s=time.perf_counter() - batch_started)


def _turns_from_transcript(recording, transcript) -> list[Turn]:
    # Placeholder until diarise lands: one turn per segment, speaker from the channel map.
    channel_map = recording.metadata.channel_map or (["agent", "customer"] if recording.n_channels == 2 else None)
    turns = []
    for i, seg in enumerate(transcript.segments):
        speaker = channel_map[seg.channel] if channel_map else "unknown"
        turns.append(Turn(index=i, speaker=speaker, start_s=seg.start_s, end_s=seg.end_s, text=seg.text,
                          words=seg.words, channel=seg.channel if recording.n_channels > 1 else None))
    return turns
