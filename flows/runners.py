"""Where a batch's `process_call` tasks run: the flow's task runner, chosen by name.

    thread   task threads in the flow's own process (the default; one copy of the models)
    process  a pool of local worker processes (Prefect's ProcessPoolTaskRunner)
    dask     a Dask cluster through prefect-dask: a local cluster of worker processes, or an
             existing scheduler (`tcp://host:8786`) whose workers run on any host

Every worker process loads the models once and keeps them for all the calls it runs
(`flows.nightly._worker_models` is per-process state), so `workers` processes hold `workers`
copies of the models: size it to memory as well as cores.

Task runs report to a Prefect API. With a server (PREFECT_API_URL set) every process reports
there. Without one, the flow's process would start a temporary in-process API of its own, and
so would each worker process (seconds each, several servers on one SQLite file): for the
process and Dask runners `shared_local_api` starts one temporary server first and hands its
address to the workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, get_args

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

__all__ = ["Runner", "RUNNERS", "check_runner", "task_runner", "shared_local_api", "runner_settings"]

Runner = Literal["thread", "process", "dask"]
RUNNERS: tuple[str, ...] = get_args(Runner)
# Dask's nanny sets these to 1 in its worker processes by default (and in the parent's own
# environment while it spawns them). The CPU math libraries then split work differently, and
# faster-whisper's output changes with them (word timings, probabilities, now and then a word):
# a local cluster keeps the environment `callqa run` and the thread runner have.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# The temporary server's start-up wait on a loaded 2-core machine (see flows.env).
API_START_TIMEOUT_S = 120


def check_runner(runner: str, dask_address: str | None = None) -> None:
    """Raise ConfigError for an unknown runner, or a scheduler address with another runner."""
    if runner not in RUNNERS:
        raise ConfigError(f"unknown task runner {runner!r}; use one of {', '.join(RUNNERS)}", file="command line", key="--runner")
    if dask_address and runner != "dask":
        raise ConfigError("a Dask scheduler address needs the dask runner", file="command line", key="--dask-address")


def task_runner(runner: str, workers: int, *, dask_address: str | None = None,
                env: dict[str, str] | None = None) -> TaskRunner:
    """The task runner for a batch.

    Args:
        runner: "thread", "process" or "dask".
        workers: task threads (thread), worker processes (process, a local Dask cluster); ignored
            when joining a Dask scheduler, whose workers are started by whoever runs it.
        dask_address: join this Dask scheduler instead of starting a local cluster.
        env: environment variables for the worker processes of a local Dask cluster.

    Raises:
        ConfigError: an unknown runner, or a scheduler address with another runner.
    """
    check_runner(runner, dask_address)
    if runner == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if runner == "process":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address)
    # One task thread per worker process: the processes are the parallelism, and each holds its
    # own models. No dashboard: it would need bokeh and a port nobody asked for.
    return DaskTaskRunner(cluster_kwargs=dict(n_workers=workers, threads_per_worker=1, processes=True,
                                              dashboard_address=None, env=dict(env or {})))


@contextmanager
def shared_local_api(runner: str, *, joining: bool = False) -> Iterator[dict[str, str]]:
    """Hold one Prefect API for the flow and its worker processes while the batch runs.

    With PREFECT_API_URL set, or with the thread runner (one process), nothing is started.
    Otherwise Prefect's temporary server is started here (on 127.0.0.1, its SQLite database under
    PREFECT_HOME), made this process's API for the duration, and stopped afterwards.

    Args:
        runner: the task runner's name.
        joining: the batch joins an existing Dask scheduler.

    Yields:
        The environment the worker processes need to reach the API ({} when they have it).

    Raises:
        ConfigError: joining a Dask scheduler with no Prefect server: its workers, on other hosts,
            could not reach a temporary API on this host's loopback address.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if get_current_settings().api.url or runner == "thread":
        yield {}
        return
    if joining:
        raise ConfigError("a Dask scheduler's workers need a Prefect server to report to: set PREFECT_API_URL "
                          "(e.g. http://prefect-host:4200/api) here and on the Dask workers", file="command line",
                          key="--dask-address")
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=API_START_TIMEOUT_S)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield {"PREFECT_API_URL": server.api_url}
    finally:
        server.stop()


@contextmanager
def runner_settings(runner: str) -> Iterator[None]:
    """Settings a runner's workers are started with, held while the batch runs: for Dask, the
    nanny leaves the thread variables (`THREAD_ENV`) as this process has them."""
    if runner != "dask":
        yield
        return
    import dask

    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": None for name in THREAD_ENV}):
        yield
