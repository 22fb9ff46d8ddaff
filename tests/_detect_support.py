"""What the detection tests share: how to read which kinds fired on a turn."""


def kinds_at(detection, turn_index: int) -> set[str]:
    return {e.kind for e in detection.events if e.turn_index == turn_index}
