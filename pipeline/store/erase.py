"""Erasure of one call from the results index (GDPR Article 17, `callqa erase`).

What erasure means per table:
- calls, results, scorecards, items, self_assessments: deleted. They describe the call.
- feedback_notes: deleted. A note is on the erased call's scorecard and its free text may
  describe the call; the agent's lasting record is the agreed actions.
- decisions: deleted, although the table is otherwise append-only. A decision is a mark on an
  item of the erased call's scorecard; with the call gone it has nothing to refer to, and its
  free-text reason may describe the call. The erasure record in the audit log keeps the count.
- actions: kept, detached from the call (call_id set to NULL). An agreed development action is
  the agent's record (the organisation's legitimate interest in its staff's development), not
  the customer's, and its description is the assessor's words about behaviour.
- access_log: kept (who looked at what, and when, is the accountability record of Article 5(2)
  and the security log of Article 32), but its call_id is replaced by the erasure reference.
  A call id is pseudonymous personal data: the site's telephony system maps it back to the
  caller's number and recording, so it may not stay beside the access history once the call is
  erased. The reference is random and kept nowhere (not in the audit log's erasure record,
  which names the call): the rows stay as the history of who looked, pointing at no one. A
  free-text detail naming the call (on any row) is cleared.
- search_turns, search_calls: deleted (the call's redacted text and search facets), and SQLite's
  FTS5 index is rewritten so that the words leave its pages (`pipeline.store.search.purge`).
- runs: untouched (no per-call data).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select, update

from pipeline.store.db import Store
from pipeline.store.models import (
    AccessLogRow,
    ActionRow,
    CallRow,
    DecisionRow,
    FeedbackNoteRow,
    ItemRow,
    ResultRow,
    ScorecardRow,
    SelfAssessmentRow,
)
from pipeline.store.search import drop_call, purge

__all__ = ["ErasedRows", "erase_call_rows"]


class ErasedRows(BaseModel):
    """Rows deleted or changed per table (counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int = 0
    results: int = 0
    scorecards: int = 0
    items: int = 0
    decisions: int = 0
    feedback_notes: int = 0
    self_assessments: int = 0
    actions_detached: int = 0
    access_log_pseudonymised: int = 0
    search_turns: int = 0

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.model_dump().items())


def erase_call_rows(store: Store, call_id: str, reference: str) -> ErasedRows:
    """Delete a call's rows from the index in one transaction (see the module docstring).

    Args:
        store: the results index (at the head revision).
        call_id: the call to erase.
        reference: what replaces the call id in access_log rows (e.g. "erased:<random>").

    Returns:
        ErasedRows: counts per table; all zero when the index never held the call.
    """
    with store.session() as s:
        cards = select(ScorecardRow.id).where(ScorecardRow.call_id == call_id).scalar_subquery()
        counts = {
            "self_assessments": s.execute(delete(SelfAssessmentRow).where(SelfAssessmentRow.scorecard_id.in_(cards))).rowcount,
            "decisions": s.execute(delete(DecisionRow).where(DecisionRow.scorecard_id.in_(cards))).rowcount,
            "feedback_notes": s.execute(delete(FeedbackNoteRow).where(FeedbackNoteRow.scorecard_id.in_(cards))).rowcount,
            "items": s.execute(delete(ItemRow).where(ItemRow.scorecard_id.in_(cards))).rowcount,
            "access_log_pseudonymised": s.execute(
                update(AccessLogRow).where(AccessLogRow.call_id == call_id)
                .values(call_id=reference, scorecard_id=None, detail=None)).rowcount,
        }
        # Details of other rows (an export, a search) may name the call too: they go, the rows stay.
        counts["access_log_pseudonymised"] += s.execute(
            update(AccessLogRow).where(AccessLogRow.detail.contains(call_id, autoescape=True))
            .values(detail=None)).rowcount
        counts["scorecards"] = s.execute(delete(ScorecardRow).where(ScorecardRow.call_id == call_id)).rowcount
        counts["results"] = s.execute(delete(ResultRow).where(ResultRow.call_id == call_id)).rowcount
        counts["actions_detached"] = s.execute(
            update(ActionRow).where(ActionRow.call_id == call_id).values(call_id=None)).rowcount
        counts["search_turns"] = drop_call(s, call_id)
        if counts["search_turns"]:
            purge(s)
        counts["calls"] = s.execute(delete(CallRow).where(CallRow.call_id == call_id)).rowcount
    return ErasedRows(**counts)
