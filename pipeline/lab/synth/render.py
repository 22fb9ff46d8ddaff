"""Turn labelled call scripts into telephone audio plus an exact timing truth.

Timeline (tests/data/SCHEMA.md "Timing"), in samples of the output rate:

- a turn starts ``pause_before_s`` after the end of everything before it (speech or hold);
  the first turn's pause is the lead-in from 0;
- a turn with ``overlap_s > 0`` starts that long before the previous turn's speech ends
  (its pause is ignored): both parties talk at once;
- a turn with ``hold_s > 0`` is followed by a hold of that length (music or silence), and the
  next turn's pause counts from the end of the hold.

Each turn is synthesised, pitch-shifted to its party's voice, resampled and band-limited
(300-3400 Hz) by sox, then trimmed to its speech so the truth spans are speech, not padding.
"stereo" puts the agent on channel 0 and the customer on channel 1 (a channel is silent while
the other party talks, except in overlaps); "mono" mixes both. 16-bit FLAC (or WAV).

Digital (chat) scripts give a transcript-input JSON (the format in README.md) instead of audio.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from pydantic import Field, ValidationError

from pipeline.spans import union_length
from pipeline.config import Options
from pipeline.errors import ConfigError, StageError
from pipeline.progress import ProgressHook
from pipeline.schema import RecordingMetadata, TranscriptInput
from pipeline.lab.synth.holdmusic import hold_music
from pipeline.lab.scripts import CallScript, load_scripts
from pipeline.lab.truth import (
    CallTruth,
    TruthHold,
    TruthOverlap,
    TruthSilence,
    TruthTurn,
    TruthVoice,
)
from pipeline.lab.synth.voice import PartyVoice, TtsVoice, VoicePair, call_seed, load_voice, shape_turn, voice_pair_for

__all__ = [
    "SynthOptions",
    "SynthResult",
    "Timeline",
    "plan_timeline",
    "build_truth",
    "synthesize_script",
    "synthesize_dir",
    "write_silent_recording",
]

_LOGGER = logging.getLogger(__name__)


STEREO_CHANNEL_MAP = ("agent", "customer")
# Chat turns get nominal times: a message "takes" its length at this many characters a second.
_CHAT_CHARS_PER_S = 15.0


class SynthOptions(Options):
    """How a script becomes audio; validated on construction."""

    layout: Literal["stereo", "mono"] = Field("stereo", description="stereo: agent ch0, customer ch1; mono: mixed.")
    sample_rate: int = Field(8000, ge=8000, le=48000, description="Output sample rate (telephone: 8000).")
    hold_audio: Literal["music", "silence"] = Field("music", description="What fills holds.")
    audio_format: Literal["flac", "wav"] = "flac"
    voice_pair: Literal["distinct", "similar"] = Field(
        "distinct", description="similar: nearly the same voice for both parties (hard diarisation case)."
    )
    band_limit: bool = Field(True, description="Band-limit speech to the telephone band, 300-3400 Hz.")
    noise_floor_dbfs: float | None = Field(
        None, le=-40.0, description="RMS level of a light, seeded noise floor; None for digital silence."
    )
    hold_music_dbfs: float = Field(-20.0, le=-6.0, description="Peak level of the hold music.")
    tail_s: float = Field(0.5, ge=0.0, le=10.0, description="Silence after the last speech or hold.")


@dataclass(frozen=True)
class Timeline:
    """Where each piece of a call goes, in samples at `sample_rate`.

    Attributes:
        sample_rate: samples per second.
        starts: first sample of each turn's speech (len = number of turns).
        ends: one past the last sample of each turn's speech.
        holds: (start, end, after_turn) of each hold, in order.
        length: total samples of the recording (including the tail).
    """

    sample_rate: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    holds: tuple[tuple[int, int, int], ...]
    length: int


@dataclass(frozen=True)
class SynthResult:
    """What `synthesize_script` wrote.

    Attributes:
        call_id: the call.
        truth: the timing truth (also written to `truth_path`).
        truth_path: ``out_dir/truth/<call_id>.json``.
        audio_path: ``out_dir/<call_id>.flac`` (or .wav); None for a digital script.
        sidecar_path: ``out_dir/<call_id>.json``; None for a digital script.
        transcript_path: ``out_dir/<call_id>.transcript.json`` for a digital script, else None.
        seconds: wall time spent.
    """

    call_id: str
    truth: CallTruth
    truth_path: Path
    audio_path: Path | None
    sidecar_path: Path | None
    transcript_path: Path | None
    seconds: float


# ----------------------------------------------------------------------------------- timeline


def plan_timeline(
    script: CallScript, clip_lengths: Sequence[int], sample_rate: int, *, tail_s: float = 0.5
) -> Timeline:
    """Lay a script's turns out on a timeline (pure: lengths in, positions out).

    Args:
        script: the script (its pause / overlap / hold fields).
        clip_lengths: each turn's speech length in samples, in turn order.
        sample_rate: samples per second.
        tail_s: silence after the last speech or hold.

    Returns:
        The timeline.
    """
    if len(clip_lengths) != len(script.turns):
        raise StageError("one speech clip per turn is needed", stage="synth", call_id=script.call_id)
    starts: list[int] = []
    ends: list[int] = []
    holds: list[tuple[int, int, int]] = []
    cursor = 0  # end of everything placed so far (speech or hold)
    for i, (turn, length) in enumerate(zip(script.turns, clip_lengths)):
        pause = int(round(turn.pause_before_s * sample_rate))
        overlap = int(round(turn.overlap_s * sample_rate))
        previous_held = bool(holds) and holds[-1][2] == i - 1
        if i > 0 and overlap > 0 and not previous_held:
            # Start early over the previous turn, but never before it starts.
            start = max(starts[i - 1] + 1, ends[i - 1] - overlap)
        else:
            if i > 0 and overlap > 0:
                _LOGGER.warning("call %s turn %d: overlap after a hold is ignored", script.call_id, i)
            start = cursor + pause
        end = start + int(length)
        starts.append(start)
        ends.append(end)
        cursor = max(cursor, end)
        if turn.hold_s > 0:
            hold_end = cursor + int(round(turn.hold_s * sample_rate))
            holds.append((cursor, hold_end, i))
            cursor = hold_end
    return Timeline(sample_rate, tuple(starts), tuple(ends), tuple(holds), cursor + int(round(tail_s * sample_rate)))


def build_truth(
    script: CallScript,
    timeline: Timeline,
    *,
    layout: Literal["stereo", "mono", "transcript"],
    hold_audio: Literal["music", "silence"] = "music",
    engine: str | None = None,
    voices: VoicePair | None = None,
) -> CallTruth:
    """Derive the timing truth of a call from its timeline (pure).

    Args:
        script: the script.
        timeline: where each turn and hold was placed.
        layout: "stereo", "mono" or "transcript" (digital scripts).
        hold_audio: what fills the holds.
        engine: the TTS engine's name, recorded in the truth.
        voices: the party voices, recorded in the truth.

    Returns:
        The truth, times in seconds to the millisecond.
    """
    sr = timeline.sample_rate

    def sec(samples: int) -> float:
        return round(samples / sr, 3)

    stereo = layout == "stereo"
    turns = [
        TruthTurn(
            index=i,
            speaker=t.speaker,
            text=t.text,
            start_s=sec(timeline.starts[i]),
            end_s=sec(timeline.ends[i]),
            channel=STEREO_CHANNEL_MAP.index(t.speaker) if stereo else None,
            labels=list(t.labels),
            pii=list(t.pii),
        )
        for i, t in enumerate(script.turns)
    ]
    holds = [
        TruthHold(
            start_s=sec(s), end_s=sec(e), audio=hold_audio, after_turn=k,
            channel=0 if stereo else None,
        )
        for s, e, k in timeline.holds
    ]
    spans = list(zip(timeline.starts, timeline.ends))
    overlaps: list[TruthOverlap] = []
    for i, (s_i, e_i) in enumerate(spans):
        for j in range(i):
            s_j, e_j = spans[j]
            if script.turns[j].speaker != script.turns[i].speaker and s_i < e_j and s_j < e_i:
                overlaps.append(
                    TruthOverlap(
                        start_s=sec(max(s_i, s_j)), end_s=sec(min(e_i, e_j)),
                        interrupter=script.turns[i].speaker, interrupted=script.turns[j].speaker,
                        turn_index=i, interrupted_turn_index=j,
                    )
                )
    # Silences: every gap, from 0 to the last speech, covered by neither speech nor a hold.
    occupied = sorted(spans + [(s, e) for s, e, _ in timeline.holds])
    silences: list[TruthSilence] = []
    cursor = 0
    last_speech = max(timeline.ends)
    for s, e in occupied:
        if s > cursor and cursor < last_speech:
            owner = next(i for i, (ts, _) in enumerate(spans) if ts >= s)
            before = [i for i, (_, te) in enumerate(spans) if te <= cursor]
            after_turn = max(before, key=lambda i: (spans[i][1], i)) if before else None
            if sec(s) > sec(cursor):
                silences.append(
                    TruthSilence(start_s=sec(cursor), end_s=sec(s), turn_owner=script.turns[owner].speaker, after_turn=after_turn)
                )
        cursor = max(cursor, e)
    agent_starts = [s for (s, _), t in zip(spans, script.turns) if t.speaker == "agent"]
    talk = {
        party: sec(union_length([sp for sp, t in zip(spans, script.turns) if t.speaker == party]))
        for party in ("agent", "customer")
    }
    return CallTruth(
        call_id=script.call_id,
        channel_type=script.channel_type,
        layout=layout,
        sample_rate=sr if layout != "transcript" else None,
        duration_s=sec(timeline.length),
        channel_map=list(STEREO_CHANNEL_MAP) if stereo else None,
        turns=turns,
        holds=holds,
        overlaps=overlaps,
        silences=silences,
        greeting_latency_s=sec(min(agent_starts)) if agent_starts else None,
        talk_time_s=talk,
        engine=engine,
        voices={
            "agent": TruthVoice(**voices.agent.__dict__),
            "customer": TruthVoice(**voices.customer.__dict__),
        }
        if voices
        else {},
    )


# ------------------------------------------------------------------------------------- audio


def _trim(audio: np.ndarray, rel_threshold: float = 0.03) -> np.ndarray:
    """Cut leading/trailing samples quieter than `rel_threshold` of the peak (the TTS padding)."""
    if audio.size == 0:
        return audio
    peak = float(np.max(np.abs(audio)))
    if peak <= 1e-6:
        return audio[:0]
    loud = np.flatnonzero(np.abs(audio) > rel_threshold * peak)
    return audio[loud[0] : loud[-1] + 1]


def _clip_key(voice: TtsVoice, text: str, party: PartyVoice, options: SynthOptions) -> str:
    recipe = {
        "v": 1,
        "voice": getattr(voice, "cache_tag", voice.name),
        "text": text,
        "party": [party.pitch_cents, party.length_scale, party.level],
        "rate": options.sample_rate,
        "band": options.band_limit,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode("utf-8")).hexdigest()


def _speak(voice: TtsVoice, text: str, party: PartyVoice, options: SynthOptions) -> np.ndarray:
    """One turn's speech at the output rate: synthesised, shaped, trimmed, levelled."""
    raw = voice.synthesize(text, length_scale=party.length_scale)
    shaped = shape_turn(
        raw, voice.sample_rate, pitch_cents=party.pitch_cents, out_rate=options.sample_rate,
        band_limit=options.band_limit,
    )
    clip = _trim(shaped)
    if clip.size == 0:
        return clip
    return (clip * (party.level / float(np.max(np.abs(clip))))).astype(np.float32)


