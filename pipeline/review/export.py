"""Exports: one call's scorecard as HTML, and a period's scorecards as CSV or JSON (atomic writes).

Every item and evidence reference says its basis (objective: measured; interpretive: judged), so
whoever reads an export sees which suggestions rest on a detector's judgement (issue #18).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Literal

from pipeline.errors import ReviewError
from pipeline.schema import DEV_KEY_FLAG, CallResult, PipelineInfo, RecordingMetadata, Source
from pipeline.score.render import render_scorecard_html
from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.models import as_utc
from pipeline.store.reviews import card_decisions, current_cards

from .cards import bulk_scored, latest, summary
from .queue import show_card
from .views import CardView

__all__ = ["EXPORT_COLUMNS", "export_html", "export_period"]

log = logging.getLogger(__name__)

EXPORT_COLUMNS = ("call_id", "agent_id", "channel_type", "started_at", "template", "purpose", "status",
                  "score", "suggested_score", "critical_failed", "item_id", "section", "critical", "weight",
                  "suggestion", "basis", "confidence", "item_status", "value", "decided_by", "decided_at",
                  "evidence_times", "evidence_basis")


def _refuse_dev_key(call_ids: list[str]) -> None:
    """Results made with the public development key are test data: their digests are not secret."""
    shown = ", ".join(call_ids[:5]) + (" ..." if len(call_ids) > 5 else "")
    raise ReviewError(f"{len(call_ids)} result(s) were made with the public development key ({shown}): their value "
                      "digests are not secret, so they are not exported; process them again with "
                      "CALLQA_REDACTION_KEY set, or pass --allow-dev-key for test data",
                      reason="dev_key", call_id=call_ids[0] if len(call_ids) == 1 else None)


def export_html(*, store: Store, user: str, call_id: str, out_path: Path | str, allow_dev_key: bool = False) -> Path:
    """Write the call's scorecard.html with decisions, history and who decided (atomic write).

    Raises:
        ReviewError: no scorecard for the call; or (dev_key) its result was made with the public
            development key and `allow_dev_key` is False.
    """
    view = show_card(store=store, user=user, call_id=call_id)
    if DEV_KEY_FLAG in view.summary.flags and not allow_dev_key:
        _refuse_dev_key([call_id])
    result = _result_for_render(view)
    history = {k: [{"who": d.who, "at": d.at.strftime("%Y-%m-%d %H:%M UTC"), "kind": d.kind, "value": d.value,
                    "reason": d.reason} for d in v] for k, v in view.history.items()}
    html = render_scorecard_html(result, history=history, status=view.summary.status)
    out = Path(out_path)
    _atomic_write(out, html)
    with store.session() as s:
        record_access(s, user, "export_html", call_id=call_id)
    return out


def _result_for_render(view: CardView) -> CallResult:
    if view.result_path and Path(view.result_path).is_file():
        try:
            result = CallResult.model_validate_json(Path(view.result_path).read_text(encoding="utf-8"))
            card = view.card
            if result.scorecard is not None:
                # The index keeps section ids only; the titles come from the card as scored.
                titles = {s.section: s.title for s in result.scorecard.sections}
                card = card.model_copy(update={"sections": [
                    s.model_copy(update={"title": s.title or titles.get(s.section)}) for s in card.sections]})
            return result.model_copy(update={"scorecard": card})
        except ValueError:
            log.warning("result.json could not be read; rendering from the index alone")
    return CallResult(call_id=view.summary.call_id, channel_type=view.summary.channel_type,
                      source=Source(path="(index)", sha256="0" * 64, format="unknown", duration_s=None,
                                    sample_rate=None, channels=None),
                      metadata=RecordingMetadata(agent_id=view.summary.agent_id,
                                                 started_at=view.summary.started_at.isoformat()
                                                 if view.summary.started_at else None),
                      pipeline=PipelineInfo(version="unknown", config_hash="0" * 64), turns=[], scorecard=view.card)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export_period(*, store: Store, user: str, since: dt.datetime | None, until: dt.datetime | None,
                  fmt: Literal["csv", "json"], out_path: Path | str, agent: str | None = None,
                  allow_dev_key: bool = False) -> Path:
    """Scorecards of calls started in [since, until) as CSV (a row per item) or JSON (a card per call).

    Rows hold ids, values, scores and times only (no quotes). Each card says its purpose
    (formative / summative).

    Raises:
        ReviewError: a format other than csv or json (bad_value); a result made with the public
            development key in the period while `allow_dev_key` is False (dev_key; nothing written).
    """
    if fmt not in ("csv", "json"):
        raise ReviewError("format must be csv or json", reason="bad_value")
    cards_out: list[dict] = []
    with store.session() as s:
        cards = [card for card, _call in current_cards(s, agent=agent or None, since=since, until=until,
                                                       order="oldest")]
        bulk = bulk_scored(s, cards)
        dev: list[str] = []
        for card in cards:
            scored_card = bulk[card.id]
            line = summary(s, card, scored_card)
            if DEV_KEY_FLAG in line.flags and not allow_dev_key:
                dev.append(card.call_id)
            decided = latest(card_decisions(s, card.id))
            items = []
            for item in scored_card.items:
                d = decided.get(item.id)
                items.append({
                    "item_id": item.id, "section": item.section, "critical": item.critical, "weight": item.weight,
                    "suggestion": item.suggestion, "basis": item.basis, "confidence": item.confidence,
                    "item_status": item.status,
                    "value": item.assessor_value, "decided_by": d.who if d else None,
                    "decided_at": as_utc(d.at).isoformat() if d else None,
                    "evidence_times": [e.start_s for e in item.evidence if e.start_s is not None],
                    "evidence": [{"kind": e.kind, "start_s": e.start_s, "basis": e.basis} for e in item.evidence],
                })
            cards_out.append({**json.loads(line.model_dump_json()), "score": line.final_score,
                              "sections": [json.loads(x.model_dump_json()) for x in scored_card.sections],
                              "items_detail": items})
        if dev:
            _refuse_dev_key(dev)
        record_access(s, user, f"export_{fmt}", detail=f"{len(cards_out)} cards")
    out = Path(out_path)
    if fmt == "json":
        _atomic_write(out, json.dumps({"since": since.isoformat() if since else None,
                                       "until": until.isoformat() if until else None, "cards": cards_out}, indent=2))
        return out
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for card in cards_out:
        for item in card["items_detail"]:
            writer.writerow({
                "call_id": card["call_id"], "agent_id": card["agent_id"], "channel_type": card["channel_type"],
                "started_at": card["started_at"], "template": card["template"], "purpose": card["purpose"],
                "status": card["status"], "score": card["score"], "suggested_score": card["suggested_score"],
                "critical_failed": card["critical_failed"], **{k: item[k] for k in (
                    "item_id", "section", "critical", "weight", "suggestion", "basis", "confidence", "item_status",
                    "value", "decided_by", "decided_at")},
                "evidence_times": ";".join(f"{t:.3f}" for t in item["evidence_times"]),
                "evidence_basis": ";".join(e["basis"] or "" for e in item["evidence"]),
            })
    _atomic_write(out, buffer.getvalue())
    return out
