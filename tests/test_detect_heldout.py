"""Detection on labelled scripts the detectors were not written from, and the near misses that
must not fire.

tests/data/detect_heldout/ holds 37 scripts in other sectors, registers and channels than
the dev calls (tests/data/dev_calls): dev/ (6) was used while changing the detectors, final/ (6) was
scored once after that and then looked at, fresh/ (4), fresh2/ (4) and fresh3/ (8, another
author), fresh4/ (3) and fresh5/ (6) were written later.
docs/detection.md keeps the figures of each set at its first scoring and after. Here the 37 are
scored together against the project's targets, so a lexicon or threshold change that only suits
the dev calls fails. Since issue #17 they are also among the classifiers' training calls: a
regression set (the floors are unchanged), no longer a measure of generalisation.
"""

from __future__ import annotations

import pytest

from pipeline.detect import detect
from pipeline.lab.eval_detect import score_events, score_lass, script_turns
from pipeline.lab.scripts import load_scripts
from tests._detect_support import kinds_at, rule_detector  # noqa: F401  (a fixture)
from tests._paths import DETECT_HELDOUT

HALVES = ("dev", "final", "fresh", "fresh2", "fresh3", "fresh4", "fresh5")


def test_heldout_scripts_meet_the_targets(detect_setup):
    options, models = detect_setup
    calls = [call for half in HALVES for call in load_scripts(DETECT_HELDOUT / half)]
    assert len(calls) == 37 and len({c.call_id for c in calls}) == 37
    predictions = {
        c.call_id: detect(script_turns(c), channel_type=c.channel_type, options=options, models=models) for c in calls
    }
    events = score_events(calls, predictions)
    lass = score_lass(calls, predictions)
    assert events.call_micro_f1 >= 0.9, events.errors
    weak = {kind: s.f1 for kind, s in events.call_level.items() if s.tp + s.fn >= 3 and (s.f1 or 0.0) < 0.8}
    assert not weak, weak
    assert lass.stage_accuracy >= 0.95, lass.mismatches
    assert lass.in_order_accuracy is not None and lass.in_order_accuracy >= 0.8, lass.mismatches


def test_evaluation_reports_progress_per_call(detect_setup):
    from pipeline.lab.eval_detect import evaluate_transcripts

    options, models = detect_setup
    steps: list[tuple[str, int, int | None]] = []
    report = evaluate_transcripts(DETECT_HELDOUT / "fresh4", options=options, models=models,
                                  progress=lambda *a: steps.append(a))
    assert steps == [("calls", 1, 3), ("calls", 2, 3), ("calls", 3, 3)] and len(report.calls) == 3


