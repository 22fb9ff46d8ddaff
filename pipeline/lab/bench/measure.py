"""Measuring: peak memory over a span (a sampling thread), rates, and the batch memory slope.

Peak RSS is sampled from /proc/self/statm every `interval_s`, and at every span's start and end,
so a stage shorter than the interval still gets its boundary readings. GPU memory on CUDA is
read from NVML (pynvml, when installed) or `nvidia-smi` for this process: CTranslate2 allocates
outside PyTorch, so torch.cuda.max_memory_allocated alone would miss Whisper; it is added as
the PyTorch share (pyannote, MiniLM) when torch sees a GPU.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["rss_mb", "GpuMemoryReader", "gpu_memory_reader", "parse_nvidia_smi", "Peak", "MemoryWatcher",
           "linear_slope", "rtf", "x_realtime", "per_second", "load_average"]

_MB = 1024 * 1024


def rss_mb() -> float:
    """This process's resident set size now, in MiB (the lifetime peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / _MB
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: every figure is taken beside one (the machine is shared)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def parse_nvidia_smi(text: str, pid: int) -> float | None:
    """MiB used by `pid` in `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`
    output (summed over GPUs); None when the process holds no GPU memory."""
    total, found = 0.0, False
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) == pid:
            try:
                total += float(parts[1])
                found = True
            except ValueError:
                continue
    return total if found else None


@dataclass
class GpuMemoryReader:
    """Reads this process's GPU memory in MiB; `source` says how (pynvml, nvidia-smi or none)."""

    source: str
    read: Callable[[], float | None]
    min_interval_s: float = 0.5  # nvidia-smi is a process launch: not at the RSS sampling rate
    _last: float = field(default=0.0, repr=False)
    _value: float | None = field(default=None, repr=False)

    def sample(self) -> float | None:
        now = time.monotonic()
        if now - self._last >= self.min_interval_s:
            self._last = now
            try:
                self._value = self.read()
            except Exception:  # noqa: BLE001 - a failed GPU reading must not stop the benchmark
                self._value = None
        return self._value


def _torch_gpu_mb() -> float | None:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / _MB
    except Exception:  # noqa: BLE001
        return None
    return None


def gpu_memory_reader(device: str) -> GpuMemoryReader | None:
    """How to read GPU memory on `device`: None on CPU; on CUDA, NVML if pynvml imports, else
    nvidia-smi if it is on PATH, else a reader that reports nothing (source "none")."""
    if device != "cuda":
        return None
    pid = os.getpid()
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def read_nvml() -> float | None:
            used = [p.usedGpuMemory for h in handles for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)
                    if p.pid == pid and p.usedGpuMemory is not None]
            return sum(used) / _MB if used else None

        return GpuMemoryReader("pynvml", read_nvml, min_interval_s=0.05)
    except Exception:  # noqa: BLE001 - pynvml missing or no driver: try the command line tool
        pass
    smi = shutil.which("nvidia-smi")
    if smi:
        def read_smi() -> float | None:
            done = subprocess.run([smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                  capture_output=True, text=True, timeout=5, check=False)
            return parse_nvidia_smi(done.stdout, pid)

        return GpuMemoryReader("nvidia-smi", read_smi)
    return GpuMemoryReader("none", _torch_gpu_mb)


@dataclass(eq=False)  # identity: open spans are removed by identity, and two may read alike
class Peak:
    """The highest readings seen while a span was open."""

    rss_mb: float = 0.0
    gpu_mb: float | None = None

    def update(self, rss: float, gpu: float | None) -> None:
        self.rss_mb = max(self.rss_mb, rss)
        if gpu is not None:
            self.gpu_mb = gpu if self.gpu_mb is None else max(self.gpu_mb, gpu)


class MemoryWatcher:
    """A daemon thread sampling RSS (and GPU memory) into every open `span`.

    Use as a context manager; `span()` blocks may nest and overlap (batch calls on threads).
    """

    def __init__(self, interval_s: float, gpu: GpuMemoryReader | None = None) -> None:
        self.interval_s = interval_s
        self.gpu = gpu
        self._open: list[Peak] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def __enter__(self) -> "MemoryWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        rss = rss_mb()
        gpu = self.gpu.sample() if self.gpu is not None else None
        with self._lock:
            for peak in self._open:
                peak.update(rss, gpu)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    @contextmanager
    def span(self) -> Iterator[Peak]:
        peak = Peak()
        with self._lock:
            self._open.append(peak)
        self._sample()
        try:
            yield peak
        finally:
            self._sample()
            with self._lock:
                self._open.remove(peak)

    def stage_probe(self, peaks: dict[str, Peak]) -> Callable[[str], contextmanager]:
        """A `pipeline.run.StageProbe` that records each stage's peak into `peaks[stage]`."""

        @contextmanager
        def probe(stage: str) -> Iterator[None]:
            with self.span() as peak:
                yield
            peaks[stage] = peak

        return probe


def linear_slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs; None with fewer than two distinct xs."""
    if len(xs) != len(ys) or len(set(xs)) < 2:
        return None
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def rtf(processing_s: float, audio_s: float) -> float | None:
    """Real-time factor as the project reports it: seconds of processing per second of audio."""
    return processing_s / audio_s if audio_s > 0 and processing_s >= 0 else None


def x_realtime(processing_s: float, audio_s: float) -> float | None:
    """Seconds of audio per second of processing (the inverse of `rtf`: higher is faster)."""
    return audio_s / processing_s if processing_s > 0 else None


def per_second(count: float, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None
