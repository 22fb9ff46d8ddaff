"""Who may do what: roles, permissions and the per-call rule for agents.

    assessor     the queue, call pages, confirm / override / finalise, calibration marks, feedback
    team_leader  the queue, call pages, feedback and actions, agent history, calibration view and
                 sessions (open, close), the dashboard: all of it over their own team's calls only
                 (team_id on the account = the call's team; a team leader without a team sees no calls)
    agent        their own calls only (agent_id on the account = the call's agent): self-assessment,
                 the card once they have self-assessed, their own history and actions
    auditor      the redaction audit and the access log; no scorecards, no call pages
    admin        everything above

Nobody sees unredacted data: the app only reads result.json and audio.redacted.wav.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .auth import SessionUser

__all__ = ["ROLES", "PERMISSIONS", "allowed", "may_see_call", "visible_team_ids"]

ROLES: tuple[str, ...] = ("assessor", "team_leader", "agent", "auditor", "admin")

_STAFF = frozenset({"assessor", "team_leader", "admin"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "queue": _STAFF | {"agent"},
    "call.view": _STAFF | {"agent"},
    "call.decide": frozenset({"assessor", "admin"}),
    "call.finalise": frozenset({"assessor", "admin"}),
    "call.self_assess": frozenset({"agent"}),
    "call.mark": frozenset({"assessor", "team_leader", "admin"}),
    "feedback.actions": _STAFF,
    "feedback.notes": _STAFF,
    "agent.history": _STAFF | {"agent"},
    "calibration.view": _STAFF,
    "dashboard.view": _STAFF,  # KPIs over many calls: never an agent's (their scope is their own calls)
    "calibration.manage": frozenset({"team_leader", "admin"}),  # open and close calibration sessions
    "access_log.view": frozenset({"auditor", "admin"}),
    "audit.view": frozenset({"auditor", "admin"}),
}


def allowed(user: SessionUser, permission: str) -> bool:
    """Whether the user's role carries the permission (unknown permissions: nobody)."""
    return user.role in PERMISSIONS.get(permission, frozenset())


def visible_team_ids(user: SessionUser) -> set[str] | None:
    """The teams whose calls the user may see: None for all, an empty set for none.

    Every list, count and chart over calls (queue, search, dashboard, agent history) narrows to
    these; a single call is checked by `may_see_call`.
    """
    if user.role == "team_leader":
        return {user.team_id} if user.team_id else set()
    return None


def may_see_call(user: SessionUser, call_agent_id: str | None, call_team_id: str | None = None) -> bool:
    """Call-level rule on top of `call.view`: an agent sees only calls with their own agent id, a
    team leader only calls of their team."""
    if not allowed(user, "call.view"):
        return False
    if user.role == "agent":
        return bool(user.agent_id) and call_agent_id == user.agent_id
    teams = visible_team_ids(user)
    return teams is None or (call_team_id is not None and call_team_id in teams)
