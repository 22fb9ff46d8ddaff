"""Synthesise several scripts at once, one process per core: Piper is single-threaded, and a test
that synthesises a set of calls (conftest's `dev_call_run`) otherwise leaves the other core idle.

The output is the same as synthesising them one after another: the synthesiser gives the same
bytes for the same script and options in any process (tests/test_synth.py checks that).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _synthesise(args: tuple[object, str, dict]) -> str:
    from pipeline.lab.synth import synthesize_script

    script, out_dir, options = args
    return synthesize_script(script, out_dir, **options).audio_path.name


def synthesise_all(scripts: list, out_dir: Path, **options) -> list[str]:
    """synthesize_script(script, out_dir, **options) for each script, in parallel; the audio file
    names, in the order of `scripts`. Worker processes are spawned: nothing of the test process
    (threads, open connections) is forked into them."""
    workers = max(1, min(len(scripts), os.cpu_count() or 1))
    if workers == 1:
        return [_synthesise((script, str(out_dir), options)) for script in scripts]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_synthesise, [(script, str(out_dir), options) for script in scripts]))
