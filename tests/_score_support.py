"""Test data for the score / store / review tests: CallResults built from the labelled dev scripts.

Events come from the scripts' turn labels (the truth) and times are laid out roughly as
tests/data/SCHEMA.md describes (pauses, overlaps, holds; ~2.7 words per second), so scoring is
tested without the detectors. SLA results come from the scripts' `expected` block.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from pipeline.schema import CallResult, Event, PipelineInfo, RecordingMetadata, SlaResult, Source, Turn

from tests._paths import DEV_CALLS

_OBJECTIVE = ("call.recording_notice", "call.hold_request", "call.hold_return", "call.greeting", "call.closing")


def load_script(call_id: str) -> dict:
    return yaml.safe_load((DEV_CALLS / f"{call_id}.yaml").read_text(encoding="utf-8"))


def script_ids() -> list[str]:
    return sorted(p.stem for p in DEV_CALLS.glob("*.yaml"))


def build_result(call_id: str, *, agent_id: str = "agent-01", timed: bool | None = None,
                 started_at: str = "2026-11-02T09:00:00Z", drop_kinds: tuple[str, ...] = ()) -> CallResult:
    """A CallResult for one dev script, with label events and truth SLA results.

    Args:
        timed: lay out turn times; default: yes except for digital (chat) scripts.
        drop_kinds: event kinds to leave out (to simulate a missed detection).
    """
    path = DEV_CALLS / f"{call_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if timed is None:
        timed = data["channel_type"] != "digital"
    turns: list[Turn] = []
    events: list[Event] = []
    clock = 0.0
    pauses: list[float] = []
    for index, raw in enumerate(data["turns"]):
        pause = float(raw.get("pause_before_s", 0.4))
        overlap = float(raw.get("overlap_s", 0.0))
        start = max(0.0, clock + pause - overlap) if index else pause
        pauses.append(pause if index else 0.0)
        length = max(0.8, len(raw["text"].split()) / 2.7)
        end = start + length
        clock = end + float(raw.get("hold_s", 0) or 0)
        turns.append(Turn(index=index, speaker=raw["speaker"], start_s=start if timed else None,
                          end_s=end if timed else None, text=raw["text"]))
        for kind in raw.get("labels") or []:
            if kind in drop_kinds:
                continue
            events.append(Event(kind=kind, turn_index=index, start_s=start if timed else None,
                                end_s=end if timed else None, speaker=raw["speaker"], evidence=raw["text"][:160],
                                confidence=0.9, detector="truth-labels",
                                basis="objective" if kind in _OBJECTIVE else "interpretive"))
    expected = data.get("expected") or {}
    first = data["turns"][0]
    # Thresholds as configs/sla.yaml sets them per channel.
    dead_air_max = {"telephone": 10.0, "face_to_face": 15.0}.get(data["channel_type"])
    aht_target = {"telephone": 600.0, "face_to_face": 900.0, "digital": 1200.0}[data["channel_type"]]
    overtalks = sum(float(t.get("overlap_s", 0.0)) >= 0.25 for t in data["turns"])
    sla = [
        SlaResult(rule="greeting_latency", threshold=5.0, observed=float(first.get("pause_before_s", 0.4)),
                  met=float(first.get("pause_before_s", 0.4)) <= 5.0) if timed else None,
        SlaResult(rule="idv_before_account", threshold=True, observed=expected.get("idv_before_account"),
                  met=expected.get("idv_before_account")),
        SlaResult(rule="dead_air", threshold=dead_air_max, observed=max(pauses), met=max(pauses) <= dead_air_max)
        if timed and dead_air_max else None,
        SlaResult(rule="aht", threshold=aht_target, observed=clock, met=clock <= aht_target) if timed else None,
        SlaResult(rule="overtalk_count", threshold=3.0, observed=float(overtalks), met=overtalks <= 3)
        if timed and data["channel_type"] != "digital" else None,
    ]
    if data["channel_type"] == "telephone":
        sla.append(SlaResult(rule="recording_notice", threshold=30.0, observed=None,
                             met=bool(expected.get("recording_notice"))))
    if expected.get("holds"):
        sla.append(SlaResult(rule="hold_permission", threshold=True, observed=expected.get("hold_permission_asked"),
                             met=bool(expected.get("hold_permission_asked"))))
        returned = any("call.hold_return" in (t.get("labels") or []) for t in data["turns"])
        sla.append(SlaResult(rule="hold_return_thanked", threshold=True, observed=returned, met=returned))
    else:
        sla.append(SlaResult(rule="hold_permission", threshold=True, observed=None, met=None))
    return CallResult(
        call_id=data["call_id"],
        channel_type=data["channel_type"],
        source=Source(path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(), format="transcript-json",
                      duration_s=None, sample_rate=None, channels=None),
        metadata=RecordingMetadata(call_id=data["call_id"], agent_id=agent_id, started_at=started_at,
                                   channel_type=data["channel_type"]),
        pipeline=PipelineInfo(version="test", config_hash="0" * 64),
        turns=turns,
        events=events,
        sla=[s for s in sla if s is not None],
        stages_run=["ingest", "redact", "detect"],
    )


# ------------------------------------------------------------------------------ store fixtures

import os  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import pytest  # noqa: E402

# The real PostgreSQL the project tests against (trust auth). Set CALLQA_REQUIRE_POSTGRES=1 (CI)
# to turn "server not reachable" into a failure instead of a skip.
PG_URL = os.environ.get("CALLQA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# The store backends the store, review and web tests run on; PostgreSQL carries the `postgres`
# marker, so `-m "not postgres"` runs the rest on a machine without the server.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_admin():
    """An autocommit connection to the test PostgreSQL; skips the test (fails under CI) when unreachable."""
    import psycopg

    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        if os.environ.get("CALLQA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable at {PG_URL}: {e}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set CALLQA_REQUIRE_POSTGRES=1 to fail instead)")


@contextmanager
def postgres_schema_url():
    """A URL whose search_path is a fresh schema; the schema (and only it) is dropped after."""
    admin = pg_admin()
    schema = f"callqa_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def store_url(backend: str, tmp_path: Path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'callqa.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


def scored_result(call_id: str, **kwargs) -> CallResult:
    """build_result + the packaged template's pre-filled scorecard."""
    from pipeline.score import ScoreOptions, load_templates, score

    result = build_result(call_id, **kwargs)
    template = load_templates()[result.channel_type]
    return result.model_copy(update={"scorecard": score(result, template, ScoreOptions())})


def write_result(result: CallResult, out_dir: Path) -> Path:
    path = out_dir / result.call_id / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return path


def decide_worker(url: str, call_id: str, item_ids: list[str], who: str, rounds: int, barrier, results) -> None:
    """Run in a separate process: confirm / override items of one card as fast as it can."""
    from pipeline import review
    from pipeline.store import open_store

    store = open_store(url)
    barrier.wait()
    made = 0
    for n in range(rounds):
        for item_id in item_ids:
            if (n + len(who)) % 2:
                review.confirm_item(store=store, user=who, call_id=call_id, item_id=item_id)
            else:
                review.override_item(store=store, user=who, call_id=call_id, item_id=item_id, value="partial",
                                     reason=f"{who} round {n}")
            made += 1
    store.dispose()
    results.put((who, made))
