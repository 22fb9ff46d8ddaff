"""The redaction audit log's head anchored in the results index (issue #16).

One row per audit log (keyed by the log's absolute path): how many records it holds, the last
record's keyed hash and the id of the audit key. Written in the same step as every append, so
a log cut short, deleted or rewritten without the key no longer matches its anchor. Additive only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(512), nullable=False),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("chain", name="pk_audit_heads"),
    )


def downgrade() -> None:
    op.drop_table("audit_heads")