def _render_clips(
    script: CallScript,
    voice: TtsVoice,
    pair: VoicePair,
    options: SynthOptions,
    progress: ProgressHook | None,
    cache_dir: Path | None,
) -> list[np.ndarray]:
    clips: list[np.ndarray] = []
    total = len(script.turns)
    for i, turn in enumerate(script.turns):
        party = pair.for_speaker(turn.speaker)
        cached = None
        if cache_dir is not None:
            # Piper dominates the cost (RTF ~0.1 on one core); the cache makes re-runs over
            # the same scripts (tests, eval, benchmarks) nearly free, and is exact because
            # synthesis is deterministic. Keyed by everything that decides the samples.
            cached = cache_dir / f"{_clip_key(voice, turn.text, party, options)}.npy"
        if cached is not None and cached.is_file():
            clip = np.load(cached, allow_pickle=False)
        else:
            clip = _speak(voice, turn.text, party, options)
            if cached is not None and clip.size:
                cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_name(cached.stem + f".{os.getpid()}.tmp.npy")
                np.save(tmp, clip, allow_pickle=False)
                os.replace(tmp, cached)
        if clip.size == 0:
            raise StageError(f"turn {i} gave no audible speech", stage="synth", call_id=script.call_id)
        clips.append(clip)
        if progress:
            progress("turns", i + 1, total)
    return clips


