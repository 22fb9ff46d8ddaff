"""Turns from words: group consecutive words of one speaker into `Turn`s, in time order.

A word is the unit everywhere (not a whisper segment), so a segment that straddles a speaker
change is split where the speaker changes. A segment without word timings (a transcript made
without them) is carried as one pseudo-word spanning the segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.schema import Segment, Speaker, Transcript, Turn, Word

__all__ = ["Token", "tokens_from_transcript", "group_runs", "build_turns"]


@dataclass(frozen=True)
class Token:
    """One word on the timeline, with where it came from.

    Attributes:
        word: the schema word (text stripped of surrounding spaces).
        channel: the audio channel the word was decoded from.
        label: the speaker label it is given (a channel's or a diarised cluster's), or None before assignment.
    """

    word: Word
    channel: int
    label: str | None = None

    @property
    def start_s(self) -> float:
        return self.word.start_s

    @property
    def end_s(self) -> float:
        return self.word.end_s

    @property
    def mid_s(self) -> float:
        return 0.5 * (self.word.start_s + self.word.end_s)


def _segment_words(segment: Segment) -> list[Word]:
    if segment.words:
        words = []
        for w in segment.words:
            text = w.text.strip()
            if not text:
                continue
            end = max(w.end_s, w.start_s)
            words.append(w if (text == w.text and end == w.end_s) else w.model_copy(update={"text": text, "end_s": end}))
        return words
    text = segment.text.strip()
    if not text:
        return []
    # No word timings: the segment is the finest unit we have.
    return [Word(start_s=segment.start_s, end_s=max(segment.end_s, segment.start_s), text=text, probability=1.0)]


def tokens_from_transcript(transcript: Transcript, *, channel: int | None = None) -> list[Token]:
    """Every word of the transcript (of one channel, if given), ordered by (start, channel).

    Args:
        transcript: the transcribe stage's output.
        channel: keep only this channel's words; None keeps all.

    Returns:
        Tokens without labels.
    """
    tokens = [
        Token(word=w, channel=seg.channel)
        for seg in transcript.segments
        if channel is None or seg.channel == channel
        for w in _segment_words(seg)
    ]
    tokens.sort(key=lambda t: (t.start_s, t.channel, t.end_s))
    return tokens


def group_runs(tokens: list[Token], *, split_gap_s: float, interleaved: list[Token] | None = None) -> list[list[Token]]:
    """Split one speaker's time-ordered tokens into runs (future turns).

    A run ends at a pause longer than `split_gap_s`, or where another speaker said a whole word
    inside the pause (a turn exchange). Another speaker's words that overlap this speaker's words
    do not split the run: that is overtalk, kept as two overlapping turns.

    Args:
        tokens: one speaker's tokens, ordered by start.
        split_gap_s: the pause that always ends a run.
        interleaved: the other speakers' tokens, ordered by start (stereo); None when not needed.

    Returns:
        Runs of tokens, in order.
    """
    runs: list[list[Token]] = []
    others = interleaved or []
    j = 0
    for token in tokens:
        if not runs:
            runs.append([token])
            continue
        prev = runs[-1][-1]
        gap_start, gap_end = prev.end_s, token.start_s
        split = gap_end - gap_start > split_gap_s
        if not split and others:
            while j < len(others) and others[j].start_s < gap_start:
                j += 1
            k = j
            while k < len(others) and others[k].start_s < gap_end:
                if others[k].end_s <= gap_end:
                    split = True
                    break
                k += 1
        if split:
            runs.append([token])
        else:
            runs[-1].append(token)
    return runs


def build_turns(
    runs: list[tuple[Speaker, int | None, list[Token], tuple[float, float] | None]],
) -> list[Turn]:
    """Turns from labelled runs, indexed 0..n-1 in time order.

    Args:
        runs: (speaker, channel or None, tokens, optional (start, end) override) per run.

    Returns:
        Turns ordered by (start, channel); a turn's times span its words unless overridden.
    """
    drafts = []
    for speaker, channel, tokens, span in runs:
        if not tokens:
            continue
        start = min(t.start_s for t in tokens)
        end = max(t.end_s for t in tokens)
        if span is not None:
            start, end = min(start, span[0]), max(end, span[1])
        drafts.append((start, channel if channel is not None else -1, end, speaker, channel, tokens))
    drafts.sort(key=lambda d: (d[0], d[1], d[2]))
    return [
        Turn(
            index=i,
            speaker=speaker,
            start_s=start,
            end_s=end,
            text=" ".join(t.word.text for t in tokens),
            words=[t.word for t in tokens],
            channel=channel,
        )
        for i, (start, _, end, speaker, channel, tokens) in enumerate(drafts)
    ]
