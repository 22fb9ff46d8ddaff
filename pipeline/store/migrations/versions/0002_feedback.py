"""Feedback cycle: monitoring purpose, calibration marks, agreed actions, self-assessments.

Additive only: existing rows get purpose 'formative' and decision mode 'review'.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("scorecards") as batch:
        batch.add_column(sa.Column("purpose", sa.String(16), nullable=False, server_default="formative"))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="review"))
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("agent_id", sa.String(128), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_actions_call_id_calls"),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
    )
    op.create_index("ix_actions_call_id", "actions", ["call_id"])
    op.create_index("ix_actions_agent_id", "actions", ["agent_id"])
    op.create_table(
        "self_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("value", sa.String(8), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["scorecard_id"], ["scorecards.id"],
                                name="fk_self_assessments_scorecard_id_scorecards"),
        sa.PrimaryKeyConstraint("id", name="pk_self_assessments"),
    )
    op.create_index("ix_self_assessments_scorecard_id", "self_assessments", ["scorecard_id"])


def downgrade() -> None:
    op.drop_table("self_assessments")
    op.drop_table("actions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("mode")
    with op.batch_alter_table("scorecards") as batch:
        batch.drop_column("purpose")
