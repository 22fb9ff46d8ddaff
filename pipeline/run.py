"""Run the stages over inputs: one call at a time, nothing lost, a summary at the end.

`process_input` is the whole pipeline for one input and returns a `CallResult`; `write_outputs`
puts it on disk atomically; `process_one` skips, re-assesses or processes one input into its
output folder; `run_batch` loops over inputs, records each bad file as failed with its reason
and goes on. The Prefect flows call these same functions.

Where things go is a `pipeline.paths.RunPaths` (one resolver); what "already done" means is
`pipeline.settings.input_fingerprint` (one fingerprint). Progress is reported through the one
hook shape, `progress(step, completed, total)`: "calls" per batch, "transcribe" in seconds of
audio, "diarise/<pyannote step>" for mono calls. Each finished call is also handed, typed, to
`on_outcome`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import pipeline
from pipeline.errors import CallqaError, ConfigError, InputError, ModelUnavailableError, StageError
from pipeline.ingest import InputItem, ingest, read_transcript_input, shown_path
from pipeline.paths import RunPaths, open_index, resolve_paths
from pipeline.progress import ProgressHook, prefixed
from pipeline.recording import (
    Journal,
    audit_holds,
    clean_leftovers,
    is_recorded,
    leftover_name,
    read_journal,
    write_journal,
)
from pipeline.files import write_private
from pipeline.models import sha256_uncached
from pipeline.schema import (
    DEV_KEY_FLAG,
    CallResult,
    PipelineInfo,
    RecordingMetadata,
    RedactionSummary,
    RoleSummary,
    TranscriptInput,
    Turn,
)
from pipeline.settings import (
    InputFingerprint,
    Settings,
    input_fingerprint,
    manifest_fingerprint,
    recorded_fingerprint,
    settings_fingerprint,
    stage_hash,
)
from pipeline.transcribe import WhisperHandle, load_whisper, transcribe

if TYPE_CHECKING:  # each of these modules imports torch, Presidio or spaCy: loaded on first use
    from presidio_analyzer import AnalyzerEngine

    from pipeline.detect import DetectModels
    from pipeline.diarise import Diarisation, Diariser
    from pipeline.redact import AudioRedaction, TextRedaction
    from pipeline.redact.align import Aligner
    from pipeline.store import Store

__all__ = ["ERASED_PATH", "Models", "Processed", "StageProbe", "OutcomeHook", "CallOutcome", "RunSummary", "process_input",
           "process_one", "assess", "write_outputs", "record_outputs", "run_batch", "format_transcript"]

log = logging.getLogger(__name__)

# probe(stage) -> a context held around that stage's work: how `callqa bench` sees where each
# stage starts and ends (for its memory samples) without the stages knowing about it.
StageProbe = Callable[[str], AbstractContextManager]
# Called with each input's outcome as it finishes (the CLI prints one line per call).
OutcomeHook = Callable[["CallOutcome"], None]

# The path of an erased input's outcome: it must not name the file (a telephony export names
# files by caller number) nor the call.
ERASED_PATH = "(erased)"

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Models:
    """Models loaded once per worker process and reused for every call it processes.

    Each is loaded on first use, so a batch of chat transcripts never loads Whisper and a batch of
    stereo calls never loads pyannote.
    """

    settings: Settings
    allow_dev_key: bool = False
    _loaded: dict[str, object] = field(default_factory=dict, repr=False)
    # Task threads of one worker share the models: never load one twice.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _get(self, name: str, load: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._loaded:
                started = time.perf_counter()
                self._loaded[name] = load()
                log.info("loaded %s in %.1f s", name, time.perf_counter() - started)
            return self._loaded[name]  # type: ignore[return-value]  # stored by this name's loader

    @property
    def whisper(self) -> WhisperHandle:
        core = self.settings.core
        return self._get("whisper", lambda: load_whisper(core.transcribe, core.models))

    @property
    def diariser(self) -> Diariser:
        from pipeline.diarise import load_diariser

        return self._get("diariser", lambda: load_diariser(self.settings.diarise))

    @property
    def analyzer(self) -> AnalyzerEngine:
        from pipeline.redact import load_analyzer

        return self._get("analyzer", lambda: load_analyzer(self.settings.redact, self.settings.core.models))

    @property
    def aligner(self) -> Aligner | None:
        from pipeline.redact import load_aligner

        return self._get("aligner", lambda: load_aligner(self.settings.redact.audio.align, self.settings.core.models))

    @property
    def redaction_key(self) -> bytes:
        from pipeline.redact import redaction_key

        return self._get("redaction_key", lambda: redaction_key(self.allow_dev_key))

    @property
    def detect(self) -> DetectModels:
        from pipeline.detect import load_detect_models
        from pipeline.torch_compat import import_torchaudio

        import_torchaudio()  # sentence-transformers imports transformers, which imports torchaudio
        return self._get("detect", lambda: load_detect_models(self.settings.detect))


@dataclass(frozen=True)
class Processed:
    """One call's result plus what is written beside result.json."""

    result: CallResult
    # float32 (channels, samples) at 16 kHz, for audio.redacted.wav; None for a transcript input,
    # when redacted audio is switched off, or when the audio is withheld (redaction fails closed).
    redacted_audio: np.ndarray | None = None
    # For the audit log; None when the call was only re-assessed (its redaction is unchanged).
    text_redaction: TextRedaction | None = None
    audio_redaction: AudioRedaction | None = None
    # The speaker timeline, for evaluation; None for a transcript input or a re-assessment.
    diarisation: Diarisation | None = None


class CallOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    call_id: str | None = None
    # erased: the input's call or recording was erased (`callqa erase`) or expired (retention);
    # such an outcome names neither the file nor the call.
    status: Literal["done", "skipped", "failed", "erased"]
    reason: str | None = Field(None, description="Reason code for a failure (InputError.reason, stage_error, ...).")
    message: str | None = Field(None, description="What was wrong and what to do; never transcript content.")
    audio_s: float | None = None
    elapsed_s: float = 0.0
    words: int = 0
    timings_s: dict[str, float] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    out_dir: str
    outcomes: list[CallOutcome]
    elapsed_s: float

    @property
    def failed(self) -> list[CallOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {s: sum(o.status == s for o in self.outcomes) for s in ("done", "skipped", "failed", "erased")}

    def audio_s(self) -> float:
        return sum(o.audio_s or 0.0 for o in self.outcomes if o.status == "done")

    def to_json(self) -> dict:
        processing = sum(o.elapsed_s for o in self.outcomes if o.status == "done")
        audio = self.audio_s()
        stages: dict[str, float] = {}
        for o in self.outcomes:
            for stage, seconds in o.timings_s.items():
                stages[stage] = stages.get(stage, 0.0) + seconds
        return {
            "out_dir": self.out_dir,
            "counts": self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "audio_s": round(audio, 3),
            "real_time_factor": round(processing / audio, 4) if audio else None,
            "stage_s": {k: round(v, 3) for k, v in stages.items()},
            "calls": [o.model_dump() for o in self.outcomes],
        }


def _timed(timings: dict[str, float], stage: str, probe: StageProbe | None, fn: Callable[P, T],
           *args: P.args, **kwargs: P.kwargs) -> T:
    with probe(stage) if probe is not None else nullcontext():
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        timings[stage] = round(time.perf_counter() - started, 3)
    return value


def _transcript_turns(transcript_input: TranscriptInput) -> list[Turn]:
    return [Turn(index=i, speaker=t.speaker, start_s=t.start_s, end_s=t.end_s, text=t.text)
            for i, t in enumerate(transcript_input.turns)]


def assess(result: CallResult, settings: Settings, models: Models, *, audio: np.ndarray | None = None,
           probe: StageProbe | None = None, settings_fp: str | None = None) -> CallResult:
    """Detect and score on a result's redacted turns: the stages after redaction.

    Also how a re-run with changed detection or scorecard configuration refreshes a finished
    call without transcribing or redacting it again.

    Args:
        result: a result whose turns are redacted.
        settings: every stage's options.
        models: the worker's loaded models.
        audio: the recording (timing events may read it); None for a transcript input.
        probe: the benchmark's stage marks.
        settings_fp: `settings_fingerprint(settings)` when the caller has it (else computed).

    Returns:
        A new result with events, metrics, SLA checks, the scorecard and the hashes it was made with.
    """
    from pipeline.detect import detect
    from pipeline.score import score_result

    timings = dict(result.pipeline.timings_s)
    detection = _timed(timings, "detect", probe, detect, result.turns, channel_type=result.channel_type,
                       options=settings.detect, models=models.detect, audio=audio)
    flags = [f for f in result.flags if f != "critical_failed"]
    stages = [s for s in result.stages_run if s not in ("detect", "score")] + ["detect"]
    result = result.model_copy(update={
        "events": detection.events,
        "metrics": detection.metrics,
        "sla": detection.sla,
        "lass": detection.lass,
        "stages_run": stages,
    })
    # Turn sentiment, loudness and raised voice (issue #18): part of the detect stage, and of its time.
    from pipeline.detect.experience import add_experience

    started = time.perf_counter()
    result = add_experience(result, audio, settings.experience, embed=models.detect.embed, vader=models.detect.sentiment)
    timings["detect"] = round(timings["detect"] + time.perf_counter() - started, 3)
    result = _timed(timings, "score", probe, score_result, result, settings.templates, settings.score)
    if result.scorecard is not None and result.scorecard.critical_failed:
        flags.append("critical_failed")
    pipeline_info = result.pipeline.model_copy(update={
        "timings_s": timings,
        "config_hash": stage_hash(settings, "score"),
        "stage_hashes": {**result.pipeline.stage_hashes, "detect": stage_hash(settings, "detect"),
                         "score": stage_hash(settings, "score")},
        "settings_fingerprint": settings_fp or settings_fingerprint(settings),
    })
    # Revalidate: model_copy does not, and the result is what auditors read.
    return CallResult.model_validate({**result.model_dump(), "flags": flags, "pipeline": pipeline_info.model_dump()})


def process_input(
    item: InputItem,
    settings: Settings,
    models: Models,
    *,
    transcribe_guard: AbstractContextManager | None = None,
    probe: StageProbe | None = None,
    progress: ProgressHook | None = None,
    settings_fp: str | None = None,
) -> Processed:
    """Run every stage on one input: ingest, transcribe, diarise, redact, detect, score.

    Args:
        item: one discovered input.
        settings: every stage's options.
        models: the worker's loaded models.
        transcribe_guard: a context manager held around transcription only (e.g. a concurrency
            limit so one GPU is not oversubscribed while other calls' CPU stages run).
        probe: called with each stage's name; the context it returns is held around that stage
            (the benchmark's stage marks).
        progress: the one hook shape, passed to the stages: ("transcribe", seconds done, seconds
            of audio) and, for mono calls, ("diarise/<pyannote step>", done, total).
        settings_fp: `settings_fingerprint(settings)` when the caller has it (else computed).

    Returns:
        The result, with what is written beside it and what the audit log needs.

    Raises:
        InputError: the input is bad (the batch records it and goes on).
        StageError: a stage failed on good input.
        ModelUnavailableError: a model cannot be loaded (fatal for the batch).
        ConfigError: no redaction key, or a bad model manifest (fatal for the batch).
    """
    from pipeline.diarise import diarise
    from pipeline.redact import is_dev_key_id, key_id, redact_audio, redact_text

    core = settings.core
    timings: dict[str, float] = {}
    warnings: list[str] = []
    key = models.redaction_key  # fail before any work when there is no key
    if item.kind == "unsupported":
        raise InputError(
            f"'{item.path.suffix or '(no extension)'}' is not a supported input; use WAV, FLAC, MP3, Ogg/Opus, M4A or a transcript .json",
            path=shown_path(item.path, key, core.ingest),
            reason="unsupported_format",
        )
    settings_fp = settings_fp or settings_fingerprint(settings)
    recording = diarisation = None
    model_refs = []
    if item.kind == "transcript":
        transcript_input, source = _timed(timings, "ingest", probe, read_transcript_input, item.path,
                                                core.ingest, call_id_key=key)
        turns = _transcript_turns(transcript_input)
        call_id, channel_type = transcript_input.call_id, transcript_input.channel_type
        metadata = RecordingMetadata(
            **{k: v for k, v in transcript_input.metadata.items() if k in RecordingMetadata.model_fields}
        )
        roles = RoleSummary(method="transcript", confidence=1.0, evidence=["speakers given by the transcript"])
        stages = ["ingest"]
        device = None
    else:
        recording = _timed(timings, "ingest", probe, ingest, item, core.ingest, call_id_key=key)
        whisper = models.whisper
        with transcribe_guard or nullcontext():
            transcript = _timed(timings, "transcribe", probe, transcribe, recording, core.transcribe, whisper,
                                hook=progress)
        diariser = models.diariser if recording.n_channels == 1 and transcript.segments else None
        diarisation = _timed(timings, "diarise", probe, diarise, recording, transcript, settings.diarise, diariser,
                             hook=prefixed(progress, "diarise"))
        turns = diarisation.turns
        warnings += diarisation.warnings
        r = diarisation.roles
        roles = RoleSummary(method=diarisation.method, agent=r.agent,
                            confidence=r.confidence, evidence=list(r.evidence), flagged=r.flagged)
        call_id, channel_type, source, metadata = (
            recording.call_id, recording.channel_type, recording.source, recording.metadata,
        )
        model_refs = [whisper.resolved.ref, *diarisation.models]
        stages = ["ingest", "transcribe", "diarise"]
        device = whisper.device
    try:
        fingerprint = input_fingerprint(item, settings_fp, source_sha256=source.sha256)
    except OSError as e:  # the sidecar went between ingest and here
        raise InputError(f"cannot read the sidecar again ({e.strerror})", path=str(item.sidecar),
                         reason="bad_sidecar") from e

    keep = tuple(w for w in (metadata.organisation,) if w)
    text_red = _timed(timings, "redact", probe, redact_text, turns, settings.redact, models.analyzer, key, keep_words=keep)
    audio_red = None
    if recording is not None and core.output.redacted_audio:
        audio_red = _timed(timings, "redact_audio", probe, redact_audio, recording, text_red.findings, settings.redact,
                           turns, models.aligner)
    stages.append("redact")
    flags = []
    if text_red.flagged or (audio_red is not None and audio_red.flagged):
        flags.append("residual_pii" if text_red.residual else "redaction_review")
    if roles.flagged:
        flags.append("roles_unclear")
    redaction_key_id = key_id(key)
    if is_dev_key_id(redaction_key_id):
        flags.append(DEV_KEY_FLAG)  # digests anyone can reproduce: exports and the web app refuse it
    redaction = RedactionSummary(
        findings=len(text_red.findings), residual=len(text_red.residual),
        flagged=bool(text_red.flagged or (audio_red is not None and audio_red.flagged)),
        reasons=list(text_red.reasons) + (list(audio_red.reasons) if audio_red is not None else []),
        audio_redacted=audio_red is not None and audio_red.audio is not None,
        audit_records=len(text_red.findings) + len(text_red.reasons)
        + (len(audio_red.reasons) + len(audio_red.unaligned) if audio_red else 0),
        muted_speech_s=audio_red.muted_speech_s if audio_red is not None else 0.0,
        muted_other_s=audio_red.muted_other_s if audio_red is not None else 0.0,
        unaligned_stretches=len(audio_red.unaligned) if audio_red is not None else 0,
    )
    result = CallResult(
        call_id=call_id,
        channel_type=channel_type,
        source=source,
        metadata=metadata,
        pipeline=PipelineInfo(
            version=pipeline.__version__,
            config_hash=stage_hash(settings, "score"),
            stage_hashes={s: stage_hash(settings, s) for s in ("transcribe", "diarise", "redact", "detect", "score")},
            models=model_refs,
            timings_s=timings,
            device=device,
            settings_fingerprint=settings_fp,
            manifest_sha256=manifest_fingerprint(settings),
            sidecar_sha256=fingerprint.sidecar_sha256,
            redaction_key_id=redaction_key_id,
        ),
        turns=text_red.turns,  # everything after this line sees only redacted text
        pii=text_red.findings,
        roles=roles,
        redaction=redaction,
        flags=flags,
        stages_run=stages,
        warnings=warnings,
    )
    result = assess(result, settings, models, audio=recording.audio if recording is not None else None, probe=probe,
                    settings_fp=settings_fp)
    return Processed(
        result=result,
        redacted_audio=audio_red.audio if audio_red is not None else None,
        text_redaction=text_red,
        audio_redaction=audio_red,
        diarisation=diarisation,
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


def write_outputs(processed: Processed, out_dir: Path, settings: Settings, journal: Journal | None = None) -> Path:
    """Write out/<call_id>/ atomically: a crash leaves the old folder or the new one, never half.

    The folder is its owner's only (0700) and result.json, which holds the findings' keyed
    digests, 0600. With a `journal` (`pipeline.recording`), the folder arrives with it, so a
    crash before the audit records and the index row are written is completed by the next run.

    Writes result.json, transcript.txt (redacted), audio.redacted.wav (audio inputs, when the
    redaction could place every finding) and scorecard.html.

    Args:
        processed: the call.
        out_dir: the output folder (`RunPaths.out_dir`).
        settings: which optional files to write.
        journal: the recording journal to put in the folder (None: none).

    Returns:
        The call's output folder.
    """
    from pipeline.redact import write_redacted_audio
    from pipeline.score import render_scorecard_html

    result = processed.result
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / result.call_id
    # Named with this process's id: the next run removes a dead writer's leftovers (clean_leftovers).
    tmp = Path(tempfile.mkdtemp(prefix=leftover_name(result.call_id, "tmp"), dir=out_dir))
    try:
        write_private(tmp / "result.json", result.model_dump_json(indent=2).encode("utf-8"))
        (tmp / "transcript.txt").write_text(format_transcript(result), encoding="utf-8")
        if processed.redacted_audio is not None:
            write_redacted_audio(processed.redacted_audio, 16000, tmp / "audio.redacted.wav")
        elif processed.text_redaction is None and (final / "audio.redacted.wav").is_file():
            shutil.copy2(final / "audio.redacted.wav", tmp / "audio.redacted.wav")  # re-assessed: audio unchanged
        if settings.core.output.scorecard_html and result.scorecard is not None:
            (tmp / "scorecard.html").write_text(render_scorecard_html(result), encoding="utf-8")
        if journal is not None:
            write_journal(tmp, journal)
        os.chmod(tmp, 0o700)
        if final.exists():
            old = out_dir / leftover_name(result.call_id, "old")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def record_outputs(processed: Processed, folder: Path, audit_log: Path, store: Store | None,
                   run_id: str | None) -> None:
    """Append the call's redaction to the audit log and index the result (after it is on disk).

    Each step is marked done in the folder's journal (`pipeline.recording`) as it ends, so a
    crash between them is completed by the next run and never repeated: the log's size is
    journaled before the append, and the index is written only when it lacks this result.json.

    Raises:
        StageError: the journal says the audit records are still to be written but this call's
            redaction is not at hand (the caller processes the call again).
    """
    from pipeline.redact import append_call

    call_id = processed.result.call_id
    journal = read_journal(folder) or Journal(key="", audit="pending" if processed.text_redaction is not None else "none")
    if journal.audit == "pending":
        if journal.audit_offset is None or not audit_holds(audit_log, call_id, journal.audit_offset):
            if processed.text_redaction is None:
                raise StageError("the audit records of this call were never written; process it again",
                                 stage="record", call_id=call_id)
            journal.audit_offset = _log_size(audit_log)
            write_journal(folder, journal)
            written = append_call(audit_log, call_id, processed.text_redaction, processed.audio_redaction,
                                  store=store)  # anchors the log's head in the index (issue #16)
            journal.audit = "done" if written else "none"  # nothing to log: nothing to look for later
        else:
            journal.audit = "done"  # appended before a crash: not again
            if store is not None:  # and the crash may have come before the log's head was anchored
                from pipeline.redact.audit import anchor_log

                anchor_log(audit_log, store)
        write_journal(folder, journal)
    if store is not None and journal.index != "done":
        if not store.has_result(call_id, sha256_uncached(folder / "result.json")):
            store.save_result(run_id, processed.result, folder / "result.json")
        journal.index = "done"
        write_journal(folder, journal)


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _identify(item: InputItem, settings: Settings, models: Models) -> tuple[str, str] | None:
    """(call id, source sha256) of an input without decoding it; None when it cannot be read."""
    from pipeline.ingest import fingerprint

    if item.kind == "unsupported":
        return None
    try:
        return fingerprint(item, options=settings.core.ingest, call_id_key=models.redaction_key)
    except (InputError, OSError, ValueError):
        return None  # processing reports a bad input properly


def _erased(store: Store | None, models: Models, ident: tuple[str, str] | None) -> bool:
    """Whether the input's call id or recording has a tombstone (`callqa erase`, retention)."""
    from pipeline.compliance import is_erased

    if store is None or ident is None:
        return False
    return is_erased(store, models.redaction_key, *ident)


def _previous(item: InputItem, out_dir: Path, settings_fp: str,
              ident: tuple[str, str] | None) -> tuple[CallResult, InputFingerprint] | None:
    """The finished result out/ holds for this input's call id, with the input's fingerprint now."""
    if ident is None:
        return None
    call_id, sha256 = ident
    try:
        path = out_dir / call_id / "result.json"
        if not path.is_file():
            return None
        previous = CallResult.model_validate_json(path.read_text(encoding="utf-8"))
        now = input_fingerprint(item, settings_fp, source_sha256=sha256)
    except (InputError, OSError, ValueError):
        return None  # processing will report a bad input properly; a stale result is redone
    return previous, now


def _only_assessment_changed(previous: CallResult, now: InputFingerprint, settings: Settings) -> bool:
    """Same bytes, sidecar, models and settings up to redaction: detect and score alone need re-running."""
    recorded = recorded_fingerprint(previous)
    return (recorded is not None
            and (recorded.source_sha256, recorded.sidecar_sha256) == (now.source_sha256, now.sidecar_sha256)
            and previous.pipeline.manifest_sha256 == manifest_fingerprint(settings)
            and previous.pipeline.stage_hashes.get("redact") == stage_hash(settings, "redact"))


def run_batch(
    items: list[InputItem],
    paths: RunPaths | Path,
    settings: Settings,
    models: Models | None = None,
    *,
    force: bool = False,
    allow_dev_key: bool = False,
    progress: ProgressHook | None = None,
    on_outcome: OutcomeHook | None = None,
) -> RunSummary:
    """Process every input; a bad one is recorded as failed with its reason and the rest go on.

    Args:
        items: inputs from `discover_inputs`.
        paths: where out/<call_id>/ folders, the audit log and the results index go (from
            `resolve_paths`); a bare folder is resolved with the site config's output section.
        settings: every stage's options.
        models: models to reuse (loaded on first need when None).
        force: re-process calls whose result is already there for the same input fingerprint.
        allow_dev_key: without $CALLQA_REDACTION_KEY, use the public development key.
        progress: the one hook shape: ("calls", done, total) as each input finishes, and the
            stages' own steps inside each call (see `process_input`).
        on_outcome: called with each input's `CallOutcome` as it finishes.

    Raises:
        ModelUnavailableError: no model to run with: every call would fail the same way.
        ConfigError: no redaction key, a bad model manifest, or a bad database URL.
    """
    if not isinstance(paths, RunPaths):
        paths = resolve_paths(paths, output=settings.core.output)
    models = models or Models(settings, allow_dev_key=allow_dev_key)
    models.redaction_key  # no key: stop before doing anything
    settings_fp = settings_fingerprint(settings)
    paths.out_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(paths.out_dir)  # what a killed run was writing
    store = open_index(paths)
    run_id = store.record_run(pipeline_version=pipeline.__version__, config_hash=stage_hash(settings, "score"))
    outcomes: list[CallOutcome] = []
    batch_started = time.perf_counter()
    try:
        if progress:
            progress("calls", 0, len(items))
        for item in items:
            outcome = _run_one(item, paths, settings, models, force=force, store=store, run_id=run_id,
                               progress=progress, settings_fp=settings_fp)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            if progress:
                progress("calls", len(outcomes), len(items))
    finally:
        failed = sum(o.status == "failed" for o in outcomes)
        store.finish_run(run_id, status="done" if len(outcomes) == len(items) and not failed else "partial",
                         n_calls=len(outcomes), n_failed=failed)
    return RunSummary(out_dir=str(paths.out_dir), outcomes=outcomes, elapsed_s=time.perf_counter() - batch_started)


def process_one(
    item: InputItem,
    paths: RunPaths,
    settings: Settings,
    models: Models,
    *,
    force: bool = False,
    store: Store | None = None,
    run_id: str | None = None,
    transcribe_guard: AbstractContextManager | None = None,
    progress: ProgressHook | None = None,
    settings_fp: str | None = None,
) -> CallOutcome:
    """Process one input into out/<call_id>/, skipping or re-assessing what is already there.

    The unit of work of both `run_batch` and the Prefect flow. A call whose result was made from
    the same input fingerprint (bytes, sidecar, every setting, model manifest) is skipped; one
    where only the detection or scoring settings changed is re-assessed from its redacted turns,
    without transcribing or redacting it again; anything else is processed from the start.

    Args:
        item: one discovered input.
        paths: the output folder and audit log (`RunPaths.out_dir`, `.audit_log`).
        settings: every stage's options.
        models: the worker's loaded models.
        force: process again even when out/ holds the result.
        store: the results index to record the result in, or None for none.
        run_id: the index's run id for this batch.
        transcribe_guard: held around transcription only (see `process_input`).
        progress: the one hook shape, passed to the stages (see `process_input`).
        settings_fp: `settings_fingerprint(settings)` when the caller has it (else computed).

    Raises:
        Whatever the stages raise (InputError, StageError, ModelUnavailableError, ConfigError, OSError).
    """
    started = time.perf_counter()
    settings_fp = settings_fp or settings_fingerprint(settings)
    ident = _identify(item, settings, models)
    shown = shown_path(item.path, models.redaction_key, settings.core.ingest)
    if _erased(store, models, ident):
        # Neither the file nor the call is named: the outcome goes into run-report.json.
        return CallOutcome(path=ERASED_PATH, status="erased", reason="erased")
    found = None if force else _previous(item, paths.out_dir, settings_fp, ident)
    processed: Processed | None = None
    reason = None
    if found is not None:
        previous, now = found
        recorded = recorded_fingerprint(previous)
        folder = paths.out_dir / previous.call_id
        if recorded is not None and recorded.key == now.key:
            if is_recorded(folder, now.key, previous.call_id, paths.audit_log, store):
                return CallOutcome(path=shown, call_id=previous.call_id, status="skipped",
                                   reason="already_done")
            if _complete(previous, folder, now.key, paths, store, run_id):
                return CallOutcome(path=shown, call_id=previous.call_id, status="done", reason="completed",
                                   audio_s=previous.source.duration_s, elapsed_s=time.perf_counter() - started)
            # its audit records were never written: processed again below, appended once
        elif _only_assessment_changed(previous, now, settings) and _audit_settled(folder, previous.call_id, paths):
            audio = ingest(item, settings.core.ingest, call_id_key=models.redaction_key).audio if item.kind == "audio" else None
            processed = Processed(result=assess(previous, settings, models, audio=audio, settings_fp=settings_fp))
            reason = "reassessed"
    if processed is None:
        processed = process_input(item, settings, models, transcribe_guard=transcribe_guard, progress=progress,
                                  settings_fp=settings_fp)
    made = recorded_fingerprint(processed.result)
    journal = Journal(key=made.key if made is not None else "",
                      audit="pending" if processed.text_redaction is not None else "none")
    before = read_journal(paths.out_dir / processed.result.call_id) if reason == "reassessed" else None
    if before is not None and before.audit == "done":  # the redaction's records stay where they are
        journal.audit, journal.audit_offset = "done", before.audit_offset
    result = processed.result
    folder = write_outputs(processed, paths.out_dir, settings, journal)
    record_outputs(processed, folder, paths.audit_log, store, run_id)
    timings = dict(result.pipeline.timings_s)
    if reason == "reassessed":  # the earlier stages' times belong to the run that did them
        timings = {k: v for k, v in timings.items() if k in ("detect", "score")}
    return CallOutcome(
        path=shown, call_id=result.call_id, status="done", reason=reason, audio_s=result.source.duration_s,
        elapsed_s=time.perf_counter() - started, words=sum(len(t.words) or len(t.text.split()) for t in result.turns),
        timings_s=timings, flags=list(result.flags),
    )


def _audit_settled(folder: Path, call_id: str, paths: RunPaths) -> bool:
    """Whether a folder's redaction is in the audit log (or was never to be), so that a
    re-assessment, which logs nothing, may build on it."""
    journal = read_journal(folder)
    return journal is None or journal.audit != "pending" or (
        journal.audit_offset is not None and audit_holds(paths.audit_log, call_id, journal.audit_offset))


def _complete(previous: CallResult, folder: Path, key: str, paths: RunPaths, store: Store | None,
              run_id: str | None) -> bool:
    """Finish recording a call whose folder is there but whose audit records or index row may not
    be (a crash or a failed database write in between). False when its audit records were never
    written: the caller processes the call again (appending them once)."""
    journal = read_journal(folder)
    if journal is None:
        # Written before journals: its records went to the log in the same step as its folder.
        journal = Journal(key=key, audit="none")
        write_journal(folder, journal)
    elif journal.key != key:
        return False
    if journal.audit == "pending" and (journal.audit_offset is None
                                       or not audit_holds(paths.audit_log, previous.call_id, journal.audit_offset)):
        return False
    record_outputs(Processed(result=previous), folder, paths.audit_log, store, run_id)
    return True


def _run_one(item: InputItem, paths: RunPaths, settings: Settings, models: Models, *, force: bool, store: Store,
             run_id: str, progress: ProgressHook | None, settings_fp: str) -> CallOutcome:
    """`process_one`, with a failure recorded as the input's outcome; fatal errors still raise."""
    shown = shown_path(item.path, models.redaction_key, settings.core.ingest)
    name = Path(shown).name
    try:
        return process_one(item, paths, settings, models, force=force, store=store, run_id=run_id, progress=progress,
                           settings_fp=settings_fp)
    except (ModelUnavailableError, ConfigError):
        raise
    except InputError as e:
        log.info("failed %s: %s", name, e)
        return CallOutcome(path=shown, status="failed", reason=e.reason, message=str(e))
    except CallqaError as e:
        log.error("failed %s: %s", name, e)
        return CallOutcome(path=shown, status="failed", reason="stage_error", message=str(e))
    except Exception as e:  # noqa: BLE001 - one call's bug must not stop the night's batch
        # Only the type and the code location: a library's message may quote the data.
        log.error("failed %s: internal error %s\n%s", name, type(e).__name__,
                  "".join(traceback.format_tb(e.__traceback__)))
        return CallOutcome(path=shown, status="failed", reason="internal_error",
                           message=f"internal error ({type(e).__name__}); see the log for where it happened")
