"""Private, durable files: what holds digests, results or the audit trail is its owner's only
(0600 files, 0700 folders, whatever the umask) and reaches the disk before anything relies on it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "write_private", "private_dir"]


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a new or renamed file in it) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (0600), flushed to disk before it is used."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)  # an existing file keeps its mode on open


def private_dir(path: Path) -> Path:
    """Create a folder (and its parents) that only its owner may enter (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
