"""Calibration: how far assessors agree with each other, and with the pre-filled suggestions.

Assessors mark calls independently (`mark_item`, mode "calibration"): those marks never change a card.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pipeline.score.agreement import cohen_kappa, fleiss_kappa, percent_agreement
from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.reviews import card_decisions, card_items

from .cards import card_or_refuse, latest
from .views import CalibrationReport, ItemAgreement

__all__ = ["calibrate", "calibration_marks"]


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
    all_auto: list[tuple[str, str]] = []
    for item_id in item_order:
        subjects = []
        for call_id in call_ids:
            by_rater = marks.get((call_id, item_id), {})
            if len(rater_list) >= 2 and all(r in by_rater for r in rater_list):
                subjects.append([by_rater[r] for r in rater_list])
        pct, kappa = agreement(subjects)
        all_subjects.extend(subjects)
        pairs = auto_pairs.get(item_id, [])
        all_auto.extend(pairs)
        per_item.append(ItemAgreement(
            item_id=item_id, subjects=len(subjects), percent_agreement=pct, kappa=kappa, auto_subjects=len(pairs),
            auto_percent_agreement=percent_agreement([list(p) for p in pairs]), auto_kappa=cohen_kappa(pairs)))
    overall_pct, overall_kappa = agreement(all_subjects)
    return CalibrationReport(
        calls=list(call_ids), raters=rater_list, method=method, items=per_item,
        overall_percent_agreement=overall_pct, overall_kappa=overall_kappa,
        auto_percent_agreement=percent_agreement([list(p) for p in all_auto]), auto_kappa=cohen_kappa(all_auto))


def calibration_marks(*, store: Store, user: str, call_id: str) -> dict[str, dict[str, str]]:
    """{item_id: {assessor: value}}: each assessor's latest independent mark on the call.

    Raises:
        ReviewError: no scorecard for the call.
    """
    with store.session() as s:
        card = card_or_refuse(s, call_id)
        marks: dict[str, dict[str, str]] = defaultdict(dict)
        for d in card_decisions(s, card.id, mode="calibration"):
            marks[d.item_id][d.who] = d.value
        record_access(s, user, "calibration_view", call_id=call_id, scorecard_id=card.id)
        return {k: dict(v) for k, v in marks.items()}
