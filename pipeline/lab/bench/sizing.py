"""CPU sizing: one fixed batch of calls under each (transcription slots, threads per transcription)
pair, in the same run, to choose `transcribe.slots` and `transcribe.cpu_threads` for a core count.

Each cell loads the models afresh with its sizing (a slot is a CTranslate2 replica) and runs the
batch as the nightly flow does (`runner._batch`: `workers` calls at once, `slots` transcribing).
Cells are interleaved over `rounds` and each keeps its fastest round, so a load spike from
elsewhere on a shared machine does not land on one cell only; the load average is kept beside.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.lab.bench.corpus import bench_call
from pipeline.lab.bench.measure import MemoryWatcher, load_average
from pipeline.lab.bench.options import BenchOptions
from pipeline.lab.bench.results import BatchFigure
from pipeline.progress import ProgressHook
from pipeline.settings import Settings

__all__ = ["SizingCell", "SizingReport", "DEFAULT_CELLS", "run_sizing"]

DEFAULT_CELLS: tuple[tuple[int, int], ...] = ((1, 1), (2, 1), (1, 2), (2, 2))


class SizingCell(BaseModel):
    model_config = ConfigDict(frozen=True)

    slots: int
    cpu_threads: int
    workers: int
    rounds_wall_s: list[float]
    rounds_cpu_s: list[float]  # CPU seconds of the process (every thread): the work, not the scheduler's share
    best: BatchFigure

    @property
    def audio_hours_per_wall_hour(self) -> float | None:
        return self.best.x_realtime


class SizingReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_count: int | None
    calls: int
    minutes: float
    layout: str
    model: str
    cells: list[SizingCell]
    load_average_start: list[float]
    load_average_end: list[float]
    auto: dict = {}


def _sized(settings: Settings, slots: int, threads: int) -> Settings:
    transcribe = settings.core.transcribe.model_copy(update={"slots": slots, "cpu_threads": threads})
    return settings.model_copy(update={"core": settings.core.model_copy(update={"transcribe": transcribe})})


def run_sizing(options: BenchOptions, settings: Settings, *, cache_root: Path, calls: int = 4, minutes: float = 1.0,
               layout: str = "stereo", cells: tuple[tuple[int, int], ...] = DEFAULT_CELLS, rounds: int = 2,
               progress: ProgressHook | None = None) -> SizingReport:
    """Run `calls` copies of one `minutes`-long call under every (slots, threads) cell, `rounds` times.

    Raises:
        ModelUnavailableError: a model cannot be loaded.
    """
    from pipeline.config import usable_cores, worker_sizing
    from pipeline.lab.bench.runner import _batch
    from pipeline.run import Models

    source = bench_call(minutes, layout, options.corpus, cache_root=cache_root)  # type: ignore[arg-type]
    load_start = load_average()
    walls: dict[tuple[int, int], list[float]] = {c: [] for c in cells}
    cpus: dict[tuple[int, int], list[float]] = {c: [] for c in cells}
    best: dict[tuple[int, int], BatchFigure] = {}
    work = Path(tempfile.mkdtemp(prefix="callqa-sizing-"))
    done = 0
    try:
        with MemoryWatcher(options.memory.sample_interval_s) as watcher:
            for r in range(rounds):
                for slots, threads in cells:
                    cell_settings = _sized(settings, slots, threads)
                    models = Models(cell_settings, allow_dev_key=True)
                    models.whisper, models.analyzer, models.detect  # loaded before the clock starts
                    batch_options = options.model_copy(update={"batch": options.batch.model_copy(
                        update={"workers": max(2, slots), "transcribe_slots": slots})})
                    folder = work / f"r{r}-s{slots}-t{threads}"
                    folder.mkdir()
                    cpu = time.process_time()
                    figure = _batch(source, calls, batch_options, cell_settings, models, watcher, folder, None)
                    cpus[(slots, threads)].append(round(time.process_time() - cpu, 2))
                    walls[(slots, threads)].append(figure.wall_s)
                    if (slots, threads) not in best or figure.wall_s < best[(slots, threads)].wall_s:
                        best[(slots, threads)] = figure
                    shutil.rmtree(folder, ignore_errors=True)
                    done += 1
                    if progress:
                        progress("sizing", done, rounds * len(cells))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    auto = worker_sizing(usable_cores(), "cpu")
    return SizingReport(
        cpu_count=os.cpu_count(), calls=calls, minutes=minutes, layout=layout, model=settings.core.transcribe.model,
        cells=[SizingCell(slots=s, cpu_threads=t, workers=max(2, s), rounds_wall_s=walls[(s, t)],
                              rounds_cpu_s=cpus[(s, t)], best=best[(s, t)])
               for s, t in cells],
        load_average_start=load_start, load_average_end=load_average(),
        auto={"cores": usable_cores(), "slots": auto.slots, "cpu_threads": auto.cpu_threads},
    )
