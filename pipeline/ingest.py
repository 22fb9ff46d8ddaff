"""Ingest: find inputs, fingerprint them, decode audio to 16 kHz per channel, read sidecars.

Every problem with one input raises `InputError` with a reason code, so a batch can record that
file as failed and go on. The content of a file decides its format, not its name: a text file
named .wav is rejected as "not_audio", not handed to a decoder that might guess.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import ValidationError

from pipeline.config import IngestOptions
from pipeline.errors import InputError
from pipeline.schema import Recording, RecordingMetadata, Source, TranscriptInput, is_valid_call_id

__all__ = [
    "AUDIO_EXTENSIONS",
    "InputItem",
    "discover_inputs",
    "ingest",
    "read_transcript_input",
    "fingerprint",
    "read_sidecar",
    "sha256_bytes",
    "TARGET_SAMPLE_RATE",
]

log = logging.getLogger(__name__)

TARGET_SAMPLE_RATE = 16000
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"})
# Recognisably audio/video, but not something callqa decodes: reported, not silently skipped.
UNSUPPORTED_MEDIA = frozenset({".wma", ".aac", ".aiff", ".aif", ".amr", ".gsm", ".au", ".mp4", ".webm", ".vox", ".mkv"})
SIDECAR_MAX_BYTES = 1 << 20
TRANSCRIPT_MAX_BYTES = 32 << 20

Kind = Literal["audio", "transcript", "unsupported"]


@dataclass(frozen=True)
class InputItem:
    """One input found by discovery: an audio file (with its sidecar, if any) or a transcript."""

    path: Path
    kind: Kind
    sidecar: Path | None = None


def _sidecar_for(audio: Path) -> Path | None:
    for candidate in (audio.with_name(audio.name + ".json"), audio.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _classify(path: Path) -> Kind | None:
    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix == ".json":
        return "transcript"
    if suffix in UNSUPPORTED_MEDIA:
        return "unsupported"
    return None


def _is_sidecar(path: Path) -> bool:
    """True when `path` is the metadata sidecar of an audio file beside it."""
    if path.suffix.lower() != ".json":
        return False
    if (path.parent / path.name[: -len(".json")]).suffix.lower() in AUDIO_EXTENSIONS:
        return (path.parent / path.name[: -len(".json")]).is_file()
    return any(path.with_suffix(ext).is_file() for ext in AUDIO_EXTENSIONS)


def discover_inputs(paths: list[Path]) -> list[InputItem]:
    """Expand files and directories (not recursive) into inputs, in a stable order.

    A `.json` beside an audio file of the same stem (`call.wav` + `call.json` or `call.wav.json`)
    is that file's sidecar; any other `.json` is a transcript input. A file named explicitly is
    always returned, so an unknown type is reported rather than ignored; in a directory, files
    that are neither audio, transcripts nor known media are passed over.
    """
    items: list[InputItem] = []
    seen: set[Path] = set()
    for given in paths:
        explicit = not given.is_dir()
        files = [given] if explicit else sorted(p for p in given.iterdir() if p.is_file() and not p.name.startswith("."))
        for f in files:
            if f in seen or _is_sidecar(f):
                continue
            kind = _classify(f)
            if kind is None:
                if not explicit:
                    log.debug("skipping %s: not an input type", f.name)
                    continue
                kind = "unsupported"
            seen.add(f)
            items.append(InputItem(f, kind, _sidecar_for(f) if kind == "audio" else None))
    return items


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sniff(data: bytes) -> str | None:
    """The container format from the first bytes, or None when it is not audio callqa knows."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "opus" if b"OpusHead" in data[:128] else "ogg"
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0):
        return "mp3"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "m4a"
    return None


def _wav_truncated(data: bytes) -> bool:
    """True when a WAV's data chunk claims more bytes than the file holds (a cut-off recording)."""
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk_id == b"data":
            # 0 and 0xFFFFFFFF are written by streaming recorders that never patch the header.
            return size not in (0, 0xFFFFFFFF) and pos + 8 + size > len(data)
        pos += 8 + size + (size & 1)
    return True  # no data chunk at all


