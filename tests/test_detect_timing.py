"""Timing metrics, SLA rules, LASS ordering and detect options: pure functions, no models."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.lab.eval_detect import score_timing, turns_from_truth
from pipeline.detect.lass import assess_lass, call_lass
from pipeline.detect.options import SlaRules, TimingOptions, load_detect_options
from pipeline.detect.sla import evaluate_sla, idv_before_account
from pipeline.detect.timing import classify_gap_audio, measure
from pipeline.errors import ConfigError
from pipeline.schema import Event, Turn
from tests._paths import DEV_CALLS

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
    from pipeline.lab.synth.render import build_truth, plan_timeline
    from pipeline.lab.scripts import load_script

    truths, metrics = {}, {}
    for path in sorted(DEV_CALLS.glob("*.yaml")):
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


# ------------------------------------------------------------------ timing from the audio's activity

SR = 16000


def _tone(seconds: float, level: float = 0.3, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _place(audio: np.ndarray, channel: int, start_s: float, clip: np.ndarray) -> None:
    a = int(round(start_s * SR))
    audio[channel, a : a + clip.size] += clip


def test_activity_islands_find_onsets_to_a_frame_and_bridge_word_gaps():
    from pipeline.detect.activity import activity_islands

    channel = np.zeros(10 * SR, dtype=np.float32)
    rng = np.random.default_rng(1)
    channel += rng.normal(0, 10 ** (-65 / 20), channel.size).astype(np.float32)  # a quiet line hiss
    channel[int(1.234 * SR) : int(2.0 * SR)] += _tone(0.766)
    channel[int(2.15 * SR) : int(3.5 * SR)] += _tone(1.35)    # 0.15 s word gap: same island
    channel[int(6.0 * SR) : int(6.02 * SR)] += _tone(0.02)    # a 20 ms click: dropped
    channel[int(7.0 * SR) : int(8.5 * SR)] += _tone(1.5)
    islands = activity_islands(channel, SR, TIMING.model_copy(update={"activity_frame_s": 0.01}))
    assert len(islands) == 2
    (s1, e1), (s2, e2) = islands
    assert s1 == pytest.approx(1.234, abs=0.011) and e1 == pytest.approx(3.5, abs=0.011)
    assert s2 == pytest.approx(7.0, abs=0.011) and e2 == pytest.approx(8.5, abs=0.011)


def test_noise_floor_of_the_channel_raises_the_threshold():
    from pipeline.detect.activity import activity_islands

    rng = np.random.default_rng(2)
    hiss = rng.normal(0, 10 ** (-40 / 20), 6 * SR).astype(np.float32)  # above the absolute floor everywhere
    hiss[2 * SR : 4 * SR] += _tone(2.0)
    [(start, end)] = activity_islands(hiss, SR, TIMING)
    assert start == pytest.approx(2.0, abs=0.02) and end == pytest.approx(4.0, abs=0.02)


def test_snap_moves_turn_edges_to_activity_only_within_tolerance():
    from pipeline.detect.activity import snap_turns

    islands = {0: [(1.0, 3.0), (10.0, 40.0)], 1: [(3.4, 6.0)]}  # ch0's second island: speech + hold music
    turns = [
        Turn(index=0, speaker="agent", start_s=1.3, end_s=2.7, text="x", channel=0),
        Turn(index=1, speaker="customer", start_s=3.1, end_s=6.4, text="x", channel=1),
        Turn(index=2, speaker="agent", start_s=10.2, end_s=12.5, text="x", channel=0),
    ]
    snapped = snap_turns(turns, islands, TIMING)
    assert [(t.start_s, t.end_s) for t in snapped] == [(1.0, 3.0), (3.4, 6.0), (10.0, 12.5)]
    assert [t.text for t in snapped] == ["x"] * 3 and [t.index for t in snapped] == [0, 1, 2]


def test_overtalk_is_where_both_channels_speak_and_the_later_starter_interrupts():
    from pipeline.detect.timing import overtalk_from_activity

    islands = {
        0: [(0.5, 4.0), (8.0, 10.0), (20.0, 60.0)],  # agent; 20-60 s: hold music, no agent turn there
        1: [(3.2, 6.0), (9.9, 12.0), (30.0, 31.0)],  # customer: interrupts at 3.2; 9.9 is a 0.1 s turn-taking overlap
    }
    turns = [
        Turn(index=0, speaker="agent", start_s=0.5, end_s=4.0, text="x", channel=0),
        Turn(index=1, speaker="customer", start_s=3.2, end_s=6.0, text="x", channel=1),
        Turn(index=2, speaker="agent", start_s=8.0, end_s=10.0, text="x", channel=0),
        Turn(index=3, speaker="customer", start_s=9.9, end_s=12.0, text="x", channel=1),
        Turn(index=4, speaker="agent", start_s=20.0, end_s=21.0, text="x", channel=0),
        Turn(index=5, speaker="customer", start_s=30.0, end_s=31.0, text="x", channel=1),
    ]
    [ot] = overtalk_from_activity(turns, islands, TIMING)
    assert (ot.start_s, ot.end_s, ot.interrupter, ot.interrupted) == (3.2, 4.0, "customer", "agent")
    assert ot.duration_s == pytest.approx(0.8)


def test_asr_overlap_without_overlapping_audio_is_no_overtalk():
    # Whisper often lets a word run past the other party's next onset; the signal shows a gap.
    audio = np.zeros((2, 12 * SR), dtype=np.float32)
    _place(audio, 0, 1.0, _tone(3.0))
    _place(audio, 1, 4.4, _tone(3.0, freq=300.0))
    _place(audio, 0, 7.8, _tone(3.0))
    asr = [
        Turn(index=0, speaker="agent", start_s=1.2, end_s=4.7, text="x", channel=0),
        Turn(index=1, speaker="customer", start_s=4.2, end_s=7.9, text="x", channel=1),
        Turn(index=2, speaker="agent", start_s=7.6, end_s=10.5, text="x", channel=0),
    ]
    assert measure(asr, [], TIMING).overtalk_count == 2  # from word times alone
    m = measure(asr, [event("call.greeting", 0, 1.2)], TIMING, audio=audio, sample_rate=SR)
    assert m.overtalk_count == 0
    assert m.greeting_latency_s == pytest.approx(1.0, abs=0.011)
    assert m.agent_response_latency_s == pytest.approx(0.4, abs=0.02)


def test_audio_timing_of_silence_music_hold_and_overtalk():
    audio = np.zeros((2, 70 * SR), dtype=np.float32)
    _place(audio, 0, 2.0, _tone(3.0))                       # agent greets at 2.0
    _place(audio, 1, 5.5, _tone(3.0, freq=300.0))           # customer 5.5-8.5
    _place(audio, 0, 8.0, _tone(2.0))                       # agent talks over 8.0-8.5, to 10.0
    _place(audio, 0, 10.0, _tone(40.0, 0.05, 523.0))        # hold music right after the hold turn, to 50.0
    _place(audio, 0, 50.4, _tone(3.0))                      # agent returns 50.4-53.4
    _place(audio, 1, 60.0, _tone(2.0, freq=300.0))          # 6.6 s of dead air, then the customer
    asr = [
        Turn(index=0, speaker="agent", start_s=2.3, end_s=4.8, text="x", channel=0),
        Turn(index=1, speaker="customer", start_s=5.2, end_s=8.9, text="x", channel=1),
        Turn(index=2, speaker="agent", start_s=8.3, end_s=10.0, text="x", channel=0),
        Turn(index=3, speaker="agent", start_s=50.7, end_s=53.1, text="x", channel=0),
        Turn(index=4, speaker="customer", start_s=60.3, end_s=61.7, text="x", channel=1),
    ]
    events = [event("call.greeting", 0, 2.3), event("call.hold_request", 2, 8.3), event("call.hold_return", 3, 50.7)]
    m = measure(asr, events, TIMING, audio=audio, sample_rate=SR)
    assert m.greeting_latency_s == pytest.approx(2.0, abs=0.011)
    [ot] = m.overtalk
    assert (ot.interrupter, ot.start_s, ot.end_s) == ("agent", pytest.approx(8.0, abs=0.011), pytest.approx(8.5, abs=0.011))
    [hold] = m.holds
    assert hold.detected_from == ["words", "music"] and hold.permission_asked and hold.return_thanked
    assert hold.start_s == pytest.approx(10.0, abs=0.06) and hold.end_s == pytest.approx(50.0, abs=0.06)
    [silence] = m.silences
    assert (silence.turn_owner, silence.start_s, silence.end_s) == (
        "customer", pytest.approx(53.4, abs=0.011), pytest.approx(60.0, abs=0.011))


def test_mono_audio_refines_edges_and_keeps_turn_overlap_for_overtalk():
    audio = np.zeros((1, 12 * SR), dtype=np.float32)
    _place(audio, 0, 1.0, _tone(3.0))
    _place(audio, 0, 3.5, _tone(3.0, freq=300.0))  # the customer starts 0.5 s before the agent stops
    asr = [Turn(index=0, speaker="agent", start_s=1.3, end_s=3.6, text="x"),
           Turn(index=1, speaker="customer", start_s=3.3, end_s=6.2, text="x")]
    m = measure(asr, [], TIMING, audio=audio, sample_rate=SR)
    assert m.greeting_latency_s == pytest.approx(1.0, abs=0.011)  # the mix's onset
    # The overlap cannot be told apart in one channel: the ASR turns' overlap is kept.
    [ot] = m.overtalk
    assert ot.interrupter == "customer" and ot.start_s == pytest.approx(3.3)


def test_start_moves_back_over_speech_the_asr_missed_but_not_over_another_turn():
    from pipeline.detect.activity import extend_over_missed_speech

    # ch0: hold turn + music (10-50), dropped words (50.4-52.0), then the transcribed rest (52.3-56).
    islands = {0: [(8.0, 50.0), (50.4, 52.0), (52.3, 56.0)]}
    turns = [Turn(index=0, speaker="agent", start_s=8.0, end_s=10.0, text="x", channel=0),
             Turn(index=1, speaker="agent", start_s=52.3, end_s=56.0, text="x", channel=0)]
    out = extend_over_missed_speech(turns, islands, TIMING)
    assert out[1].start_s == 50.4  # not back into the music island, which the hold turn claims
    assert out[0].start_s == 8.0
    far = {0: [(8.0, 50.0), (53.5, 56.0)]}  # 1.2 s quiet before the next activity: nothing missed
    assert extend_over_missed_speech(turns, far, TIMING)[1].start_s == 52.3


def test_spans_are_paired_by_proximity_not_position():
    from pipeline.lab.eval_detect import match_spans

    want = [(10.0, 11.0), (50.0, 51.0)]
    got = [(3.0, 3.4), (10.1, 11.0), (50.0, 50.9)]  # one extra, early: pairing by position would shift all
    assert match_spans(want, got, within_s=1.0) == [((10.0, 11.0), (10.1, 11.0)), ((50.0, 51.0), (50.0, 50.9))]
    assert match_spans(want, [(30.0, 31.0)], within_s=1.0) == []


def test_line_hiss_is_not_hold_music_once_the_noise_floor_is_known():
    from pipeline.detect.activity import noise_floor_dbfs

    rng = np.random.default_rng(3)
    audio = rng.normal(0, 10 ** (-40 / 20), (1, 30 * SR)).astype(np.float32)  # loud hiss, above -45 dBFS
    audio[0, 2 * SR : 4 * SR] += _tone(2.0)
    noise = [noise_floor_dbfs(audio[0], SR, TIMING)]
    assert noise[0] == pytest.approx(-40.0, abs=1.0)
    assert classify_gap_audio(audio, SR, 5.0, 25.0, TIMING)[0] == "music"  # the absolute floor alone is fooled
    assert classify_gap_audio(audio, SR, 5.0, 25.0, TIMING, noise)[0] == "silence"
    audio[0, 8 * SR : 20 * SR] += _tone(12.0, 0.05, 523.0)
    kind, start, end = classify_gap_audio(audio, SR, 5.0, 25.0, TIMING, noise)
    assert kind == "music" and start == pytest.approx(8.0, abs=0.06) and end == pytest.approx(20.0, abs=0.06)


def test_short_silent_gap_framed_by_hold_words_is_a_hold_not_dead_air():
    turns = [turn(0, "agent", 0.0, 3.0), turn(1, "customer", 3.4, 4.0), turn(2, "agent", 4.3, 5.0),
             turn(3, "agent", 17.0, 20.0), turn(4, "customer", 20.4, 22.0), turn(5, "agent", 30.0, 31.0)]
    events = [event("call.hold_request", 0, 0.0), event("call.hold_return", 3, 17.0)]
    m = measure(turns, events, TIMING)
    [hold] = m.holds
    assert (hold.start_s, hold.end_s, hold.permission_asked, hold.return_thanked) == (5.0, 17.0, True, True)
    assert hold.detected_from == ["words", "silence"]
    # The same 12 s without the return thanks, and the later 8 s gap: dead air.
    assert [(s.start_s, s.end_s) for s in m.silences] == [(22.0, 30.0)]
    unthanked = measure(turns, events[:1], TIMING)
    assert unthanked.holds == [] and [(s.start_s, s.end_s) for s in unthanked.silences] == [(5.0, 17.0), (22.0, 30.0)]


def test_snap_on_a_mono_mix_never_swallows_the_reply():
    from pipeline.detect.activity import snap_turns

    # One island holds the agent's end and the customer's quick "yes" (gap under the bridge).
    islands = {0: [(1.0, 4.6)]}
    turns = [Turn(index=0, speaker="agent", start_s=1.2, end_s=4.1, text="x"),
             Turn(index=1, speaker="customer", start_s=4.2, end_s=4.5, text="x")]
    snapped = snap_turns(turns, islands, TIMING)
    assert (snapped[0].start_s, snapped[0].end_s) == (1.0, 4.1)  # not to 4.6, over the reply
    assert (snapped[1].start_s, snapped[1].end_s) == (4.2, 4.6)
