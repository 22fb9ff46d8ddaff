"""Which recordings a nightly batch takes: a directory, a glob, or a manifest CSV.

Plain functions, no Prefect: the flow calls them, and so can a test.
"""

from __future__ import annotations

import csv
import glob
from datetime import datetime, timezone
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.ingest import InputItem, discover_inputs

__all__ = ["resolve_source", "find_inputs"]

_GLOB_CHARS = frozenset("*?[")


def _manifest_paths(manifest: Path) -> list[Path]:
    """The `path` column of a manifest CSV; relative paths are taken from the manifest's folder."""
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "path" not in reader.fieldnames:
                raise ConfigError(
                    f"a manifest needs a 'path' column; found {', '.join(reader.fieldnames or []) or 'no header'}",
                    file=str(manifest),
                )
            rows = [row["path"].strip() for row in reader if (row.get("path") or "").strip()]
    except OSError as e:
        raise ConfigError(f"cannot read the manifest ({e.strerror})", file=str(manifest)) from e
    except csv.Error as e:
        raise ConfigError(f"not a valid CSV file ({e})", file=str(manifest)) from None
    return [p if p.is_absolute() else manifest.parent / p for p in map(Path, rows)]


def resolve_source(source: str) -> list[Path]:
    """The paths a source names, before discovery.

    Args:
        source: a directory (its files, not recursive), a glob pattern (`/data/2026-11-23/*.wav`,
            `**` recurses), a manifest CSV with a `path` column, or one file.

    Returns:
        Paths in a stable order; a directory is returned as itself for `discover_inputs`.

    Raises:
        ConfigError: the source does not exist, or a manifest has no `path` column.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        return [path]
    if path.is_file():
        return _manifest_paths(path) if path.suffix.lower() == ".csv" else [path]
    if _GLOB_CHARS & set(source):
        return [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
    raise ConfigError("no such directory, file or manifest; pass a directory, a glob or a CSV with a path column",
                      file=source)


def _modified_since(path: Path, since: datetime) -> bool:
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return True  # let ingest report the file as missing or unreadable, with its reason
    return mtime >= since


def find_inputs(source: str, since: datetime | None = None) -> list[InputItem]:
    """The inputs of a batch: the source resolved, discovered, and filtered by modification time.

    Args:
        source: see `resolve_source`.
        since: keep only files modified at or after this time (naive times are taken as UTC);
            None keeps everything.

    Returns:
        Discovered inputs (audio with its sidecar, transcripts, and unsupported files to report).
    """
    items = discover_inputs(resolve_source(source))
    if since is None:
        return items
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return [item for item in items if _modified_since(item.path, since)]
