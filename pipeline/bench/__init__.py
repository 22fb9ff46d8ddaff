"""`callqa bench`: where the time and memory go, per stage, per call and per batch, with baselines.

Modules: options (configs/bench.yaml), corpus (synthesised calls, cached), measure (memory
watcher, rates, slope), baselines (plain faster-whisper, Presidio defaults), results (the
report's records), runner (runs it all), report (tables, JSON, PNG), cli (the command).
"""

from pipeline.bench.options import BenchOptions, BenchPlan, load_bench_options, make_plan
from pipeline.bench.results import BenchReport
from pipeline.bench.runner import run_bench

__all__ = ["BenchOptions", "BenchPlan", "BenchReport", "load_bench_options", "make_plan", "run_bench"]
