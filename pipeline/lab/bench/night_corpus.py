"""A simulated night's inputs: N calls of mixed kinds (stereo, mono, chat) and lengths.

The plan is drawn from a seeded generator, so the same N, mix, lengths and seed give the same
night on any machine. Audio calls reuse the benchmark corpus (`corpus.bench_call`: synthesised
once per length and layout, cached), hard-linked under the night's call ids; lengths are drawn on
a half-minute grid so a 500-call night synthesises at most a few dozen distinct recordings. Chat
transcripts are composed from the bundled chat sample's turns, cycled to the length.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.errors import ConfigError, InputError
from pipeline.lab.bench.corpus import bench_call, linked_copy
from pipeline.lab.bench.options import CorpusOptions
from pipeline.progress import ProgressHook

__all__ = ["Kind", "NightCall", "parse_mix", "plan_night", "compose_chat", "materialise_night"]

Kind = Literal["stereo", "mono", "chat"]
KINDS: tuple[Kind, ...] = ("stereo", "mono", "chat")
GRID_MIN = 0.5  # lengths are drawn on this grid (minutes): few distinct recordings to synthesise


@dataclass(frozen=True)
class NightCall:
    call_id: str
    kind: Kind
    minutes: float


def parse_mix(text: str) -> dict[Kind, float]:
    """'stereo:2,mono:1,chat:1' -> weights (pure).

    Raises:
        ConfigError: an unknown kind, a bad weight, or no positive weight.
    """
    weights: dict[Kind, float] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition(":")
        if name not in KINDS:
            raise ConfigError(f"unknown call kind {name!r} in --mix; use {', '.join(KINDS)}", file="<command line>",
                              key="--mix")
        try:
            weights[name] = float(value or 1)  # type: ignore[index]
        except ValueError:
            raise ConfigError(f"--mix weight for {name} is not a number", file="<command line>", key="--mix") from None
        if weights[name] < 0:  # type: ignore[index]
            raise ConfigError("--mix weights must not be negative", file="<command line>", key="--mix")
    if not any(w > 0 for w in weights.values()):
        raise ConfigError("--mix needs a positive weight", file="<command line>", key="--mix")
    return weights


def plan_night(n: int, *, mix: dict[Kind, float], min_minutes: float = 1.0, max_minutes: float = 8.0,
               length_scale: float = 1.0, seed: int = 19) -> list[NightCall]:
    """N calls: kinds drawn by `mix`, lengths uniform on [min, max] on a half-minute grid, then
    scaled by `length_scale` (pure, deterministic for a seed). Call ids night-0001...

    Raises:
        ConfigError: n < 1, or lengths out of order or not positive.
    """
    if n < 1:
        raise ConfigError("a night needs at least one call", file="<command line>", key="--night")
    if not 0 < min_minutes <= max_minutes or length_scale <= 0:
        raise ConfigError("call lengths must be positive, minimum <= maximum", file="<command line>",
                          key="--length-scale")
    rng = random.Random(seed)
    kinds = _allot(n, mix)
    rng.shuffle(kinds)
    steps = int(round((max_minutes - min_minutes) / GRID_MIN))
    calls = []
    for i, kind in enumerate(kinds, 1):
        minutes = min_minutes + GRID_MIN * rng.randint(0, steps)
        calls.append(NightCall(f"night-{i:04d}", kind, round(minutes * length_scale, 3)))
    return calls


def _allot(n: int, mix: dict[Kind, float]) -> list[Kind]:
    """n kinds in the mix's proportions exactly (largest remainders), so a small night is mixed too."""
    total = sum(mix.values())
    shares = {k: n * mix.get(k, 0) / total for k in KINDS}
    counts = {k: int(v) for k, v in shares.items()}
    for k in sorted(KINDS, key=lambda k: shares[k] - counts[k], reverse=True)[:n - sum(counts.values())]:
        counts[k] += 1
    return [k for k in KINDS for _ in range(counts[k])]


def _chat_sample() -> dict:
    calls = Path(__file__).resolve().parents[2] / "samples" / "calls"
    for path in sorted(calls.glob("*.transcript.json")):
        return json.loads(path.read_text(encoding="utf-8"))
    raise InputError("no bundled chat transcript to compose chats from", path="pipeline/samples/calls",
                     reason="missing")


def compose_chat(sample: dict, call_id: str, minutes: float) -> dict:
    """A chat transcript of about `minutes`: the sample's turns cycled, times shifted (pure)."""
    turns = sample["turns"]
    span = max(t["end_s"] for t in turns) + 5.0
    target = minutes * 60.0
    out, offset, i = [], 0.0, 0
    while not out or out[-1]["end_s"] < target:
        turn = turns[i % len(turns)]
        if i and i % len(turns) == 0:
            offset += span
        out.append({**turn, "start_s": round(turn["start_s"] + offset, 3), "end_s": round(turn["end_s"] + offset, 3)})
        i += 1
    return {**sample, "call_id": call_id, "turns": out}


def materialise_night(calls: list[NightCall], folder: Path, options: CorpusOptions, *, cache_root: Path,
                      progress: ProgressHook | None = None) -> dict[str, float]:
    """Write the night's inputs into `folder` (audio + sidecar, or a chat transcript per call).

    Returns:
        call id -> seconds of audio (0 for a chat).
    """
    folder.mkdir(parents=True, exist_ok=True)
    sources = {}
    audio_s: dict[str, float] = {}
    chat = None
    for done, call in enumerate(calls, 1):
        if call.kind == "chat":
            chat = chat or _chat_sample()
            path = folder / f"{call.call_id}.transcript.json"
            path.write_text(json.dumps(compose_chat(chat, call.call_id, call.minutes)), encoding="utf-8")
            audio_s[call.call_id] = 0.0
        else:
            key = (call.minutes, call.kind)
            if key not in sources:
                sources[key] = bench_call(call.minutes, call.kind, options, cache_root=cache_root)
            audio_s[call.call_id] = linked_copy(sources[key], call.call_id, folder).audio_s
        if progress:
            progress("night corpus", done, len(calls))
    return audio_s
