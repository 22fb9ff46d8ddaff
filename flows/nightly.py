"""The nightly batch as a Prefect 3 flow: one `process_call` task per recording.

The flow is thin: discovery, the stages and the atomic write are the pipeline's plain functions
(`flows.sources.find_inputs`, `pipeline.run.process_input`, `pipeline.run.write_outputs`); this
module adds what Prefect is for: fan-out over a task runner, retries with backoff for transient
faults, a cache keyed by (input sha256, configuration hash, model versions), a concurrency
limit around transcription, and the run report as an artifact.

    nightly_batch(source, since=None, out="out", config=None, ...)
      find_inputs(source, since)                     directory | glob | manifest CSV
      process_call.submit(...) per input             ThreadPoolTaskRunner(max_workers)
        cache hit (same input fingerprint)      ->   "Cached": reported as skipped
        result already in out/ (no cache record) ->  skipped; only detect/score changed -> re-assessed
        InputError                              ->   quarantined, no retry, batch goes on
        OSError / database connection error     ->   retried with exponential backoff
        ModelUnavailableError / ConfigError     ->   the batch fails after its report is written
      out/run-report.json + Prefect artifacts; progress logged at a coarse rate (flows.progress)
    with shard_deployment: the inputs are split over flow runs of `process_shard` (a deployment
    in a work pool), which workers on any host pick up; each runs the same `process_call` tasks.

Where things go is `pipeline.paths.resolve_paths` (as for every command), resolved once by the
flow and handed to its tasks; the cache key is `pipeline.settings.input_fingerprint(...).key`,
the same fingerprint `callqa run` compares, so a changed sidecar or model manifest re-runs a
call under both. Models are loaded once per worker process: `_worker_models` keeps one `Models`
per settings fingerprint in this module (per-process state, on purpose; the stages never import it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import TaskRunContext
from prefect.futures import as_completed, wait
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

import pipeline
from flows.failures import TaskFailure, wrap_failure
from flows.progress import log_progress
from flows.quarantine import write_quarantine_record
from flows.report import build_report, report_markdown, report_table, write_report
from flows.sources import find_inputs
from flows.worklist import read_worklist, remove_worklist, work_item, write_worklist
from pipeline.errors import CallqaError, ConfigError, InputError, ModelUnavailableError
from pipeline.ingest import InputItem, shown_path
from pipeline.paths import RunPaths, open_index, resolve_paths
from pipeline.files import private_dir
from pipeline.recording import clean_leftovers
from pipeline.run import ERASED_PATH, CallOutcome, Models, process_one
from pipeline.settings import Settings, input_fingerprint, load_settings, settings_fingerprint, stage_hash

if TYPE_CHECKING:
    from pipeline.config import IngestOptions
    from pipeline.store import Store

__all__ = [
    "TRANSCRIBE_LIMIT",
    "nightly_batch",
    "process_shard",
    "process_call",
    "run_nightly",
    "is_transient",
    "call_cache_key",
    "load_run_settings",
]

log = logging.getLogger(__name__)

# The Prefect global concurrency limit a deployment names to share GPUs across workers and hosts:
# `prefect gcl create callqa-transcribe --limit <number of GPUs>`.
TRANSCRIBE_LIMIT = "callqa-transcribe"
FATAL = (ModelUnavailableError, ConfigError)
# Progress lines in the Prefect log: at most one per step in this many seconds.
PROGRESS_EVERY_S = 30.0


# --- retry classification -------------------------------------------------------------------

def _database_transient(exc: BaseException) -> bool:
    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        return False
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def is_transient(exc: BaseException | None) -> bool:
    """True when a failure may go away on retry: I/O and database connection errors.

    Bad input, configuration and model errors never do, whatever caused them; a `StageError` is
    transient when what it was raised from is.

    Args:
        exc: the exception a task raised.

    Returns:
        Whether `process_call` should retry.
    """
    if isinstance(exc, TaskFailure):  # decided before its cause was cut off
        return exc.transient
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (InputError, ConfigError, ModelUnavailableError)):
            return False
        if isinstance(exc, OSError) or _database_transient(exc):  # OSError covers ConnectionError, TimeoutError
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _retry_transient(task, task_run, state) -> bool:
    """Prefect's retry_condition_fn: the failed state's data is the exception."""
    data = state.data
    return isinstance(data, BaseException) and is_transient(data)


# --- per-process state: settings, models, the transcription guard ---------------------------

_LOCK = threading.Lock()
_SETTINGS: dict[str, Settings] = {}  # fingerprint -> settings
_MODELS: dict[tuple[str, bool], Models] = {}
_SEMAPHORES: dict[int, threading.BoundedSemaphore] = {}
_STORES: dict[str, Store] = {}


def load_run_settings(config: str | None) -> tuple[Settings, str]:
    """Load the settings of a run and remember them in this process under their fingerprint
    (`pipeline.settings.settings_fingerprint`: every stage's settings and the model manifest).

    Raises:
        ConfigError, ModelUnavailableError: a configuration file or the manifest is bad.
    """
    settings = load_settings(Path(config) if config else None)
    fingerprint = settings_fingerprint(settings)
    with _LOCK:
        _SETTINGS.setdefault(fingerprint, settings)
    return settings, fingerprint


def _worker_settings(config: str | None, fingerprint: str) -> tuple[Settings, str]:
    """The run's settings and their fingerprint in this process.

    The flow loaded them; a worker in another process loads them once per run, and when the
    files changed since, uses them as they are now under their own fingerprint (so the result
    records what it was really made with).
    """
    with _LOCK:
        settings = _SETTINGS.get(fingerprint)
    if settings is not None:
        return settings, fingerprint
    settings, found = load_run_settings(config)
    if found != fingerprint:
        log.warning("configuration changed since the flow started; using the files as they are now")
    return settings, found


def _run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's logger for the current run, or this module's outside one (a task's `.fn()`)."""
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return log


def _worker_models(settings: Settings, fingerprint: str, dev_key: bool, slots: int | None = None) -> Models:
    """This process's models for these settings, with `slots` Whisper replicas (None: the
    configuration's `transcribe.slots`)."""
    if slots is not None and slots != settings.core.transcribe.slots:
        transcribe = settings.core.transcribe.model_copy(update={"slots": slots})
        settings = settings.model_copy(update={"core": settings.core.model_copy(update={"transcribe": transcribe})})
    # Keyed by the settings fingerprint (a changed model manifest loads the models afresh) and
    # the slots, which the fingerprint leaves out.
    key = (fingerprint, dev_key, settings.core.transcribe.slots)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = Models(settings, allow_dev_key=dev_key)
        return _MODELS[key]


def _worker_store(paths: RunPaths) -> Store:
    """The results index for this process: one engine (and one migration check) per database."""
    key = paths.absolute().database_url
    with _LOCK:
        store = _STORES.get(key)
    if store is None:
        store = open_index(paths)
        with _LOCK:
            store = _STORES.setdefault(key, store)
    return store


def _run_paths(out: str | None, database_url: str | None, audit_log: str | None, settings: Settings) -> RunPaths:
    # The one resolver; the flow passes down what it resolved, so every task agrees with it.
    return resolve_paths(out, database_url=database_url, audit_log=audit_log, output=settings.core.output)


@contextmanager
def _transcribe_guard(slots: int, limit_name: str | None) -> Iterator[None]:
    """Held around transcription only: `slots` at a time in this process, and one slot of the
    Prefect global concurrency limit `limit_name` (shared by every worker) when one is named.

    Raises:
        ConfigError: the named limit does not exist on the server (Prefect would otherwise run
            without any limit, silently).
    """
    with _LOCK:
        semaphore = _SEMAPHORES.setdefault(slots, threading.BoundedSemaphore(slots))
    with semaphore:
        if not limit_name:
            yield
            return
        from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
        from prefect.concurrency.sync import concurrency

        try:
            with concurrency(limit_name, occupy=1, strict=True):
                yield
        except ConcurrencySlotAcquisitionError:  # raised on acquiring only: transcription never raises it
            raise ConfigError(f"the global concurrency limit {limit_name!r} does not exist on the Prefect server; "
                              f"create it: prefect gcl create {limit_name} --limit <GPUs>",
                              file="flow parameters", key="transcribe_limit") from None


# --- the task --------------------------------------------------------------------------------

def call_cache_key(path: str, sidecar: str | None, fingerprint: str) -> str | None:
    """The cache key of one call: `pipeline.settings.input_fingerprint(...).key`, the fingerprint
    `callqa run` compares too (the input's and its sidecar's sha256 + `settings_fingerprint`).

    Returns:
        The key, or None when the input cannot be read (the task then runs and reports why).
    """
    item = InputItem(Path(path), "audio" if sidecar else "transcript", Path(sidecar) if sidecar else None)
    try:
        return "callqa-call-" + input_fingerprint(item, fingerprint).key
    except OSError:
        return None


def _cache_key_fn(context: TaskRunContext, inputs: dict[str, Any]) -> str | None:
    try:
        item = work_item(inputs["worklist"], inputs["call_id"])
    except (OSError, KeyError, ValueError):
        return None
    return call_cache_key(str(item.path), str(item.sidecar) if item.sidecar else None, inputs["fingerprint"])


@task(
    name="process_call",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),  # 2, 4, 8 s
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_transient,
    cache_key_fn=_cache_key_fn,
    persist_result=True,
    result_serializer="json",
    # The call id only: never a file name (a telephony export names files by caller number).
    task_run_name="process_call-{call_id}",
)
def process_call(
    call_id: str,
    worklist: str,
    out: str,
    fingerprint: str,
    config: str | None = None,
    run_id: str | None = None,
    force: bool = False,
    transcribe_slots: int | None = None,
    transcribe_limit: str | None = None,
    dev_key: bool = False,
    database_url: str | None = None,
    audit_log: str | None = None,
) -> dict[str, Any]:
    """Run every stage on one input, write out/<call_id>/ atomically, log its redaction, index it.

    A call whose finished result is already in out/ for the same input fingerprint (bytes,
    sidecar, every setting, model manifest) is skipped; one where only detection or scoring
    settings changed is re-assessed from its redacted turns (`pipeline.run.assess`), without
    transcribing or redacting it again. The stages' progress goes to the task's log (coarsely).

    Prefect keeps a task's name, parameters, state and logs, so none of them carries personal
    data: the parameters name the call by its id and the file through the batch's work list
    (`flows.worklist`), and an exception leaves the task as a `TaskFailure` (its kind and a
    message without file names or input values; `flows.failures`).

    Args:
        call_id: the input's key in the work list: its call id (or `input-<n>` when unreadable).
        worklist: the batch's work list (`flows.worklist.write_worklist`).
        out: the output folder.
        fingerprint: `settings_fingerprint` of the run's settings (part of the cache key).
        config: a site configuration file, or None for the packaged defaults.
        run_id: the results store's run id (from the flow), or None for no index row.
        force: process again even when out/ holds the result.
        transcribe_slots: transcriptions at once in this worker process (None: the configuration's
            `transcribe.slots`, `auto` by default: `pipeline.config.worker_sizing`).
        transcribe_limit: a Prefect global concurrency limit to hold during transcription.
        dev_key: allow the public development redaction key when CALLQA_REDACTION_KEY is unset.
        database_url: the results index (as `resolve_paths` takes it; None: resolved here).
        audit_log: the redaction audit log (as `resolve_paths` takes it; None: resolved here).

    Returns:
        The call's `CallOutcome` as a dict, its path replaced by the key (status "done",
        "skipped" when out/ had it, "erased" when the call has a tombstone).

    Raises:
        TaskFailure: in place of whatever was raised (see `flows.failures`): bad input (recorded
            under out/quarantine/ first; no retry), a stage, I/O or database error (retried when
            transient, see `is_transient`), or a fatal one (no model, bad configuration).
    """
    try:
        item = work_item(worklist, call_id)
    except KeyError:  # erased while the batch ran: its entry left the work list
        return {**_erased_outcome(), "path": ERASED_PATH}
    try:
        settings, fingerprint = _worker_settings(config, fingerprint)
        paths = _run_paths(out, database_url, audit_log, settings)
        slots = transcribe_slots or settings.core.transcribe.slots
        models = _worker_models(settings, fingerprint, dev_key, slots)
        try:
            outcome = process_one(item, paths, settings, models, force=force, store=_worker_store(paths),
                                  run_id=run_id, transcribe_guard=_transcribe_guard(slots, transcribe_limit),
                                  progress=log_progress(_run_logger(), every_s=PROGRESS_EVERY_S),
                                  settings_fp=fingerprint)
        except InputError as e:
            write_quarantine_record(item.path, e.reason, str(e), paths.quarantine_dir,
                                    shown=shown_path(item.path, models.redaction_key, settings.core.ingest))
            raise
    except Exception as e:  # noqa: BLE001 - nothing raw leaves the task (Prefect stores and logs it)
        # Where it happened, for the operator: the type and the code location only.
        log.error("call %s failed: %s\n%s", call_id, type(e).__name__, "".join(traceback.format_tb(e.__traceback__)))
        raise wrap_failure(e, transient=is_transient(e)) from None
    # The cache record (under out/) and Prefect's state keep the key, not the file's path.
    return {**outcome.model_dump(), "path": call_id if outcome.status != "erased" else ERASED_PATH}


