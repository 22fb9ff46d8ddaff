"""The redaction audit log: append-only JSON lines, each record chained to the one before by a keyed hash.

Every record carries `seq` (0, 1, 2, ...), `key_id` (the audit key's non-secret id),
`prev_hash` (the previous record's `record_hash`; 64 zeros for the first) and `record_hash` =
HMAC-SHA256 under the audit key (pipeline.redact.keys.audit_key) of its own canonical JSON
without `record_hash`. Without the key nobody can edit a record and re-hash the chain.
Records hold positions, recognisers, scores and HMACs of values, never a value.

The head (record count, last hash, key id) is anchored in the results index on every append
(pipeline.store.write_audit_head) when the caller passes the index, and kept beside the log in
`<log>.head` for a log used without an index; the index is the authority. Appends fsync the log
(and its folder when they create it); the log is created 0600 in a folder created 0700.

A half-written last line (power loss, full disk) never stops an append: the next record starts
on a new line after it, and `repair_log` (`callqa audit repair`) moves such lines to a
quarantine file and records the repair in the chain.

`verify_log` names what it finds: changed, inserted, removed, reordered, truncated, rewritten,
wrong_key, unkeyed, torn, missing_log, not_anchored, unaudited_calls.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError, InputError
from pipeline.files import fsync_dir
from pipeline.redact.keys import AuditKey, audit_key, hmac_value
from pipeline.redact.normalise import normalise_value
from pipeline.schema import PII_TYPES

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = [
    "GENESIS",
    "AuditRecord",
    "Problem",
    "VerifyReport",
    "RepairReport",
    "AuditReport",
    "ValueMatch",
    "append_records",
    "append_call",
    "anchor_log",
    "chain_name",
    "logged_calls",
    "verify_log",
    "repair_log",
    "read_log",
    "report",
    "find_value",
]

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_LOG_MODE = 0o600
_DIR_MODE = 0o700


class AuditRecord(BaseModel):
    """One line of the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=0)
    kind: Literal["call", "finding", "flag", "erasure", "repair", "unaligned_speech", "retention", "review"]
    at: str = Field(description="UTC time the record was written (ISO 8601).")
    call_id: str | None = Field(None, description="The call; None for a record about the log itself (repair).")
    entity_type: str | None = None
    turn_index: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    recognizer: str | None = None
    score: float | None = None
    operator: str | None = None
    value_hmac: str | None = None
    reason: str | None = Field(None, description="flag / erasure / repair: why (never PII).")
    key_id: str | None = Field(None, description="Id of the audit key that hashed it (None: an unkeyed, older log).")
    prev_hash: str
    record_hash: str


def _default_key() -> AuditKey:
    # The library default: $CALLQA_AUDIT_KEY, else derived from $CALLQA_REDACTION_KEY, else the
    # development key (marked "dev-" on every record). `callqa run` has already refused to start
    # without a key unless the development key was allowed; commands resolve the key themselves.
    return audit_key(allow_dev=True)


