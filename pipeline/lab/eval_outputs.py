"""What redaction left behind, measured on a call's outputs: the redacted transcript, and the redacted
audio as a listener would hear it (issue #15).

Figures, per entity type and overall (reports name types and call ids, never a value):

- transcript recall: a labelled value is leaked when `eval_redact.value_leaks` finds any
  identifying part of it in the call's redacted text (placeholders removed first);
- RE-LISTEN recall: each channel of the redacted audio is peak-normalised (so a quiet party is
  heard as loud as any other) and transcribed again by a DIFFERENT Whisper model from the
  pipeline's (default `base`, loaded through pipeline.transcribe, so its hashes are checked),
  plain faster-whisper with NO VAD filter; a value leaks when `value_leaks` finds it in that text.
  Audio that was withheld is heard as nothing (and counted apart). Found ANYWHERE in the call's
  re-listened text is the headline (strict: "old" of "The Old Forge" heard in "the old bank"
  counts); found NEAR ITS TIME counts only the re-listened segments within `near_s` of the value's
  estimated time (`value_spans`), so a common word said a minute away is not the value heard;
- payment data audible: the re-listen leaks of CREDIT_CARD, CARD_SECURITY_CODE, UK_SORT_CODE and
  UK_BANK_ACCOUNT (PCI DSS: never retained), CARD_EXPIRY listed apart;
- over-redaction in text: non-PII words of the script that the transcriber heard and redaction
  removed (`eval_redact.over_redaction_on_text`; needs the unredacted transcript);
- over-redaction in audio: non-PII speech time muted. Speech time is the timing truth's turn spans
  on the speaker's channel, in 20 ms frames louder than the channel's noise floor (+12 dB); a
  labelled value's time is estimated inside its turn in proportion to its spoken length (the
  synthesiser's phonemes: "4111" takes far longer to say than its four characters), widened by
  `margin_s` on each side (0.35 s by default: the estimate is rough and audio redaction pads
  its spans by design), and left out. A frame is muted when the redacted audio there no longer
  carries the original: much quieter (below a tenth of its RMS) or uncorrelated with it (a tone);
- values left audible by time (no re-listen, every call): the share of each labelled value's
  estimated speech frames (`value_spans`, not widened) that the redacted audio leaves unmuted.
  A value is counted EXPOSED when at least `exposed_share` (0.5) of it is left: a re-listen on a
  few calls moves by a value or two between runs (a long-form decode changes with audio far
  away), while this is deterministic and covers all calls. The estimate of a value's time is
  rough (about a word at each edge), so a value with a little left is not counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.lab.eval_redact import over_redaction_on_text, value_leaks
from pipeline.lab.scripts import CallScript
from pipeline.lab.truth import CallTruth

__all__ = ["PAYMENT_TYPES", "Relistener", "CallRedactionScore", "RedactionFigures", "score_call", "score_outputs", "summarise",
           "muted_frames", "nonpii_speech_frames", "value_spans", "loud_frames", "exposed_values", "count_near", "heard_text"]

PAYMENT_TYPES = ("CREDIT_CARD", "CARD_SECURITY_CODE", "UK_SORT_CODE", "UK_BANK_ACCOUNT")
SAMPLE_RATE = 16_000
FRAME_S = 0.02
_PLACEHOLDER = re.compile(r"<[A-Z_]+>")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallRedactionScore(_Frozen):
    """One call's figures; counts only, never a value."""

    call_id: str
    labelled: dict[str, int] = Field(description="Labelled values per entity type.")
    text_leaked: dict[str, int] = Field(description="Values with an identifying part left in the redacted text.")
    relisten_leaked: dict[str, int] | None = Field(
        None, description="Values heard again in the re-listened redacted audio; None when not measured.")
    relisten_near_leaked: dict[str, int] | None = Field(
        None, description="Values heard in a re-listened segment near the value's own estimated time.")
    audio_withheld: bool = Field(False, description="No redacted audio was written (heard as nothing).")
    text_words: tuple[int, int] | None = Field(
        None, description="(non-PII script words heard by the transcriber, of those removed by redaction).")
    audio_speech_s: tuple[float, float] | None = Field(
        None, description="(non-PII speech seconds, of those muted in the redacted audio).")
    pii_speech_s: tuple[float, float] | None = Field(
        None, description="(estimated PII speech seconds, of those muted): how much of the values the audio hides.")
    relisten_s: float = Field(0.0, description="Seconds spent re-listening.")
    exposed: dict[str, int] | None = Field(
        None, description="Values with at least `exposed_share` of their estimated speech left unmuted.")