def _mix(
    script: CallScript, clips: list[np.ndarray], timeline: Timeline, options: SynthOptions
) -> np.ndarray:
    channels = 2 if options.layout == "stereo" else 1
    audio = np.zeros((timeline.length, channels), dtype=np.float64)
    for turn, clip, start in zip(script.turns, clips, timeline.starts):
        ch = STEREO_CHANNEL_MAP.index(turn.speaker) if channels == 2 else 0
        audio[start : start + clip.size, ch] += clip
    if options.hold_audio == "music":
        for start, end, _ in timeline.holds:
            # Hold music is played by the agent's side of the line (the switch), so channel 0.
            audio[start:end, 0] += hold_music(end - start, options.sample_rate, level_dbfs=options.hold_music_dbfs)
    if options.noise_floor_dbfs is not None:
        rng = np.random.default_rng(call_seed(script.call_id, "noise"))
        audio += rng.standard_normal(audio.shape) * 10 ** (options.noise_floor_dbfs / 20.0)
    return audio


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    _atomic_write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _write_audio(path: Path, audio: np.ndarray, sample_rate: int, audio_format: str) -> None:
    fmt = "FLAC" if audio_format == "flac" else "WAV"
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), _to_int16(audio), sample_rate, format=fmt, subtype="PCM_16")
    os.replace(tmp, path)


