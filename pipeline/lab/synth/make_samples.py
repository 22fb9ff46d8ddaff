"""Regenerate the sample calls bundled with callqa: ``callqa make-samples``.

Reads pipeline/samples/samples.yaml (which scripts, in which layout) and the scripts under
pipeline/samples/scripts/, and writes audio, sidecars and the chat transcript to
pipeline/samples/calls/ and the timing truths to pipeline/samples/truth/. The output is
byte-identical on every run with the same piper-tts, voice and sox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.config import Options, load_yaml_model
from pipeline.lab.synth.render import SynthResult, synthesize_script, write_silent_recording
from pipeline.lab.scripts import load_script
from pipeline.progress import ProgressHook
from pipeline.lab.synth.voice import load_voice

__all__ = ["SampleEntry", "SilentEntry", "SamplesManifest", "samples_dir", "make_samples"]


class SampleEntry(Options):
    script: str = Field(description="File name under scripts/.")
    layout: Literal["stereo", "mono"] = "stereo"
    hold_audio: Literal["music", "silence"] = "music"


class SilentEntry(Options):
    call_id: str
    seconds: float = Field(6.0, gt=0, le=60)
    noise_floor_dbfs: float = Field(-72.0, le=-40)


class SamplesManifest(Options):
    samples: list[SampleEntry]
    silent: list[SilentEntry] = Field(default_factory=list)


def samples_dir() -> Path:
    """The packaged pipeline/samples/ folder."""
    return Path(__file__).resolve().parents[2] / "samples"


def make_samples(
    root: Path | None = None,
    *,
    calls_dir: Path | None = None,
    truth_dir: Path | None = None,
    progress: ProgressHook | None = None,
) -> list[SynthResult]:
    """Generate every sample listed in ``root/samples.yaml``.

    Args:
        root: the samples folder (default: the packaged pipeline/samples/).
        calls_dir: where audio, sidecars and transcripts go (default ``root/calls``).
        truth_dir: where truths go (default ``root/truth``).
        progress: the one progress hook, progress("samples", done, total).

    Returns:
        One result per sample (scripts first, then silent recordings).

    Raises:
        ConfigError / InputError: samples.yaml or a script is invalid or missing.
    """
    root = root or samples_dir()
    calls = calls_dir or root / "calls"
    truths = truth_dir or root / "truth"
    manifest = load_yaml_model(SamplesManifest, root / "samples.yaml")
    scripts = [(load_script(root / "scripts" / e.script), e) for e in manifest.samples]
    voice = load_voice() if any(s.channel_type != "digital" for s, _ in scripts) else None
    total = len(scripts) + len(manifest.silent)
    results: list[SynthResult] = []
    for script, entry in scripts:
        results.append(
            synthesize_script(
                script, calls, layout=entry.layout, hold_audio=entry.hold_audio, voice=voice, truth_dir=truths
            )
        )
        if progress:
            progress("samples", len(results), total)
    for silent in manifest.silent:
        results.append(
            write_silent_recording(
                silent.call_id, calls, seconds=silent.seconds, noise_floor_dbfs=silent.noise_floor_dbfs, truth_dir=truths
            )
        )
        if progress:
            progress("samples", len(results), total)
    return results