@dataclass
class Relistener:
    """A second Whisper model that listens to redacted audio the way an eavesdropper would."""

    handle: object  # pipeline.transcribe.WhisperHandle
    name: str

    @classmethod
    def load(cls, settings, model: str = "base") -> "Relistener":
        """Load `model` (a manifest name) through pipeline.transcribe, hashes checked.

        Raises:
            ModelUnavailableError: not installed (`pip install -e ".[base]"` for `base`), or a bad hash.
        """
        from pipeline.transcribe import load_whisper

        options = settings.core.transcribe.model_copy(update={"model": model})
        return cls(load_whisper(options, settings.core.models), model)

    def hear(self, audio: np.ndarray) -> str:
        """Each channel of (channels, samples) 16 kHz audio, peak-normalised, transcribed with no VAD."""
        return heard_text(self.hear_segments(audio))

    def hear_segments(self, audio: np.ndarray) -> list[list[tuple[float, float, str]]]:
        """As `hear`, per channel: its segments' (start_s, end_s, text)."""
        out = []
        for channel in np.atleast_2d(audio):
            peak = float(np.max(np.abs(channel))) if channel.size else 0.0
            if peak < 1e-6:  # digital silence: nothing to hear (and Whisper would invent text)
                out.append([])
                continue
            segments, _ = self.handle.model.transcribe(
                (channel / peak).astype(np.float32), language="en", vad_filter=False, beam_size=5,
                condition_on_previous_text=False)
            out.append([(s.start, s.end, s.text.strip()) for s in segments])  # materialised here, not later
        return out


def heard_text(segments: list[list[tuple[float, float, str]]]) -> str:
    """The re-listened text of a call, one line per channel that was heard."""
    return "\n".join(" ".join(t for _, _, t in channel) for channel in segments if channel)


def count_near(values: list[tuple[str, str]], spans: list[tuple[float, float]],
               segments: list[list[tuple[float, float, str]]], near_s: float) -> dict[str, int]:
    """Values per entity type found by `value_leaks` in the re-listened segments (any channel: crosstalk
    is heard too) that overlap the value's estimated time (`spans`, in `values` order) widened by `near_s`."""
    leaked: dict[str, int] = {}
    for (value, entity_type), (t0, t1) in zip(values, spans, strict=True):
        text = " ".join(t for channel in segments for a, b, t in channel if a < t1 + near_s and b > t0 - near_s)
        if text and value_leaks(value, entity_type, text):
            leaked[entity_type] = leaked.get(entity_type, 0) + 1
    return leaked


def _count(values: list[tuple[str, str]], text: str | None) -> dict[str, int]:
    leaked: dict[str, int] = {}
    if text is None:
        return leaked
    for value, entity_type in values:
        if value_leaks(value, entity_type, text):
            leaked[entity_type] = leaked.get(entity_type, 0) + 1
    return leaked


def _frame_rms(x: np.ndarray, n_frames: int, hop: int) -> np.ndarray:
    x = x[: n_frames * hop]
    if x.size < n_frames * hop:
        x = np.pad(x, (0, n_frames * hop - x.size))
    return np.sqrt(np.mean(x.reshape(n_frames, hop).astype(np.float64) ** 2, axis=1))


