"""Progress of a flow as log lines: the one hook shape, at a rate a log can bear.

A CLI redraws a bar many times a second; a Prefect log keeps every line. `log_progress` turns
`hook(step, completed, total)` into one line per step at most every `every_s` seconds, plus the
line that says the step is complete, so a one-hour call shows movement without flooding the UI.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pipeline.progress import ProgressHook

__all__ = ["log_progress"]


def log_progress(logger: logging.Logger | logging.LoggerAdapter, *, every_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> ProgressHook:
    """A progress hook that logs through `logger` (e.g. Prefect's run logger) at a coarse rate.

    Args:
        logger: where the lines go.
        every_s: at most one line per step in this many seconds, besides the line at completion.
        clock: the time source (tests pass their own).

    Returns:
        The hook. A step's first report at 0 is not logged: a short step logs only its end.
    """
    last: dict[str, float] = {}
    lock = threading.Lock()  # task threads may share one hook

    def hook(step: str, completed: int, total: int | None) -> None:
        finished = total is not None and completed >= total
        now = clock()
        with lock:
            due = step in last and now - last[step] >= every_s
            if step not in last:
                last[step] = now  # the interval starts at the step's first report
                due = False
            if not (finished or due) or completed == 0:
                return
            last[step] = now
        logger.info("%s %d/%s", step, completed, total if total is not None else "?")

    return hook