def _make_options(**kwargs) -> SynthOptions:
    try:
        return SynthOptions(**kwargs)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(err["msg"], file="<synth options>", key=key) from None


# ---------------------------------------------------------------------------------- digital


def _synthesize_transcript(script: CallScript, out_dir: Path, options: SynthOptions) -> tuple[CallTruth, Path]:
    """A chat script becomes a transcript-input JSON with nominal message times."""
    lengths = [max(1.0, len(t.text) / _CHAT_CHARS_PER_S) for t in script.turns]
    # Chat messages do not talk over each other; holds are kept as waiting time.
    flat = script.model_copy(update={"turns": [t.model_copy(update={"overlap_s": 0.0}) for t in script.turns]})
    ms = 1000
    timeline = plan_timeline(flat, [int(round(x * ms)) for x in lengths], ms, tail_s=0.0)
    truth = build_truth(script, timeline, layout="transcript", hold_audio="silence")
    metadata = {"organisation": script.organisation} if script.organisation else {}
    doc = TranscriptInput(
        call_id=script.call_id,
        channel_type=script.channel_type,
        metadata=metadata,
        turns=[{"speaker": t.speaker, "text": t.text, "start_s": t.start_s, "end_s": t.end_s} for t in truth.turns],
    )
    path = out_dir / f"{script.call_id}.transcript.json"
    _write_json(path, doc.model_dump(mode="json"))
    return truth, path


