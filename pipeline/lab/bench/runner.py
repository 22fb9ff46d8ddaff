"""Run the benchmark: corpus, model loads, each call stage by stage, baselines, batches.

Every call goes through the same `process_input` / `write_outputs` / `record_outputs` a run
uses, with a stage probe that marks where each stage starts and ends for the memory watcher.
Outputs go to a temporary folder with its own SQLite index and audit log (never a site's
database or audit trail), removed at the end. The corpus is synthetic, so the public
development redaction key is allowed when no key is set.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.lab.bench.baselines import (add_redaction, compare_redaction, compare_transcription,
                                      presidio_default_analyzer, wants_batched)
from pipeline.lab.bench.corpus import BenchCall, batch_copies, bench_call
from pipeline.lab.bench.measure import MemoryWatcher, Peak, gpu_memory_reader, load_average, rss_mb
from pipeline.lab.bench.options import BenchOptions, BenchPlan
from pipeline.lab.bench.results import (STAGES, BatchFigure, BenchReport, CallFigure, RedactBaseline, TranscribeBaseline,
                                    stage_figure)
from pipeline.progress import ProgressHook
from pipeline.settings import Settings

__all__ = ["apply_plan", "run_bench"]


def apply_plan(settings: Settings, plan: BenchPlan) -> Settings:
    """The pipeline settings with the plan's model and device over them."""
    update = {}
    if plan.model:
        update["model"] = plan.model
    if plan.device:
        update["device"] = plan.device
    if not update:
        return settings
    core = settings.core.model_copy(update={"transcribe": settings.core.transcribe.model_copy(update=update)})
    changed = {"core": core}
    if plan.device == "cuda":  # pyannote too: the GPU path is the whole pipeline on the GPU
        changed["diarise"] = settings.diarise.model_copy(update={"device": "cuda"})
    return settings.model_copy(update=changed)


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _timed_load(models, names: list[str], progress: ProgressHook | None) -> dict[str, float]:
    loads = {}
    for name in names:
        started = time.perf_counter()
        getattr(models, name)
        loads[name] = round(time.perf_counter() - started, 3)
        if progress:
            progress("models", len(loads), len(names))
    return loads


def _one_call(call: BenchCall, settings: Settings, models, watcher: MemoryWatcher, out_dir: Path, store,
              run_id: str, progress: ProgressHook | None):
    """Run one call through every stage; (figure, processed)."""
    from pipeline.run import process_input, record_outputs, write_outputs

    peaks: dict[str, Peak] = {}
    probe = watcher.stage_probe(peaks)
    load = load_average()
    started = time.perf_counter()
    with watcher.span() as whole:
        processed = process_input(call.item, settings, models, probe=probe, progress=progress)
        store_started = time.perf_counter()
        with probe("store"):
            folder = write_outputs(processed, out_dir, settings)
            record_outputs(processed, folder, out_dir / "audit" / "redaction.jsonl", store, run_id)
        store_s = time.perf_counter() - store_started
    total_s = time.perf_counter() - started
    result = processed.result
    timings = {**result.pipeline.timings_s, "store": store_s}
    words = sum(len(t.text.split()) for t in result.turns)
    audio_s = result.source.duration_s or call.audio_s
    stages = {
        s: stage_figure(s, timings[s], audio_s, words, peaks[s].rss_mb if s in peaks else None,
                        peaks[s].gpu_mb if s in peaks else None)
        for s in STAGES if s in timings
    }
    figure = CallFigure(call_id=call.call_id, layout=call.layout, minutes=call.minutes, audio_s=round(audio_s, 3),
                        words=words, stages=stages,
                        total=stage_figure("total", total_s, audio_s, words, whole.rss_mb, whole.gpu_mb),
                        load_average=load)
    return figure, processed


class _QueuedGuard:
    """The batch's transcription slots (as the flow's guard), adding up the time calls wait for one:
    without it, a call's queueing would be counted as its store time."""

    def __init__(self, slots: int) -> None:
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def __enter__(self) -> None:
        started = time.perf_counter()
        self._semaphore.acquire()
        with self._lock:
            self.waited_s += time.perf_counter() - started

    def __exit__(self, *exc) -> None:
        self._semaphore.release()


