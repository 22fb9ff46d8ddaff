"""Agreement between raters: percent agreement, Cohen's kappa (two raters), Fleiss' kappa (many).

Pure functions over category labels; used by calibration (assessor vs assessor) and to measure
how far the pre-fill can be trusted (auto-suggestion vs the assessor's final value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["percent_agreement", "cohen_kappa", "fleiss_kappa"]


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
