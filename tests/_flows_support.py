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


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# Folders under out/ that are not calls: the quarantine records and the redaction audit log.
NOT_CALLS = frozenset({"quarantine", "audit"})


def call_dirs(out: Path) -> list[Path]:
    """Visible call folders under out/ (not quarantine/ or audit/, not hidden temporary ones)."""
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_CALLS)