def _decode_soundfile(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(io.BytesIO(data)) as f:
        declared = f.frames
        samples = f.read(dtype="float32", always_2d=True)
        # libsndfile returns what it could decode of a damaged stream; a shortfall against the
        # header's frame count is corruption, not a short call.
        if 0 < declared < 2**62 and len(samples) < declared - f.samplerate // 100:
            raise ValueError(f"decoded {len(samples)} of {declared} frames")
        return samples.T.copy(), int(f.samplerate)


def _decode_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise ValueError("no audio stream")
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 1)
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if not chunks:
        raise ValueError("no audio frames decoded")
    audio = np.concatenate(chunks, axis=1).astype(np.float32)
    return audio[:channels], rate


def _decode(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    # libsndfile is exact and fast for the formats it owns; PyAV (FFmpeg) covers the rest.
    if fmt in ("wav", "flac", "ogg"):
        return _decode_soundfile(data)
    return _decode_av(data)


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == TARGET_SAMPLE_RATE:
        return np.ascontiguousarray(audio, dtype=np.float32)
    import soxr

    return np.stack([soxr.resample(ch, rate, TARGET_SAMPLE_RATE, quality="HQ") for ch in audio]).astype(np.float32)


_SAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]")


def read_sidecar(path: Path) -> RecordingMetadata:
    """Read a metadata sidecar; unknown keys are dropped with a warning, bad values are errors.

    Raises:
        InputError: unreadable, too large, not a JSON object, or a known key with a bad value.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read sidecar ({e.strerror})", path=str(path), reason="bad_sidecar") from e
    if len(raw) > SIDECAR_MAX_BYTES:
        raise InputError("sidecar larger than 1 MiB", path=str(path), reason="bad_sidecar")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"sidecar is not valid JSON (line {getattr(e, 'lineno', '?')})", path=str(path), reason="bad_sidecar") from None
    if not isinstance(data, dict):
        raise InputError("sidecar must be a JSON object", path=str(path), reason="bad_sidecar")
    known = set(RecordingMetadata.model_fields)
    for key in [k for k in data if k not in known]:
        # Unknown keys may hold personal data: drop them; name the key (sanitised), never the value.
        log.warning("%s: ignoring unknown sidecar key '%s'", path.name, _SAFE_KEY.sub("?", str(key))[:40])
        del data[key]
    try:
        return RecordingMetadata.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise InputError(f"sidecar key '{key}': {err['msg']}", path=str(path), reason="bad_sidecar") from None


def _default_call_id(path: Path, sha256: str) -> str:
    stem = path.name
    for suffix in (".transcript.json", ".json") + tuple(AUDIO_EXTENSIONS):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    candidate = re.sub(r"[^A-Za-z0-9._-]", "_", stem).strip("._-")[:128]
    return candidate if candidate and is_valid_call_id(candidate) else f"call-{sha256[:16]}"


def _read_bounded(path: Path, limit: int) -> bytes:
    if not path.exists():
        raise InputError("file not found", path=str(path), reason="not_found")
    if not path.is_file():
        raise InputError("not a regular file", path=str(path), reason="not_a_file")
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=str(path), reason="empty")
    if size > limit:
        raise InputError(f"file is {size / 2**20:.0f} MiB, over the {limit / 2**20:.0f} MiB limit", path=str(path), reason="too_large")
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=str(path), reason="unreadable") from e


def ingest(item: InputItem | Path, options: IngestOptions) -> Recording:
    """Decode one audio input into a 16 kHz float32 `Recording`, one row per channel.

    Args:
        item: the input (a discovered item, or a path whose sidecar is looked up beside it).
        options: limits on duration, sample rate, channels and size.

    Returns:
        The decoded recording with its source fingerprint and metadata.

    Raises:
        InputError: with `reason` one of not_found, empty, too_large, unreadable, not_audio,
            unsupported_format, corrupt, truncated, bad_sample_rate, too_many_channels,
            too_short, too_long, bad_sidecar.
    """
    if isinstance(item, Path):
        item = InputItem(item, "audio", _sidecar_for(item))
    path = item.path
    if path.suffix.lower() in UNSUPPORTED_MEDIA:
        raise InputError(
            f"format '{path.suffix}' is not supported; convert to one of {', '.join(sorted(AUDIO_EXTENSIONS))}",
            path=str(path),
            reason="unsupported_format",
        )
    data = _read_bounded(path, int(options.max_file_mb * 2**20))
    sha256 = sha256_bytes(data)
    fmt = _sniff(data)
    if fmt is None:
        raise InputError(
            f"content is not audio callqa can read (named {path.suffix or 'without extension'}; expected WAV, FLAC,"
            " MP3, Ogg/Opus or M4A data)",
            path=str(path),
            reason="not_audio",
        )
    if fmt == "wav" and _wav_truncated(data):
        raise InputError("WAV file is truncated: its data chunk is shorter than its header says", path=str(path), reason="truncated")
    try:
        audio, rate = _decode(data, fmt)
    except Exception as e:  # noqa: BLE001 - any decoder failure on one file is bad input, not a crash
        raise InputError(f"{fmt} data could not be decoded ({type(e).__name__}); the file is corrupt or truncated", path=str(path), reason="corrupt") from e
    channels, n = audio.shape
    if n == 0:
        raise InputError("no audio samples decoded", path=str(path), reason="corrupt")
    if not (options.min_sample_rate <= rate <= options.max_sample_rate):
        raise InputError(
            f"sample rate {rate} Hz is outside {options.min_sample_rate}-{options.max_sample_rate} Hz",
            path=str(path),
            reason="bad_sample_rate",
        )
    if channels > options.max_channels:
        raise InputError(f"{channels} channels; at most {options.max_channels} are supported", path=str(path), reason="too_many_channels")
    duration = n / rate
    if duration < options.min_duration_s:
        raise InputError(f"audio is {duration:.2f} s long, shorter than {options.min_duration_s} s", path=str(path), reason="too_short")
    if duration > options.max_duration_s:
        raise InputError(f"audio is {duration:.0f} s long, longer than {options.max_duration_s:.0f} s", path=str(path), reason="too_long")
    if not np.isfinite(audio).all():
        raise InputError("audio holds NaN or infinite samples", path=str(path), reason="corrupt")

    metadata = read_sidecar(item.sidecar) if item.sidecar else RecordingMetadata()
    if metadata.channel_map is not None and len(metadata.channel_map) != channels:
        raise InputError(
            f"sidecar channel_map names {len(metadata.channel_map)} channels but the audio has {channels}",
            path=str(item.sidecar),
            reason="bad_sidecar",
        )
    call_id = metadata.call_id or _default_call_id(path, sha256)
    source = Source(path=str(path), sha256=sha256, format=fmt, duration_s=duration, sample_rate=rate, channels=channels)
    return Recording(
        call_id=call_id,
        channel_type=metadata.channel_type or options.default_channel_type,
        source=source,
        metadata=metadata,
        audio=_resample(np.clip(audio, -1.0, 1.0), rate),
    )


def read_transcript_input(path: Path) -> tuple[TranscriptInput, Source]:
    """Read a chat / email / externally transcribed interaction (the transcript-input JSON format in README.md).

    Raises:
        InputError: unreadable, not JSON, or not the transcript format (reason bad_transcript).
    """
    data = _read_bounded(path, TRANSCRIPT_MAX_BYTES)
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON (line {getattr(e, 'lineno', '?')})", path=str(path), reason="bad_transcript") from None
    try:
        transcript = TranscriptInput.model_validate(parsed)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"transcript key '{key}': {err['msg']}", path=str(path), reason="bad_transcript") from None
    source = Source(path=str(path), sha256=sha256_bytes(data), format="transcript-json", duration_s=None, sample_rate=None, channels=None)
    return transcript, source


def fingerprint(item: InputItem, max_bytes: int = 2048 << 20) -> tuple[str, str]:
    """(call_id, sha256) of an input without decoding it: enough to tell whether it is already done.

    Raises:
        InputError: the file or its sidecar cannot be read.
    """
    if item.kind == "transcript":
        transcript, source = read_transcript_input(item.path)
        return transcript.call_id, source.sha256
    sha256 = sha256_bytes(_read_bounded(item.path, max_bytes))
    metadata = read_sidecar(item.sidecar) if item.sidecar else RecordingMetadata()
    return metadata.call_id or _default_call_id(item.path, sha256), sha256
