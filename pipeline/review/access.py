"""The access log as the web app and `callqa review` use it: ownership look-up, entries, reading."""

from __future__ import annotations

from pipeline.store import Store
from pipeline.store.access import access_entries, record_access
from pipeline.store.models import as_utc
from pipeline.store.reviews import call_row

from .views import AccessEntry

__all__ = ["call_agent", "call_owner", "log_access", "access_log"]

_ACTION_CHARS = 32  # the column's width
_MAX_ENTRIES = 5000


def call_agent(*, store: Store, call_id: str) -> tuple[bool, str | None]:
    """Whether the call is in the index, and its agent id (for access checks before a view)."""
    with store.session() as s:
        call = call_row(s, call_id)
        return (call is not None, call.agent_id if call is not None else None)


def call_owner(*, store: Store, call_id: str) -> tuple[bool, str | None, str | None]:
    """Whether the call is in the index, its agent id and its team id (for access checks before a view)."""
    with store.session() as s:
        call = call_row(s, call_id)
        return (call is not None, call.agent_id if call is not None else None,
                call.team_id if call is not None else None)


def log_access(*, store: Store, user: str, action: str, call_id: str | None = None,
               detail: str | None = None) -> None:
    """Record a view or a refusal that no other review function records (audio, audit, denied)."""
    with store.session() as s:
        record_access(s, user, action[:_ACTION_CHARS], call_id=call_id, detail=detail)


def access_log(*, store: Store, user: str, call_id: str | None = None, who: str | None = None,
               limit: int = 500) -> list[AccessEntry]:
    """The newest access-log entries first, between 1 and 5000 of them (the read itself is logged)."""
    with store.session() as s:
        out = [AccessEntry(at=as_utc(r.at), who=r.who, action=r.action, call_id=r.call_id, item_id=r.item_id,
                           detail=r.detail)
               for r in access_entries(s, limit=max(1, min(limit, _MAX_ENTRIES)), call_id=call_id, who=who)]
        record_access(s, user, "access_log", call_id=call_id, detail=f"n={len(out)}")
        return out