def muted_frames(original: np.ndarray, redacted: np.ndarray | None, n_frames: int) -> np.ndarray:
    """(channels, frames) True where the redacted channel no longer carries the original's sound.

    Args:
        original: (channels, samples) 16 kHz, as ingest decoded the input.
        redacted: the same shape (audio.redacted.wav), or None when the audio was withheld.
        n_frames: frames of FRAME_S to judge.
    """
    hop = int(SAMPLE_RATE * FRAME_S)
    if redacted is None:
        return np.ones((original.shape[0], n_frames), dtype=bool)
    out = np.zeros((original.shape[0], n_frames), dtype=bool)
    for ch in range(original.shape[0]):
        a = original[ch][: n_frames * hop]
        b = redacted[min(ch, redacted.shape[0] - 1)][: n_frames * hop]
        m = min(a.size, b.size) // hop
        a2, b2 = a[: m * hop].reshape(m, hop).astype(np.float64), b[: m * hop].reshape(m, hop).astype(np.float64)
        ra, rb = np.sqrt((a2 ** 2).mean(1)), np.sqrt((b2 ** 2).mean(1))
        corr = (a2 * b2).mean(1) / np.maximum(ra * rb, 1e-12)
        out[ch, :m] = (rb < 0.1 * ra) | (corr < 0.5)
        out[ch, m:] = True  # cut short
    return out


def loud_frames(original: np.ndarray, n_frames: int) -> np.ndarray:
    """(channels, frames) True where the channel is louder than its noise floor (its 10th-percentile
    frame) by 12 dB."""
    hop = int(SAMPLE_RATE * FRAME_S)
    rms = np.stack([_frame_rms(original[ch], n_frames, hop) for ch in range(original.shape[0])])
    floor = np.percentile(rms, 10, axis=1, keepdims=True)
    return rms > np.maximum(floor * 4.0, 1e-4)


def nonpii_speech_frames(script: CallScript, truth: CallTruth, original: np.ndarray, n_frames: int,
                         margin_s: float, spoken_length: Callable[[str], int] = len) -> tuple[np.ndarray, np.ndarray]:
    """(non-PII speech, PII speech) frame masks, (channels, frames), from the timing truth.

    A turn's frames on its channel (mono: channel 0) that are louder than the channel's noise
    floor by 12 dB; a value's frames estimated from its position in the turn, measured in
    `spoken_length` units (characters by default; the voice's phonemes from `callqa eval`),
    widened by `margin_s`.
    """
    channels = original.shape[0]
    loud = loud_frames(original, n_frames)
    speech = np.zeros_like(loud)
    pii = np.zeros_like(loud)

    def frames(t0: float, t1: float) -> slice:
        return slice(max(0, int(t0 / FRAME_S)), min(n_frames, int(np.ceil(t1 / FRAME_S))))

    for turn in truth.turns:
        ch = turn.channel if turn.channel is not None and turn.channel < channels else 0
        speech[ch, frames(turn.start_s, turn.end_s)] = True
    for ch, t0, t1, _ in value_spans(script, truth, channels, spoken_length):
        pii[ch, frames(t0 - margin_s, t1 + margin_s)] = True
    speech &= loud
    return speech & ~pii, speech & pii


def value_spans(script: CallScript, truth: CallTruth, channels: int,
                spoken_length: Callable[[str], int] = len) -> list[tuple[int, float, float, str]]:
    """Each labelled value's estimated (channel, start_s, end_s, entity type), not widened: its
    position inside its turn measured in `spoken_length` units (see `nonpii_speech_frames`)."""
    out = []
    for turn, scripted in zip(truth.turns, script.turns):
        ch = turn.channel if turn.channel is not None and turn.channel < channels else 0
        text = scripted.text
        length, dur = max(1, spoken_length(text)), turn.end_s - turn.start_s
        start = 0
        for span in scripted.pii:
            a = text.find(span.text, start)
            a = a if a >= 0 else text.find(span.text)
            b = a + len(span.text)
            t0, t1 = spoken_length(text[:a]) / length, spoken_length(text[:b]) / length
            out.append((ch, turn.start_s + dur * t0, turn.start_s + dur * t1, span.type))
    return out


