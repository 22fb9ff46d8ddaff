"""Full-text search over redacted turns, and a team on web accounts (issue #18).

`search_turns` holds each indexed call's redacted turns; `search_calls` its event kinds and
customer sentiment (search filters that `calls` has no column for). The full-text index is per
backend and is not in the models (pipeline.store.search.outside_models names it, so that
autogenerate leaves it alone):
- PostgreSQL: a stored generated tsvector column `tsv` (English configuration) with a GIN index.
- SQLite: an external-content FTS5 table `search_fts` (porter stemming over unicode61), kept in
  step with `search_turns` by triggers. A later batch-mode change to `search_turns` recreates
  the table and drops the triggers: it must create them again (see _SQLITE_TRIGGERS).
`users.team_id` scopes a team leader to the calls of one team.
Existing calls are not indexed here (a migration reads no result files): `callqa search
--reindex` fills the index from the results the index points at. Additive only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_FTS = ("CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_turns', content_rowid='id', "
               "tokenize='porter unicode61 remove_diacritics 2')")
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER search_turns_ai AFTER INSERT ON search_turns BEGIN "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_turns_ad AFTER DELETE ON search_turns BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_turns_au AFTER UPDATE ON search_turns BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
)


def upgrade() -> None:
    op.create_table(
        "search_turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("turn_index", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(16), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_search_turns_call_id_calls"),
        sa.PrimaryKeyConstraint("id", name="pk_search_turns"),
        sa.UniqueConstraint("call_id", "turn_index", name="uq_search_turns_call_id"),
    )
    op.create_index("ix_search_turns_call_id", "search_turns", ["call_id"])
    op.create_table(
        "search_calls",
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("event_kinds", sa.Text(), nullable=False),
        sa.Column("customer_sentiment", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_search_calls_call_id_calls"),
        sa.PrimaryKeyConstraint("call_id", name="pk_search_calls"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("team_id", sa.String(128), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_turns ADD COLUMN tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED")
        op.execute("CREATE INDEX ix_search_turns_tsv ON search_turns USING GIN (tsv)")
    else:
        op.execute(_SQLITE_FTS)
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in ("search_turns_ai", "search_turns_ad", "search_turns_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("team_id")
    op.drop_table("search_calls")
    op.drop_index("ix_search_turns_call_id", table_name="search_turns")
    op.drop_table("search_turns")
