"""Basis of each pre-filled item (issue #18): objective (measured) or interpretive (judged), so the
queue, the call page and exports show which suggestions need the assessor's judgement. The
evidence JSON carries each reference's basis as a key; no change to its column. Additive only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("basis", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("basis")