# ---------------------------------------------------------------------------------- public


def synthesize_script(
    script: CallScript,
    out_dir: Path | str,
    *,
    layout: Literal["stereo", "mono"] = "stereo",
    sample_rate: int = 8000,
    hold_audio: Literal["music", "silence"] = "music",
    voice: TtsVoice | None = None,
    audio_format: Literal["flac", "wav"] = "flac",
    voice_pair: Literal["distinct", "similar"] = "distinct",
    noise_floor_dbfs: float | None = None,
    truth_dir: Path | str | None = None,
    cache_dir: Path | str | None = None,
    progress: ProgressHook | None = None,
) -> SynthResult:
    """Synthesise one script into telephone audio, a sidecar and a timing truth.

    Writes ``out_dir/<call_id>.flac`` (or .wav), ``out_dir/<call_id>.json`` (sidecar:
    call_id, channel_type, channel_map for stereo, organisation; valid RecordingMetadata) and
    ``out_dir/truth/<call_id>.json`` (a `CallTruth`). A digital script writes
    ``out_dir/<call_id>.transcript.json`` (valid TranscriptInput) and its truth instead.
    The same script and options give byte-identical files (Piper noise is off by default).

    Args:
        script: the validated script.
        out_dir: output folder (created if missing).
        layout: "stereo" (agent ch0, customer ch1) or "mono" (mixed).
        sample_rate: output rate, 8000 for telephone.
        hold_audio: "music" (a soft synthetic melody) or "silence" during holds.
        voice: a TTS voice from `load_voice`; default: load (once) Piper, else espeak-ng.
        audio_format: "flac" or "wav", 16-bit.
        voice_pair: "distinct" party voices or "similar" (hard diarisation case).
        noise_floor_dbfs: RMS of a seeded white noise floor (e.g. -70); None for none.
        truth_dir: where the truth goes; default ``out_dir/truth``.
        cache_dir: a folder for synthesised turn clips, reused across runs (Piper is the slow
            part); None (default) for no cache. Output is identical with or without it.
        progress: the one progress hook (pipeline.progress), step "turns".

    Returns:
        The paths written and the truth.

    Raises:
        ConfigError: an option has a value outside what is allowed.
        ModelUnavailableError: no TTS engine or no sox.
        StageError: synthesis failed on a turn.
    """
    began = time.perf_counter()
    options = _make_options(
        layout=layout, sample_rate=sample_rate, hold_audio=hold_audio, audio_format=audio_format,
        voice_pair=voice_pair, noise_floor_dbfs=noise_floor_dbfs,
    )
    out = Path(out_dir)
    truths = Path(truth_dir) if truth_dir is not None else out / "truth"
    out.mkdir(parents=True, exist_ok=True)
    truths.mkdir(parents=True, exist_ok=True)
    truth_path = truths / f"{script.call_id}.json"
    if script.channel_type == "digital":
        truth, transcript_path = _synthesize_transcript(script, out, options)
        _write_json(truth_path, truth.model_dump(mode="json"))
        return SynthResult(script.call_id, truth, truth_path, None, None, transcript_path, time.perf_counter() - began)

    tts = voice if voice is not None else load_voice()
    pair = voice_pair_for(script.call_id, options.voice_pair)
    clips = _render_clips(script, tts, pair, options, progress, Path(cache_dir) if cache_dir is not None else None)
    timeline = plan_timeline(script, [c.size for c in clips], options.sample_rate, tail_s=options.tail_s)
    audio = _mix(script, clips, timeline, options)
    truth = build_truth(script, timeline, layout=options.layout, hold_audio=options.hold_audio, engine=tts.name, voices=pair)

    audio_path = out / f"{script.call_id}.{options.audio_format}"
    _write_audio(audio_path, audio, options.sample_rate, options.audio_format)
    sidecar = RecordingMetadata(
        call_id=script.call_id,
        channel_type=script.channel_type,
        channel_map=list(STEREO_CHANNEL_MAP) if options.layout == "stereo" else None,
        organisation=script.organisation,
    )
    sidecar_path = out / f"{script.call_id}.json"
    _write_json(sidecar_path, sidecar.model_dump(mode="json", exclude_none=True))
    _write_json(truth_path, truth.model_dump(mode="json"))
    return SynthResult(script.call_id, truth, truth_path, audio_path, sidecar_path, None, time.perf_counter() - began)


