"""SLA and compliance rules of one channel: each yields {rule, threshold, observed, met}.

A rule whose input is missing (no times in a chat transcript, no hold in the call) is reported
with met=None: not applicable, neither passed nor failed. A rule switched off for a channel
(None in configs/sla.yaml) is not reported at all.
"""

from __future__ import annotations

from pipeline.detect.options import SlaRules
from pipeline.schema import Event, Metrics, SlaResult, Turn

__all__ = ["evaluate_sla", "idv_before_account"]


def idv_before_account(events: list[Event], disclosure_turns: list[int]) -> bool | None:
    """ID&V happened before any account detail was discussed.

    Args:
        events: the call's events (call.idv among them).
        disclosure_turns: agent turns that read out account details, in order.

    Returns:
        True / False; None when the call neither verified nor discussed an account.
    """
    idv = [e.turn_index for e in events if e.kind == "call.idv" and e.turn_index is not None]
    first_idv = min(idv) if idv else None
    first_disclosure = min(disclosure_turns) if disclosure_turns else None
    if first_idv is None:
        return False if first_disclosure is not None else None
    return first_disclosure is None or first_disclosure >= first_idv


def _max_or_none(values: list[float]) -> float | None:
    return max(values) if values else None


def evaluate_sla(
    turns: list[Turn],
    events: list[Event],
    metrics: Metrics,
    rules: SlaRules,
    *,
    disclosure_turns: list[int],
) -> list[SlaResult]:
    """Check a call against its channel's rules.

    Args:
        turns: the call's turns.
        events: the call's behaviour events.
        metrics: its timing metrics (timing fields None when the input had no times).
        rules: the channel's thresholds.
        disclosure_turns: turns where the agent read out account details (for ID&V order).

    Returns:
        One result per enabled rule, in a fixed order.
    """
    timed = metrics.call_length_s is not None
    out: list[SlaResult] = []

    def add(rule: str, threshold, observed, met) -> None:
        out.append(SlaResult(rule=rule, threshold=threshold, observed=observed, met=met))

    if rules.greeting_latency_max_s is not None:
        obs = metrics.greeting_latency_s
        add("greeting_latency", rules.greeting_latency_max_s, obs, None if obs is None else obs <= rules.greeting_latency_max_s)
    if rules.dead_air_max_s is not None:
        obs = _max_or_none([s.duration_s for s in metrics.silences]) if timed else None
        met = None if not timed else (obs is None or obs <= rules.dead_air_max_s)
        add("dead_air", rules.dead_air_max_s, obs if obs is not None else (0.0 if timed else None), met)
    if rules.overtalk_max_count is not None:
        add("overtalk_count", float(rules.overtalk_max_count), float(metrics.overtalk_count) if timed else None,
            (metrics.overtalk_count <= rules.overtalk_max_count) if timed else None)

    # Holds: from the measured holds when timed, otherwise from what was said.
    requested = [e for e in events if e.kind == "call.hold_request"]
    if rules.hold_permission_required is not None:
        if timed:
            obs = all(h.permission_asked for h in metrics.holds) if metrics.holds else None
        else:
            obs = True if requested else None
        add("hold_permission", rules.hold_permission_required, obs, None if obs is None else obs == rules.hold_permission_required)
    if rules.hold_return_thanked is not None:
        obs = (all(h.return_thanked for h in metrics.holds) if metrics.holds else None) if timed else None
        add("hold_return_thanked", rules.hold_return_thanked, obs, None if obs is None else obs == rules.hold_return_thanked)
    if rules.hold_max_s is not None:
        obs = _max_or_none([h.duration_s for h in metrics.holds]) if timed else None
        add("hold_length", rules.hold_max_s, obs, None if obs is None else obs <= rules.hold_max_s)
    if rules.aht_target_s is not None:
        obs = metrics.call_length_s
        add("aht", rules.aht_target_s, obs, None if obs is None else obs <= rules.aht_target_s)

    if rules.recording_notice_within_s is not None:
        notice = next((e for e in events if e.kind == "call.recording_notice"), None)
        if timed:
            obs = notice.start_s if notice else None
            add("recording_notice", rules.recording_notice_within_s, obs,
                notice is not None and obs is not None and obs <= rules.recording_notice_within_s)
        else:
            # Without times, "within the first N seconds" becomes "within the first N agent turns".
            agent_turns = [t.index for t in turns if t.speaker == "agent"][: rules.recording_notice_within_turns]
            obs_turn = notice.turn_index if notice else None
            add("recording_notice_turns", float(rules.recording_notice_within_turns), obs_turn,
                (notice is not None and obs_turn in agent_turns) if agent_turns else None)
    if rules.idv_before_account is not None:
        obs = idv_before_account(events, disclosure_turns)
        add("idv_before_account", rules.idv_before_account, obs, None if obs is None else obs == rules.idv_before_account)
    if rules.reply_time_max_s is not None:
        gaps = []
        if timed:
            order = sorted(turns, key=lambda t: t.start_s)
            gaps = [max(0.0, b.start_s - a.end_s) for a, b in zip(order, order[1:]) if a.speaker == "customer" and b.speaker == "agent"]
        obs = _max_or_none(gaps)
        add("reply_time", rules.reply_time_max_s, obs, None if obs is None else obs <= rules.reply_time_max_s)
    if rules.agent_talk_ratio_max is not None:
        obs = metrics.talk_ratio.get("agent") if timed else None
        add("agent_talk_ratio", rules.agent_talk_ratio_max, obs, None if obs is None else obs <= rules.agent_talk_ratio_max)
    if rules.longest_monologue_max_s is not None:
        obs = metrics.longest_agent_monologue_s
        add("longest_monologue", rules.longest_monologue_max_s, obs, None if obs is None else obs <= rules.longest_monologue_max_s)
    return out