def _batch(call: BenchCall, size: int, options: BenchOptions, settings: Settings, models, watcher: MemoryWatcher,
           work: Path, progress: ProgressHook | None) -> BatchFigure:
    """`size` copies of one call with the nightly flow's concurrency: `workers` calls at once,
    `transcribe_slots` of them transcribing."""
    from pipeline.paths import RunPaths
    from pipeline.run import process_one
    from pipeline.store import open_store

    copies = batch_copies(call, size, work / "batch-inputs")
    out_dir = work / f"batch-{size}"
    out_dir.mkdir(parents=True)
    store = open_store(str(out_dir / "bench.db"))
    store.upgrade()
    run_id = store.record_run(pipeline_version="bench", config_hash="bench")
    guard = _QueuedGuard(options.batch.transcribe_slots)
    rss_after: list[float] = []
    outcomes = []
    load_start = load_average()
    started = time.perf_counter()
    with watcher.span() as peak, ThreadPoolExecutor(max_workers=options.batch.workers,
                                                    thread_name_prefix="bench-call") as pool:
        where = RunPaths(out_dir=out_dir, database_url=str(out_dir / "bench.db"),
                         audit_log=out_dir / "audit" / "redaction.jsonl")
        futures = [pool.submit(process_one, c.item, where, settings, models, force=True, store=store, run_id=run_id,
                               transcribe_guard=guard) for c in copies]
        for future in as_completed(futures):
            outcomes.append(future.result())
            rss_after.append(round(rss_mb(), 1))
            peak.update(rss_after[-1], None)  # the watcher samples every 50 ms and may miss this reading
            if progress:
                progress(f"batch of {size}", len(outcomes), size)
    wall = time.perf_counter() - started
    store.finish_run(run_id, status="done", n_calls=len(outcomes), n_failed=0)
    stage_s: dict[str, float] = {}
    for o in outcomes:
        for stage, seconds in o.timings_s.items():
            stage_s[stage] = stage_s.get(stage, 0.0) + seconds
    # process_one times every stage but the writing and indexing: that is the rest of its time,
    # less the time spent queued for a transcription slot.
    rest = sum(o.elapsed_s for o in outcomes) - sum(stage_s.values()) - guard.waited_s
    stage_s["store"] = max(0.0, rest)
    return BatchFigure(
        size=size, workers=options.batch.workers, transcribe_slots=options.batch.transcribe_slots,
        layout=call.layout, minutes=call.minutes, done=sum(o.status == "done" for o in outcomes),
        failed=sum(o.status == "failed" for o in outcomes), audio_s=round(sum(o.audio_s or 0.0 for o in outcomes), 3),
        wall_s=round(wall, 3), stage_s={k: round(stage_s[k], 3) for k in STAGES if k in stage_s},
        transcribe_queue_s=round(guard.waited_s, 3),
        peak_rss_mb=round(peak.rss_mb, 1), peak_gpu_mb=None if peak.gpu_mb is None else round(peak.gpu_mb, 1),
        rss_after_call_mb=rss_after, warmup_calls=options.memory.warmup_calls,
        min_slope_calls=options.memory.min_slope_calls,
        max_slope_mb_per_call=options.memory.max_slope_mb_per_call,
        load_average_start=load_start, load_average_end=load_average(),
    )


