"""Ingest: find inputs, fingerprint them, decode audio to 16 kHz per channel, read sidecars.

Every problem with one input raises `InputError` with a reason code, so a batch can record that
file as failed and go on. The content of a file decides its format, not its name: a text file
named .wav is rejected as "not_audio", not handed to a decoder that might guess.

Limits come before decoding (issue #16): sample rate, channels and duration are read from the
container's header and checked first, and the decode itself streams with a hard cap of
max_duration_s of samples, so a 10-hour file (or one whose header lies) is refused in
milliseconds and in no more memory than the longest call allowed, not decoded whole.

File names are not trusted to be free of personal data: a telephony export may name recordings
by the caller's number. A name that looks like a phone number, an e-mail address or a postcode
gets a keyed-digest call id, and is shown as `<withheld:CALL_ID>` in errors, logs and results
(`shown_path`), never as itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
    "parse_metadata",
    "customer_ref_digest",
    "sha256_bytes",
    "shown_path",
    "looks_personal",
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
                    log.debug("skipping %s: not an input type", Path(shown_path(f)).name)
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


@dataclass(frozen=True)
class _Header:
    """What a container says about its audio before any of it is decoded."""

    rate: int
    channels: int
    duration_s: float | None  # None: the container does not say (a raw stream, an unpatched header)


def _check_header(header: _Header, options: IngestOptions, shown: str) -> None:
    """The limits that can be told from the header alone, checked before a sample is decoded."""
    if not (options.min_sample_rate <= header.rate <= options.max_sample_rate):
        raise InputError(
            f"sample rate {header.rate} Hz is outside {options.min_sample_rate}-{options.max_sample_rate} Hz",
            path=shown,
            reason="bad_sample_rate",
        )
    if header.channels > options.max_channels:
        raise InputError(f"{header.channels} channels; at most {options.max_channels} are supported", path=shown,
                         reason="too_many_channels")
    if header.duration_s is not None and header.duration_s > options.max_duration_s:
        raise InputError(f"audio is {header.duration_s:.0f} s long (from its header), longer than {options.max_duration_s:.0f} s",
                         path=shown, reason="too_long")


class _Capped:
    """Decoded blocks, with a hard cap on samples per channel: the limit a lying header cannot move."""

    def __init__(self, header: _Header, options: IngestOptions, shown: str):
        self.header, self.options, self.shown = header, options, shown
        self.cap = math.floor(options.max_duration_s * header.rate)
        self.blocks: list[np.ndarray] = []
        self.samples = 0

    def add(self, block: np.ndarray) -> None:
        """Keep one (channels, samples) block, or stop the decode once the cap is passed."""
        self.samples += block.shape[1]
        if self.samples > self.cap:
            said = "no length" if self.header.duration_s is None else f"{self.header.duration_s:.0f} s"
            raise InputError(
                f"decoding stopped at {self.options.max_duration_s:.0f} s, the longest call allowed (the header said"
                f" {said}); the file is longer than its header says or damaged",
                path=self.shown,
                reason="too_long",
            )
        self.blocks.append(block)

    def audio(self) -> np.ndarray:
        if not self.blocks:
            raise ValueError("no audio frames decoded")
        if len(self.blocks) == 1:
            return np.ascontiguousarray(self.blocks[0], dtype=np.float32)
        return np.concatenate(self.blocks, axis=1).astype(np.float32, copy=False)


_SF_BLOCK = 1 << 16  # frames per soundfile read: 4 s at 16 kHz, small against any call


def _decode_soundfile(data: bytes, options: IngestOptions, shown: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(io.BytesIO(data)) as f:
        # libsndfile reports an unknown length as a huge count (an unpatched streaming header).
        declared = f.frames if 0 < f.frames < 2**62 else None
        header = _Header(int(f.samplerate), int(f.channels), declared / f.samplerate if declared else None)
        _check_header(header, options, shown)
        capped = _Capped(header, options, shown)
        while True:
            block = f.read(_SF_BLOCK, dtype="float32", always_2d=True)
            if not len(block):
                break
            capped.add(block.T)
        # libsndfile returns what it could decode of a damaged stream; a shortfall against the
        # header's frame count is corruption, not a short call.
        if declared and capped.samples < declared - f.samplerate // 100:
            raise ValueError(f"decoded {capped.samples} of {declared} frames")
        return capped.audio(), header.rate


def _av_duration(container: Any, stream: Any) -> float | None:
    """The container's own idea of the length: the stream's, else the container's (FFmpeg's estimate)."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _decode_av(data: bytes, options: IngestOptions, shown: str) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise ValueError("no audio stream")
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 1)
        header = _Header(rate, channels, _av_duration(container, stream))
        _check_header(header, options, shown)
        capped = _Capped(header, options, shown)
        # Frame by frame: a file is never decoded past the cap, whatever its header said.
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                capped.add(out.to_ndarray()[:channels])
        for out in resampler.resample(None):
            capped.add(out.to_ndarray()[:channels])
    return capped.audio(), rate


