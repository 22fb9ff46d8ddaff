"""Word error rate with text normalisation, optionally leaving numbers and PII aside.

Reference and hypothesis both go through Whisper's English normaliser (case, punctuation,
spelled-out numbers to digits, contractions, British/American spellings), so WER counts
recognition errors rather than writing conventions. Masking: reference words inside a PII span
or holding digits can be left out of the count, together with the hypothesis words aligned to
them, because a transcript's rendering of "oh seven seven double oh" is judged by the redaction
metrics, not by WER.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jiwer
from pydantic import BaseModel, ConfigDict

__all__ = ["WerCounts", "normalise", "reference_tokens", "wer_counts"]


class WerCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_words: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float | None:
        return self.errors / self.ref_words if self.ref_words else None

    def __add__(self, other: "WerCounts") -> "WerCounts":
        return WerCounts(
            substitutions=self.substitutions + other.substitutions,
            deletions=self.deletions + other.deletions,
            insertions=self.insertions + other.insertions,
            ref_words=self.ref_words + other.ref_words,
        )


@lru_cache(maxsize=1)
def _normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> list[str]:
    """Normalised tokens of `text`."""
    return _normaliser()(text).split()


_DIGIT = re.compile(r"\d")


def reference_tokens(text: str, masked_spans: list[tuple[int, int]] = ()) -> list[tuple[str, bool]]:
    """Normalised reference tokens, each with whether it is masked (PII span or a number).

    Args:
        text: the reference turn text.
        masked_spans: character spans of `text` to mask (e.g. PII values).
    """
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in sorted(masked_spans):
        if start < cursor:
            continue
        pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    pieces.append((text[cursor:], False))
    tokens: list[tuple[str, bool]] = []
    for piece, masked in pieces:
        for token in normalise(piece):
            tokens.append((token, masked or bool(_DIGIT.search(token))))
    return tokens


def wer_counts(reference: list[tuple[str, bool]], hypothesis: list[str], *, ignore_masked: bool) -> WerCounts:
    """Align hypothesis tokens to reference tokens and count errors.

    With `ignore_masked`, masked reference words, the hypothesis words aligned to them, inserted
    words holding digits and words inserted next to a masked reference word are not counted.
    """
    ref_words = [t for t, _ in reference]
    masked = [m for _, m in reference]
    if not ref_words:
        counted_ins = len(hypothesis) if not ignore_masked else sum(not _DIGIT.search(h) for h in hypothesis)
        return WerCounts(insertions=counted_ins)
    if not hypothesis:
        n = sum(1 for m in masked if not (ignore_masked and m))
        return WerCounts(deletions=n, ref_words=n)
    out = jiwer.process_words(" ".join(ref_words), " ".join(hypothesis))
    subs = dels = ins = 0
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            continue
        if chunk.type == "insert":
            near = [i for i in (chunk.ref_start_idx - 1, chunk.ref_start_idx) if 0 <= i < len(masked)]
            for h in hypothesis[chunk.hyp_start_idx : chunk.hyp_end_idx]:
                if ignore_masked and (_DIGIT.search(h) or any(masked[i] for i in near)):
                    continue
                ins += 1
            continue
        for i in range(chunk.ref_start_idx, chunk.ref_end_idx):
            if ignore_masked and masked[i]:
                continue
            if chunk.type == "substitute":
                subs += 1
            else:
                dels += 1
    n_ref = sum(1 for m in masked if not (ignore_masked and m))
    return WerCounts(substitutions=subs, deletions=dels, insertions=ins, ref_words=n_ref)
