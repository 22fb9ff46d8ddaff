"""SQLAlchemy models of the results index (the head revision of the Alembic migrations).

The index holds ids, times, kinds, values, scores and paths: never quotes or PII values (those
stay in out/<call_id>/result.json, which is redacted), and transcript text only as the redacted
turns of `search_turns` (revision 0007, for full-text search). Assessor decisions,
self-assessments and calibration marks are appended, never updated, so the history stays.
Free-text reasons and action descriptions are the assessor's own words about behaviour.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "RunRow",
    "CallRow",
    "ResultRow",
    "ScorecardRow",
    "ItemRow",
    "DecisionRow",
    "ActionRow",
    "SelfAssessmentRow",
    "AccessLogRow",
    "UserRow",
    "WebSessionRow",
    "LoginAttemptRow",
    "FeedbackNoteRow",
    "AuditHeadRow",
    "TombstoneRow",
    "SearchTurnRow",
    "SearchCallRow",
    "utcnow",
    "as_utc",
]

# Named constraints so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (None stays None).

    Every time is stored in UTC, but SQLite hands them back naive.
    """
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RunRow(Base):
    """One batch run."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running")
    pipeline_version: Mapped[str] = mapped_column(String(32))
    config_hash: Mapped[str] = mapped_column(String(64))
    n_calls: Mapped[int] = mapped_column(Integer, default=0)
    n_failed: Mapped[int] = mapped_column(Integer, default=0)


class CallRow(Base):
    """One interaction; agent and team are the site's identifiers, never names."""

    __tablename__ = "calls"
    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel_type: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    team_id: Mapped[str | None] = mapped_column(String(128), index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    source_sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Revision 0006: KPIs. Talk is connected time less hold; wrap-up comes from the metadata.
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float | None] = mapped_column(Float)
    wrap_up_s: Mapped[float | None] = mapped_column(Float)
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(128), index=True)
    # Keyed digests only (never the customer reference or a number): how a repeat contact is found.
    customer_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_digests: Mapped[list | None] = mapped_column(JSON)


class ResultRow(Base):
    """One result.json written for a call by a run."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id"), index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), index=True)
    result_path: Mapped[str] = mapped_column(String(1024))
    result_sha256: Mapped[str] = mapped_column(String(64))
    schema_version: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_events: Mapped[int] = mapped_column(Integer, default=0)
    n_pii: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[list] = mapped_column(JSON, default=list)


class ScorecardRow(Base):
    """A pre-filled scorecard; `current` is false once a later run's card replaces it."""

    __tablename__ = "scorecards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id"), index=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"))
    template: Mapped[str] = mapped_column(String(80))
    channel_type: Mapped[str] = mapped_column(String(16))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    suggested_score: Mapped[float | None] = mapped_column(Float)
    critical_failed_suggested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Behaviour statements with mm:ss times (template wording), no quotes.
    strengths: Mapped[list] = mapped_column(JSON, default=list)
    development_points: Mapped[list] = mapped_column(JSON, default=list)
    finalised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finalised_by: Mapped[str | None] = mapped_column(String(128))
    final_score: Mapped[float | None] = mapped_column(Float)
    final_critical_failed: Mapped[bool | None] = mapped_column(Boolean)
    # Revision 0002.
    purpose: Mapped[str] = mapped_column(String(16), default="formative", server_default="formative")


class ItemRow(Base):
    """One item of a card as pre-filled; its decisions live in `decisions`."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("scorecard_id", "item_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(512))
    weight: Mapped[float] = mapped_column(Float)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    standard_ref: Mapped[str | None] = mapped_column(String(256))
    suggestion: Mapped[str | None] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    needs_observation: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str | None] = mapped_column(String(512))
    basis: Mapped[str | None] = mapped_column(String(16), nullable=True)  # objective | interpretive (issue #18)
    # [{event_index, sla_rule, kind, start_s, confidence, basis}]: pointers into result.json, no quotes.
    evidence: Mapped[list] = mapped_column(JSON, default=list)


class DecisionRow(Base):
    """An assessor's decision on an item: appended, never updated."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # confirm | override | mark
    value: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    # Revision 0002: review (the card's decision) | calibration (an independent mark).
    mode: Mapped[str] = mapped_column(String(16), default="review", server_default="review")


class ActionRow(Base):
    """An agreed development action (revision 0002)."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.call_id"), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128))
    review_date: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SelfAssessmentRow(Base):
    """The agent's own mark for an item, made before the assessor's are shown (revision 0002)."""

    __tablename__ = "self_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(8))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessLogRow(Base):
    """Every view and decision: who, when, what."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    who: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    scorecard_id: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(256))


class UserRow(Base):
    """A web app account (revision 0003). An agent's account names the calls' agent_id it may see."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    # Revision 0007: a team leader sees only the calls whose team_id is this.
    team_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSessionRow(Base):
    """A logged-in browser session; the cookie holds the token, the table its SHA-256 (revision 0003)."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LoginAttemptRow(Base):
    """One login attempt, keyed by a hash of the username or client address (revision 0003).

    In the database rather than process memory so the rate limit holds across workers.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class FeedbackNoteRow(Base):
    """An assessor's feedback note on a card: a strength or a development point (revision 0003).

    The assessor's own words about behaviour, like decision reasons; appended, never updated.
    """

    __tablename__ = "feedback_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # strength | development
    text: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditHeadRow(Base):
    """The redaction audit log's head, anchored here on every append (revision 0004).

    `chain` is the log's absolute path; the row holds no record content, only the count, the
    last record's keyed hash and the audit key's id.
    """

    __tablename__ = "audit_heads"
    chain: Mapped[str] = mapped_column(String(512), primary_key=True)
    n_records: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TombstoneRow(Base):
    """A mark that a call was erased (or expired) and must never be processed again (revision 0005).

    `digest` is a keyed digest (HMAC under the redaction key) of the call id or of the source
    recording's sha256, so the table names no call: it only answers "was this one erased?".
    """

    __tablename__ = "tombstones"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # call_id | source
    reason: Mapped[str] = mapped_column(String(16))  # erasure | retention
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchTurnRow(Base):
    """One turn's redacted text, for full-text search (revision 0007).

    The only transcript text in the index: the redacted text result.json already holds, kept
    so that a search need not open every result.json. It goes with the call on erasure and
    when retention removes the call's results. The full-text index over it is per backend and
    lives in the migration, outside these models (`pipeline.store.search`): a generated
    tsvector column with a GIN index on PostgreSQL, an FTS5 table kept by triggers on SQLite.
    """

    __tablename__ = "search_turns"
    __table_args__ = (UniqueConstraint("call_id", "turn_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id"), index=True)
    turn_index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class SearchCallRow(Base):
    """A call's search facets that `calls` does not hold (revision 0007).

    `event_kinds` is the set of its events' kinds, space-separated with a space at each end
    (" hold.started complaint.raised ") so that one kind matches as a whole word.
    `customer_sentiment` is the customer's mean turn sentiment in [-1, 1], None until the
    result carries turn sentiment.
    """

    __tablename__ = "search_calls"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id"), primary_key=True)
    event_kinds: Mapped[str] = mapped_column(Text, default=" ")
    customer_sentiment: Mapped[float | None] = mapped_column(Float)


class CalibrationSessionRow(Base):
    """A calibration session (revision 0008): assessors mark the same calls blind; closing it
    locks their marks on those calls, so agreement is measured on what each assessor decided
    before seeing the others."""

    __tablename__ = "calibration_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    call_ids: Mapped[list] = mapped_column(JSON, default=list)
    opened_by: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
