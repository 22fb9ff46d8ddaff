"""Score stage: templates, suggestions with evidence, critical items, n/a rules, totals, feedback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from _score_support import build_result, script_ids

from pipeline.errors import ConfigError, StageError
from pipeline.schema import Event, SlaResult
from pipeline.score import (
    ScoreOptions,
    apply_decisions,
    default_templates_dir,
    format_mmss,
    load_template,
    load_templates,
    render_scorecard_html,
    score,
)

TEMPLATES = load_templates()
LASS = ("lass_listen", "lass_apologise", "lass_solve", "lass_satisfy")


def card_for(call_id: str, **kwargs):
    result = build_result(call_id, **kwargs)
    return result, score(result, TEMPLATES[result.channel_type], ScoreOptions())


def item(card, item_id):
    return next(i for i in card.items if i.id == item_id)


# ----------------------------------------------------------------------------------- templates


def test_packaged_templates_cover_every_channel():
    assert set(TEMPLATES) == {"telephone", "face_to_face", "digital"}
    for template in TEMPLATES.values():
        sections = {s.id for s in template.sections}
        assert {"opening", "compliance", "complaint", "closing"} <= sections
        assert all(i.standard_ref for i in template.items)
    phone = {i.id: i for i in TEMPLATES["telephone"].items}
    assert phone["recording_notice"].critical and phone["idv_before_account"].critical
    f2f = [i for i in TEMPLATES["face_to_face"].items if i.needs_observation]
    assert {i.id for i in f2f} == {"eye_contact", "body_language", "attentiveness"}


def _copy_template(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((default_templates_dir() / "telephone.yaml").read_text())
    mutate(data)
    path = tmp_path / "telephone.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "mutate, key, words",
    [
        (lambda d: d["items"][0]["satisfied_by"].update(events=["call.greting"]), "items.0.satisfied_by.events",
         "unknown event kind"),
        (lambda d: d["items"][0].update(colour="red"), "items.0.colour", "unknown key"),
        (lambda d: d["items"][0].update(section="nowhere"), None, "names section"),
        (lambda d: d["items"][1].update(id=d["items"][0]["id"]), None, "repeated: greeting"),
        (lambda d: d["items"][0].update(strength="is a friendly person"), "items.0.strength", "behaviour"),
        (lambda d: d["items"][0].update(satisfied_by={}), "items.0", "satisfied_by needs"),
        (lambda d: d["items"][0].pop("standard_ref"), "items.0.standard_ref", "required"),
    ],
)
def test_invalid_template_names_file_and_key(tmp_path, mutate, key, words):
    path = _copy_template(tmp_path, mutate)
    with pytest.raises(ConfigError) as caught:
        load_template(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)
    if key:
        assert caught.value.key == key


def test_site_folder_replaces_one_channel_without_code(tmp_path):
    def mutate(d):
        d["name"] = "acme-phone"
        d["items"] = [i for i in d["items"] if i["id"] != "sales_offer"]

    _copy_template(tmp_path, mutate)
    templates = load_templates(tmp_path)
    assert templates["telephone"].name == "acme-phone"
    assert "sales_offer" not in {i.id for i in templates["telephone"].items}
    assert templates["digital"].name == "digital"  # the packaged ones stay for other channels
    result = build_result("dev-003")
    assert "sales_offer" not in {i.id for i in score(result, templates["telephone"]).items}


def test_two_site_files_for_one_channel_are_refused(tmp_path):
    shutil.copy(default_templates_dir() / "telephone.yaml", tmp_path / "a.yaml")
    shutil.copy(default_templates_dir() / "telephone.yaml", tmp_path / "b.yaml")
    with pytest.raises(ConfigError, match="already has a template"):
        load_templates(tmp_path)


# -------------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize("call_id", script_ids())
def test_every_positive_suggestion_cites_evidence(call_id):
    result, card = card_for(call_id)
    assert card.pending == len(card.items)
    assert all(i.status == "pending" for i in card.items)
    for i in card.items:
        if i.suggestion in ("yes", "partial"):
            assert i.evidence, i.id
        for ev in i.evidence:
            if ev.event_index is not None:
                event = result.events[ev.event_index]
                assert ev.kind == event.kind and ev.start_s == event.start_s
                assert ev.quote and ev.quote in event.evidence or ev.quote.endswith("…")
            else:
                assert ev.sla_rule in {s.rule for s in result.sla}


def test_account_before_idv_and_no_recording_notice_fail_the_card():
    _, card = card_for("dev-007")
    assert item(card, "recording_notice").suggestion == "no"
    assert item(card, "idv_before_account").suggestion == "no"
    assert item(card, "idv_before_account").evidence[0].sla_rule == "idv_before_account"
    assert card.critical_failed
    # The total alone would not fail it: the card fails on the critical items.
    assert card.suggested_score > 50
    assert any("ID&V before" in p for p in card.development_points[:2])


def test_a_compliant_call_passes_its_critical_items():
    _, card = card_for("dev-001")
    assert not card.critical_failed
    assert item(card, "idv_before_account").suggestion == "yes"
    assert item(card, "recording_notice").suggestion == "yes"


def test_no_complaint_makes_lass_items_na_and_leave_the_total():
    _, card = card_for("dev-003")
    assert all(item(card, i).suggestion == "n/a" for i in LASS)
    assert all("complaint.raised" in item(card, i).rule for i in LASS)
    # Recompute by hand over the applicable items only.
    points = {"yes": 1.0, "partial": 0.5, "no": 0.0}
    applicable = [i for i in card.items if i.suggestion in points]
    expected = 100 * sum(i.weight * points[i.suggestion] for i in applicable) / sum(i.weight for i in applicable)
    assert card.suggested_score == pytest.approx(round(expected, 1))
    complaint = next(s for s in card.sections if s.section == "complaint")
    assert complaint.suggested_score is None and complaint.weight == 0


def test_complaint_call_scores_lass_with_evidence_after_the_complaint():
    result, card = card_for("dev-001")
    complaint_at = min(e.start_s for e in result.events if e.kind == "complaint.raised")
    for i in LASS:
        scored = item(card, i)
        assert scored.suggestion == "yes"
        assert all(ev.start_s >= complaint_at for ev in scored.evidence)


def test_missed_detection_gives_no_positive_suggestion():
    _, card = card_for("dev-001", drop_kinds=("lass.apologise",))
    apologise = item(card, "lass_apologise")
    assert apologise.suggestion == "no" and apologise.evidence == []
    assert apologise.confidence == ScoreOptions().absence_confidence


def test_events_before_the_anchor_do_not_count():
    result = build_result("dev-001")
    complaint = next(e for e in result.events if e.kind == "complaint.raised")
    # Move every apology before the complaint.
    events = [e.model_copy(update={"start_s": 0.0, "turn_index": 0}) if e.kind == "lass.apologise" else e
              for e in result.events]
    early = result.model_copy(update={"events": events})
    assert complaint.start_s > 0
    assert item(score(early, TEMPLATES["telephone"]), "lass_apologise").suggestion == "no"


def test_one_probing_question_is_partial():
    _, card = card_for("dev-008")
    probing = item(card, "probing_questions")
    assert probing.suggestion == "partial" and len(probing.evidence) == 1


def test_missing_sla_rule_is_not_evaluated_rather_than_guessed():
    result = build_result("dev-001")
    result = result.model_copy(update={"sla": [s for s in result.sla if s.rule != "idv_before_account"]})
    card = score(result, TEMPLATES["telephone"])
    idv = item(card, "idv_before_account")
    assert idv.suggestion is None and idv.confidence == 0 and "not evaluated" in idv.rule
    assert not card.critical_failed


def test_sla_rule_not_applicable_is_na():
    _, card = card_for("dev-002")  # no hold in the call
    assert item(card, "hold_permission").suggestion == "n/a"
    _, card7 = card_for("dev-007")  # hold without permission
    assert item(card7, "hold_permission").suggestion == "no"


def test_face_to_face_observation_items_are_never_prefilled():
    result = build_result("dev-005")
    # Even an event stream that mentions everything cannot pre-fill them.
    card = score(result, TEMPLATES["face_to_face"])
    observed = [i for i in card.items if i.needs_observation]
    assert len(observed) == 3
    for i in observed:
        assert i.suggestion is None and i.evidence == [] and i.status == "pending"
    non_verbal = next(s for s in card.sections if s.section == "non_verbal")
    assert non_verbal.suggested_score is None and non_verbal.pending == 3
    assert "recording_notice" not in {i.id for i in card.items}


def test_untimed_chat_scores_without_times():
    result, card = card_for("dev-006")
    assert result.turns[0].start_s is None
    assert card.channel_type == "digital"
    assert item(card, "reply_time").suggestion == "n/a"
    assert item(card, "sales_offer").suggestion == "yes"
    assert all("(--:--)" not in s for s in card.strengths)


def test_strengths_and_development_points_are_behaviours_with_times():
    _, card = card_for("dev-001")
    assert card.strengths
    assert all(re.search(r"\(\d\d:\d\d\)|\(.*: met", s) for s in card.strengths)
    apology = next(s for s in card.strengths if s.startswith("apologised"))
    assert re.search(r"apologised for the customer's experience \d+ s after the complaint was raised \(\d\d:\d\d\)",
                     apology)
    _, failed = card_for("dev-007")
    assert failed.development_points[0].startswith("tell the customer the call is recorded")
    trait = re.compile(r"\b(rude|lazy|friendly|careless|attitude|personality)\b", re.I)
    assert not any(trait.search(s) for s in failed.strengths + failed.development_points)


def test_score_is_pure_and_checks_the_channel():
    result = build_result("dev-002")
    before = result.model_dump_json()
    first = score(result, TEMPLATES["telephone"])
    assert score(result, TEMPLATES["telephone"]) == first
    assert result.model_dump_json() == before
    with pytest.raises(StageError, match="is for digital"):
        score(result, TEMPLATES["digital"])


def test_purpose_from_options_or_template():
    result = build_result("dev-002")
    assert score(result, TEMPLATES["telephone"]).purpose == "formative"
    assert score(result, TEMPLATES["telephone"], ScoreOptions(purpose="summative")).purpose == "summative"


def test_decisions_recompute_totals_and_critical_result():
    _, card = card_for("dev-007")
    assert card.score is None  # nothing decided yet
    decided = apply_decisions(card, {"recording_notice": ("overridden", "yes", "notice in IVR"),
                                     "idv_before_account": ("overridden", "yes", "account read was public"),
                                     "greeting": ("confirmed", "yes", None)})
    assert not decided.critical_failed
    assert decided.pending == len(card.items) - 3
    assert decided.score == 100.0
    assert decided.suggested_score > card.suggested_score
    failed = apply_decisions(card, {"idv_before_account": ("confirmed", "no", None)})
    assert failed.critical_failed and failed.score == 0.0


def test_extra_sla_failure_overrides_events():
    result = build_result("dev-001")
    sla = [s for s in result.sla if s.rule != "recording_notice"]
    sla.append(SlaResult(rule="recording_notice", threshold=30.0, observed=45.0, met=False))
    card = score(result.model_copy(update={"sla": sla}), TEMPLATES["telephone"])
    notice = item(card, "recording_notice")
    assert notice.suggestion == "no" and "observed 45" in notice.evidence[0].quote
    assert card.critical_failed


def test_format_mmss():
    assert format_mmss(134.2) == "02:14"
    assert format_mmss(3725) == "1:02:05"
    assert format_mmss(None) == "--:--"


# ------------------------------------------------------------------------------------- render


def test_scorecard_html_shows_derivation_and_escapes_quotes():
    result = build_result("dev-001")
    events = list(result.events)
    events[0] = events[0].model_copy(update={"evidence": "<script>alert(1)</script> hello"})
    result = result.model_copy(update={"events": events})
    card = score(result, TEMPLATES["telephone"])
    html = render_scorecard_html(result.model_copy(update={"scorecard": card}),
                                 history={"greeting": [{"who": "ann", "at": "2026-11-02 10:00", "kind": "confirm",
                                                        "value": "yes", "reason": None}]})
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "COMP-1.2 No account disclosure before ID&amp;V" in html
    assert "00:01" in html and "formative" in html and "ann confirm" in html
    assert "@media print" in html
    assert html.count('id="item-') == len(card.items)


def test_render_without_scorecard_is_an_error():
    with pytest.raises(StageError):
        render_scorecard_html(build_result("dev-001"))


def test_low_confidence_events_still_cite_evidence():
    result = build_result("dev-002")
    events = [e.model_copy(update={"confidence": 0.3}) if e.kind == "call.greeting" else e for e in result.events]
    card = score(result.model_copy(update={"events": events}), TEMPLATES["telephone"])
    greeting = item(card, "greeting")
    assert greeting.suggestion == "yes" and greeting.confidence == pytest.approx(0.3)
    assert greeting.evidence[0].confidence == pytest.approx(0.3)


def test_customer_events_do_not_satisfy_agent_items():
    result = build_result("dev-001")
    assert item(score(result, TEMPLATES["telephone"]), "lass_apologise").suggestion == "yes"
    events = [Event(kind="lass.apologise", turn_index=e.turn_index, start_s=e.start_s, end_s=e.end_s,
                    speaker="customer", evidence=e.evidence, confidence=e.confidence, detector=e.detector,
                    basis=e.basis) if e.kind == "lass.apologise" else e for e in result.events]
    card = score(result.model_copy(update={"events": events}), TEMPLATES["telephone"])
    assert item(card, "lass_apologise").suggestion == "no"


def test_score_result_attaches_the_card_and_names_a_missing_channel():
    result = build_result("dev-002")
    from pipeline.score import score_result

    scored = score_result(result, TEMPLATES)
    assert scored.scorecard == score(result, TEMPLATES["telephone"]) and scored.stages_run[-1] == "score"
    assert result.scorecard is None
    with pytest.raises(ConfigError, match="no scorecard template for channel 'telephone'"):
        score_result(result, {"digital": TEMPLATES["digital"]})


def test_sections_carry_template_titles_through_decisions():
    _, card = card_for("dev-001")
    assert [s.title for s in card.sections][:2] == ["Opening", "Compliance and ID&V"]
    decided = apply_decisions(card, {"greeting": ("confirmed", "yes", None)})
    assert decided.sections[0].title == "Opening" and decided.sections[0].score == 100.0