def test_detect_eval_command_reports_a_bad_script_without_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    (tmp_path / "bad.yaml").write_text("call_id: x\nchannel_type: telephone\nturns: [{speaker: boss, text: hi}]\n",
                                       encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", "eval", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "turns.0.speaker" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


COMPLAINT = "My direct debit went out twice this month and now I'm overdrawn, it's not on."


def _after_complaint(agent_text: str) -> list[tuple[str, str]]:
    return [
        ("agent", "Morning, Larchfield Housing, Priti speaking, how can I help?"),
        ("customer", COMPLAINT),
        ("agent", agent_text),
    ]


@pytest.mark.parametrize(
    ("text", "apology", "listen"),
    [
        ("I'm really sorry to hear that, let me sort it out.", True, False),
        ("That shouldn't have happened, and I'm sorry you're out of pocket.", True, False),
        ("Sorry, say that again? You went quiet.", False, False),  # a repair, not an apology or a question about the problem
        ("Sorry, I missed that. Could you repeat it?", False, False),
        ("I can't apologise for the policy, it's set by the regulator.", False, False),  # a refusal
        ("Which date did the second payment go out?", False, True),  # a clarifying question is listening
    ],
)
def test_apology_and_repair_after_a_complaint(rule_detector, text, apology, listen):
    detection = rule_detector(_after_complaint(text))
    assert ("lass.apologise" in kinds_at(detection, 2)) is apology
    assert ("lass.listen" in kinds_at(detection, 2)) is listen


def test_customer_asking_for_a_manager_is_not_an_escalation_offer(detector):
    detection = detector([
        ("agent", "Larchfield Housing, Priti speaking."),
        ("customer", COMPLAINT + " Can I speak to a manager?"),
        ("agent", "A manager would tell you the same thing, but I can refund the second payment myself right now."),
    ])
    assert "complaint.raised" in kinds_at(detection, 1)
    assert not any(e.kind == "escalation.offered" for e in detection.events)


def test_offering_the_manager_is_an_escalation_offer(detector):
    detection = detector(_after_complaint("Of course, I can ask my team leader to come and speak to you."))
    assert "escalation.offered" in kinds_at(detection, 2)


@pytest.mark.parametrize(
    "text",
    [
        "Please hold on to the receipt in case you need to bring it back.",  # a figure of speech
        "Hold on, that doesn't look right to me either.",  # no hold, no permission asked
    ],
)
def test_hold_on_as_a_figure_of_speech_is_no_hold(detector, text):
    detection = detector([
        ("customer", "Can you check when my parcel is coming?"),
        ("agent", text),
        ("agent", "Thanks. It's due on Friday."),
    ])
    assert not any(e.kind in ("call.hold_request", "call.hold_return") for e in detection.events)


def test_sales_mentions_that_are_not_offers(detector):
    detection = detector([
        ("agent", "Hi, welcome to Tillbrook's, what can I do for you?"),
        ("customer", "I'm just collecting an order."),
        ("agent", "No problem. We've got a promotion on in store this week, which is why the queue is so long."),
        ("customer", "Ah, right."),
        ("agent", "Here you go. Great, I've upgraded your delivery to next day as you asked on the phone."),
    ], channel_type="face_to_face")
    assert not any(e.kind.startswith("sales.") for e in detection.events)


def test_agent_behaviours_only_from_agent_turns(detector):
    detection = detector([
        ("agent", "Hello, Tillbrook's customer services, Amy speaking."),
        ("customer", "Sorry, I'm calling about my order. Can I put you on hold for a second? Thanks for waiting."),
    ])
    assert not any(e.turn_index == 1 and e.kind != "complaint.raised" for e in detection.events)


@pytest.mark.parametrize(
    ("text", "listen"),
    [
        ("Overdrawn by much?", True),  # a question while the complaint is open is about it, cue or not
        ("So the payment didn't go out on time, and now you're overdrawn.", True),  # a negative paraphrase
        ("Sorry, you cut out there. Could you say that again?", False),  # a repair stays a repair
    ],
)
def test_listening_while_the_complaint_is_open(rule_detector, text, listen):
    assert ("lass.listen" in kinds_at(rule_detector(_after_complaint(text)), 2)) is listen


def test_question_after_the_solution_is_not_listening(detector):
    detection = detector(_after_complaint("I've refunded the second payment, it'll be back within three days.") + [
        ("customer", "Okay."),
        ("agent", "Is there someone at home who can check the post for the letter?"),
    ])
    assert "lass.solve" in kinds_at(detection, 2)
    assert "lass.listen" not in kinds_at(detection, 4)


def test_hold_return_after_the_customer_agreed_to_hold(detector):
    detection = detector([
        ("agent", "Larchfield Housing, Priti speaking, how can I help?"),
        ("customer", "I'm waiting on a repair date."),
        ("agent", "Do you mind if I put you on hold while I check with the contractor?"),
        ("customer", "Go ahead."),
        ("agent", "Thanks for bearing with me. They can come on Tuesday."),
    ])
    assert "call.hold_request" in kinds_at(detection, 2)
    assert "call.hold_return" in kinds_at(detection, 4)


def test_something_on_hold_is_no_hold_request(detector):
    detection = detector(_after_complaint("The second payment is on hold now, so nothing more will be taken. Is that okay?"))
    assert "call.hold_request" not in kinds_at(detection, 2)


def test_an_apology_reveals_a_complaint_the_words_missed(rule_detector):
    detection = rule_detector([
        ("agent", "Hello, Tillbrook's customer services, Amy speaking."),
        ("customer", "The parcel came this morning and the vase inside is in three pieces."),
        ("agent", "Oh, I'm so sorry about that. I'll send a replacement out today."),
    ])
    assert "complaint.raised" in kinds_at(detection, 1)
    assert {"lass.apologise", "lass.solve"} <= kinds_at(detection, 2)


def test_a_repair_reveals_no_complaint(detector):
    detection = detector([
        ("agent", "Hello, Tillbrook's customer services, Amy speaking."),
        ("customer", "I'd like to book a delivery slot for my sofa."),
        ("agent", "Sorry, you broke up there. Could you say that again?"),
    ])
    assert not any(e.kind == "complaint.raised" for e in detection.events)


_NEUTRAL_OPEN = ("agent", "Hello, Marlow Water, Dan speaking. How can I help?")


@pytest.mark.parametrize("text", [
    "The plumber you sent came on Friday, and the boiler cut out again the same evening.",
    "The bins were left again, no collection at all this week.",
])
def test_a_complaint_in_bare_facts_is_found_by_its_valence(rule_detector, text):
    # No complaint word and no apology to infer it from: negative valence plus a problem cue.
    detection = rule_detector([_NEUTRAL_OPEN, ("customer", text), ("agent", "Okay, let me bring up the account.")])
    assert "complaint.raised" in kinds_at(detection, 1)


def test_a_worried_customer_is_not_complaining(detector):
    # Negative valence and a problem cue ("no money"), but the fear in the turn explains it.
    detection = detector([
        _NEUTRAL_OPEN,
        ("customer", "I'm really worried. My daughter's card was stolen and now there's no money left on it."),
        ("agent", "Okay, we can stop the card straight away. Can I take her full name?"),
    ])
    assert not [e for e in detection.events if e.kind == "complaint.raised" or e.kind.startswith("lass.")]


def test_condolence_is_not_an_apology(rule_detector):
    bereavement = rule_detector([
        _NEUTRAL_OPEN,
        ("customer", "My husband passed away last month and I need to close his account."),
        ("agent", "I'm so sorry to hear that your husband passed away. I can help you with that today."),
    ])
    assert not [e for e in bereavement.events if e.kind in ("complaint.raised", "lass.apologise")]
    complaint = rule_detector([
        _NEUTRAL_OPEN,
        ("customer", "My husband died in March and you've sent him a final demand. It's appalling."),
        ("agent", "I'm so sorry about your husband."),
        ("customer", "Thank you."),
        ("agent", "And I'm sorry about that letter, it should never have been sent."),
    ])
    assert "lass.apologise" not in kinds_at(complaint, 2)
    assert "lass.apologise" in kinds_at(complaint, 4)
