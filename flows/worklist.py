"""A batch's work list: which file each task run processes, kept out of Prefect.

Task-run names and parameters are stored by Prefect (its database, its UI, its logs). A telephony
export names files by the caller's number, so a file name may never reach them: the flow writes
`out/.callqa/work/<uuid>.json` (0600, in a 0700 folder), mapping each input's key (its call id,
or `input-<n>` for a file whose call id cannot be read) to its path, kind and sidecar, and hands
the tasks the keys and this file's path. The list is deleted when the batch ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path

from pipeline.ingest import InputItem
from pipeline.files import private_dir, write_private

__all__ = ["Work", "write_worklist", "read_worklist", "work_item", "remove_worklist"]


class Work(dict):
    """key -> InputItem (a plain mapping, in the order the inputs were found)."""


def write_worklist(work_dir: Path, keyed: Iterable[tuple[str, InputItem]]) -> Path:
    """Write the work list of a batch and return its path (absolute: workers may run elsewhere)."""
    private_dir(work_dir)
    target = work_dir.resolve() / f"{uuid.uuid4().hex}.json"
    data = {key: {"path": str(item.path.resolve()), "kind": item.kind,
                  "sidecar": str(item.sidecar.resolve()) if item.sidecar else None} for key, item in keyed}
    write_private(target, json.dumps(data).encode("utf-8"))
    return target


def read_worklist(worklist: str | Path) -> Work:
    data = json.loads(Path(worklist).read_text(encoding="utf-8"))
    return Work({key: InputItem(Path(v["path"]), v["kind"], Path(v["sidecar"]) if v["sidecar"] else None)
                 for key, v in data.items()})


def work_item(worklist: str | Path, key: str) -> InputItem:
    """The input a task's key names in the work list.

    Raises:
        KeyError: the key is not in the list (e.g. the call was erased while the batch ran).
    """
    return read_worklist(worklist)[key]


def remove_worklist(worklist: Path) -> None:
    worklist.unlink(missing_ok=True)
