"""The assessor's workflow over the results index: review, feedback, calibration, exports.

Plain keyword-only functions; the `callqa review` / `callqa calibrate` commands and the web app
call the same ones. Every call records who did what in the access log, in the same transaction
as the change it makes. Decisions are appended, never overwritten: an item's state is its latest
review decision, and the earlier ones stay as its history. The queries live in pipeline.store
(reviews, feedback, access); these modules hold the rules.

    queue.py        list_cards (pending / by agent / flagged), show_card (evidence, times, history)
    decisions.py    confirm_item, override_item (a reason required), mark_item (an independent
                    calibration mark), finalise (refused while any item is pending)
    feedback.py     self_assess (the agent's own marks, before the assessor's are shown to them),
                    add_note / list_notes, add_action / list_actions / close_action, agent_summary
    calibration.py  calibrate (agreement between assessors: alpha, kappa; pre-fill vs final), blind
                    calibration_marks, open_session / close_session (closing locks the marks)
    export.py       export_html, export_period (CSV / JSON)
    access.py       call_agent (ownership look-up), log_access, access_log
    views.py        the records these return; identity.py: current_user
"""

from pipeline.errors import ReviewError

from .access import access_log, call_agent, log_access
from .calibration import calibrate, calibration_marks, close_session, list_sessions, open_session
from .decisions import confirm_item, finalise, mark_item, override_item
from .export import export_html, export_period
from .feedback import NOTE_KINDS, add_action, add_note, agent_summary, close_action, list_actions, list_notes, self_assess
from .identity import USER_ENV, current_user
from .queue import list_cards, show_card
from .views import (
    VALUES,
    AccessEntry,
    ActionView,
    AgentSummary,
    CalibrationMarks,
    CalibrationReport,
    CalibrationSessionView,
    CardSummary,
    CardView,
    DecisionView,
    ItemAgreement,
    NoteView,
)

__all__ = [
    "VALUES",
    "USER_ENV",
    "ReviewError",
    "DecisionView",
    "CardSummary",
    "CardView",
    "ActionView",
    "AgentSummary",
    "ItemAgreement",
    "CalibrationReport",
    "current_user",
    "list_cards",
    "show_card",
    "confirm_item",
    "override_item",
    "finalise",
    "self_assess",
    "add_action",
    "list_actions",
    "close_action",
    "agent_summary",
    "mark_item",
    "calibrate",
    "export_html",
    "export_period",
    "AccessEntry",
    "call_agent",
    "log_access",
    "access_log",
    "calibration_marks",
    "open_session",
    "close_session",
    "list_sessions",
    "CalibrationMarks",
    "CalibrationSessionView",
    "NoteView",
    "NOTE_KINDS",
    "add_note",
    "list_notes",
]
