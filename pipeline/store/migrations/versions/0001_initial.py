"""Initial results index: runs, calls, results, scorecards, items, decisions, access_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pipeline_version", sa.String(32), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("n_calls", sa.Integer(), nullable=False),
        sa.Column("n_failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("channel_type", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=True),
        sa.Column("team_id", sa.String(128), nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("first_seen_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
    )
    op.create_index("ix_calls_agent_id", "calls", ["agent_id"])
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("result_path", sa.String(1024), nullable=False),
        sa.Column("result_sha256", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("n_pii", sa.Integer(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_results_call_id_calls"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_results_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_results"),
    )
    op.create_index("ix_results_call_id", "results", ["call_id"])
    op.create_index("ix_results_run_id", "results", ["run_id"])
    op.create_table(
        "scorecards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(80), nullable=False),
        sa.Column("channel_type", sa.String(16), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("suggested_score", sa.Float(), nullable=True),
        sa.Column("critical_failed_suggested", sa.Boolean(), nullable=False),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("development_points", sa.JSON(), nullable=False),
        sa.Column("finalised_at", TZ, nullable=True),
        sa.Column("finalised_by", sa.String(128), nullable=True),
        sa.Column("final_score", sa.Float(), nullable=True),
        sa.Column("final_critical_failed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_scorecards_call_id_calls"),
        sa.ForeignKeyConstraint(["result_id"], ["results.id"], name="fk_scorecards_result_id_results"),
        sa.PrimaryKeyConstraint("id", name="pk_scorecards"),
    )
    op.create_index("ix_scorecards_call_id", "scorecards", ["call_id"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(64), nullable=False),
        sa.Column("question", sa.String(512), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("standard_ref", sa.String(256), nullable=True),
        sa.Column("suggestion", sa.String(8), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("needs_observation", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(512), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["scorecard_id"], ["scorecards.id"], name="fk_items_scorecard_id_scorecards"),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.UniqueConstraint("scorecard_id", "item_id", name="uq_items_scorecard_id"),
    )
    op.create_index("ix_items_scorecard_id", "items", ["scorecard_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["scorecard_id"], ["scorecards.id"], name="fk_decisions_scorecard_id_scorecards"),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_scorecard_id", "decisions", ["scorecard_id"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("scorecard_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_index("ix_access_log_call_id", "access_log", ["call_id"])


def downgrade() -> None:
    for table in ("access_log", "decisions", "items", "scorecards", "results", "calls", "runs"):
        op.drop_table(table)
