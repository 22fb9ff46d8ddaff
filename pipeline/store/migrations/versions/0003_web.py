"""Web app accounts: users, server-side sessions, login attempts (for the rate limit); feedback notes.

Additive only. Passwords are stored as argon2id hashes; sessions by the SHA-256 of their
cookie token, so a read of the table does not hand out live sessions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_key_at", "login_attempts", ["key", "at"])
    op.create_table(
        "feedback_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["scorecard_id"], ["scorecards.id"], name="fk_feedback_notes_scorecard_id_scorecards"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_notes"),
    )
    op.create_index("ix_feedback_notes_scorecard_id", "feedback_notes", ["scorecard_id"])


def downgrade() -> None:
    op.drop_table("feedback_notes")
    op.drop_table("login_attempts")
    op.drop_table("web_sessions")
    op.drop_table("users")