def exposed_values(script: CallScript, truth: CallTruth, speech: np.ndarray, muted: np.ndarray, *,
                   exposed_share: float = 0.5, spoken_length: Callable[[str], int] = len) -> dict[str, int]:
    """Values per entity type with at least `exposed_share` of their estimated speech frames (`speech`:
    (channels, frames), the channel louder than its noise floor) left unmuted; a value with no speech
    frame in its estimate is not judged."""
    out: dict[str, int] = {}
    n_frames = speech.shape[1]
    for ch, t0, t1, entity_type in value_spans(script, truth, speech.shape[0], spoken_length):
        span = slice(max(0, int(t0 / FRAME_S)), min(n_frames, int(np.ceil(t1 / FRAME_S))))
        heard = speech[ch, span]
        if heard.any() and (heard & ~muted[ch, span]).sum() >= exposed_share * heard.sum():
            out[entity_type] = out.get(entity_type, 0) + 1
    return out


def score_call(script: CallScript, truth: CallTruth | None, *, redacted_text: str, unredacted_text: str | None = None,
               original_audio: np.ndarray | None = None, redacted_audio: np.ndarray | None = None,
               audio_withheld: bool = False, relistener: Relistener | None = None,
               margin_s: float = 0.35, spoken_length: Callable[[str], int] = len,
               exposed_share: float = 0.5, near_s: float = 5.0) -> CallRedactionScore:
    """Score one call's redacted outputs (see the module docstring).

    Args:
        script: the labelled script.
        truth: its timing truth (needed for over-redaction in audio).
        redacted_text: the redacted transcript (result.json turns' text, joined).
        unredacted_text: the transcript before redaction (for over-redaction in text), if known.
        original_audio: (channels, samples) at 16 kHz as ingest decoded the input.
        redacted_audio: (channels, samples) at 16 kHz, audio.redacted.wav; None with
            `audio_withheld` when none was written.
        audio_withheld: the pipeline wrote no redacted audio for an audio input.
        relistener: the second model; None skips the re-listen.
        margin_s: widening of each value's estimated time span.
        spoken_length: length of a text as spoken (see `nonpii_speech_frames`).
        exposed_share: see `exposed_values`.
        near_s: how far from a value's estimated time a re-listened segment still counts as near it.
    """
    import time

    values = [(p.text, p.type) for t in script.turns for p in t.pii]
    labelled: dict[str, int] = {}
    for _, entity_type in values:
        labelled[entity_type] = labelled.get(entity_type, 0) + 1
    text_leaked = _count(values, _PLACEHOLDER.sub(" ", redacted_text))
    relisten_leaked = relisten_near = None
    spent = 0.0
    if relistener is not None and (redacted_audio is not None or audio_withheld):
        began = time.perf_counter()
        segments = relistener.hear_segments(redacted_audio) if redacted_audio is not None else []
        relisten_leaked = _count(values, heard_text(segments))
        if truth is not None:
            channels = np.atleast_2d(redacted_audio).shape[0] if redacted_audio is not None else 1
            spans = [(t0, t1) for _, t0, t1, _ in value_spans(script, truth, channels, spoken_length)]
            relisten_near = count_near(values, spans, segments, near_s)
        spent = time.perf_counter() - began
    text_words = None
    if unredacted_text is not None:
        text_words = over_redaction_on_text([script], {script.call_id: unredacted_text},
                                            {script.call_id: redacted_text})
    audio_speech = pii_speech = exposed = None
    if truth is not None and original_audio is not None and (redacted_audio is not None or audio_withheld):
        n_frames = int(original_audio.shape[1] / (SAMPLE_RATE * FRAME_S))
        nonpii, pii = nonpii_speech_frames(script, truth, original_audio, n_frames, margin_s, spoken_length)
        muted = muted_frames(original_audio, redacted_audio, n_frames)
        audio_speech = (round(nonpii.sum() * FRAME_S, 2), round((nonpii & muted).sum() * FRAME_S, 2))
        pii_speech = (round(pii.sum() * FRAME_S, 2), round((pii & muted).sum() * FRAME_S, 2))
        exposed = exposed_values(script, truth, loud_frames(original_audio, n_frames), muted,
                                 exposed_share=exposed_share, spoken_length=spoken_length)
    return CallRedactionScore(call_id=script.call_id, labelled=labelled, text_leaked=text_leaked,
                              relisten_leaked=relisten_leaked, relisten_near_leaked=relisten_near,
                              audio_withheld=audio_withheld,
                              text_words=text_words, audio_speech_s=audio_speech, pii_speech_s=pii_speech,
                              relisten_s=round(spent, 2), exposed=exposed)