def _decode(data: bytes, fmt: str, options: IngestOptions, shown: str) -> tuple[np.ndarray, int]:
    # libsndfile is exact and fast for the formats it owns; PyAV (FFmpeg) covers the rest.
    if fmt in ("wav", "flac", "ogg"):
        return _decode_soundfile(data, options, shown)
    return _decode_av(data, options, shown)


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == TARGET_SAMPLE_RATE:
        return np.ascontiguousarray(audio, dtype=np.float32)
    import soxr

    return np.stack([soxr.resample(ch, rate, TARGET_SAMPLE_RATE, quality="HQ") for ch in audio]).astype(np.float32)


# ------------------------------------------------------------------ personal data in file names
# A date is the one long digit run a call's file name routinely holds ("2026-11-01_143000"): it
# is taken out (with a time after it) before digits are counted. Any other run of 7 or more
# digits, however grouped ("07700 900123", "+44-7700-900-123", "(0113) 496 0000"), is taken for a
# phone number: a false alarm costs a less readable call id, a miss puts a caller's number into
# folder names, logs and the index. `ingest.trusted_call_id_pattern` vouches for a site's own ids.
_DATE_TIME = re.compile(
    r"(?<!\d)(?:19|20)\d\d([-_.]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T_. -]?(?:[01]\d|2[0-3])([-_.:]?)[0-5]\d(?:\2[0-5]\d)?)?(?!\d)"
)
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-_]*\d)*")
_MIN_PHONE_DIGITS = 7
_PERSONAL_PATTERNS = (
    re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}"),  # an e-mail address
    # a UK postcode, outward and inward code with or without a separator ("LS1 4AB", "sw1a_1aa")
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d[A-Za-z\d]?[\s_.-]?\d[A-Za-z]{2}(?![A-Za-z0-9])"),
)
# Domain separation: a call id digest must never equal the digest of the same value as a finding.
_CALL_ID_LABEL = "callqa/call-id/v1:"
_WITHHELD = "<withheld>"


def looks_personal(text: str) -> bool:
    """True when `text` (a file name, a call id) may hold a phone number, an e-mail address or a postcode."""
    if any(pattern.search(text) for pattern in _PERSONAL_PATTERNS):
        return True
    undated = _DATE_TIME.sub(" ", text)
    return any(sum(c.isdigit() for c in run.group()) >= _MIN_PHONE_DIGITS for run in _DIGIT_RUN.finditer(undated))


def _trusted(value: str, options: IngestOptions | None) -> bool:
    pattern = options.trusted_call_id_pattern if options is not None else None
    return pattern is not None and re.fullmatch(pattern, value) is not None


def _strip_suffix(name: str) -> str:
    for suffix in (".transcript.json", ".json") + tuple(AUDIO_EXTENSIONS):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _bare_stem(name: str) -> str:
    """The name without every known suffix, so `x.wav` and its sidecar `x.wav.json` give the same."""
    while (shorter := _strip_suffix(name)) != name and shorter:
        name = shorter
    return name


def _personal_name(name: str, options: IngestOptions | None) -> bool:
    stem = _strip_suffix(name)
    return looks_personal(stem) and not _trusted(stem, options)


def _withheld_call_id(name: str, key: bytes | None) -> str | None:
    """`call-<16 hex>`: a keyed digest of the name, the same for the same name under the same key."""
    if key is None:
        return None
    from pipeline.redact import hmac_value

    return f"call-{hmac_value(key, _CALL_ID_LABEL + _bare_stem(name))[:16]}"


