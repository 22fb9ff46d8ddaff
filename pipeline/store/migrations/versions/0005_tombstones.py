"""Tombstones: keyed digests of erased calls and their source recordings (issue #16).

`callqa erase` (and retention) write one row per call id and one per source recording; every
run checks them before processing an input, so an erased call never comes back. The digests are
HMACs under the redaction key: the table names no call. Additive only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_tombstones"),
    )


def downgrade() -> None:
    op.drop_table("tombstones")
