"""Detection on labelled scripts the detectors were not written from, and the near misses that
must not fire.

tests/data/detect_heldout/ holds 20 scripts in other sectors, registers and channels than
../shared/datasets/dev_calls: dev/ (6) was used while changing the detectors, final/ (6) was
scored once after that and then looked at, fresh/ (4) and fresh2/ (4) were written later.
docs/detection.md keeps the figures of each set at its first scoring and after. Here the 20 are
scored together against the project's targets, so a lexicon or threshold change that only suits
the dev calls fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.detect import detect, load_detect_models, load_detect_options
from pipeline.detect.evaluate import load_labelled_calls, score_events, score_lass, script_turns
from pipeline.schema import Turn

HELDOUT = Path(__file__).resolve().parent / "data" / "detect_heldout"
HALVES = ("dev", "final", "fresh", "fresh2")


@pytest.fixture(scope="module")
def setup():
    options = load_detect_options()
    return options, load_detect_models(options)


@pytest.fixture(scope="module")
def detector(setup):
    options, models = setup

    def run(script: list[tuple[str, str]], channel_type: str = "telephone"):
        turns = [Turn(index=i, speaker=sp, start_s=None, end_s=None, text=text) for i, (sp, text) in enumerate(script)]
        return detect(turns, channel_type=channel_type, options=options, models=models)

    return run


def kinds_at(detection, turn_index: int) -> set[str]:
    return {e.kind for e in detection.events if e.turn_index == turn_index}


def test_heldout_scripts_meet_the_targets(setup):
    options, models = setup
    calls = [call for half in HALVES for call in load_labelled_calls(HELDOUT / half)]
    assert len(calls) == 20 and len({c.call_id for c in calls}) == 20
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
def test_apology_and_repair_after_a_complaint(detector, text, apology, listen):
    detection = detector(_after_complaint(text))
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