def _failure(path: str, exc: BaseException | None, key: str | None = None) -> dict[str, Any]:
    if isinstance(exc, TaskFailure):
        reason, message = exc.reason, exc.message
    elif isinstance(exc, InputError):
        reason, message = exc.reason, str(exc)
    elif isinstance(exc, CallqaError):
        reason, message = "stage_error", str(exc)
    else:
        # Only the type: a library's message may quote the data.
        name = type(exc).__name__ if exc is not None else "unknown"
        reason, message = "internal_error", f"internal error ({name}); see the task run's log"
    # The work-list key names the input in Prefect's artifacts (never its file name).
    return CallOutcome(path=path, call_id=key, status="failed", reason=reason, message=message).model_dump()


# --- the flow --------------------------------------------------------------------------------

def _plan(items: list[InputItem], store: Store, key: bytes, options: IngestOptions) -> list[str | None]:
    """Each input's key for the work list (its call id, or `input-<n>` when it cannot be read),
    or None for an input whose call or recording was erased: no task is made for it, so Prefect
    never sees its call id again."""
    from pipeline.compliance import is_erased
    from pipeline.ingest import fingerprint as identify

    keys: list[str | None] = []
    used: set[str] = set()
    for n, item in enumerate(items):
        try:
            ident = identify(item, options=options, call_id_key=key) if item.kind != "unsupported" else None
        except (InputError, OSError, ValueError):
            ident = None  # the task reports the bad input properly
        if ident is not None and is_erased(store, key, *ident):
            keys.append(None)
            continue
        name = ident[0] if ident is not None else f"input-{n:04d}"
        if name in used:  # two files with one call id: both run, under distinct keys
            name = f"{name}~{n}"
        used.add(name)
        keys.append(name)
    return keys


