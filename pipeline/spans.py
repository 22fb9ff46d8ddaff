"""Arithmetic on time spans shared by the stages (seconds) and the synthesiser (samples)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["union_length"]

N = TypeVar("N", int, float)


def union_length(spans: Iterable[tuple[N, N]]) -> N:
    """Total length covered by `spans`, counting overlapping parts once."""
    total, cur_start, cur_end = 0, None, None
    for start, end in sorted(spans):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total
