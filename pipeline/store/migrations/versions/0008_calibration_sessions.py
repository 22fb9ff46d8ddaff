"""Calibration sessions (issue #18): a named set of calls that assessors mark blind; closing the
session locks the marks. Additive only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calibration_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("call_ids", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calibration_sessions"),
        sa.UniqueConstraint("name", name="uq_calibration_sessions_name"),
    )


def downgrade() -> None:
    op.drop_table("calibration_sessions")
