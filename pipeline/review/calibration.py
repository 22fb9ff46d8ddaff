"""Calibration: how far assessors agree with each other, and with the pre-filled suggestions.

Assessors mark calls independently (`mark_item`, mode "calibration"): those marks never change a card.
Marks are blind: an assessor sees the others' marks on a call only once their own are all in, or
once a closed calibration session holds the call. Closing a session locks the marks on its calls,
so agreement measures what each assessor decided alone. Agreement is Krippendorff's alpha
(ordinal, missing ratings allowed) with a bootstrap interval, beside kappa and percent agreement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pipeline.errors import ReviewError
from pipeline.schema import is_valid_call_id
from pipeline.score.agreement import AlphaEstimate, cohen_kappa, fleiss_kappa, krippendorff_alpha, percent_agreement
from pipeline.store import Store
from pipeline.store import calibration as sessions
from pipeline.store.access import record_access
from pipeline.store.reviews import card_decisions, card_items

from .cards import card_or_refuse, latest
from .views import CalibrationMarks, CalibrationReport, CalibrationSessionView, ItemAgreement

__all__ = ["calibrate", "calibration_marks", "marks_locked", "open_session", "close_session", "list_sessions"]


def _ci(estimate: AlphaEstimate | None) -> tuple[float, float] | None:
    if estimate is None or estimate.ci_low is None or estimate.ci_high is None:
        return None
    return (estimate.ci_low, estimate.ci_high)


def calibrate(*, store: Store, user: str, call_ids: Sequence[str]) -> CalibrationReport:
    """Agreement between assessors' independent marks, and between pre-fill and final values.

    Each assessor's latest calibration mark per item counts. Per item, the subjects are the
    calls every rater marked; with two raters Cohen's kappa, with more Fleiss' kappa; percent
    agreement is the mean pairwise agreement. The auto figures compare each item's suggestion
    with the assessor's final review value (decided items only).

    Raises:
        ReviewError: a call has no scorecard.
    """
    marks: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (call, item) -> rater -> value
    auto_pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    item_order: list[str] = []
    raters: set[str] = set()
    with store.session() as s:
        for call_id in call_ids:
            card = card_or_refuse(s, call_id)
            items = card_items(s, card.id)
            for item in items:
                if item.item_id not in item_order:
                    item_order.append(item.item_id)
            for d in card_decisions(s, card.id, mode="calibration"):
                marks[(call_id, d.item_id)][d.who] = d.value
                raters.add(d.who)
            final = latest(card_decisions(s, card.id))
            for item in items:
                if item.item_id in final and item.suggestion is not None:
                    auto_pairs[item.item_id].append((item.suggestion, final[item.item_id].value))
        record_access(s, user, "calibrate", detail=f"{len(call_ids)} calls")
    rater_list = sorted(raters)
    method = "cohen" if len(rater_list) == 2 else "fleiss"

    def agreement(subjects: list[list[str]]) -> tuple[float | None, float | None]:
        if not subjects:
            return None, None
        if method == "cohen":
            return percent_agreement(subjects), cohen_kappa([(a, b) for a, b in subjects])
        return percent_agreement(subjects), fleiss_kappa(subjects)

    per_item: list[ItemAgreement] = []
    all_subjects: list[list[str]] = []
    all_units: list[list[str | None]] = []
    all_auto: list[tuple[str, str]] = []
    for item_id in item_order:
        subjects = []
        # Kappa needs every rater on every subject; alpha takes a unit with any two ratings.
        units: list[list[str | None]] = []
        for call_id in call_ids:
            by_rater = marks.get((call_id, item_id), {})
            if len(rater_list) >= 2 and all(r in by_rater for r in rater_list):
                subjects.append([by_rater[r] for r in rater_list])
            units.append([by_rater.get(r) for r in rater_list])
        pct, kappa = agreement(subjects)
        alpha = krippendorff_alpha(units)
        all_subjects.extend(subjects)
        all_units.extend(units)
        pairs = auto_pairs.get(item_id, [])
        all_auto.extend(pairs)
        per_item.append(ItemAgreement(
            item_id=item_id, subjects=len(subjects), percent_agreement=pct, kappa=kappa, auto_subjects=len(pairs),
            auto_percent_agreement=percent_agreement([list(p) for p in pairs]), auto_kappa=cohen_kappa(pairs),
            alpha=alpha.alpha if alpha else None, alpha_ci=_ci(alpha)))
    overall_pct, overall_kappa = agreement(all_subjects)
    overall_alpha = krippendorff_alpha(all_units)
    return CalibrationReport(
        calls=list(call_ids), raters=rater_list, method=method, items=per_item,
        overall_percent_agreement=overall_pct, overall_kappa=overall_kappa,
        auto_percent_agreement=percent_agreement([list(p) for p in all_auto]), auto_kappa=cohen_kappa(all_auto),
        overall_alpha=overall_alpha.alpha if overall_alpha else None, overall_alpha_ci=_ci(overall_alpha),
        alpha_units=overall_alpha.units if overall_alpha else 0)


def _locked(s, call_id: str) -> bool:
    held = sessions.sessions_with_call(s, call_id)
    return bool(held) and all(row.closed_at is not None for row in held)


def marks_locked(s, call_id: str) -> bool:
    """True when closed calibration sessions hold the call and no open one does: marks are final."""
    return _locked(s, call_id)


def calibration_marks(*, store: Store, user: str, call_id: str) -> CalibrationMarks:
    """The independent marks on a call, as far as `user` may see them.

    Blind marking: until the user has marked every item on the card (n/a counts), only their own
    marks come back; once they have, or once a closed session locks the call, everyone's do.

    Raises:
        ReviewError: no scorecard for the call.
    """
    with store.session() as s:
        card = card_or_refuse(s, call_id)
        marks: dict[str, dict[str, str]] = defaultdict(dict)
        for d in card_decisions(s, card.id, mode="calibration"):
            marks[d.item_id][d.who] = d.value
        items = {i.item_id for i in card_items(s, card.id)}
        locked = _locked(s, call_id)
        revealed = locked or all(user in marks.get(item, {}) for item in items)
        if not revealed:
            marks = defaultdict(dict, {k: {user: v[user]} for k, v in marks.items() if user in v})
        record_access(s, user, "calibration_view", call_id=call_id, scorecard_id=card.id)
        return CalibrationMarks(marks={k: dict(v) for k, v in marks.items()}, revealed=revealed, locked=locked)


def _session_view(row) -> CalibrationSessionView:
    from pipeline.store.models import as_utc

    return CalibrationSessionView(name=row.name, call_ids=list(row.call_ids or []), opened_by=row.opened_by,
                                  opened_at=as_utc(row.opened_at), closed_by=row.closed_by,
                                  closed_at=as_utc(row.closed_at))


def open_session(*, store: Store, user: str, name: str, call_ids: Sequence[str]) -> CalibrationSessionView:
    """Open a calibration session over calls that all have a scorecard.

    Raises:
        ReviewError: a bad or taken name, no calls, or a call without a scorecard.
    """
    if not is_valid_call_id(name) or len(name) > 64:
        raise ReviewError("a session name is 1-64 letters, digits, '.', '_' or '-'", reason="bad_name")
    calls = list(dict.fromkeys(call_ids))
    if not calls:
        raise ReviewError("a calibration session needs at least one call", reason="no_calls")
    with store.session() as s:
        for call_id in calls:
            card_or_refuse(s, call_id)
        if sessions.get_session(s, name) is not None:
            raise ReviewError(f"a calibration session named {name!r} exists; choose another name", reason="exists")
        row = sessions.add_session(s, name=name, call_ids=calls, who=user)
        record_access(s, user, "calibration_open", detail=f"{name}: {len(calls)} calls")
        return _session_view(row)


def close_session(*, store: Store, user: str, name: str) -> CalibrationSessionView:
    """Close a session: the marks on its calls lock and every rater's marks become visible.

    Raises:
        ReviewError: no such session, or it is already closed.
    """
    with store.session() as s:
        row = sessions.get_session(s, name, lock=True)
        if row is None:
            raise ReviewError(f"no calibration session named {name!r}", reason="unknown_session")
        if row.closed_at is not None:
            raise ReviewError(f"calibration session {name!r} is already closed", reason="closed")
        sessions.close_session(s, row, who=user)
        record_access(s, user, "calibration_close", detail=name)
        return _session_view(row)


def list_sessions(*, store: Store) -> list[CalibrationSessionView]:
    """Every calibration session, newest first."""
    with store.session() as s:
        return [_session_view(row) for row in sessions.list_sessions(s)]
