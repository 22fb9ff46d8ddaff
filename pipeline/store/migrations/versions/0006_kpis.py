"""Call KPIs in the results index (issue #18): handling times, CSAT, NPS, disposition, queue,
and the keyed digests that tell a repeat contact.

`customer_digest` is an HMAC (under a key derived from the redaction key) of the caller's
`customer_ref`; `contact_digests` holds the redaction's own keyed digests of the phone and
account numbers found in the call. Neither can be turned back into the value without the key.
Additive only: every new column is nullable.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("talk_s", sa.Float()),
    ("hold_s", sa.Float()),
    ("wrap_up_s", sa.Float()),
    ("csat", sa.Integer()),
    ("nps", sa.Integer()),
    ("disposition", sa.String(64)),
    ("queue", sa.String(128)),
    ("customer_digest", sa.String(64)),
    ("contact_digests", sa.JSON()),
)
_INDEXES = (("ix_calls_team_id", "team_id"), ("ix_calls_queue", "queue"),
            ("ix_calls_customer_digest", "customer_digest"))


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a table in place beyond adding a column.
    with op.batch_alter_table("calls") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    for index, column in _INDEXES:
        op.create_index(index, "calls", [column])


def downgrade() -> None:
    for index, _column in _INDEXES:
        op.drop_index(index, table_name="calls")
    with op.batch_alter_table("calls") as batch:
        for name, _type in reversed(_COLUMNS):
            batch.drop_column(name)