def _recall(labelled: dict[str, int], leaked: dict[str, int]) -> dict:
    total, lost = sum(labelled.values()), sum(leaked.values())
    return {
        "recall": round(1 - lost / total, 4) if total else None, "labelled": total, "leaked": lost,
        "per_type": {t: {"labelled": n, "leaked": leaked.get(t, 0), "recall": round(1 - leaked.get(t, 0) / n, 4)}
                     for t, n in sorted(labelled.items())},
    }


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


class RedactionFigures(_Frozen):
    """The figures over many calls, as `callqa eval --json` reports them under "redaction"."""

    transcript: dict
    relisten: dict | None
    relisten_near: dict | None = None
    payment_audible: dict | None
    over_redaction: dict
    calls: int
    audio_withheld: int
    relisten_model: str | None
    margin_s: float
    exposed: dict | None = None


def summarise(scores: list[CallRedactionScore], *, relisten_model: str | None, margin_s: float = 0.35
              ) -> RedactionFigures:
    """Aggregate call scores: recall per type (text and re-listen), payment leaks, over-redaction."""
    labelled: dict[str, int] = {}
    text_leaked: dict[str, int] = {}
    heard: dict[str, int] = {}
    heard_labelled: dict[str, int] = {}
    near: dict[str, int] = {}
    near_labelled: dict[str, int] = {}
    payment_calls = 0
    for s in scores:
        _add(labelled, s.labelled)
        _add(text_leaked, s.text_leaked)
        if s.relisten_leaked is not None:
            _add(heard_labelled, s.labelled)
            _add(heard, s.relisten_leaked)
            payment_calls += any(s.relisten_leaked.get(t) for t in PAYMENT_TYPES)
        if s.relisten_near_leaked is not None:
            _add(near_labelled, s.labelled)
            _add(near, s.relisten_near_leaked)
    relisten = _recall(heard_labelled, heard) if heard_labelled else None
    relisten_near = {**_recall(near_labelled, near), "payment": sum(near.get(t, 0) for t in PAYMENT_TYPES)} \
        if near_labelled else None
    payment = None
    if heard_labelled:
        payment = {
            "audible": sum(heard.get(t, 0) for t in PAYMENT_TYPES),
            "labelled": sum(heard_labelled.get(t, 0) for t in PAYMENT_TYPES),
            "by_type": {t: heard.get(t, 0) for t in PAYMENT_TYPES},
            "calls_with_payment_audible": payment_calls,
            "card_expiry_audible": heard.get("CARD_EXPIRY", 0),
            "in_transcript": sum(text_leaked.get(t, 0) for t in PAYMENT_TYPES),
        }
    words = [s.text_words for s in scores if s.text_words is not None]
    speech = [s.audio_speech_s for s in scores if s.audio_speech_s is not None]
    pii = [s.pii_speech_s for s in scores if s.pii_speech_s is not None]
    heard_words, removed = sum(w[0] for w in words), sum(w[1] for w in words)
    speech_s, muted_s = sum(x[0] for x in speech), sum(x[1] for x in speech)
    pii_s, pii_muted = sum(x[0] for x in pii), sum(x[1] for x in pii)
    over = {
        "text": {"non_pii_words_heard": heard_words, "removed": removed,
                 "ratio": round(removed / heard_words, 4) if heard_words else None} if words else None,
        "audio": {"non_pii_speech_s": round(speech_s, 2), "muted_s": round(muted_s, 2),
                  "ratio": round(muted_s / speech_s, 4) if speech_s else None,
                  "pii_speech_s": round(pii_s, 2), "pii_speech_muted_ratio": round(pii_muted / pii_s, 4) if pii_s else None,
                  } if speech else None,
    }
    timed = [s for s in scores if s.exposed is not None]
    exposed = None
    if timed:
        timed_labelled: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for s in timed:
            _add(timed_labelled, s.labelled)
            _add(by_type, s.exposed)
        exposed = {**_recall(timed_labelled, by_type),
                   "payment": sum(by_type.get(t, 0) for t in PAYMENT_TYPES),
                   "payment_labelled": sum(timed_labelled.get(t, 0) for t in PAYMENT_TYPES),
                   "calls_with_payment_exposed": sum(any(s.exposed.get(t) for t in PAYMENT_TYPES) for s in timed)}
    return RedactionFigures(transcript=_recall(labelled, text_leaked), relisten=relisten, relisten_near=relisten_near,
                            payment_audible=payment,
                            over_redaction=over, calls=len(scores), audio_withheld=sum(s.audio_withheld for s in scores),
                            relisten_model=relisten_model, margin_s=margin_s, exposed=exposed)