def _erased_outcome() -> dict[str, Any]:
    return CallOutcome(path=ERASED_PATH, status="erased", reason="erased").model_dump()


def _run_keys(keys: list[str], worklist: Path, *, paths: RunPaths, fingerprint: str, config: str | None,
              run_id: str | None, force: bool, transcribe_slots: int | None, transcribe_limit: str | None,
              dev_key: bool) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Submit one `process_call` per work-list key to the flow's task runner; (outcomes, first fatal error)."""
    items = read_worklist(worklist)
    # Cache records hold outcomes and fingerprints: the owner's only, like the rest of out/.callqa/.
    private_dir(paths.cache_dir)
    os.chmod(paths.cache_dir.parent, 0o700)

    def submit(key: str, refresh: bool):
        task_ = process_call.with_options(result_storage=paths.cache_dir.resolve(), refresh_cache=refresh)
        return task_.submit(
            key, str(worklist), str(paths.out_dir), fingerprint, config, run_id=run_id, force=force,
            transcribe_slots=transcribe_slots, transcribe_limit=transcribe_limit, dev_key=dev_key,
            database_url=paths.database_url, audit_log=str(paths.audit_log),
        )

    futures = [submit(key, force) for key in keys]
    progress = log_progress(_run_logger(), every_s=PROGRESS_EVERY_S)
    for finished, future in enumerate(as_completed(futures), start=1):
        # wait() keeps the task's final state in memory; without it `.state` would be read back
        # from the API, and a failed task's exception rebuilt from JSON.
        future.wait()
        progress("calls", finished, len(futures))
    # A cache hit whose output folder has gone (deleted by hand, or out/ restored from a backup
    # without it) is processed again: the cache must never hide a missing result.
    redo = [i for i, f in enumerate(futures)
            if f.state.name == "Cached" and not _has_result(paths.out_dir, f.state.result())]
    for i in redo:
        futures[i] = submit(keys[i], True)
    wait([futures[i] for i in redo])

    outcomes: list[dict[str, Any]] = []
    fatal: BaseException | None = None
    for key, future in zip(keys, futures):
        path = key  # `_run_items` shows the file's name where it is not personal data
        state = future.state
        if state.is_completed():
            outcome = dict(state.result())
            if outcome["status"] == "erased":
                outcomes.append(_erased_outcome())
                continue
            outcome["path"] = path
            if state.name == "Cached" or outcome["status"] == "skipped":
                outcome.update(status="skipped", reason="already_done", elapsed_s=0.0, timings_s={})
            outcomes.append(outcome)
            continue
        exc = state.result(raise_on_failure=False)
        exc = exc if isinstance(exc, BaseException) else None
        if (isinstance(exc, FATAL) or getattr(exc, "fatal", False)) and fatal is None:
            fatal = exc
        outcomes.append(_failure(path, exc, key))
    return outcomes, fatal