def _canonical(fields: dict[str, Any]) -> bytes:
    body = {k: v for k, v in fields.items() if k != "record_hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _hash(fields: dict[str, Any], key: AuditKey) -> str:
    return hmac.new(key.secret, _canonical(fields), hashlib.sha256).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def chain_name(path: Path) -> str:
    """How the results index names a log: its absolute path."""
    return str(Path(path).absolute().resolve())


# ------------------------------------------------------------------------------------- files


def _make_dirs(folder: Path) -> None:
    """Create missing folders 0700 whatever the umask, each made durable in its parent."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        try:
            os.mkdir(made, _DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(made, _DIR_MODE)
        fsync_dir(made.parent)


@contextmanager
def _locked_log(path: Path) -> Iterator[int]:
    """The log open for appending (created 0600), under an exclusive lock.

    A repair may replace the file: after taking the lock, check the descriptor is still the file
    at `path`, else open again, so no record goes to an unlinked file.
    """
    _make_dirs(path.parent)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, _LOG_MODE)
        except FileExistsError:
            try:
                fd = os.open(path, os.O_RDWR | os.O_APPEND)
            except FileNotFoundError:
                continue  # replaced between the two calls: try again
        else:
            os.fchmod(fd, _LOG_MODE)  # whatever the umask
            fsync_dir(path.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    try:
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _parse(line: bytes) -> dict[str, Any] | None:
    """A record's fields, or None for a line that is not one (torn or foreign)."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(record, dict) and isinstance(record.get("seq"), int) and isinstance(record.get("record_hash"), str):
        return record
    return None


def _tail(fd: int) -> tuple[int, str, bool, str | None]:
    """(next seq, last hash, whether the file ends inside a line, last key id) from the end of the log."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS, False, None
    torn = os.pread(fd, 1, size - 1) != b"\n"
    block = min(size, 65536)
    while True:
        lines = os.pread(fd, block, size - block).split(b"\n")
        if block < size:
            lines = lines[1:]  # the first may be a partial line
        for line in reversed(lines):
            record = _parse(line) if line.strip() else None
            if record is not None:
                return record["seq"] + 1, record["record_hash"], torn, record.get("key_id")
        if block == size:
            return 0, GENESIS, torn, None
        block = min(size, block * 4)


def _write_head(path: Path, n_records: int, last_hash: str, key_id: str) -> None:
    head = _head_path(path)
    tmp = head.with_name(head.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _LOG_MODE)
    try:
        os.fchmod(fd, _LOG_MODE)
        os.write(fd, json.dumps({"seq": n_records - 1, "record_hash": last_hash, "n_records": n_records,
                                 "key_id": key_id}).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(head)


def _anchor(path: Path, store: Store | None, n_records: int, last_hash: str, key_id: str) -> None:
    _write_head(path, n_records, last_hash, key_id)
    if store is not None:
        from pipeline.store import write_audit_head

        write_audit_head(store, chain_name(path), n_records=n_records, last_hash=last_hash, key_id=key_id)


def append_records(path: Path, entries: list[dict[str, Any]], *, key: AuditKey | None = None,
                   store: Store | None = None) -> list[AuditRecord]:
    """Append entries (AuditRecord fields without seq / at / key id / hashes) under an exclusive lock.

    The lines are fsynced before the head is written beside the log and anchored in the index.

    Args:
        path: the log (created 0600, its missing folders 0700).
        entries: the records' fields.
        key: the audit key (default: from the environment, see `_default_key`).
        store: the results index to anchor the head in (None: the sidecar head only).

    Returns:
        The records as written.

    Raises:
        ConfigError: the log's last record is under another key, or (given the index) the log
            holds fewer records than the index anchors or not the anchored last record: records
            were removed or the log replaced. Nothing is appended: re-anchoring would hide it
            (`callqa audit verify` names it; `callqa audit repair --accept-loss` records it).
    """
    return _append(Path(path), entries, key or _default_key(), store, check_anchor=True)


def _check_anchor(path: Path, store: Store, seq: int, prev: str) -> None:
    from pipeline.store import read_audit_head

    head = read_audit_head(store, chain_name(path))
    if head is None or head.n_records < seq:
        return  # never anchored, or records written after the anchor (an interrupted anchoring)
    if head.n_records > seq:
        problem = f"the log holds {seq} records but the results index anchors {head.n_records}: records were removed"
    elif head.last_hash != prev:
        problem = "the log's last record is not the one the results index anchored: the log was replaced"
    else:
        return
    raise ConfigError(f"{problem}; nothing appended. Run `callqa audit verify`; if the loss is known and accepted, "
                      "`callqa audit repair --accept-loss` records it in the chain", file=str(path), key="audit_heads")


def _append(path: Path, entries: list[dict[str, Any]], key: AuditKey, store: Store | None, *,
            check_anchor: bool) -> list[AuditRecord]:
    written: list[AuditRecord] = []
    with _locked_log(path) as fd:
        seq, prev, torn, last_key = _tail(fd)
        if last_key is not None and last_key != key.key_id:
            # Fail closed: a record under another key would break the chain for good.
            raise ConfigError(f"the audit log is keyed by {last_key} but this process has key {key.key_id}: set the "
                              "key the log was written with (CALLQA_AUDIT_KEY / CALLQA_REDACTION_KEY)",
                              file=str(path), key="key_id")
        if store is not None and check_anchor:
            _check_anchor(path, store, seq, prev)
        if torn:
            # A half-written line from an interrupted append: leave it for `audit repair` and start afresh.
            logger.warning("the audit log ends in a half-written line; appending after it (run `callqa audit repair`)")
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        lines = []
        for entry in entries:
            fields = AuditRecord.model_validate(
                {**entry, "seq": seq, "at": now, "key_id": key.key_id, "prev_hash": prev, "record_hash": ""}
            ).model_dump()
            fields["record_hash"] = _hash(fields, key)
            record = AuditRecord.model_validate(fields)
            lines.append(json.dumps(record.model_dump(), sort_keys=True, separators=(",", ":")))
            written.append(record)
            seq, prev = seq + 1, record.record_hash
        data = ("\n" if torn else "") + "".join(line + "\n" for line in lines)
        view = memoryview(data.encode("utf-8"))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        if written:
            _anchor(path, store, seq, prev, key.key_id)
    return written


def append_call(path: Path, call_id: str, text_redaction, audio_redaction=None, *, key: AuditKey | None = None,
                store: Store | None = None) -> list[AuditRecord]:
    """Log one call's redaction: a record per finding, one per review flag, and one for the call.

    The closing "call" record is written even when nothing was found, so every call in the
    results index has records in the log (`verify_log` checks that).

    Args:
        path: the log file.
        call_id: the call.
        text_redaction: `TextRedaction` from `redact_text`.
        audio_redaction: `AudioRedaction` from `redact_audio`, when there was audio.
        key: the audit key (default: from the environment).
        store: the results index to anchor the log's head in (None: not anchored).
    """
    entries: list[dict[str, Any]] = []
    for finding, operator in zip(text_redaction.findings, text_redaction.operators):
        entries.append({"kind": "finding", "call_id": call_id, "operator": operator, **finding.model_dump()})
    reasons = list(text_redaction.reasons) + (list(audio_redaction.reasons) if audio_redaction is not None else [])
    entries.extend({"kind": "flag", "call_id": call_id, "reason": reason} for reason in reasons)
    # Residual re-scan hits scored below residual_threshold: redacted all the same, listed for review (issue #15).
    entries.extend({"kind": "review", "call_id": call_id, "entity_type": r.entity_type, "turn_index": r.turn_index,
                    "char_start": r.char_start, "char_end": r.char_end, "recognizer": r.recognizer, "score": r.score,
                    "reason": "residual re-scan hit below residual_threshold; redacted"}
                   for r in (getattr(text_redaction, "below_threshold", None) or []))
    # One record per stretch of speech muted because no kept word covered it (fail-closed audio).
    entries.extend({"kind": "unaligned_speech", "call_id": call_id, "start_s": s.start_s, "end_s": s.end_s,
                    "reason": f"channel {s.channel}: {s.speech_s:.2f} s of {'speech' if s.speech_like else 'sound (not speech-like)'}"
                              " no kept, time-aligned word covers; muted"}
                   for s in (getattr(audio_redaction, "unaligned", None) or []))
    counts = Counter(e["kind"] for e in entries)
    entries.append({"kind": "call", "call_id": call_id,
                    "reason": "redaction recorded: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in sorted(
                        {"finding", "flag", *counts}))})
    return append_records(path, entries, key=key, store=store)


def anchor_log(path: Path, store: Store, key: AuditKey | None = None) -> int:
    """Anchor the log's current head in the index (after an append whose anchoring failed).

    Only a log that verifies (torn lines aside) is anchored; returns its record count.

    Raises:
        InputError: the log does not verify under the key (reason: the problem's code).
    """
    path = Path(path)
    key = key or _default_key()
    with _locked_log(path) as fd:
        checked = _check_chain(_read_lines(fd), key)
        bad = [p for p in checked.problems if p.code not in ("torn",)]
        if bad:
            raise InputError(f"not anchored: {bad[0].message}", path=str(path), reason=bad[0].code)
        lost = _anchor_loss(path, store, checked)
        if lost is not None:
            raise InputError(f"not anchored: {lost.message}", path=str(path), reason=lost.code)
        if checked.n_records:
            _anchor(path, store, checked.n_records, checked.last_hash, key.key_id)
        return checked.n_records


def _anchor_loss(path: Path, store: Store | None, checked: _Chain) -> Problem | None:
    """What the anchored head says is missing from a log whose chain holds: records cut, or another log."""
    if store is None:
        return None
    from pipeline.store import read_audit_head

    head = read_audit_head(store, chain_name(path))
    if head is None or head.n_records == 0:
        return None
    if head.n_records > checked.n_records:
        return Problem(code="truncated", message=f"the results index anchors {head.n_records} records, the log holds "
                                                 f"{checked.n_records}: records removed at the end")
    if checked.hashes[head.n_records - 1] != head.last_hash:
        return Problem(code="rewritten", message=f"record seq {head.n_records - 1} is not the one the results index "
                                                 "anchored: the log was rewritten")
    return None


# ------------------------------------------------------------------------------------ verify

ProblemCode = Literal["changed", "inserted", "removed", "reordered", "truncated", "rewritten", "wrong_key",
                      "unkeyed", "torn", "missing_log", "not_anchored", "unaudited_calls"]


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ProblemCode
    message: str = Field(description="What was found, where, and what to do; never record content.")
    line: int | None = None
    seq: int | None = None


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    records: int = Field(description="Lines read.")
    problem: ProblemCode | None = Field(None, description="The first problem's code.")
    line: int | None = Field(None, description="1-based line of the first bad record.")
    seq: int | None = Field(None, description="seq of the first bad record (or of the first missing one).")
    message: str = ""
    problems: list[Problem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Not failures: development key, unanchored tail.")
    key_id: str | None = Field(None, description="Id of the key the log was checked with.")
    anchored: int | None = Field(None, description="Records the index anchors (None: no index given).")


class _Chain(BaseModel):
    n_lines: int
    n_records: int = 0  # seq + 1 of the last good record
    last_hash: str = GENESIS
    hashes: list[str] = Field(default_factory=list)  # record_hash by seq, while the chain holds
    calls: set[str] = Field(default_factory=set)
    problems: list[Problem] = Field(default_factory=list)
    dev: bool = False


def _read_lines(fd_or_path) -> list[bytes]:
    if isinstance(fd_or_path, int):
        size = os.fstat(fd_or_path).st_size
        data = os.pread(fd_or_path, size, 0) if size else b""
    else:
        data = Path(fd_or_path).read_bytes() if Path(fd_or_path).exists() else b""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _check_chain(raw: list[bytes], key: AuditKey) -> _Chain:
    """Walk the chain: the first break ends the walk (what follows it cannot be trusted)."""
    parsed = [_parse(line) if line.strip() else None for line in raw]
    chain = _Chain(n_lines=len(raw))
    torn = [n for n, (line, rec) in enumerate(zip(raw, parsed), start=1) if rec is None]
    seqs = [p["seq"] if p is not None else None for p in parsed]
    prev_hash, expected, seen = GENESIS, 0, set()

    def bad(code: str, n: int | None, seq: int | None, message: str) -> _Chain:
        chain.problems.append(Problem(code=code, line=n, seq=seq, message=message))
        return chain

    for n, record in enumerate(parsed, start=1):
        if record is None:
            continue  # torn or foreign: reported below; the chain goes on from the record before it
        seq = record["seq"]
        kid = record.get("key_id")
        if kid is None:
            return bad("unkeyed", n, seq, f"record seq {seq} (line {n}) carries no key id: written before the log was "
                                          "keyed; its hash proves nothing (start a new log)")
        if kid != key.key_id:
            return bad("wrong_key", n, seq, f"record seq {seq} (line {n}) was written under key {kid}, the log is "
                                            f"checked with key {key.key_id}: wrong key (set the key the log was "
                                            "written with), or a record forged under another key")
        if not hmac.compare_digest(_hash(record, key), str(record.get("record_hash"))):
            # A forged line between good records: the next record continues the chain as if it were absent.
            following = next((p for p in parsed[n:] if p is not None), None)
            if seq == expected and following is not None and following.get("prev_hash") == prev_hash \
                    and following.get("seq") == expected:
                return bad("inserted", n, seq, f"line {n} is not a record of this chain (its keyed hash does not "
                                               "match): a record was inserted")
            return bad("changed", n, seq, f"record seq {seq} (line {n}) was changed after it was written "
                                          "(its keyed hash does not match)")
        if seq != expected:
            if seq in seen:
                return bad("inserted", n, seq, f"line {n} repeats seq {seq}: a record was inserted or duplicated")
            if seq < expected or expected in seqs[n:]:
                return bad("reordered", n, seq,
                           f"line {n} holds seq {seq} where seq {expected} belongs: records reordered")
            return bad("removed", n, expected, f"seq {expected}..{seq - 1} missing before line {n}: records removed")
        if record.get("prev_hash") != prev_hash:
            return bad("inserted", n, seq, f"record seq {seq} (line {n}) does not chain to the record before it: "
                                           "a record was inserted or replaced")
        try:
            checked = AuditRecord.model_validate(record)
        except ValidationError:
            return bad("changed", n, seq, f"record seq {seq} (line {n}) has unexpected fields")
        seen.add(seq)
        chain.hashes.append(checked.record_hash)
        if checked.call_id is not None:
            chain.calls.add(checked.call_id)
        prev_hash, expected = checked.record_hash, seq + 1
        chain.n_records, chain.last_hash = expected, prev_hash
    chain.dev = key.is_dev and chain.n_records > 0
    if torn:
        where = ", ".join(str(n) for n in torn[:5]) + (" ..." if len(torn) > 5 else "")
        bad("torn", torn[0], None, f"{len(torn)} line(s) are not whole records (line {where}): a write was "
                                   "interrupted (power loss, full disk); run `callqa audit repair`")
    return chain


def verify_log(path: Path, key: AuditKey | None = None, *, store: Store | None = None,
               expected_calls: Iterable[str] = ()) -> VerifyReport:
    """Check the log's keyed chain, its head and (given the index) its anchor; name every problem.

    Args:
        path: the log.
        key: the audit key (default: from the environment).
        store: the results index: its anchored head must match the log, and each call it
            holds must have records in the log.
        expected_calls: call ids that must have records in the log (e.g. results on disk).

    Returns:
        VerifyReport: ok, or each problem with its code (changed / inserted / removed /
        reordered / truncated / rewritten / wrong_key / unkeyed / torn / missing_log /
        not_anchored / unaudited_calls), line and seq, in messages without record content.
    """
    path = Path(path)
    key = key or _default_key()
    raw = _read_lines(path)
    chain = _check_chain(raw, key)
    problems, notes = list(chain.problems), []
    broken = any(p.code not in ("torn",) for p in problems)
    n = chain.n_records

    head_file = _head_path(path)
    if head_file.exists() and not broken:
        try:
            want = json.loads(head_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            want = {}
        want_n = want.get("n_records", (want.get("seq", -1) + 1) if isinstance(want.get("seq"), int) else None)
        if want_n != n or want.get("record_hash") != chain.last_hash:
            if isinstance(want_n, int) and want_n > n:
                problems.append(Problem(code="truncated", line=len(raw) + 1, seq=n,
                                        message=f"the log ends at seq {n - 1} but its head file names seq "
                                                f"{want_n - 1}: records removed at the end"))
            elif isinstance(want_n, int) and want_n < n:
                notes.append(f"the head file names {want_n} records, the log holds {n}: an append was interrupted")
            else:
                problems.append(Problem(code="rewritten", line=None, seq=n - 1 if n else None,
                                        message="the log's last record is not the one its head file names: "
                                                "the log was rewritten"))

    anchored = None
    if store is not None:
        from pipeline.store import indexed_call_ids, read_audit_head

        head = read_audit_head(store, chain_name(path))
        anchored = head.n_records if head is not None else 0
        index_calls = indexed_call_ids(store)
        if head is not None and head.n_records > 0 and not raw:
            problems.append(Problem(code="missing_log", message=f"the results index anchors {head.n_records} audit "
                                    f"record(s) for {path}, but the log is {'empty' if path.exists() else 'missing'}: "
                                    "the log was deleted or emptied"))
        elif head is None and index_calls and not raw:
            problems.append(Problem(code="missing_log", message=f"the results index holds {len(index_calls)} call(s) "
                                    f"but {path} is {'empty' if path.exists() else 'missing'}: the log was deleted, "
                                    "emptied or moved"))
        elif head is None and raw:
            problems.append(Problem(code="not_anchored", message=f"the results index anchors no head for {path}: "
                                    "the log was written without this index, or it was moved here"))
        elif head is not None and not broken:
            if head.key_id != key.key_id:
                problems.append(Problem(code="wrong_key", message=f"the index anchors the log under key {head.key_id}, "
                                        f"it is checked with key {key.key_id}: wrong key"))
            elif head.n_records > n:
                problems.append(Problem(code="truncated", line=len(raw) + 1, seq=n,
                                        message=f"the results index anchors {head.n_records} records, the log holds "
                                                f"{n}: records removed at the end (cut tail)"))
            elif head.n_records > 0 and chain.hashes[head.n_records - 1] != head.last_hash:
                problems.append(Problem(code="rewritten", seq=head.n_records - 1,
                                        message=f"record seq {head.n_records - 1} is not the one the results index "
                                                "anchored: the log was rewritten"))
            elif head.n_records < n:
                notes.append(f"{n - head.n_records} record(s) after the anchored head (an append interrupted "
                             "before anchoring; the next append or `callqa audit repair` anchors them)")
        expected_calls = set(expected_calls) | index_calls
    missing = sorted(set(expected_calls) - chain.calls) if not broken else []
    if missing and not any(p.code == "missing_log" for p in problems):
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        problems.append(Problem(code="unaudited_calls", message=f"{len(missing)} call(s) have results but no "
                                f"audit records: {shown}"))
    if chain.dev:
        notes.append(f"written under the public development key ({key.key_id}): not evidence for a real site")

    if problems:
        first = problems[0]
        return VerifyReport(ok=False, records=len(raw), problem=first.code, line=first.line, seq=first.seq,
                            message="; ".join(f"{p.code}: {p.message}" for p in problems), problems=problems,
                            notes=notes, key_id=key.key_id, anchored=anchored)
    message = f"{len(raw)} records, chain intact" + (f", anchored in the results index ({anchored})"
                                                     if anchored is not None else "")
    return VerifyReport(ok=True, records=len(raw), message=message, notes=notes, key_id=key.key_id,
                        anchored=anchored)


# ------------------------------------------------------------------------------------ repair


class RepairReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    removed_lines: list[int] = Field(description="1-based lines moved out of the log.")
    quarantine: str | None = Field(None, description="File holding the removed lines (0600), if any.")
    record_seq: int | None = Field(None, description="seq of the repair record (None: nothing to repair).")
    anchored: int | None = Field(None, description="Records anchored in the index afterwards.")
    message: str


def repair_log(path: Path, key: AuditKey | None = None, *, store: Store | None = None,
               accept_loss: bool = False) -> RepairReport:
    """Move torn lines out of the log, record the repair in the chain and anchor the head.

    Only lines that are not records are removed (into `<log>.torn-<time>`, 0600); a log whose
    chain is broken otherwise (changed, removed, wrong key ...) is refused, not repaired. A log
    shorter than the index's anchor (or not the anchored log) is refused too, unless
    `accept_loss`: then a `repair` record stating the loss is appended and the head re-anchored,
    so the loss stays on the record (e.g. a log restored from an older backup after a disk failure).

    Raises:
        InputError: the log is missing (and not `accept_loss`), or its chain is broken beyond
            torn lines, or it lost anchored records (and not `accept_loss`).
    """
    path = Path(path)
    key = key or _default_key()
    if not path.is_file() and not accept_loss:
        raise InputError("no audit log to repair", path=str(path), reason="missing_log")
    with _locked_log(path) as fd:
        raw = _read_lines(fd)
        checked = _check_chain(raw, key)
        bad = [p for p in checked.problems if p.code != "torn"]
        if bad:
            raise InputError(f"not repaired: {bad[0].message}", path=str(path), reason=bad[0].code)
        lost = _anchor_loss(path, store, checked)
        if lost is not None and not accept_loss:
            raise InputError(f"not repaired: {lost.message}; if the loss is known and accepted, run `callqa audit "
                             "repair --accept-loss` to record it in the chain", path=str(path), reason=lost.code)
        torn = [n for n, line in enumerate(raw, start=1) if _parse(line) is None]
        quarantine = None
        if torn:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            quarantine = path.with_name(f"{path.name}.torn-{stamp}")
            q = os.open(quarantine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _LOG_MODE)
            try:
                os.fchmod(q, _LOG_MODE)
                os.write(q, b"".join(raw[n - 1] + b"\n" for n in torn))
                os.fsync(q)
            finally:
                os.close(q)
            kept = b"".join(line + b"\n" for n, line in enumerate(raw, start=1) if n not in set(torn))
            if torn == list(range(len(raw) - len(torn) + 1, len(raw) + 1)):
                os.ftruncate(fd, len(kept))  # only the tail: cut it in place
            else:
                tmp = path.with_name(f".{path.name}.repair")
                t = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _LOG_MODE)
                try:
                    os.fchmod(t, _LOG_MODE)
                    os.write(t, kept)
                    os.fsync(t)
                finally:
                    os.close(t)
                os.replace(tmp, path)  # appenders waiting on the old file's lock notice and reopen
            os.fsync(fd)
            fsync_dir(path.parent)
    record_seq = None
    reasons = []
    if torn:
        where = ", ".join(str(n) for n in torn[:20]) + (" ..." if len(torn) > 20 else "")
        reasons.append(f"removed {len(torn)} torn line(s) (line {where}) to {quarantine.name}")
    if lost is not None:
        reasons.append(f"loss accepted ({lost.code}): {lost.message}")
    if reasons:
        record = _append(path, [{"kind": "repair", "reason": "; ".join(reasons)}], key, store, check_anchor=False)[0]
        record_seq = record.seq
    elif checked.n_records:
        _anchor(path, store, checked.n_records, checked.last_hash, key.key_id)
    anchored = None
    if store is not None:
        from pipeline.store import read_audit_head

        head = read_audit_head(store, chain_name(path))
        anchored = head.n_records if head is not None else None
    message = ("; ".join(reasons) + f"; repair recorded as seq {record_seq}" if reasons
               else "nothing to repair: no torn lines" + ("; head anchored" if store is not None else ""))
    return RepairReport(removed_lines=torn, quarantine=str(quarantine) if quarantine else None, record_seq=record_seq,
                        anchored=anchored, message=message)


# ------------------------------------------------------------------------------------- reads


def read_log(path: Path) -> Iterator[AuditRecord]:
    """The records of a log, torn lines skipped (unverified; call `verify_log` first when it matters)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            record = _parse(line) if line.strip() else None
            if record is not None:
                try:
                    yield AuditRecord.model_validate(record)
                except ValidationError:
                    continue


def logged_calls(path: Path) -> set[str]:
    """The call ids the log holds a closing "call" record for (a call whose recording finished)."""
    return {r.call_id for r in read_log(path) if r.kind == "call" and r.call_id is not None}


class AuditReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    since: str | None
    findings: int
    by_entity_type: dict[str, int]
    by_recognizer: dict[str, int]
    by_call: dict[str, int]
    low_score: list[dict[str, Any]] = Field(description="Findings below the review score: call, seq, type, score.")
    flagged_calls: dict[str, list[str]] = Field(description="call_id -> reasons it was flagged.")
    erased_calls: list[str]
    review: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Re-scan hits below the residual threshold (kind 'review'): call, seq, type, score.")


def report(path: Path, since: date | str | None = None, low_score: float = 0.7) -> AuditReport:
    """Counts by entity type, recogniser and call; low-score findings; flagged and erased calls.

    Args:
        path: the log.
        since: only records written on or after this date (ISO date or date).
        low_score: findings scoring below this are listed for review.
    """
    cutoff = date.fromisoformat(since) if isinstance(since, str) else since
    findings = []
    flags: dict[str, list[str]] = {}
    erased: list[str] = []
    review = []
    for r in read_log(path):
        if cutoff is not None and datetime.fromisoformat(r.at).date() < cutoff:
            continue
        if r.kind == "finding":
            findings.append(r)
        elif r.kind == "flag":
            flags.setdefault(r.call_id or "", []).append(r.reason or "")
        elif r.kind == "erasure":
            erased.append(r.call_id or "")
        elif r.kind == "review":
            review.append({"call_id": r.call_id, "seq": r.seq, "entity_type": r.entity_type, "score": r.score})
    return AuditReport(
        since=cutoff.isoformat() if cutoff else None,
        findings=len(findings),
        by_entity_type=dict(Counter(r.entity_type or "?" for r in findings).most_common()),
        by_recognizer=dict(Counter(r.recognizer or "?" for r in findings).most_common()),
        by_call=dict(Counter(r.call_id for r in findings).most_common()),
        low_score=[{"call_id": r.call_id, "seq": r.seq, "entity_type": r.entity_type, "score": r.score}
                   for r in findings if r.score is not None and r.score < low_score],
        flagged_calls=flags,
        erased_calls=erased,
        review=review,
    )


class ValueMatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    seq: int
    entity_type: str | None
    turn_index: int | None


def find_value(path: Path, value: str, key: bytes) -> list[ValueMatch]:
    """Findings whose value has the HMAC of `value` (spoken or written form), for subject access
    and erasure. The value is only hashed, never stored or logged."""
    digests = {hmac_value(key, normalise_value(value, t)) for t in (None, "PERSON")}
    digests |= {hmac_value(key, normalise_value(value, t)) for t in PII_TYPES}
    return [
        ValueMatch(call_id=r.call_id, seq=r.seq, entity_type=r.entity_type, turn_index=r.turn_index)
        for r in read_log(path)
        if r.kind == "finding" and r.value_hmac in digests and r.call_id is not None
    ]