def _original(audio_path, sidecar, settings) -> np.ndarray:
    from pipeline.ingest import InputItem, ingest

    return ingest(InputItem(audio_path, "audio", sidecar), settings.core.ingest).audio


def score_outputs(scripts: list[CallScript], audio_dir, out_dir, settings, *, asr_dir=None,
                  relistener: Relistener | None = None, margin_s: float = 0.35,
                  progress=None, spoken_length: Callable[[str], int] = len) -> list[CallRedactionScore]:
    """Score the outputs a run already wrote (OUT/<call_id>/result.json and audio.redacted.wav) for
    synthesised scripts: e.g. a baseline taken with another version of the code.

    Args:
        scripts: the labelled scripts.
        audio_dir: their synthesised audio (`callqa synth`: <call_id>.flac, sidecar, truth/).
        out_dir: the run's output folder.
        settings: for decoding the input as ingest does.
        asr_dir: unredacted ASR dumps (<call_id>.turns.json, `callqa challenge run`) for
            over-redaction in text; None to leave it out.
        relistener: the re-listening model; None skips the re-listen.
        margin_s: see `score_call`.
        progress: the one progress hook; reports ("score", done, total).
        spoken_length: see `score_call` (the synthesiser voice's `spoken_length`).

    Raises:
        InputError: a call's audio, truth or result is missing.
    """
    import json
    from pathlib import Path

    import soundfile as sf

    from pipeline.errors import InputError
    from pipeline.lab.truth import load_truth

    audio_dir, out_dir = Path(audio_dir), Path(out_dir)
    audio = [s for s in scripts if s.channel_type != "digital"]
    scores = []
    for n, script in enumerate(audio):
        cid = script.call_id
        flac = next((p for p in (audio_dir / f"{cid}.flac", audio_dir / f"{cid}.wav") if p.is_file()), None)
        result_path = out_dir / cid / "result.json"
        if flac is None or not result_path.is_file():
            raise InputError("no synthesised audio or no result.json for this call", path=str(result_path),
                             reason="missing")
        result = json.loads(result_path.read_text(encoding="utf-8"))
        redacted_text = " ".join(t["text"] for t in result["turns"])
        unredacted = None
        if asr_dir is not None and (Path(asr_dir) / f"{cid}.turns.json").is_file():
            dump = json.loads((Path(asr_dir) / f"{cid}.turns.json").read_text(encoding="utf-8"))
            unredacted = " ".join(t["text"] for t in dump["turns"])
        wav = out_dir / cid / "audio.redacted.wav"
        redacted = sf.read(str(wav), dtype="float32", always_2d=True)[0].T if wav.is_file() else None
        sidecar = audio_dir / f"{cid}.json"
        scores.append(score_call(
            script, load_truth(audio_dir / "truth" / f"{cid}.json"), redacted_text=redacted_text,
            unredacted_text=unredacted, original_audio=_original(flac, sidecar if sidecar.is_file() else None, settings),
            redacted_audio=redacted, audio_withheld=redacted is None, relistener=relistener, margin_s=margin_s,
            spoken_length=spoken_length))
        if progress:
            progress("score", n + 1, len(audio))
    return scores