def _run_items(items: list[InputItem], *, paths: RunPaths, fingerprint: str, config: str | None,
               run_id: str | None, force: bool, transcribe_slots: int | None, transcribe_limit: str | None,
               dev_key: bool, shard_deployment: str | None = None,
               shards: int = 2) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Process the inputs here or in shard flow runs; erased inputs are reported, never submitted.

    Returns:
        (one outcome per input, in order; the first fatal error or None)
    """
    settings, fingerprint = _worker_settings(config, fingerprint)
    key = _worker_models(settings, fingerprint, dev_key).redaction_key
    keys = _plan(items, _worker_store(paths), key, settings.core.ingest)
    keyed = [(k, item) for k, item in zip(keys, items) if k is not None]
    shown = {k: shown_path(item.path, key, settings.core.ingest) for k, item in keyed}
    options = dict(fingerprint=fingerprint, config=config, run_id=run_id, force=force,
                   transcribe_slots=transcribe_slots, transcribe_limit=transcribe_limit, dev_key=dev_key)
    worklist = write_worklist(paths.work_dir, keyed)
    try:
        if shard_deployment:
            done, fatal = _run_shards([k for k, _ in keyed], worklist, shard_deployment, shards, paths, options)
        else:
            done, fatal = _run_keys([k for k, _ in keyed], worklist, paths=paths, **options)
    finally:
        remove_worklist(worklist)
    outcomes = []
    by_key = iter(done)
    for k in keys:
        outcome = next(by_key) if k is not None else _erased_outcome()
        if outcome["status"] != "erased":
            outcome = {**outcome, "path": shown[k]}
        outcomes.append(outcome)
    return outcomes, fatal


def _has_result(out_dir: Path, outcome: dict[str, Any]) -> bool:
    call_id = outcome.get("call_id")
    return bool(call_id) and (out_dir / call_id / "result.json").is_file()


def _run_shards(keys: list[str], worklist: Path, deployment: str, shards: int, paths: RunPaths,
                options: dict[str, Any]) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Split the work list's keys into `shards` flow runs of the `process_shard` deployment, which
    any worker of its pool picks up, and gather their outcomes (from out/.callqa/shards/) and the first
    fatal failure a shard recorded (a `TaskFailure` with the shard's reason), which fails the batch.
    The shard runs' parameters carry call ids and the work list's path, never file names."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    items = read_worklist(worklist)
    groups = [keys[i::shards] for i in range(shards) if keys[i::shards]]
    # Workers run elsewhere (another host, another working directory): paths go absolute.
    where = paths.absolute()
    params = {k: v for k, v in options.items() if k != "fingerprint"}
    params.update(out=str(where.out_dir), database_url=where.database_url, audit_log=str(where.audit_log),
                  worklist=str(worklist))
    params["config"] = str(Path(options["config"]).resolve()) if options["config"] else None
    runs = [
        run_deployment(deployment, parameters={"call_ids": group, **params}, timeout=0, as_subflow=True)
        for group in groups
    ]
    logger.info("%d shard runs of %s", len(runs), deployment)
    pending = {run.id for run in runs}
    with get_client(sync_client=True) as client:
        while pending:
            time.sleep(2)
            pending = {rid for rid in pending if not client.read_flow_run(rid).state.is_final()}
    outcomes: list[dict[str, Any]] = []
    fatal: BaseException | None = None
    for run, group in zip(runs, groups):
        record = where.shards_dir / f"{run.id}.json"
        if record.is_file():
            data = json.loads(record.read_text(encoding="utf-8"))
            outcomes += data["outcomes"]
            # A shard that could not go on fails the parent with the shard's own reason.
            fatal = fatal or _shard_fatal(data)
            continue
        # The shard run crashed before recording anything: its calls are reported, not lost.
        outcomes += [CallOutcome(path=k, call_id=k, status="failed", reason="shard_failed",
                                 message=f"shard flow run {run.id} ended without a record; run the batch again").model_dump()
                     for k in group]
    # Back in the order of the keys.
    order = {k: i for i, k in enumerate(k for group in groups for k in group)}
    return [outcomes[order[k]] for k in keys], fatal


@flow(name="callqa-shard", task_runner=ThreadPoolTaskRunner(), log_prints=False)
def process_shard(
    call_ids: list[str],
    worklist: str,
    out: str | None = None,
    config: str | None = None,
    run_id: str | None = None,
    force: bool = False,
    transcribe_slots: int | None = None,
    transcribe_limit: str | None = None,
    dev_key: bool = False,
    database_url: str | None = None,
    audit_log: str | None = None,
) -> list[dict[str, Any]]:
    """One worker's share of a batch: `process_call` for each of `call_ids` (keys of the parent's
    work list); the outcomes are written to out/.callqa/shards/<flow run id>.json for the parent
    `nightly_batch`.

    `out`, `database_url`, `audit_log` and `worklist` are what the parent flow resolved (absolute).

    Raises:
        ModelUnavailableError, ConfigError (as TaskFailure): fatal, after the outcomes are recorded.
    """
    from prefect.runtime import flow_run

    fatal: BaseException | None
    try:
        settings, fingerprint = load_run_settings(config)
        where = _run_paths(out, database_url, audit_log, settings)
        outcomes, fatal = _run_keys(call_ids, Path(worklist), paths=where, fingerprint=fingerprint, config=config,
                                    run_id=run_id, force=force, transcribe_slots=transcribe_slots,
                                    transcribe_limit=transcribe_limit, dev_key=dev_key)
    except FATAL as e:  # this worker cannot run the shard at all (its configuration or models)
        fatal = wrap_failure(e, transient=False)
        outcomes = [_failure(k, fatal, k) for k in call_ids]
    # Where the parent looks: under the out/ it resolved, whatever this worker's settings say.
    _write_shard_record(resolve_paths(out).shards_dir, str(flow_run.id), outcomes, fatal)
    if fatal is not None:
        raise fatal
    return outcomes


def _write_shard_record(shard_dir: Path, run_id: str, outcomes: list[dict[str, Any]],
                        fatal: BaseException | None) -> None:
    """out/.callqa/shards/<flow run id>.json: the shard's outcomes and, when it failed fatally, the
    reason (a `TaskFailure`'s kind, reason code and message: nothing personal) for the parent."""
    failure = wrap_failure(fatal, transient=False) if fatal is not None else None
    record = {"flow_run_id": run_id, "outcomes": outcomes,
              "fatal": {"kind": failure.kind, "reason": failure.reason, "message": failure.message} if failure else None}
    private_dir(shard_dir)
    tmp = shard_dir / f".{run_id}.json.tmp"
    tmp.write_text(json.dumps(record), encoding="utf-8")
    tmp.replace(shard_dir / f"{run_id}.json")


def _shard_fatal(record: dict[str, Any]) -> TaskFailure | None:
    """The fatal failure a shard recorded, rebuilt for the parent to raise (None when it had none)."""
    fatal = record.get("fatal")
    return TaskFailure(fatal["kind"], fatal["reason"], fatal["message"], fatal=True) if fatal else None


@flow(name="callqa-nightly", task_runner=ThreadPoolTaskRunner(), log_prints=False)
def nightly_batch(
    source: str,
    since: datetime | None = None,
    out: str | None = None,
    config: str | None = None,
    transcribe_slots: int | None = None,
    transcribe_limit: str | None = None,
    force: bool = False,
    dev_key: bool = False,
    shard_deployment: str | None = None,
    shards: int = 2,
    database_url: str | None = None,
    audit_log: str | None = None,
) -> dict[str, Any]:
    """Process the day's recordings: one `process_call` per input, a report at the end.

    Args:
        source: a directory, a glob, or a manifest CSV with a `path` column.
        since: only files modified at or after this time.
        out: the output folder (out/<call_id>/, out/quarantine/, out/run-report.json); None:
            $CALLQA_OUT, else ./out (`pipeline.paths.resolve_paths`, as for every command).
        config: a site configuration file.
        transcribe_slots: transcriptions at once per worker process (None: the configuration's
            `transcribe.slots`; `auto` sizes it from the worker's cores, 1 on a GPU).
        transcribe_limit: a Prefect global concurrency limit shared by every worker (e.g.
            "callqa-transcribe"); None on a single machine.
        force: ignore the cache and process every input again.
        dev_key: allow the public development redaction key (tests, demos).
        shard_deployment: spread the inputs over this many flow runs of a `process_shard`
            deployment (e.g. "callqa-shard/shard"), which the pool's workers on any host pick up;
            None processes them here, on this flow run's task runner.
        shards: how many shard runs (usually the number of workers).
        database_url: the results index (None: $CALLQA_DATABASE_URL, the site config, <out>/callqa.db).
        audit_log: the redaction audit log (None: $CALLQA_AUDIT_LOG, the site config,
            <out>/audit/redaction.jsonl).

    Returns:
        The run report (also written to out/run-report.json and published as artifacts).

    Raises:
        ModelUnavailableError, ConfigError: no model or configuration to run with; raised after
            the report is written (from a shard run: a fatal `TaskFailure` with the shard's reason).
    """
    logger = get_run_logger()
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    # Loaded here, so a bad configuration or a missing redaction key stops the batch before any task.
    settings, fingerprint = load_run_settings(config)
    paths = _run_paths(out, database_url, audit_log, settings)
    _worker_models(settings, fingerprint, dev_key).redaction_key
    store = _worker_store(paths)
    run_id = store.record_run(pipeline_version=pipeline.__version__, config_hash=stage_hash(settings, "score"))
    clean_leftovers(paths.out_dir)  # what a killed run was writing
    items = find_inputs(source, since)
    logger.info("%d inputs from %s", len(items), source)
    outcomes, fatal = _run_items(items, paths=paths, fingerprint=fingerprint, config=config, run_id=run_id,
                                 force=force, transcribe_slots=transcribe_slots, transcribe_limit=transcribe_limit,
                                 dev_key=dev_key, shard_deployment=shard_deployment, shards=shards)
    failed = sum(o["status"] == "failed" for o in outcomes)
    store.finish_run(run_id, status="partial" if failed else "done", n_calls=len(outcomes), n_failed=failed)
    report = build_report(
        outcomes, elapsed_s=time.perf_counter() - started, out_dir=str(paths.out_dir), source=source,
        extra={"run_id": run_id, "started_at": started_at.isoformat(timespec="seconds"),
               "since": since.isoformat() if since else None},
    )
    path = write_report(report, paths.run_report)
    create_markdown_artifact(key="callqa-nightly-report", markdown=report_markdown(report),
                             description="callqa nightly batch: counts, failures, time per stage")
    create_table_artifact(key="callqa-nightly-calls", table=report_table(report),
                          description="callqa nightly batch: one row per input")
    c = report["counts"]
    logger.info("done %d, skipped %d, failed %d; report %s", c["done"], c["skipped"], c["failed"], path)
    if fatal is not None:
        raise fatal
    return report


def run_nightly(
    source: str,
    *,
    since: datetime | None = None,
    out: str | None = None,
    config: str | None = None,
    workers: int = 2,
    runner: str = "thread",
    dask_address: str | None = None,
    transcribe_slots: int | None = None,
    transcribe_limit: str | None = None,
    force: bool = False,
    dev_key: bool = False,
    database_url: str | None = None,
    audit_log: str | None = None,
) -> dict[str, Any]:
    """Run `nightly_batch` from this process, its calls on the named task runner.

    Args:
        workers: task threads (thread runner) or worker processes (process runner, a local Dask
            cluster); `flows.runners.task_runner`.
        runner: "thread", "process" or "dask".
        dask_address: join this Dask scheduler (dask runner) instead of starting a local cluster.
        out, database_url, audit_log: the --out, --database-url and --audit-log flags (None:
            resolved by `pipeline.paths.resolve_paths`); the rest as `nightly_batch`.

    Returns:
        The run report.

    Raises:
        ConfigError: an unknown runner, or a Dask scheduler to join with no Prefect server.
    """
    from flows.runners import check_runner, runner_settings, shared_local_api, task_runner

    check_runner(runner, dask_address)  # before any server or cluster starts
    with shared_local_api(runner, joining=bool(dask_address)) as worker_env, runner_settings(runner):
        chosen = task_runner(runner, workers, dask_address=dask_address, env=worker_env)
        return nightly_batch.with_options(task_runner=chosen)(
            source=source, since=since, out=out, config=config, transcribe_slots=transcribe_slots,
            transcribe_limit=transcribe_limit, force=force, dev_key=dev_key, database_url=database_url,
            audit_log=audit_log)
