"""A value's edges from a forced alignment of the transcriber's words (issue #15).

The transcriber's word times are off by up to ~0.3 s (tiny.en's cross-attention times, some
words with no duration), so each finding's mute is padded by `audio.padding_ms`, and that
padding mutes the words beside a value too. A forced aligner places the words the transcriber
wrote onto the audio at the acoustic model's 10 ms frames: where it places a finding's words, the
mute needs only `audio.align.padding_ms` around them.

The aligner is PocketSphinx 5 (its US English acoustic model and CMU dictionary ship inside the
`pocketsphinx` wheel; models/manifest.yaml, `pocketsphinx-en-us`). Telephone audio is
resampled to the model's 16 kHz. A word the dictionary lacks (names, garbled values) is spelled
out by a letter-to-sound table: good enough to place its edges, which is all that is asked of it.

It only ever NARROWS padding, never a finding's own time: the mute is the finding's own span
(its words reaching into the silence beside them, `text._times`) joined with the aligned words
plus their small padding. A finding whose words cannot be aligned (no words, an alignment that
fails, an implausible word length, or an aligned edge that disagrees with the transcriber's by
more than `max_shift_ms`) keeps the ordinary padding.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from pipeline.config import ModelsOptions
from pipeline.models import resolve_model
from pipeline.redact.options import AlignOptions
from pipeline.schema import PiiFinding, Recording, Turn

__all__ = ["Aligner", "load_aligner", "aligned_edges", "word_onsets", "spoken_tokens"]

logger = logging.getLogger(__name__)

_ALIGN_RATE = 16000
_FRAME_S = 0.01
_DIGITS = ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_PIECE_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")
# Letter-to-sound for words the dictionary lacks: longest spelling first. CMU phones only.
_SPELLINGS = {
    "tch": "CH", "sch": "S K", "ough": "AO", "augh": "AO", "igh": "AY", "eigh": "EY",
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "ng": "NG", "ck": "K", "qu": "K W", "wh": "W", "gh": "G",
    "kn": "N", "wr": "R", "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "oi": "OY", "oy": "OY",
    "ai": "EY", "ay": "EY", "au": "AO", "aw": "AO", "ie": "IY", "ey": "EY", "er": "ER", "ir": "ER", "ur": "ER",
    "ar": "AA R", "or": "AO R",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH", "j": "JH",
    "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R", "s": "S", "t": "T",
    "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z",
}
_SPELLING_RE = re.compile("|".join(sorted(_SPELLINGS, key=len, reverse=True)))


def _number_words(digits: str) -> list[str]:
    """How a number the transcriber wrote in digits was likely said: 1-2 digits as a number
    ("12": twelve), longer ones digit by digit (a card, a phone number)."""
    if len(digits) <= 2 and not (len(digits) == 2 and digits[0] == "0"):
        n = int(digits)
        if n < 10:
            return [_DIGITS[n] if n else "zero"]
        if n < 20:
            return [_TEENS[n - 10]]
        return [_TENS[n // 10]] + ([_DIGITS[n % 10]] if n % 10 else [])
    return [_DIGITS[int(d)] for d in digits]


def spoken_tokens(word: str) -> list[str]:
    """The lower-case words a transcribed word was said as, for the aligner's dictionary: "M86." is
    m, eighty, six; "E5," is e, five; "it's" stays one word."""
    out: list[str] = []
    for piece in _PIECE_RE.findall(word.lower().replace("’", "'")):
        if piece.isdigit():
            out.extend(_number_words(piece))
        else:
            # Letters run into digits ("e5") come apart; a letter-and-digit piece never reaches here.
            out.append(piece)
    return out


def _letter_phones(token: str) -> str:
    return " ".join(_SPELLINGS[m] for m in _SPELLING_RE.findall(token.replace("'", "")))


@dataclass
class Aligner:
    """A loaded PocketSphinx decoder. A worker's task threads share it (pipeline/run.py): the
    decoder is not thread-safe, so one alignment runs at a time. Words it lacked are added to its
    dictionary in memory only (never written out)."""

    decoder: object
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _known(self, token: str) -> bool:
        if self.decoder.lookup_word(token) is not None:
            return True
        phones = _letter_phones(token)
        if phones:
            self.decoder.add_word(token, phones, False)
        return bool(phones)

    def align(self, samples: np.ndarray, sample_rate: int, words: list[str]) -> list[tuple[float, float] | None]:
        """(start, end) seconds, from the start of `samples`, of each of `words` (None: a word with
        nothing to say, or the whole alignment failed)."""
        with self.lock:
            return self._align(samples, sample_rate, words)

    def _align(self, samples: np.ndarray, sample_rate: int, words: list[str]) -> list[tuple[float, float] | None]:
        tokens = [[t for t in spoken_tokens(w) if self._known(t)] for w in words]
        flat = [t for ts in tokens for t in ts]
        if not flat or samples.size < sample_rate * 0.1:
            return [None] * len(words)
        x = _resampled(samples, sample_rate)
        peak = float(np.max(np.abs(x))) or 1.0
        pcm = (np.clip(x / peak * 0.5, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        try:
            self.decoder.set_align_text(" ".join(flat))
            self.decoder.start_utt()
            self.decoder.process_raw(pcm, full_utt=True)
            self.decoder.end_utt()
            segs = [(s.word, s.start_frame, s.end_frame) for s in self.decoder.seg() or ()]
        except (RuntimeError, ValueError) as e:  # no path through the audio: the transcriber's times stand
            logger.debug("alignment failed (%s)", type(e).__name__)
            return [None] * len(words)
        placed = [(s * _FRAME_S, (e + 1) * _FRAME_S) for w, s, e in segs if not w.startswith(("<", "[", "+"))]
        if len(placed) != len(flat):
            return [None] * len(words)
        out: list[tuple[float, float] | None] = []
        i = 0
        for ts in tokens:
            out.append((placed[i][0], placed[i + len(ts) - 1][1]) if ts else None)
            i += len(ts)
        return out


def _resampled(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """`x` at the model's 16 kHz, band-limited (FFT): a turn's few seconds at a time."""
    if sample_rate == _ALIGN_RATE:
        return x.astype(np.float64)
    n = int(round(x.size * _ALIGN_RATE / sample_rate))
    return np.fft.irfft(np.fft.rfft(x.astype(np.float64)), n=n) * (n / x.size)


def load_aligner(options: AlignOptions, models: ModelsOptions | None = None) -> Aligner | None:
    """The decoder over the configured model (hash-checked through the manifest); None when
    alignment is off.

    Raises:
        ModelUnavailableError: the model is unknown, missing or fails its hash check.
    """
    if not options.enabled:
        return None
    from pocketsphinx import Decoder

    model_dir = resolve_model(options.model, models).path

    decoder = Decoder(hmm=str(model_dir / "en-us"), dict=str(model_dir / "cmudict-en-us.dict"), lm=None,
                      samprate=_ALIGN_RATE, bestpath=False, loglevel="FATAL")
    return Aligner(decoder=decoder)


def _aligned_turn(aligner: Aligner, recording: Recording, turn: Turn, options: AlignOptions
                  ) -> tuple[float, float, list[tuple[float, float] | None]] | None:
    """(window start, window end, each word's aligned span in seconds of the recording) for one turn,
    aligned on its channel (mono: the one channel) over its words' time plus `context_ms` each side;
    None when the turn has no words, is longer than `max_turn_s` or has no channel here."""
    if not turn.words or turn.end_s - turn.start_s > options.max_turn_s:
        return None
    channel = 0 if recording.n_channels == 1 or turn.channel is None else turn.channel
    if not 0 <= channel < recording.n_channels:
        return None
    sr, ctx = recording.sample_rate, options.context_ms / 1000.0
    t0 = max(0.0, turn.words[0].start_s - ctx)
    t1 = min(recording.duration_s, turn.words[-1].end_s + ctx)
    placed = aligner.align(recording.audio[channel, int(t0 * sr):int(t1 * sr)], sr, [w.text for w in turn.words])
    return t0, t1, [None if p is None else (t0 + p[0], t0 + p[1]) for p in placed]


def aligned_edges(aligner: Aligner, recording: Recording, turns: list[Turn], findings: list[PiiFinding],
                  options: AlignOptions, skip=lambda f: False) -> dict[int, tuple[float, float]]:
    """Per finding (by its index in `findings`), the aligned (start, end) of the words it covers.

    Each turn holding a finding is aligned (`_aligned_turn`); a finding covers the turn's words whose
    middle lies in its time. Left out (the ordinary padding then stands): findings `skip` answers True
    for, findings with no word, or whose words did not all align, or are aligned shorter than
    `min_word_ms` or longer than `max_word_s`, or whose aligned edge lies more than `max_shift_ms` from
    the transcriber's or within `edge_ms` of the aligned window's edge.
    """
    out: dict[int, tuple[float, float]] = {}
    by_turn: dict[int, list[int]] = {}
    for i, f in enumerate(findings):
        if f.start_s is not None and f.end_s is not None and 0 <= f.turn_index < len(turns) and not skip(f):
            by_turn.setdefault(f.turn_index, []).append(i)
    shift, edge = options.max_shift_ms / 1000.0, options.edge_ms / 1000.0
    for t, indices in by_turn.items():
        turn = turns[t]
        done = _aligned_turn(aligner, recording, turn, options)
        if done is None:
            continue
        t0, t1, placed = done
        for i in indices:
            f = findings[i]
            mine = [(w, p) for w, p in zip(turn.words, placed) if f.start_s <= (w.start_s + w.end_s) / 2 <= f.end_s]
            if not mine or any(p is None for _, p in mine):
                continue
            spans = [p for _, p in mine]
            if not all(_plausible(a, b, options) for a, b in spans):
                continue
            a, b = spans[0][0], spans[-1][1]
            if abs(a - mine[0][0].start_s) > shift or abs(b - mine[-1][0].end_s) > shift:
                continue
            # Placed against the window's edge, the words may have begun (or run on) outside it: the
            # transcriber's time was off by more than context_ms.
            if (t0 > 0.0 and a - t0 < edge) or (t1 < recording.duration_s and t1 - b < edge):
                continue
            out[i] = (a, b)
    return out


def _plausible(a: float, b: float, options: AlignOptions) -> bool:
    return options.min_word_ms / 1000.0 <= b - a <= options.max_word_s


def word_onsets(aligner: Aligner, recording: Recording, turns: list[Turn], wanted: set[tuple[int, int]],
                options: AlignOptions) -> dict[tuple[int, int], float]:
    """Per (turn index, word index) in `wanted`, where that word begins as aligned (`_aligned_turn`,
    each turn once). Left out (not trusted): a word not aligned, aligned implausibly short or long,
    more than `max_shift_ms` from the transcriber's start, or within `edge_ms` of the window's start
    (it may have begun before the window)."""
    out: dict[tuple[int, int], float] = {}
    shift, edge = options.max_shift_ms / 1000.0, options.edge_ms / 1000.0
    for t in sorted({t for t, _ in wanted}):
        done = _aligned_turn(aligner, recording, turns[t], options) if 0 <= t < len(turns) else None
        if done is None:
            continue
        t0, _, placed = done
        for k in sorted(k for u, k in wanted if u == t and 0 <= k < len(placed)):
            if placed[k] is None:
                continue
            a, b = placed[k]
            if _plausible(a, b, options) and abs(a - turns[t].words[k].start_s) <= shift and (t0 == 0.0 or a - t0 >= edge):
                out[(t, k)] = a
    return out