def synthesize_dir(
    scripts_dir: Path | str,
    out_dir: Path | str,
    *,
    progress: ProgressHook | None = None,
    **options,
) -> list[SynthResult]:
    """Synthesise every script in a directory (see `synthesize_script` for the options).

    Args:
        scripts_dir: folder of ``*.yaml`` scripts.
        out_dir: output folder.
        progress: the one progress hook; gets ("calls", done, total) per script and ("turns", ...) within.
        **options: keyword options of `synthesize_script` (layout, sample_rate, hold_audio, voice,
            audio_format, voice_pair, noise_floor_dbfs, truth_dir, cache_dir).

    Returns:
        One result per script, in file-name order.

    Raises:
        InputError / ConfigError: a script is missing or invalid (nothing is written then).
        ModelUnavailableError, StageError: as `synthesize_script`.
    """
    scripts = load_scripts(scripts_dir)  # all validated before any audio is made
    if options.get("voice") is None and any(s.channel_type != "digital" for s in scripts):
        options["voice"] = load_voice()
    results = []
    for i, script in enumerate(scripts):
        results.append(synthesize_script(script, out_dir, progress=progress, **options))
        if progress:
            progress("calls", i + 1, len(scripts))
    return results


def write_silent_recording(
    call_id: str,
    out_dir: Path | str,
    *,
    seconds: float = 6.0,
    sample_rate: int = 8000,
    noise_floor_dbfs: float = -72.0,
    audio_format: Literal["flac", "wav"] = "flac",
    truth_dir: Path | str | None = None,
) -> SynthResult:
    """Write a mono recording of near-silence (a faint seeded noise floor), its sidecar and truth.

    A transcriber must return no words for it: the guard against text hallucinated on silence.

    Args:
        call_id: the recording's call id (file stem and noise seed).
        out_dir: output folder.
        seconds: length.
        sample_rate: rate.
        noise_floor_dbfs: RMS level of the noise.
        audio_format: "flac" or "wav", 16-bit.
        truth_dir: where the truth goes; default ``out_dir/truth``.

    Returns:
        The paths written; the truth has no turns.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    truths = Path(truth_dir) if truth_dir is not None else out / "truth"
    out.mkdir(parents=True, exist_ok=True)
    truths.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(call_seed(call_id, "noise"))
    n = int(round(seconds * sample_rate))
    audio = rng.standard_normal((n, 1)) * 10 ** (noise_floor_dbfs / 20.0)
    audio_path = out / f"{call_id}.{audio_format}"
    _write_audio(audio_path, audio, sample_rate, audio_format)
    sidecar_path = out / f"{call_id}.json"
    _write_json(
        sidecar_path,
        RecordingMetadata(call_id=call_id, channel_type="telephone").model_dump(mode="json", exclude_none=True),
    )
    truth = CallTruth(
        call_id=call_id, channel_type="telephone", layout="mono", sample_rate=sample_rate,
        duration_s=round(n / sample_rate, 3), channel_map=None, turns=[], greeting_latency_s=None,
        talk_time_s={"agent": 0.0, "customer": 0.0}, engine=None,
    )
    truth_path = truths / f"{call_id}.json"
    _write_json(truth_path, truth.model_dump(mode="json"))
    return SynthResult(call_id, truth, truth_path, audio_path, sidecar_path, None, time.perf_counter() - began)