def shown_path(path: Path, call_id_key: bytes | None = None, options: IngestOptions | None = None) -> str:
    """The path as errors, logs, outcomes and results may show it: personal-looking names withheld.

    A file name that looks like personal data becomes `<withheld:CALL_ID>` plus its extension
    (`<withheld>` without a key); a folder name that does, `<withheld>`. Other names are kept.

    Args:
        path: the input as given.
        call_id_key: the redaction key (the withheld name then shows the call id it was given).
        options: ingest options (`trusted_call_id_pattern`).
    """
    parts = list(path.parts)
    for i, part in enumerate(parts[:-1]):
        if part not in (path.anchor, "..", ".") and looks_personal(part):
            parts[i] = _WITHHELD
    if parts and _personal_name(parts[-1], options):
        call_id = _withheld_call_id(parts[-1], call_id_key)
        suffix = parts[-1][len(_bare_stem(parts[-1])):]
        parts[-1] = (f"<withheld:{call_id}>" if call_id else _WITHHELD) + suffix
    return str(Path(*parts)) if parts else str(path)


def _default_call_id(path: Path, sha256: str, key: bytes | None, options: IngestOptions | None) -> str:
    if _personal_name(path.name, options):
        # Without the key the id comes from the content, which says nothing about the name.
        return _withheld_call_id(path.name, key) or f"call-{sha256[:16]}"
    candidate = re.sub(r"[^A-Za-z0-9._-]", "_", _strip_suffix(path.name)).strip("._-")[:128]
    return candidate if candidate and is_valid_call_id(candidate) else f"call-{sha256[:16]}"


def _check_explicit_call_id(call_id: str | None, options: IngestOptions | None, where: str, shown: str, reason: str) -> None:
    """Refuse a declared call id that looks like personal data (the value is never quoted).

    Refused, not digested: a sidecar's or transcript's id is the site's own key into its systems,
    and replacing it silently would break that link unseen; a refusal names the fix.
    """
    if call_id is not None and looks_personal(call_id) and not _trusted(call_id, options):
        raise InputError(
            f"{where} call_id looks like personal data (a phone number, e-mail address or postcode), and call ids"
            " name folders, log lines and index rows; give a reference that is not personal data, or set"
            " ingest.trusted_call_id_pattern to vouch for your id format",
            path=shown,
            reason=reason,
        )


_SAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]")


def read_sidecar(path: Path, options: IngestOptions | None = None, *, call_id_key: bytes | None = None) -> RecordingMetadata:
    """Read a metadata sidecar; unknown keys are dropped with a warning, bad values are errors.

    Args:
        path: the sidecar.
        options: ingest options (`trusted_call_id_pattern`); None: the defaults.
        call_id_key: the redaction key, for showing a personal-looking name (see `shown_path`).

    Raises:
        InputError: unreadable, too large, not a JSON object, a known key with a bad value, or a
            call_id that looks like personal data.
    """
    shown = shown_path(path, call_id_key, options)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read sidecar ({e.strerror})", path=shown, reason="bad_sidecar") from e
    if len(raw) > SIDECAR_MAX_BYTES:
        raise InputError("sidecar larger than 1 MiB", path=shown, reason="bad_sidecar")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"sidecar is not valid JSON (line {getattr(e, 'lineno', '?')})", path=shown, reason="bad_sidecar") from None
    if not isinstance(data, dict):
        raise InputError("sidecar must be a JSON object", path=shown, reason="bad_sidecar")
    metadata = parse_metadata(data, shown, where="sidecar", reason="bad_sidecar", key=call_id_key)
    _check_explicit_call_id(metadata.call_id, options, "the sidecar's", shown, "bad_sidecar")
    return metadata


# Keys a sidecar or a transcript's metadata may give. `customer_digest` is not one: it is made
# here from `customer_ref` under the site's key, and a digest handed in would skip that key.
_INPUT_KEYS = frozenset(RecordingMetadata.model_fields) - {"customer_digest"} | {"customer_ref"}
_CUSTOMER_REF_MAX = 128
# Domain separation: the customer reference's digests come from their own key, derived from the
# redaction key, so they are never comparable with PII value digests or call id digests.
_CUSTOMER_LABEL = b"callqa/customer-ref/v1"
# Labels named by the phone system: refused when they look like a number or an address.
_LABEL_KEYS = ("queue", "disposition")


