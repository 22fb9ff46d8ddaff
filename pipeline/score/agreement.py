"""Agreement between raters: percent agreement, Cohen's kappa (two raters), Fleiss' kappa (many),
and Krippendorff's alpha (ordinal, any number of raters, missing ratings allowed) with a bootstrap
confidence interval.

Pure functions over category labels; used by calibration (assessor vs assessor) and to measure
how far the pre-fill can be trusted (auto-suggestion vs the assessor's final value).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

__all__ = ["AlphaEstimate", "percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha"]

# Scorecard values on an ordinal scale; "n/a" (and no mark) is a missing rating, not a level.
ORDINAL_SCALE = ("no", "partial", "yes")


class AlphaEstimate(BaseModel):
    """Krippendorff's alpha with a percentile bootstrap interval over the rated units."""

    model_config = ConfigDict(frozen=True)

    alpha: float
    ci_low: float | None
    ci_high: float | None
    units: int
    level: float = 0.95


def percent_agreement(ratings: Sequence[Sequence[str]]) -> float | None:
    """Mean pairwise agreement over subjects, 0-100.

    Args:
        ratings: one sequence of labels per subject (each subject rated by two or more raters).

    Returns:
        The percentage of agreeing rater pairs, averaged over subjects; None with no subject.
    """
    per_subject = []
    for labels in ratings:
        n = len(labels)
        if n < 2:
            continue
        counts = Counter(labels)
        per_subject.append(sum(c * (c - 1) for c in counts.values()) / (n * (n - 1)))
    if not per_subject:
        return None
    return round(100.0 * sum(per_subject) / len(per_subject), 1)


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters.

    Args:
        pairs: (rater A's label, rater B's label) per subject.

    Returns:
        kappa in [-1, 1]; None with no subject, or when chance agreement is 1 (both raters
        used one and the same label throughout, so kappa is undefined).
    """
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in set(first) | set(second)) / (n * n)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 3)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa: every subject rated by the same number (>= 2) of raters.

    Args:
        ratings: one sequence of labels per subject, all of the same length.

    Returns:
        kappa; None with no subject or when chance agreement is 1.

    Raises:
        ValueError: subjects have different numbers of ratings, or fewer than two.
    """
    if not ratings:
        return None
    n = len(ratings[0])
    if n < 2 or any(len(r) != n for r in ratings):
        raise ValueError("Fleiss' kappa needs the same number (two or more) of ratings for every subject")
    subjects = len(ratings)
    totals: Counter[str] = Counter()
    agreement = 0.0
    for labels in ratings:
        counts = Counter(labels)
        totals.update(counts)
        agreement += sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))
    p_bar = agreement / subjects
    p_e = sum((c / (subjects * n)) ** 2 for c in totals.values())
    if p_e >= 1.0:
        return None
    return round((p_bar - p_e) / (1.0 - p_e), 3)


def _alpha(units: list[list[int | None]], levels: int) -> float | None:
    import numpy as np  # the lazy-import rule: the CLI starts without numpy
    import krippendorff

    raters = max(len(u) for u in units)
    data = np.full((raters, len(units)), np.nan)
    for j, unit in enumerate(units):
        for i, value in enumerate(unit):
            if value is not None:
                data[i, j] = value
    observed = {v for u in units for v in u if v is not None}
    if len(observed) < 2:
        return None  # one value throughout: no disagreement to expect, alpha is undefined
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal",
                                    value_domain=list(range(levels))))


def krippendorff_alpha(
    units: Sequence[Sequence[str | None]],
    *,
    scale: Sequence[str] = ORDINAL_SCALE,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> AlphaEstimate | None:
    """Krippendorff's alpha on an ordinal scale, with a bootstrap confidence interval.

    Args:
        units: one sequence per rated unit (a call's item), one entry per rater in a fixed
            rater order; None or a value outside `scale` (such as "n/a") is a missing rating.
        scale: the ordered levels, lowest first.
        resamples: bootstrap resamples of the units (with replacement).
        level: the interval's coverage.
        seed: the resampling seed, so a report is reproducible.

    Returns:
        The estimate; None when fewer than two units have two ratings or all ratings agree on
        one value (alpha is undefined). The interval is None when no resample is defined.
    """
    rank = {v: i for i, v in enumerate(scale)}
    coded = [[rank.get(v) if v is not None else None for v in unit] for unit in units]
    pairable = [u for u in coded if sum(v is not None for v in u) >= 2]
    if len(pairable) < 2:
        return None
    alpha = _alpha(pairable, len(scale))
    if alpha is None:
        return None
    rng = random.Random(seed)
    draws = []
    for _ in range(resamples):
        value = _alpha([rng.choice(pairable) for _ in pairable], len(scale))
        if value is not None:
            draws.append(value)
    low = high = None
    if draws:
        draws.sort()
        tail = (1.0 - level) / 2.0
        low = draws[int(tail * (len(draws) - 1))]
        high = draws[int(round((1.0 - tail) * (len(draws) - 1)))]
    return AlphaEstimate(alpha=round(alpha, 3), ci_low=None if low is None else round(low, 3),
                         ci_high=None if high is None else round(high, 3), units=len(pairable), level=level)
