"""Redaction throughput in words per second, against Presidio's default recognisers."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.redact.analyzer import load_analyzer
from pipeline.redact.evaluate import load_labelled_calls
from pipeline.redact.options import RedactOptions, load_redact_options
from pipeline.redact.text import redact_text
from pipeline.schema import Turn

__all__ = ["BenchResult", "bench_redaction", "presidio_default_analyzer"]


class BenchResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int
    words: int
    cpu_s: float
    words_per_s: float
    baseline_words_per_s: float | None = None
    ratio_to_baseline: float | None = None


def presidio_default_analyzer(options: RedactOptions):
    """Presidio's AnalyzerEngine with its default English recognisers on the same spaCy model
    (offline e-mail check swapped in so that it does not reach for the network)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from pipeline.redact.analyzer import load_analyzer as _load
    from pipeline.redact.recognizers import OfflineEmailRecognizer

    nlp_engine = _load(options).nlp_engine
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def bench_redaction(calls_dir: Path, options: RedactOptions | None = None, baseline: bool = True,
                    repeats: int = 1) -> BenchResult:
    """Time `redact_text` (normalisation, UK recognisers, bridging, residual re-scan) on labelled
    calls, in CPU seconds of this process (one core), and optionally Presidio's defaults on the
    same turns one by one.

    Args:
        calls_dir: folder of labelled scripts (datasets/SCHEMA.md).
        options: redaction policy (default: packaged).
        baseline: also time Presidio's default recognisers.
        repeats: passes over the calls (after one warm-up call).
    """
    options = options or load_redact_options()
    analyzer = load_analyzer(options)
    calls = load_labelled_calls(calls_dir)
    turn_lists = [[Turn(index=i, speaker=t.speaker, start_s=None, end_s=None, text=t.text)
                   for i, t in enumerate(c.turns)] for c in calls]
    words = sum(len(t.text.split()) for turns in turn_lists for t in turns) * repeats
    key = b"bench-key-not-secret-0000"
    redact_text(turn_lists[0], options, analyzer, key)  # warm-up
    start = time.process_time()
    for _ in range(repeats):
        for turns in turn_lists:
            redact_text(turns, options, analyzer, key)
    cpu = time.process_time() - start
    base = None
    if baseline:
        default = presidio_default_analyzer(options)
        default.analyze(turn_lists[0][0].text, language="en")
        start = time.process_time()
        for _ in range(repeats):
            for turns in turn_lists:
                for t in turns:
                    default.analyze(t.text, language="en")
        base = words / (time.process_time() - start)
    wps = words / cpu
    return BenchResult(calls=len(calls) * repeats, words=words, cpu_s=round(cpu, 3), words_per_s=round(wps, 1),
                       baseline_words_per_s=round(base, 1) if base else None,
                       ratio_to_baseline=round(base / wps, 2) if base else None)


if __name__ == "__main__":  # python -m pipeline.redact.bench <calls_dir>
    import sys

    print(bench_redaction(Path(sys.argv[1]), repeats=int(sys.argv[2]) if len(sys.argv) > 2 else 1).model_dump_json())