def run_bench(plan: BenchPlan, options: BenchOptions, settings: Settings, *, cache_root: Path | None = None,
              progress: ProgressHook | None = None, command: str = "callqa bench") -> BenchReport:
    """Run the whole benchmark for `plan` and return its report.

    Args:
        plan: lengths, layouts, batch sizes, model and device (`make_plan`).
        options: configs/bench.yaml.
        settings: the pipeline's settings (the plan's model and device are applied over them).
        cache_root: where the corpus is cached (default: options.corpus.cache_dir).
        progress: the one progress hook (pipeline.progress): steps "corpus" (calls synthesised or
            found in the cache), "models", "warm-up", "calls" (pipeline calls and their
            baselines), "batch of N" (calls done), each corpus call's synthesis, and the stages'
            own steps inside each measured call (see `process_input`).
        command: the command line, recorded in the report.

    Raises:
        ModelUnavailableError: a model cannot be loaded.
        ConfigError, InputError, StageError: as the stages raise them.
    """
    from pipeline.ingest import ingest
    from pipeline.run import Models
    from pipeline.store import open_store
    from pipeline.transcribe import pick_device

    tick = progress or (lambda _step, _done, _total: None)
    began = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_start = load_average()
    settings = apply_plan(settings, plan)
    device, compute = pick_device(settings.core.transcribe)
    gpu = gpu_memory_reader(device)
    cache = cache_root or Path(options.corpus.cache_dir)

    synth_started = time.perf_counter()
    recipes = [(m, layout) for m in plan.lengths_min for layout in plan.layouts]
    corpus_total = len(recipes) + bool(plan.batch_sizes)
    tick("corpus", 0, corpus_total)
    calls = []
    for minutes, layout in recipes:
        calls.append(bench_call(minutes, layout, options.corpus, cache_root=cache, progress=progress))
        tick("corpus", len(calls), corpus_total)
    batch_source = None
    if plan.batch_sizes:
        batch_source = bench_call(options.batch.length_min, options.batch.layout, options.corpus, cache_root=cache)
        tick("corpus", corpus_total, corpus_total)
    synth_s = time.perf_counter() - synth_started

    models = Models(settings, allow_dev_key=True)
    names = ["redaction_key", "whisper", "analyzer", "detect"]
    if any(c.layout == "mono" for c in calls) or (batch_source is not None and batch_source.layout == "mono"):
        names.append("diariser")
    model_load = _timed_load(models, names, progress)
    default_analyzer = None
    if options.baselines.presidio_defaults:
        t = time.perf_counter()
        default_analyzer = presidio_default_analyzer(settings.redact, settings.core.models)
        model_load["presidio_defaults"] = round(time.perf_counter() - t, 3)
    rss_loaded = round(rss_mb(), 1)
    warmup_s = None
    if options.warmup and calls:
        from pipeline.run import process_input

        tick("warm-up", 0, 1)
        t = time.perf_counter()
        process_input(min(calls, key=lambda c: c.minutes).item, settings, models)
        warmup_s = round(time.perf_counter() - t, 3)
        tick("warm-up", 1, 1)

    work = Path(tempfile.mkdtemp(prefix="callqa-bench-"))
    figures: list[CallFigure] = []
    baselines: list[TranscribeBaseline] = []
    redaction = None
    batches: list[BatchFigure] = []
    try:
        with MemoryWatcher(options.memory.sample_interval_s, gpu) as watcher:
            out_dir = work / "calls"
            out_dir.mkdir()
            store = open_store(str(work / "bench.db"))
            store.upgrade()
            run_id = store.record_run(pipeline_version="bench", config_hash="bench")
            batched = wants_batched(options.baselines.batched_whisper, device)
            tick("calls", 0, len(calls))
            for call in calls:
                figure, processed = _one_call(call, settings, models, watcher, out_dir, store, run_id, progress)
                figures.append(figure)
                if options.baselines.plain_whisper or batched:
                    recording = ingest(call.item, settings.core.ingest)
                    comparison = compare_transcription(recording, settings.core.transcribe, models.whisper,
                                                       repeats=plan.baseline_repeats,
                                                       plain=options.baselines.plain_whisper, batched=batched)
                    baselines.append(TranscribeBaseline(call_id=call.call_id, layout=call.layout,
                                                        minutes=call.minutes, comparison=comparison))
                if default_analyzer is not None and processed.diarisation is not None:
                    keep = tuple(w for w in (processed.result.metadata.organisation,) if w)
                    one = compare_redaction(processed.diarisation.turns, settings.redact, models.analyzer,
                                            default_analyzer, models.redaction_key, keep_words=keep)
                    redaction = add_redaction(redaction, one)
                tick("calls", len(figures), len(calls))
            store.finish_run(run_id, status="done", n_calls=len(figures), n_failed=0)
            for size in plan.batch_sizes:
                batches.append(_batch(batch_source, size, options, settings, models, watcher, work, progress))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    notes = []
    if device != "cuda":
        notes.append("ran on CPU: no GPU figures (peak GPU memory and the batched baseline need CUDA)")
    environment = {
        "command": command,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "faster_whisper": _version("faster-whisper"),
        "ctranslate2": _version("ctranslate2"),
        "presidio_analyzer": _version("presidio-analyzer"),
        "model": settings.core.transcribe.model,
        "device": device,
        "compute_type": compute,
        "cpu_threads": settings.core.transcribe.cpu_threads,
        "beam_size": settings.core.transcribe.beam_size,
        "gpu_memory_source": gpu.source if gpu is not None else None,
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }
    return BenchReport(
        started_at=started_at, wall_s=round(time.perf_counter() - began, 1), plan=plan, environment=environment,
        corpus={"cache_dir": str(cache), "prepare_s": round(synth_s, 1),
                "calls": [{"call_id": c.call_id, "layout": c.layout, "minutes": c.minutes, "audio_s": c.audio_s}
                          for c in calls]},
        model_load_s=model_load, rss_after_load_mb=rss_loaded, warmup_s=warmup_s, calls=figures, transcription_baselines=baselines,
        redaction_baseline=RedactBaseline(comparison=redaction) if redaction is not None else None,
        batches=batches, notes=notes,
    )
