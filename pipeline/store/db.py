"""Opening the results index and writing to it: engine, migrations, runs and results.

SQLite file by default; PostgreSQL (psycopg 3) when the caller's URL says so. Which URL is the
caller's business (`pipeline.paths.resolve_paths`): nothing here reads the environment.
Every write is one transaction. On SQLite a write transaction starts with BEGIN IMMEDIATE, so
two processes writing at once queue on the file lock instead of failing half-way; on
PostgreSQL, decisions on one scorecard serialise on that scorecard's row lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.errors import ConfigError
from pipeline.schema import CallResult

from .kpis import call_kpi_values
from .models import CallRow, ItemRow, ResultRow, RunRow, ScorecardRow, utcnow
from .search import index_call

__all__ = ["HEAD_REVISION", "Store", "SavedResult", "open_store", "migrations_dir", "result_flags"]

log = logging.getLogger(__name__)

# Named in errors about a bad URL, whichever flag, variable or config key it came from.
_URL_SOURCE = "the results index URL"
# The newest migration in migrations/versions/; tests/test_store.py checks it against Alembic's head.
HEAD_REVISION = "0009"
_MIGRATION_LOCK = 0x63616C6C7161  # "callqa": the advisory lock key that serialises migrations


def migrations_dir() -> Path:
    """The Alembic script folder shipped inside the package."""
    return Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class SavedResult:
    result_id: int
    scorecard_id: int | None


def _normalise_url(url: str) -> str:
    if "://" not in url:
        # A bare path is a SQLite file.
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # Use psycopg 3 (the pinned driver) rather than SQLAlchemy's default psycopg2.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ConfigError("not a valid database URL", file=_URL_SOURCE) from e
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # The index holds digests and who looked at what: its owner's only (SQLite's journal
            # files take the database file's mode).
            os.close(os.open(database, os.O_CREAT | os.O_RDWR, 0o600))
        engine = create_engine(url, connect_args={"timeout": 60})

        # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front;
        # take control of it so every transaction is BEGIN IMMEDIATE (SQLAlchemy's documented recipe).
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):  # pragma: no cover - driver hook
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            # Erased rows are overwritten, not left in free pages for a file reader to find.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - driver hook
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(f"unsupported database backend {parsed.get_backend_name()!r}; allowed: sqlite, postgresql",
                      file=_URL_SOURCE)


def open_store(url: str | Path | None = None, *, sqlite_path: str | Path | None = None) -> Store:
    """Open the results index (does not create tables: call `store.upgrade()`).

    Commands resolve the URL with `pipeline.paths.resolve_paths` and open it with
    `pipeline.paths.open_index`; this opens exactly what it is given.

    Args:
        url: a SQLAlchemy URL or a SQLite file path.
        sqlite_path: the SQLite file to use when `url` is empty.

    Returns:
        A Store.

    Raises:
        ConfigError: no URL or path, or the URL is malformed or names an unsupported backend.
    """
    chosen = url or sqlite_path
    if not chosen:
        # No hidden default location: where the index lives is pipeline.paths' decision.
        raise ConfigError("no results index given; pass a URL or a SQLite path", file=_URL_SOURCE)
    return Store(_make_engine(_normalise_url(str(chosen))))


def result_flags(result: CallResult, *, low_confidence: float = 0.5) -> list[str]:
    """Why an assessor should look at this call first (codes, no content)."""
    flags: list[str] = []
    card = result.scorecard
    if card is not None:
        if card.critical_failed:
            flags.append("critical_failed")
        if any(i.suggestion not in (None, "n/a") and i.confidence < low_confidence for i in card.items):
            flags.append("low_confidence")
        if any(i.suggestion is None and not i.needs_observation for i in card.items):
            flags.append("not_evaluated")
    if result.warnings:
        flags.append("warnings")
    # The pipeline's own flags (residual_pii, redaction_review, roles_unclear, ...): codes only.
    flags.extend(f for f in result.flags if f not in flags)
    return flags


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Stored in UTC: SQLite keeps no offset, so a +01:00 time would otherwise shift by an hour.
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Store:
    """The results index. Use `session()` for a transaction; one Store per process."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    # ---------------------------------------------------------------------------- migrations

    def _alembic_config(self):
        # Alembic loads only when a migration may run: a command that opens an index already at
        # HEAD_REVISION (every one but the first) never imports it.
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(migrations_dir()))
        config.set_main_option("sqlalchemy.url", self.engine.url.render_as_string(hide_password=False)
                               .replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Run the migrations forward to `revision` (idempotent)."""
        if revision == "head" and self._recorded_revision() == HEAD_REVISION:
            return
        from alembic import command

        config = self._alembic_config()
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several workers may start at once: one migrates, the others wait and find it done.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def revision(self) -> str | None:
        """The revision the database is at (None: never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def _recorded_revision(self) -> str | None:
        """Alembic's version row read with plain SQL (None: no table yet, or not one row)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        return rows[0][0] if len(rows) == 1 else None

    def dispose(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------------------------- runs

    def record_run(self, *, pipeline_version: str, config_hash: str, run_id: str | None = None,
                   started_at: dt.datetime | None = None) -> str:
        """Record the start of a batch run; returns its id."""
        run_id = run_id or uuid.uuid4().hex
        with self.session() as s:
            s.add(RunRow(id=run_id, started_at=started_at or utcnow(), status="running",
                         pipeline_version=pipeline_version, config_hash=config_hash, n_calls=0, n_failed=0))
        return run_id

    def finish_run(self, run_id: str, *, status: str, n_calls: int, n_failed: int) -> None:
        """Record the end of a run (status e.g. done / failed / partial)."""
        with self.session() as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(
                status=status, n_calls=n_calls, n_failed=n_failed, finished_at=utcnow()))

    # ------------------------------------------------------------------------------- results

    def save_result(self, run_id: str | None, result: CallResult, result_path: str | Path) -> SavedResult:
        """Index one call's result (and its scorecard, if any) in one transaction.

        A later result's scorecard becomes the call's current one; earlier cards and their
        decisions stay for the history.

        Args:
            run_id: the run that produced it (None for an import outside a run).
            result: the CallResult as written to `result_path`.
            result_path: where result.json lies (its sha256 is recorded when the file exists).

        Returns:
            The new result row id and scorecard row id.
        """
        path = Path(result_path)
        digest = hashlib.sha256(path.read_bytes() if path.is_file() else
                                result.model_dump_json().encode()).hexdigest()
        meta = result.metadata
        with self.session() as s:
            call = s.get(CallRow, result.call_id, with_for_update=True)
            if call is None:
                call = CallRow(call_id=result.call_id, first_seen_at=utcnow())
                s.add(call)
            call.channel_type = result.channel_type
            call.agent_id = meta.agent_id
            call.team_id = meta.team_id
            call.started_at = _parse_time(meta.started_at)
            call.source_sha256 = result.source.sha256
            call.duration_s = result.source.duration_s
            for column, value in call_kpi_values(result).items():
                setattr(call, column, value)
            s.flush()
            # The redacted turns go into the full-text index in the same transaction as the result.
            index_call(s, result)
            row = ResultRow(call_id=result.call_id, run_id=run_id, result_path=str(path), result_sha256=digest,
                            schema_version=result.schema_version, n_events=len(result.events),
                            n_pii=len(result.pii), flags=result_flags(result), created_at=utcnow())
            s.add(row)
            s.flush()
            card_id = None
            card = result.scorecard
            if card is not None:
                s.execute(update(ScorecardRow).where(ScorecardRow.call_id == result.call_id,
                                                     ScorecardRow.current.is_(True)).values(current=False))
                card_row = ScorecardRow(
                    call_id=result.call_id, result_id=row.id, template=card.template, channel_type=card.channel_type,
                    current=True, created_at=utcnow(), suggested_score=card.suggested_score,
                    critical_failed_suggested=card.critical_failed, strengths=list(card.strengths),
                    development_points=list(card.development_points), purpose=card.purpose)
                s.add(card_row)
                s.flush()
                for position, item in enumerate(card.items):
                    s.add(ItemRow(
                        scorecard_id=card_row.id, item_id=item.id, position=position, section=item.section,
                        question=item.question,
                        weight=item.weight, critical=item.critical, standard_ref=item.standard_ref,
                        suggestion=item.suggestion, confidence=item.confidence,
                        needs_observation=item.needs_observation, rule=item.rule, basis=item.basis,
                        # Pointers only: the quote stays in result.json.
                        evidence=[{"event_index": e.event_index, "sla_rule": e.sla_rule, "kind": e.kind,
                                   "start_s": e.start_s, "confidence": e.confidence, "basis": e.basis}
                                  for e in item.evidence]))
                card_id = card_row.id
            return SavedResult(result_id=row.id, scorecard_id=card_id)

    def has_result(self, call_id: str, result_sha256: str) -> bool:
        """Whether the index holds this exact result.json (by its sha256) for the call: how a run
        that was killed after indexing a call knows not to index it twice."""
        with self.session() as s:
            return s.scalar(select(ResultRow.id).where(ResultRow.call_id == call_id,
                                                       ResultRow.result_sha256 == result_sha256).limit(1)) is not None

    def latest_result_path(self, call_id: str) -> str | None:
        with self.session() as s:
            return s.scalar(select(ResultRow.result_path).where(ResultRow.call_id == call_id)
                            .order_by(ResultRow.id.desc()).limit(1))
