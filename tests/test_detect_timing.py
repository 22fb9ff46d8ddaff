"""Timing metrics, SLA rules, LASS ordering and detect options: pure functions, no models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.detect.evaluate import load_labelled_calls, score_timing, turns_from_truth
from pipeline.detect.lass import assess_lass, call_lass
from pipeline.detect.options import SlaRules, TimingOptions, load_detect_options
from pipeline.detect.sla import evaluate_sla, idv_before_account
from pipeline.detect.timing import classify_gap_audio, measure
from pipeline.errors import ConfigError
from pipeline.schema import Event, Turn

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
TIMING = TimingOptions()


def turn(i: int, speaker: str, start: float | None, end: float | None, text: str = "x") -> Turn:
    return Turn(index=i, speaker=speaker, start_s=start, end_s=end, text=text)


def event(kind: str, turn_index: int, start: float | None = None, speaker: str = "agent") -> Event:
    return Event(kind=kind, turn_index=turn_index, start_s=start, end_s=None, speaker=speaker, evidence="q",
                 confidence=0.9, detector="test", basis="objective")


# A hand-built call: greeting at 1.5 s, an interruption, a 6 s silence left by the agent,
# a 40 s hold after a permission request, and the return thanked.
CALL = [
    turn(0, "agent", 1.5, 5.0),
    turn(1, "customer", 5.4, 9.0),
    turn(2, "agent", 8.5, 12.0),      # starts 0.5 s before the customer finishes: overtalk
    turn(3, "customer", 12.3, 14.0),
    turn(4, "agent", 20.0, 24.0),     # 6 s of dead air before it: the agent's
    turn(5, "agent", 64.0, 70.0),     # 40 s gap: a hold
    turn(6, "customer", 70.5, 72.0),
]
EVENTS = [event("call.greeting", 0, 1.5), event("call.hold_request", 4, 20.0), event("call.hold_return", 5, 64.0)]


def test_timing_metrics_exact():
    m = measure(CALL, EVENTS, TIMING)
    assert m.call_length_s == 72.0
    assert m.greeting_latency_s == 1.5
    assert m.talk_time_s == {"agent": pytest.approx(3.5 + 3.5 + 4 + 6), "customer": pytest.approx(3.6 + 1.7 + 1.5)}
    assert m.talk_ratio["agent"] == pytest.approx(17 / (17 + 6.8), abs=1e-3)
    assert [(s.start_s, s.end_s, s.turn_owner) for s in m.silences] == [(14.0, 20.0, "agent")]
    assert m.overtalk_count == 1 and m.overtalk_s == 0.5
    assert (m.overtalk[0].interrupter, m.overtalk[0].interrupted) == ("agent", "customer")
    assert len(m.holds) == 1
    hold = m.holds[0]
    assert (hold.start_s, hold.end_s, hold.duration_s) == (24.0, 64.0, 40.0)
    assert hold.permission_asked and hold.return_thanked and hold.detected_from == ["words", "silence"]
    assert m.longest_agent_monologue_s == 6.0
    # customer->agent replies: 9.0->8.5 (overlap, 0), 14.0->20.0 (6.0)
    assert m.agent_response_latency_s == pytest.approx(3.0)


def test_no_times_means_no_timing_metrics_and_na_rules():
    untimed = [turn(i, t.speaker, None, None) for i, t in enumerate(CALL)]
    m = measure(untimed, EVENTS, TIMING)
    assert m.call_length_s is None and m.greeting_latency_s is None and m.holds == [] and m.silences == []
    results = {r.rule: r for r in evaluate_sla(untimed, EVENTS, m, SlaRules(), disclosure_turns=[])}
    for rule in ("greeting_latency", "dead_air", "overtalk_count", "hold_length", "aht"):
        assert results[rule].met is None and results[rule].observed is None
    # Without times the notice rule falls back to "within the first N agent turns": none was said.
    assert results["recording_notice_turns"].met is False


def test_sla_rules_on_timed_call():
    m = measure(CALL, EVENTS, TIMING)
    rules = SlaRules(greeting_latency_max_s=1.0, dead_air_max_s=10.0, hold_max_s=30.0, aht_target_s=600.0)
    results = {r.rule: r for r in evaluate_sla(CALL, EVENTS, m, rules, disclosure_turns=[])}
    assert results["greeting_latency"].met is False and results["greeting_latency"].observed == 1.5
    assert results["dead_air"].met is True and results["dead_air"].observed == 6.0
    assert results["hold_length"].met is False and results["hold_length"].observed == 40.0
    assert results["hold_permission"].met is True and results["hold_return_thanked"].met is True
    assert results["aht"].met is True
    assert results["recording_notice"].met is False  # no notice event


def test_hold_without_permission_fails_the_rule():
    events = [event("call.greeting", 0, 1.5)]
    m = measure(CALL, events, TIMING)
    results = {r.rule: r for r in evaluate_sla(CALL, events, m, SlaRules(), disclosure_turns=[])}
    assert results["hold_permission"].met is False and results["hold_return_thanked"].met is False


@pytest.mark.parametrize(
    ("idv_turns", "disclosures", "expected"),
    [([2, 4], [], True), ([4], [2], False), ([], [3], False), ([], [], None), ([2], [5], True)],
)
def test_idv_before_account(idv_turns, disclosures, expected):
    assert idv_before_account([event("call.idv", i) for i in idv_turns], disclosures) is expected


def test_channel_rules_from_config():
    options = load_detect_options()
    assert options.sla["digital"].recording_notice_within_s is None
    assert options.sla["digital"].reply_time_max_s is not None
    assert options.sla["telephone"].recording_notice_within_s is not None
    assert options.sla["face_to_face"].recording_notice_within_s is None


def test_reply_time_rule_for_chat():
    chat = [turn(0, "agent", 0.0, 2.0), turn(1, "customer", 5.0, 8.0), turn(2, "agent", 80.0, 85.0)]
    m = measure(chat, [], TIMING)
    results = {r.rule: r for r in evaluate_sla(chat, [], m, SlaRules(reply_time_max_s=60.0), disclosure_turns=[])}
    assert results["reply_time"].observed == 72.0 and results["reply_time"].met is False


def test_hold_music_found_in_audio_and_bounded_by_it():
    sr = 16000
    audio = np.zeros((1, 40 * sr), dtype=np.float32)
    rng = np.random.default_rng(0)
    audio[0, 0 : 5 * sr] = rng.normal(0, 0.1, 5 * sr)                        # speech 0-5 s
    t = np.arange(int(12.0 * sr)) / sr
    audio[0, int(5.5 * sr) : int(17.5 * sr)] = 0.2 * np.sin(2 * np.pi * 440 * t)  # music 5.5-17.5 s
    audio[0, 18 * sr : 22 * sr] = rng.normal(0, 0.1, 4 * sr)                  # speech 18-22 s
    turns = [turn(0, "agent", 0.0, 5.0), turn(1, "agent", 18.0, 22.0)]
    m = measure(turns, [], TIMING, audio=audio, sample_rate=sr)
    assert len(m.holds) == 1 and m.holds[0].detected_from == ["music"]
    assert m.holds[0].start_s == pytest.approx(5.5, abs=0.06) and m.holds[0].end_s == pytest.approx(17.5, abs=0.06)
    assert m.silences == []
    silent = np.zeros_like(audio)
    assert classify_gap_audio(silent, sr, 5.0, 18.0, TIMING)[0] == "silence"


def test_timing_agrees_with_synth_truth_on_dev_scripts():
    # The synthesiser's own timeline (pure: fixed speech lengths instead of TTS) gives the truth;
    # metrics from the true turn times must agree with it (silence holds include the pause after
    # them, so hold ends are checked against the next turn's start).
    from pipeline.synth.render import build_truth, plan_timeline
    from pipeline.synth.script import load_script

    truths, metrics = {}, {}
    for path in sorted((DATASETS / "dev_calls").glob("*.yaml")):
        script = load_script(path)
        lengths = [int(1000 * (0.6 + len(t.text) / 15)) for t in script.turns]
        truth = build_truth(script, plan_timeline(script, lengths, 1000), layout="mono", hold_audio="silence")
        turns = turns_from_truth(truth)
        events = [event("call.greeting", next(t.index for t in turns if t.speaker == "agent"), truth.greeting_latency_s)]
        truths[truth.call_id], metrics[truth.call_id] = truth, measure(turns, events, TIMING)
    scores = score_timing(truths, metrics, silence_min_s=TIMING.silence_min_s)
    assert scores.count_errors == {"holds": 0, "silences": 0, "overtalk": 0}
    for name in ("greeting_latency_s", "overtalk_start_s", "overtalk_end_s", "silences_start_s", "silences_end_s", "holds_start_s"):
        assert scores.max_abs_error_s[name] <= 0.3, name


def test_lass_in_order_missing_and_out_of_order():
    in_order = [event("complaint.raised", 1, speaker="customer"), event("lass.listen", 2), event("lass.apologise", 4),
                event("lass.solve", 6), event("lass.satisfy", 8)]
    [a] = assess_lass(in_order)
    assert a.in_order is True and a.out_of_order == [] and all(s.present for s in a.stages)
    assert [s.event_index for s in a.stages] == [1, 2, 3, 4]

    missing = [event("complaint.raised", 1, speaker="customer"), event("lass.listen", 2), event("lass.solve", 5)]
    [b] = assess_lass(missing)
    assert {s.stage: s.present for s in b.stages} == {"listen": True, "apologise": False, "solve": True, "satisfy": False}
    assert b.in_order is True

    solve_first = [event("complaint.raised", 1, speaker="customer"), event("lass.solve", 2), event("lass.listen", 4),
                   event("lass.apologise", 5), event("lass.solve", 6), event("lass.satisfy", 8)]
    [c] = assess_lass(solve_first)
    assert c.in_order is False and c.out_of_order == ["solve"]
    assert call_lass([c])["in_order"] is False


def test_lass_two_episodes_and_no_complaint():
    events = [event("complaint.raised", 1, speaker="customer"), event("lass.solve", 2), event("lass.satisfy", 3),
              event("complaint.raised", 5, speaker="customer"), event("lass.apologise", 6)]
    first, second = assess_lass(events)
    assert first.present("solve") and not first.present("apologise")
    assert second.present("apologise") and not second.present("solve") and second.onset_turn_index == 5
    assert call_lass([first, second]) == {"listen": False, "apologise": True, "solve": True, "satisfy": True, "in_order": True}
    assert assess_lass([event("lass.apologise", 2)]) == []
    assert call_lass([])["in_order"] is None


def test_options_validation_names_file_and_key(tmp_path):
    bad = tmp_path / "detect.yaml"
    bad.write_text("kinds:\n  lass.apologize:\n    speaker: agent\n")
    with pytest.raises(ConfigError, match="unknown kind"):
        load_detect_options(detect_file=bad)
    bad_sla = tmp_path / "sla.yaml"
    bad_sla.write_text("channels:\n  telephone:\n    greeting_latency_max: 3\n")
    with pytest.raises(ConfigError, match="greeting_latency_max"):
        load_detect_options(sla_file=bad_sla)


def test_site_lexicon_extends_packaged_one(tmp_path):
    (tmp_path / "lass_apologise.yaml").write_text('exemplars: ["We hold our hands up, that one is on us."]\n')
    base = load_detect_options()
    site = load_detect_options(lexicon_dir=tmp_path)
    assert site.lexicons["lass.apologise"].exemplars[-1] == "We hold our hands up, that one is on us."
    assert len(site.lexicons["lass.apologise"].exemplars) == len(base.lexicons["lass.apologise"].exemplars) + 1
    assert site.lexicons["lass.apologise"].cues == base.lexicons["lass.apologise"].cues


def test_labelled_calls_load():
    calls = load_labelled_calls(DATASETS / "dev_calls")
    assert len(calls) >= 10 and all(c.turns for c in calls)
