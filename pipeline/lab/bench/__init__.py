"""`callqa bench`: where the time and memory go, per stage, per call and per batch, with baselines.

Modules: options (configs/bench.yaml), corpus (synthesised calls, cached), measure (memory
watcher, rates, slope), baselines (plain faster-whisper, Presidio defaults), results (the
report's records), runner (runs it all), report (tables, JSON, PNG), cli (the command).
Nothing is imported here, so that `callqa --help` mounts the command without loading them.
"""
