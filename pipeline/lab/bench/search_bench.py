"""Search benchmark (`callqa search-bench --calls 10000`): fill a scratch index with synthetic calls
and time `pipeline.store.search.search` on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

The calls: 20 turns each, drawn from the bundled sample scripts' turns (their personal data
replaced by placeholders, as a redacted transcript has it), each turn followed by a few words
drawn with a Zipf law from the scripts' vocabulary and 5,000 made-up words, so that the index
has common words, rare words and a long tail. Calls are spread over 20 agents, 5 teams,
4 queues, 90 days and the event kinds; they go in through `index_call`, the save path's own
function, 500 calls per transaction.

The scratch stores: a SQLite file in a temporary folder, and a new schema `callqa_bench_<random>`
in the given PostgreSQL database, dropped at the end (only that schema: nothing else in the
database is touched). Statistics are gathered (ANALYZE) after the fill, as autovacuum would.

Each query class runs `repeats` times over its terms after one unmeasured pass; a time is the
whole `search()` call (SQL, rows, snippets) in milliseconds. A benchmark, not a test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

__all__ = ["QueryTiming", "BackendReport", "SearchBenchReport", "run_search_bench", "TARGET_MS"]

TARGET_MS = 200.0
_TURNS_PER_CALL = 20
_BATCH = 500
_SYNTHETIC_WORDS = 5000
_SYLLABLES = ("ka", "lo", "mi", "ren", "to", "sha", "vel", "dor", "pa", "qui", "zen", "bri", "mon", "tal", "wex")


class QueryTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    example: str
    runs: int
    mean_hits: float
    p50_ms: float
    p95_ms: float
    max_ms: float


class BackendReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    backend: str
    calls: int
    turns: int
    fill_s: float
    queries: list[QueryTiming]

    @property
    def worst_p95_ms(self) -> float:
        return max(q.p95_ms for q in self.queries)


class SearchBenchReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    calls: int
    repeats: int
    target_ms: float = TARGET_MS
    backends: list[BackendReport]


def _turn_pool() -> list[tuple[str, str]]:
    """(speaker, text) of every bundled sample script turn, personal data replaced by <TYPE>."""
    from pipeline.lab.bench.corpus import samples_scripts_dir
    from pipeline.lab.scripts import load_scripts

    pool = []
    for script in load_scripts(samples_scripts_dir()):
        for turn in script.turns:
            text = turn.text
            for span in turn.pii:
                text = text.replace(span.text, f"<{span.type}>")
            pool.append((turn.speaker, text))
    return pool


def _vocabulary(pool: list[tuple[str, str]], rng: random.Random) -> list[str]:
    words = sorted({w.lower() for _, t in pool for w in re.findall(r"[A-Za-z]{3,}", t)})
    made: set[str] = set()
    while len(made) < _SYNTHETIC_WORDS:
        made.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return words + sorted(made - set(words))


def _calls(n: int, seed: int) -> Iterator:
    """n synthetic CallResults (deterministic for a seed)."""
    from pipeline.schema import EVENT_KINDS, CallResult, Event, PipelineInfo, RecordingMetadata, Source, Turn

    rng = random.Random(seed)
    pool = _turn_pool()
    vocab = _vocabulary(pool, rng)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocab))))
    rng.shuffle(vocab)  # Zipf ranks: scripts' words and made-up words alike, common or rare
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    for i in range(n):
        clock, turns = 0.0, []
        for index in range(_TURNS_PER_CALL):
            speaker, text = rng.choice(pool)
            extra = " ".join(rng.choices(vocab, cum_weights=cumulative, k=rng.randint(3, 8)))
            length = len(text.split()) / 2.7
            turns.append(Turn(index=index, speaker=speaker, start_s=clock, end_s=clock + length, text=f"{text} {extra}"))
            clock += length + 0.5
        kinds = rng.sample(EVENT_KINDS, 3)
        events = [Event(kind=k, turn_index=0, start_s=0.0, end_s=1.0, speaker="agent", evidence="", confidence=0.9,
                        detector="bench", basis="interpretive") for k in kinds]
        started = start + dt.timedelta(minutes=13 * i)
        yield CallResult(
            call_id=f"bench-{i:06d}", channel_type="telephone",
            source=Source(path=f"bench-{i:06d}.wav", sha256=f"{i:064x}", format="wav", duration_s=clock,
                          sample_rate=8000, channels=2),
            metadata=RecordingMetadata(agent_id=f"agent-{i % 20:02d}", team_id=f"team-{i % 5}",
                                       queue=("billing", "sales", "faults", "moves")[i % 4],
                                       started_at=started.isoformat()),
            pipeline=PipelineInfo(version="bench", config_hash="0" * 64), turns=turns, events=events)


def _fill(store, calls: int, seed: int) -> tuple[int, float]:
    from pipeline.store.models import CallRow
    from pipeline.store.search import index_call

    began = time.perf_counter()
    turns = 0
    batch = []
    for result in _calls(calls, seed):
        batch.append(result)
        if len(batch) == _BATCH:
            turns += _write(store, batch, CallRow, index_call)
            batch = []
    if batch:
        turns += _write(store, batch, CallRow, index_call)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return turns, time.perf_counter() - began


def _write(store, batch, call_row, index_call) -> int:
    turns = 0
    with store.session() as s:
        for result in batch:
            meta = result.metadata
            s.add(call_row(call_id=result.call_id, channel_type=result.channel_type, agent_id=meta.agent_id,
                           team_id=meta.team_id, queue=meta.queue,
                           started_at=dt.datetime.fromisoformat(meta.started_at), source_sha256=result.source.sha256,
                           duration_s=result.source.duration_s))
        s.flush()
        for result in batch:
            turns += index_call(s, result)
    return turns


def _queries(store, seed: int) -> dict[str, list[tuple[str, dict]]]:
    """Query classes and their terms, picked from what the index holds (so each class means what it says)."""
    from pipeline.store.call_filters import CallFilters

    rng = random.Random(seed + 1)
    pool = _turn_pool()
    common = ["refund", "account", "bill", "payment", "contract", "number", "sorry", "today"]
    phrases = [f'"{m}"' for m in ("direct debit", "first line of your address", "calls are recorded",
                                  "is there anything else", "working days")]
    vocab = _vocabulary(pool, random.Random(seed))  # the same words the calls were drawn from
    rare = rng.sample(vocab[-_SYNTHETIC_WORDS:], 8)
    since = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    return {
        "common word": [(w, {}) for w in common],
        "two words": [(f"{a} {b}", {}) for a, b in zip(common, common[1:] + common[:1])],
        "phrase": [(p, {}) for p in phrases],
        "rare word": [(w, {}) for w in rare],
        "no hits": [(f"zzqx{i}", {}) for i in range(5)],
        "common + team, dates": [(w, {"filters": CallFilters(team="team-2", since=since,
                                                             until=since + dt.timedelta(days=30))}) for w in common],
        "common + event kind": [(w, {"filters": CallFilters(event_kind="complaint.raised")}) for w in common],
        "team leader scope": [(w, {"scope_teams": {"team-3"}}) for w in common],
    }


def _time_queries(store, seed: int, repeats: int) -> list[QueryTiming]:
    from pipeline.store.call_filters import Scope
    from pipeline.store.search import search

    out = []
    for name, terms in _queries(store, seed).items():
        times, hits = [], []
        for round_ in range(repeats + 1):
            query, options = terms[round_ % len(terms)]
            teams = options.get("scope_teams")
            scope = Scope(teams=frozenset(teams)) if teams else None
            began = time.perf_counter()
            page = search(store, query, filters=options.get("filters"), scope=scope, limit=50)
            elapsed = (time.perf_counter() - began) * 1000
            if round_:  # the first pass warms caches and is not counted
                times.append(elapsed)
                hits.append(len(page.hits))
        ordered = sorted(times)
        out.append(QueryTiming(name=name, example=terms[0][0], runs=len(times), mean_hits=statistics.fmean(hits),
                               p50_ms=round(statistics.median(ordered), 2),
                               p95_ms=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
                               max_ms=round(ordered[-1], 2)))
    return out


@contextmanager
def _sqlite_store() -> Iterator:
    from pipeline.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="callqa-search-bench-"))
    store = open_store(f"sqlite:///{folder / 'bench.db'}")
    try:
        yield store
    finally:
        store.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _postgres_store(url: str) -> Iterator:
    """A store in a new scratch schema of the database at `url`; the schema (only it) is dropped after."""
    import psycopg

    from pipeline.store import open_store

    schema = f"callqa_bench_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in plain else "?"
    store = open_store(f"{plain}{joiner}options={quote(f'-csearch_path={schema}')}")
    try:
        yield store
    finally:
        store.dispose()
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_search_bench(*, calls: int = 10_000, postgres_url: str | None = None, repeats: int = 40, seed: int = 18,
                     progress: Callable[[str], None] | None = None) -> SearchBenchReport:
    """Fill a scratch index per backend and time the query classes.

    Args:
        calls: synthetic calls to index (20 turns each).
        postgres_url: the PostgreSQL database for the scratch schema; None: SQLite only.
        repeats: timed runs per query class.
        seed: the corpus's random seed (the same seed gives the same calls).
        progress: called with a line before each step.
    """
    say = progress or (lambda _line: None)
    backends = [("sqlite", _sqlite_store())]
    if postgres_url:
        backends.append(("postgresql", _postgres_store(postgres_url)))
    reports = []
    for name, opener in backends:
        with opener as store:
            store.upgrade()
            say(f"{name}: indexing {calls} synthetic calls")
            turns, fill_s = _fill(store, calls, seed)
            say(f"{name}: {turns} turns in {fill_s:.1f} s; timing queries")
            reports.append(BackendReport(backend=name, calls=calls, turns=turns, fill_s=round(fill_s, 1),
                                         queries=_time_queries(store, seed, repeats)))
    return SearchBenchReport(calls=calls, repeats=repeats, backends=reports)