def customer_ref_digest(key: bytes, customer_ref: str) -> str:
    """Hex HMAC-SHA256 of a customer reference (trimmed, spaces collapsed, case folded) under a key
    derived from the redaction key: the same customer gives the same digest in every call."""
    import hmac
    import unicodedata

    derived = hmac.new(key, _CUSTOMER_LABEL, hashlib.sha256).digest()
    normalised = " ".join(unicodedata.normalize("NFKC", customer_ref).split()).casefold()
    return hmac.new(derived, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_metadata(data: dict[str, Any], shown: str, *, where: str, reason: str, key: bytes | None) -> RecordingMetadata:
    """A sidecar's or a transcript's metadata, checked: unknown keys dropped with a warning,
    `customer_ref` replaced by its keyed digest, bad values refused.

    Errors and warnings name the key, never its value: a value may be personal data.

    Args:
        data: the metadata object as parsed from JSON.
        shown: the input's path as it may be shown.
        where: "sidecar" or "transcript metadata", for messages.
        reason: the InputError reason code.
        key: the redaction key; without one a customer_ref is dropped (with a warning).

    Raises:
        InputError: a known key with a bad value (type, range, length, characters), or a label
            that looks like personal data.
    """
    data = dict(data)
    for name in [k for k in data if k not in _INPUT_KEYS]:
        # Unknown keys may hold personal data: drop them; name the key (sanitised), never the value.
        log.warning("%s: ignoring unknown %s key '%s'", Path(shown).name, where, _SAFE_KEY.sub("?", str(name))[:40])
        del data[name]
    ref = data.pop("customer_ref", None)
    if ref is not None:
        if not isinstance(ref, (str, int)) or isinstance(ref, bool) or not str(ref).strip() \
                or len(str(ref)) > _CUSTOMER_REF_MAX or not str(ref).isprintable():
            raise InputError(f"{where} key 'customer_ref': must be a non-empty one-line string or integer of at most "
                             f"{_CUSTOMER_REF_MAX} characters", path=shown, reason=reason)
        if key is None:
            log.warning("%s: ignoring %s key 'customer_ref': no redaction key to digest it with", Path(shown).name, where)
        else:
            data["customer_digest"] = customer_ref_digest(key, str(ref))
    try:
        metadata = RecordingMetadata.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{where} key '{name}': {err['msg']}", path=shown, reason=reason) from None
    for name in _LABEL_KEYS:
        value = getattr(metadata, name)
        if value is not None and looks_personal(value):
            raise InputError(f"{where} key '{name}' looks like personal data (a phone number, e-mail address or "
                             "postcode); give the site's code for it instead", path=shown, reason=reason)
    return metadata


def _read_bounded(path: Path, limit: int, shown: str) -> bytes:
    if not path.exists():
        raise InputError("file not found", path=shown, reason="not_found")
    if not path.is_file():
        raise InputError("not a regular file", path=shown, reason="not_a_file")
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=shown, reason="empty")
    if size > limit:
        raise InputError(f"file is {size / 2**20:.0f} MiB, over the {limit / 2**20:.0f} MiB limit", path=shown, reason="too_large")
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=shown, reason="unreadable") from e


