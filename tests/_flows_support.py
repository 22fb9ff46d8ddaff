"""Helpers for the flow tests: an offline Prefect environment and small batches of bundled calls."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from flows.env import OFFLINE_SETTINGS
from tests._paths import SAMPLE_CALLS as SAMPLES

# The shortest stereo call (no pyannote needed) and the chat transcript keep a flow run short.
AUDIO_CALL = "sample-004"
TRANSCRIPT_CALL = "sample-005"
CORRUPT_NAME = "broken-001.wav"
TEST_REDACTION_KEY = "callqa-flow-tests-key-0123456789"


def offline_env(prefect_home: Path) -> dict[str, str]:
    """Environment for a test session: no Prefect server or network, a private PREFECT_HOME."""
    env = dict(OFFLINE_SETTINGS)
    env["PREFECT_HOME"] = str(prefect_home)
    env["CALLQA_REDACTION_KEY"] = TEST_REDACTION_KEY
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    return env


def make_batch(folder: Path, *, audio: bool = True, transcript: bool = True, corrupt: bool = True) -> dict[str, Path]:
    """Copy bundled calls (and a corrupt file) into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    if audio:
        for suffix in (".flac", ".json"):
            shutil.copy2(SAMPLES / f"{AUDIO_CALL}{suffix}", folder / f"{AUDIO_CALL}{suffix}")
        made[AUDIO_CALL] = folder / f"{AUDIO_CALL}.flac"
    if transcript:
        shutil.copy2(SAMPLES / f"{TRANSCRIPT_CALL}.transcript.json", folder / f"{TRANSCRIPT_CALL}.transcript.json")
        made[TRANSCRIPT_CALL] = folder / f"{TRANSCRIPT_CALL}.transcript.json"
    if corrupt:
        bad = folder / CORRUPT_NAME
        # Text where audio should be: the content decides the format, so ingest says not_audio.
        bad.write_bytes(b"SECRET-CONTENT-NOT-AUDIO " * 40)
        made["corrupt"] = bad
    return made


def make_silent_stereo(folder: Path, call_id: str = "fp-stereo", *, agent_id: str = "A-001") -> tuple[Path, Path]:
    """A 2 s silent stereo WAV and its sidecar: the cheapest audio input with a sidecar (silence
    is not decoded, and stereo needs no diarisation model). Returns (audio, sidecar)."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{call_id}.wav"
    sf.write(audio, np.zeros((32000, 2), dtype=np.float32), 16000, subtype="PCM_16")
    sidecar = folder / f"{call_id}.json"
    write_sidecar(sidecar, call_id, agent_id=agent_id)
    return audio, sidecar


def write_sidecar(sidecar: Path, call_id: str, *, agent_id: str) -> None:
    sidecar.write_text(json.dumps({"call_id": call_id, "channel_type": "telephone", "agent_id": agent_id}),
                       encoding="utf-8")


def copy_manifest(target: Path) -> Path:
    """A copy of the packaged model manifest, for a site config to point at (never edit the real one)."""
    import importlib.resources

    shutil.copy2(Path(str(importlib.resources.files("pipeline._models"))) / "manifest.yaml", target)
    return target


def touch_manifest(manifest: Path) -> None:
    """Change the manifest as loaded (a licence line of a model no test runs), not just its bytes."""
    import yaml

    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    entry = next(m for m in data["models"] if m["name"] == "large-v3-turbo")
    entry["licence"] = entry["licence"] + " (site copy)"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# Folders under out/ that are not calls: the quarantine records and the redaction audit log.
NOT_CALLS = frozenset({"quarantine", "audit"})


def call_dirs(out: Path) -> list[Path]:
    """Visible call folders under out/ (not quarantine/ or audit/, not hidden temporary ones)."""
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_CALLS)
