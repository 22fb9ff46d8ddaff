"""Where the muted non-PII speech of a re-redacted challenge run comes from (issue #15).

`callqa eval --outputs` says HOW MUCH non-PII speech the redacted audio mutes; this says WHY.
Each muted non-PII speech frame (the scorer's own definition: `eval_outputs.nonpii_speech_frames`
and `muted_frames`) is given to the first cause, in this order, whose span holds it in that
channel, from the `redo.json` that `callqa challenge redo` writes beside each call:

1. `<recogniser>` - inside a finding's own time span (its words, reaching into the silence
   beside them: `text._times`), muted in the channels `audio._finding_channel_spans` mutes;
2. `<recogniser>:pad` - inside that span's `audio.padding_ms` only;
3. `merge_gap` - between two findings' padded spans closer than `audio.merge_gap_ms`;
4. `unaligned_speech` / `unaligned_other` - a coverage stretch (speech no kept word covered;
   Silero heard speech in it or not);
5. `unexplained` - none of those (the scorer's "muted" test on a frame that was not muted).

Each cause's seconds are split by the frame's distance from the nearest labelled value's
estimated time on the same channel (`eval_outputs.value_spans`, not widened): `near` (at most
`near_s`: the value's time estimate, or the finding's padding, being off), `mid` (up to
`far_s`), `far` (beyond: nothing to do with a value). Counts and seconds only, never a value
or a word.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.redact.audio import GAP_RECOGNIZERS

__all__ = ["CauseSeconds", "Attribution", "attribute_call", "attribute_run", "CAUSE_ORDER"]

CAUSE_ORDER = ("finding", "pad", "merge_gap", "unaligned_speech", "unaligned_other", "unexplained")


class CauseSeconds(BaseModel):
    """Muted non-PII speech seconds of one cause, by distance from the nearest value."""

    model_config = ConfigDict(extra="forbid")

    near_s: float = 0.0
    mid_s: float = 0.0
    far_s: float = 0.0
    calls: int = Field(0, description="Calls where this cause muted any non-PII speech.")

    @property
    def total_s(self) -> float:
        return self.near_s + self.mid_s + self.far_s


class Attribution(BaseModel):
    """Muted non-PII speech seconds per cause (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    non_pii_speech_s: float = 0.0
    muted_s: float = 0.0
    near_s: float = Field(0.5, description="Distance bound of `near`.")
    far_s: float = Field(2.0, description="Distance bound of `mid`; beyond is `far`.")
    causes: dict[str, CauseSeconds] = Field(default_factory=dict)

    def add(self, other: "Attribution") -> None:
        self.calls += other.calls
        self.non_pii_speech_s += other.non_pii_speech_s
        self.muted_s += other.muted_s
        for name, c in other.causes.items():
            mine = self.causes.setdefault(name, CauseSeconds())
            mine.near_s += c.near_s
            mine.mid_s += c.mid_s
            mine.far_s += c.far_s
            mine.calls += c.calls

    def rounded(self) -> "Attribution":
        causes = {k: CauseSeconds(near_s=round(v.near_s, 2), mid_s=round(v.mid_s, 2), far_s=round(v.far_s, 2),
                                  calls=v.calls)
                  for k, v in sorted(self.causes.items(), key=lambda kv: -kv[1].total_s)}
        return Attribution(calls=self.calls, non_pii_speech_s=round(self.non_pii_speech_s, 2),
                           muted_s=round(self.muted_s, 2), near_s=self.near_s, far_s=self.far_s, causes=causes)


def _finding_targets(finding: dict, n_channels: int, finding_channels: str) -> list[int]:
    """The channels `audio._finding_channel_spans` mutes a finding in (coverage on)."""
    channel = finding.get("channel")
    if n_channels == 1 or finding_channels == "all" or channel is None or not 0 <= channel < n_channels:
        return list(range(n_channels))
    if finding["recognizer"] in GAP_RECOGNIZERS:
        return [c for c in range(n_channels) if c != channel]
    return [channel]


def _cause_label(finding: dict) -> str:
    name = finding["recognizer"]
    return name.split(":", 1)[0] if name.startswith("residual:") else name


def cause_masks(redo: dict, n_channels: int, n_frames: int, frame_s: float, padding_s: float, merge_gap_s: float,
                finding_channels: str = "own") -> list[tuple[str, np.ndarray]]:
    """(cause, (channels, frames) mask) in attribution order, from one call's redo.json."""
    def sl(t0: float, t1: float) -> slice:
        return slice(max(0, int(np.floor(t0 / frame_s))), min(n_frames, int(np.ceil(t1 / frame_s))))

    core: dict[str, np.ndarray] = {}
    pad: dict[str, np.ndarray] = {}
    padded = [[] for _ in range(n_channels)]
    for f in redo.get("findings", []):
        if f.get("start_s") is None or f.get("end_s") is None:
            continue
        label = _cause_label(f)
        core.setdefault(label, np.zeros((n_channels, n_frames), dtype=bool))
        pad.setdefault(label + ":pad", np.zeros((n_channels, n_frames), dtype=bool))
        for c in _finding_targets(f, n_channels, finding_channels):
            core[label][c, sl(f["start_s"], f["end_s"])] = True
            pad[label + ":pad"][c, sl(f["start_s"] - padding_s, f["end_s"] + padding_s)] = True
            padded[c].append((f["start_s"] - padding_s, f["end_s"] + padding_s))
    merge = np.zeros((n_channels, n_frames), dtype=bool)
    for c, spans in enumerate(padded):
        spans.sort()
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            if a1 < b0 <= a1 + merge_gap_s:
                merge[c, sl(a1, b0)] = True
    speech = np.zeros((n_channels, n_frames), dtype=bool)
    other = np.zeros((n_channels, n_frames), dtype=bool)
    for s in redo.get("unaligned", []):
        if 0 <= s["channel"] < n_channels:
            (speech if s.get("speech_like", True) else other)[s["channel"], sl(s["start_s"], s["end_s"])] = True
    return ([(k, v) for k, v in sorted(core.items())] + [(k, v) for k, v in sorted(pad.items())]
            + [("merge_gap", merge), ("unaligned_speech", speech), ("unaligned_other", other)])


def _distance_frames(spans: list[tuple[int, float, float]], n_channels: int, n_frames: int,
                     frame_s: float) -> np.ndarray:
    """(channels, frames) seconds from each frame to the nearest value span on its channel (inf: none)."""
    dist = np.full((n_channels, n_frames), np.inf)
    t = (np.arange(n_frames) + 0.5) * frame_s
    for ch, t0, t1 in spans:
        d = np.maximum(0.0, np.maximum(t0 - t, t - t1))
        dist[ch] = np.minimum(dist[ch], d)
    return dist


def attribute_call(script, truth, original: np.ndarray, redacted: np.ndarray | None, redo: dict, *,
                   padding_s: float, merge_gap_s: float, finding_channels: str = "own", margin_s: float = 0.35,
                   near_s: float = 0.5, far_s: float = 2.0,
                   spoken_length: Callable[[str], int] = len) -> Attribution:
    """One call's muted non-PII speech, attributed (see the module docstring)."""
    from pipeline.lab.eval_outputs import FRAME_S, SAMPLE_RATE, muted_frames, nonpii_speech_frames, value_spans

    n_frames = int(original.shape[1] / (SAMPLE_RATE * FRAME_S))
    channels = original.shape[0]
    nonpii, _ = nonpii_speech_frames(script, truth, original, n_frames, margin_s, spoken_length)
    left = nonpii & muted_frames(original, redacted, n_frames)
    dist = _distance_frames([(c, a, b) for c, a, b, _ in value_spans(script, truth, channels, spoken_length)],
                            channels, n_frames, FRAME_S)
    result = Attribution(calls=1, non_pii_speech_s=float(nonpii.sum()) * FRAME_S, muted_s=float(left.sum()) * FRAME_S,
                         near_s=near_s, far_s=far_s)
    masks = cause_masks(redo, channels, n_frames, FRAME_S, padding_s, merge_gap_s, finding_channels)
    masks.append(("unexplained", np.ones_like(left)))
    for name, mask in masks:
        mine = left & mask
        if not mine.any():
            continue
        left &= ~mask
        d = dist[mine]
        result.causes[name] = CauseSeconds(
            near_s=float((d <= near_s).sum()) * FRAME_S, mid_s=float(((d > near_s) & (d <= far_s)).sum()) * FRAME_S,
            far_s=float((d > far_s).sum()) * FRAME_S, calls=1)
    return result


def attribute_run(scripts_dir: Path, audio_dir: Path, redo_dir: Path, settings, *, margin_s: float = 0.35,
                  near_s: float = 0.5, far_s: float = 2.0, spoken_length: Callable[[str], int] = len,
                  progress=None) -> Attribution:
    """Attribute the muted non-PII speech of every call `callqa challenge redo` wrote to `redo_dir`.

    Raises:
        InputError: a call's redo.json, audio or truth is missing.
    """
    import soundfile as sf

    from pipeline.errors import InputError
    from pipeline.lab.eval_outputs import _original
    from pipeline.lab.scripts import load_scripts
    from pipeline.lab.truth import load_truth

    audio_dir, redo_dir = Path(audio_dir), Path(redo_dir)
    ids = sorted(p.parent.name for p in redo_dir.glob("*/redo.json"))
    if not ids:
        raise InputError("no <call_id>/redo.json here (callqa challenge redo writes them)", path=str(redo_dir),
                         reason="empty")
    scripts = {s.call_id: s for s in load_scripts(scripts_dir, call_ids=ids)}
    audio_opts = settings.redact.audio
    total = Attribution(near_s=near_s, far_s=far_s)
    for n, cid in enumerate(ids):
        flac = audio_dir / f"{cid}.flac"
        if cid not in scripts or not flac.is_file():
            raise InputError("no script or no synthesised audio for this redone call", path=str(flac), reason="missing")
        redo = json.loads((redo_dir / cid / "redo.json").read_text(encoding="utf-8"))
        wav = redo_dir / cid / "audio.redacted.wav"
        redacted = sf.read(str(wav), dtype="float32", always_2d=True)[0].T if wav.is_file() else None
        sidecar = audio_dir / f"{cid}.json"
        original = _original(flac, sidecar if sidecar.is_file() else None, settings)
        total.add(attribute_call(
            scripts[cid], load_truth(audio_dir / "truth" / f"{cid}.json"), original, redacted, redo,
            padding_s=audio_opts.padding_ms / 1000, merge_gap_s=audio_opts.merge_gap_ms / 1000,
            finding_channels=audio_opts.finding_channels, margin_s=margin_s, near_s=near_s, far_s=far_s,
            spoken_length=spoken_length))
        if progress:
            progress("calls", n + 1, len(ids))
    return total.rounded()