def ingest(item: InputItem | Path, options: IngestOptions, *, call_id_key: bytes | None = None) -> Recording:
    """Decode one audio input into a 16 kHz float32 `Recording`, one row per channel.

    Sample rate, channels and duration are checked from the container's header before decoding,
    and the decode stops at max_duration_s whatever the header said (see the module docstring).

    Args:
        item: the input (a discovered item, or a path whose sidecar is looked up beside it).
        options: limits on duration, sample rate, channels and size; the trusted call id pattern.
        call_id_key: the redaction key: a file name that looks like personal data gets the call id
            `call-<keyed digest of the name>` (without a key, `call-<digest of the content>`).

    Returns:
        The decoded recording with its source fingerprint and metadata; `source.path` is
        `shown_path` of the input (a personal-looking name withheld).

    Raises:
        InputError: with `reason` one of not_found, empty, too_large, unreadable, not_audio,
            unsupported_format, corrupt, truncated, bad_sample_rate, too_many_channels,
            too_short, too_long, bad_sidecar.
    """
    if isinstance(item, Path):
        item = InputItem(item, "audio", _sidecar_for(item))
    path = item.path
    shown = shown_path(path, call_id_key, options)
    if path.suffix.lower() in UNSUPPORTED_MEDIA:
        raise InputError(
            f"format '{path.suffix}' is not supported; convert to one of {', '.join(sorted(AUDIO_EXTENSIONS))}",
            path=shown,
            reason="unsupported_format",
        )
    data = _read_bounded(path, int(options.max_file_mb * 2**20), shown)
    sha256 = sha256_bytes(data)
    fmt = _sniff(data)
    if fmt is None:
        raise InputError(
            f"content is not audio callqa can read (named {path.suffix or 'without extension'}; expected WAV, FLAC,"
            " MP3, Ogg/Opus or M4A data)",
            path=shown,
            reason="not_audio",
        )
    if fmt == "wav" and _wav_truncated(data):
        raise InputError("WAV file is truncated: its data chunk is shorter than its header says", path=shown, reason="truncated")
    try:
        audio, rate = _decode(data, fmt, options, shown)
    except InputError:
        raise  # a limit, checked from the header or met while decoding
    except Exception as e:  # noqa: BLE001 - any decoder failure on one file is bad input, not a crash
        raise InputError(f"{fmt} data could not be decoded ({type(e).__name__}); the file is corrupt or truncated", path=shown, reason="corrupt") from e
    del data  # the encoded bytes are not needed beside the samples
    channels, n = audio.shape
    if n == 0:
        raise InputError("no audio samples decoded", path=shown, reason="corrupt")
    duration = n / rate
    if duration < options.min_duration_s:
        raise InputError(f"audio is {duration:.2f} s long, shorter than {options.min_duration_s} s", path=shown, reason="too_short")
    if not np.isfinite(audio).all():
        raise InputError("audio holds NaN or infinite samples", path=shown, reason="corrupt")

    metadata = read_sidecar(item.sidecar, options, call_id_key=call_id_key) if item.sidecar else RecordingMetadata()
    if metadata.channel_map is not None and len(metadata.channel_map) != channels:
        raise InputError(
            f"sidecar channel_map names {len(metadata.channel_map)} channels but the audio has {channels}",
            path=shown_path(item.sidecar, call_id_key, options),
            reason="bad_sidecar",
        )
    call_id = metadata.call_id or _default_call_id(path, sha256, call_id_key, options)
    source = Source(path=shown, sha256=sha256, format=fmt, duration_s=duration, sample_rate=rate, channels=channels)
    return Recording(
        call_id=call_id,
        channel_type=metadata.channel_type or options.default_channel_type,
        source=source,
        metadata=metadata,
        audio=_resample(np.clip(audio, -1.0, 1.0), rate),
    )


def read_transcript_input(path: Path, options: IngestOptions | None = None, *,
                          call_id_key: bytes | None = None) -> tuple[TranscriptInput, Source]:
    """Read a chat / email / externally transcribed interaction (the transcript-input JSON format in README.md).

    Args:
        path: the transcript JSON.
        options: ingest options (`trusted_call_id_pattern`); None: the defaults.
        call_id_key: the redaction key, for showing a personal-looking name (see `shown_path`).

    Raises:
        InputError: unreadable, not JSON, not the transcript format, or a call_id that looks like
            personal data (reason bad_transcript).
    """
    shown = shown_path(path, call_id_key, options)
    data = _read_bounded(path, TRANSCRIPT_MAX_BYTES, shown)
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON (line {getattr(e, 'lineno', '?')})", path=shown, reason="bad_transcript") from None
    try:
        transcript = TranscriptInput.model_validate(parsed)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"transcript key '{key}': {err['msg']}", path=shown, reason="bad_transcript") from None
    _check_explicit_call_id(transcript.call_id, options, "the transcript's", shown, "bad_transcript")
    metadata = parse_metadata(transcript.metadata, shown, where="transcript metadata", reason="bad_transcript",
                              key=call_id_key)
    # The checked metadata replaces what was given: a customer_ref never travels past ingest.
    transcript = transcript.model_copy(update={"metadata": metadata.model_dump(exclude_none=True)})
    source = Source(path=shown, sha256=sha256_bytes(data), format="transcript-json", duration_s=None, sample_rate=None, channels=None)
    return transcript, source


def fingerprint(item: InputItem, max_bytes: int = 2048 << 20, *, options: IngestOptions | None = None,
                call_id_key: bytes | None = None) -> tuple[str, str]:
    """(call_id, sha256) of an input without decoding it: enough to tell whether it is already done.

    Args:
        item: the input.
        max_bytes: the size limit.
        options, call_id_key: as given to `ingest`, so the call id is the one `ingest` gives.

    Raises:
        InputError: the file or its sidecar cannot be read.
    """
    if item.kind == "transcript":
        transcript, source = read_transcript_input(item.path, options, call_id_key=call_id_key)
        return transcript.call_id, source.sha256
    shown = shown_path(item.path, call_id_key, options)
    sha256 = sha256_bytes(_read_bounded(item.path, max_bytes, shown))
    metadata = read_sidecar(item.sidecar, options, call_id_key=call_id_key) if item.sidecar else RecordingMetadata()
    return metadata.call_id or _default_call_id(item.path, sha256, call_id_key, options), sha256
