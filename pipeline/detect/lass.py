"""LASS (Listen, Apologise, Solve, Satisfy) assessment of each complaint, from detected events.

A complaint episode opens at a `complaint.raised` event when none is open, and closes at the
first satisfaction check after a solution; a complaint raised after that opens a new episode.
In each episode a stage is present when its event occurs in the episode, with the index (into
the call's event list) of its first event as evidence. Stages are in order when their first
occurrences follow L -> A -> S -> S among the stages that occur; a stage that comes before one
that should precede it is reported as out of order (solving before listening).
"""

from __future__ import annotations

from pipeline.schema import Event, LassAssessment, LassStage

__all__ = ["LASS_STAGES", "LassStage", "LassAssessment", "assess_lass", "call_lass"]

LASS_STAGES: tuple[str, ...] = ("listen", "apologise", "solve", "satisfy")
def _order(stages: list[LassStage]) -> tuple[bool | None, list[str]]:
    occurred = [(s.turn_index, LASS_STAGES.index(s.stage), s.stage) for s in stages if s.present]
    if len(occurred) < 2:
        return (True if occurred else None), []
    early = []
    for turn, rank, name in occurred:
        # A stage is early when it strictly precedes a stage that should come before it.
        if any(other_rank < rank and turn < other_turn for other_turn, other_rank, _ in occurred):
            early.append(name)
    return (not early), early


def assess_lass(events: list[Event]) -> list[LassAssessment]:
    """One assessment per complaint episode, in call order.

    Args:
        events: the call's events, ordered by turn (indices are kept as evidence references).

    Returns:
        The episodes' assessments; empty when the customer never complained.
    """
    ordered = sorted(range(len(events)), key=lambda i: (events[i].turn_index or 0, i))
    episodes: list[tuple[int, list[int]]] = []  # (onset event index, event indices in episode)
    solved = closed = False
    for i in ordered:
        event = events[i]
        if event.kind == "complaint.raised":
            if not episodes or closed:
                episodes.append((i, []))
                solved = closed = False
            continue
        if not episodes or not event.kind.startswith("lass."):
            continue
        episodes[-1][1].append(i)
        solved = solved or event.kind == "lass.solve"
        closed = closed or (event.kind == "lass.satisfy" and solved)
    assessments = []
    for number, (onset, members) in enumerate(episodes):
        next_onset = episodes[number + 1][0] if number + 1 < len(episodes) else None
        stages = []
        for stage in LASS_STAGES:
            first = next((i for i in members if events[i].kind == f"lass.{stage}"), None)
            stages.append(
                LassStage(stage=stage, present=first is not None, event_index=first,
                          turn_index=events[first].turn_index if first is not None else None)
            )
        in_order, early = _order(stages)
        end = (events[next_onset].turn_index or 0) - 1 if next_onset is not None else None
        assessments.append(
            LassAssessment(onset_event_index=onset, onset_turn_index=events[onset].turn_index, end_turn_index=end,
                           stages=stages, in_order=in_order, out_of_order=early)
        )
    return assessments


def call_lass(assessments: list[LassAssessment]) -> dict[str, bool | None]:
    """Call-level LASS as the labelled scripts state it: each stage present in any episode, and
    in_order over all episodes (None when the call has no complaint)."""
    if not assessments:
        return {**{s: False for s in LASS_STAGES}, "in_order": None}
    result: dict[str, bool | None] = {s: any(a.present(s) for a in assessments) for s in LASS_STAGES}
    orders = [a.in_order for a in assessments if a.in_order is not None]
    result["in_order"] = all(orders) if orders else None
    return result
