"""The redaction audit log: append-only JSON lines, each record chained to the one before.

Every record carries `seq` (0, 1, 2, ...), `prev_hash` (the previous record's `record_hash`;
64 zeros for the first) and `record_hash` = SHA-256 of its own canonical JSON without
`record_hash`. A sidecar `<log>.head` holds the last seq and hash, so a cut-off tail shows too.
Records hold positions, recognisers, scores and HMACs of values, never a value.

`verify_log` names the first record that was changed, inserted, removed or reordered.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import InputError
from pipeline.redact.keys import hmac_value
from pipeline.redact.normalise import normalise_value
from pipeline.schema import PII_TYPES, is_valid_call_id

__all__ = [
    "GENESIS",
    "AuditRecord",
    "VerifyReport",
    "AuditReport",
    "ValueMatch",
    "append_records",
    "append_call",
    "verify_log",
    "read_log",
    "report",
    "find_value",
]

logger = logging.getLogger(__name__)

GENESIS = "0" * 64


class AuditRecord(BaseModel):
    """One line of the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=0)
    kind: Literal["finding", "flag", "erasure"]
    at: str = Field(description="UTC time the record was written (ISO 8601).")
    call_id: str
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
    reason: str | None = Field(None, description="flag / erasure: why (never PII).")
    prev_hash: str
    record_hash: str


def _hash(fields: dict[str, Any]) -> str:
    body = {k: v for k, v in fields.items() if k != "record_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def _last_record(handle) -> tuple[int, str]:
    """(next seq, last hash) from the end of an open log."""
    handle.seek(0, 2)
    size = handle.tell()
    if size == 0:
        return 0, GENESIS
    block = min(size, 65536)
    while True:
        handle.seek(size - block)
        lines = handle.read(block).splitlines()
        if len(lines) >= 2 or block == size:
            break
        block = min(size, block * 4)
    last = json.loads(lines[-1])
    return last["seq"] + 1, last["record_hash"]


def append_records(path: Path, entries: list[dict[str, Any]]) -> list[AuditRecord]:
    """Append entries (AuditRecord fields without seq / at / hashes) under an exclusive lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written: list[AuditRecord] = []
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            seq, prev = _last_record(handle)
            now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            lines = []
            for entry in entries:
                fields = AuditRecord.model_validate(
                    {**entry, "seq": seq, "at": now, "prev_hash": prev, "record_hash": ""}
                ).model_dump()
                fields["record_hash"] = _hash(fields)
                record = AuditRecord.model_validate(fields)
                lines.append(json.dumps(record.model_dump(), sort_keys=True, separators=(",", ":")))
                written.append(record)
                seq, prev = seq + 1, record.record_hash
            handle.seek(0, 2)
            handle.write("".join(line + "\n" for line in lines))
            handle.flush()
            head = _head_path(path)
            tmp = head.with_name(head.name + ".tmp")
            tmp.write_text(json.dumps({"seq": seq - 1, "record_hash": prev}), encoding="utf-8")
            tmp.replace(head)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return written


def append_call(path: Path, call_id: str, text_redaction, audio_redaction=None) -> list[AuditRecord]:
    """Log one call's redaction: a record per finding, and one per review flag.

    Args:
        path: the log file.
        call_id: the call.
        text_redaction: `TextRedaction` from `redact_text`.
        audio_redaction: `AudioRedaction` from `redact_audio`, when there was audio.
    """
    entries: list[dict[str, Any]] = []
    for finding, operator in zip(text_redaction.findings, text_redaction.operators):
        entries.append({"kind": "finding", "call_id": call_id, "operator": operator, **finding.model_dump()})
    reasons = list(text_redaction.reasons) + (list(audio_redaction.reasons) if audio_redaction is not None else [])
    entries.extend({"kind": "flag", "call_id": call_id, "reason": reason} for reason in reasons)
    return append_records(path, entries) if entries else []


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    records: int = Field(description="Lines read.")
    problem: Literal["changed", "inserted", "removed", "reordered", "malformed", "truncated"] | None = None
    line: int | None = Field(None, description="1-based line of the first bad record.")
    seq: int | None = Field(None, description="seq of the first bad record (or of the first missing one).")
    message: str = ""


def verify_log(path: Path) -> VerifyReport:
    """Check the hash chain of a log and name the first record that breaks it.

    Returns:
        VerifyReport: ok, or the problem (changed / inserted / removed / reordered / malformed /
        truncated), its 1-based line and seq, and a message without any record content.
    """
    path = Path(path)
    raw = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    parsed: list[dict[str, Any] | None] = []
    for line in raw:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    seqs = [p.get("seq") if isinstance(p, dict) else None for p in parsed]
    prev_hash, expected, seen = GENESIS, 0, set()

    def bad(problem: str, n: int, seq: int | None, message: str) -> VerifyReport:
        return VerifyReport(ok=False, records=len(raw), problem=problem, line=n, seq=seq, message=message)

    for n, record in enumerate(parsed, start=1):
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            return bad("malformed", n, None, f"line {n} is not a valid record")
        seq = record["seq"]
        if _hash(record) != record.get("record_hash"):
            return bad("changed", n, seq, f"record seq {seq} (line {n}) was changed after it was written")
        if seq != expected:
            if seq in seen:
                return bad("inserted", n, seq, f"line {n} repeats seq {seq}: a record was inserted or duplicated")
            if seq < expected or expected in seqs[n:]:
                return bad("reordered", n, seq, f"line {n} holds seq {seq} where seq {expected} belongs: records reordered")
            return bad("removed", n, expected, f"seq {expected}..{seq - 1} missing before line {n}: records removed")
        if record.get("prev_hash") != prev_hash:
            return bad("inserted", n, seq, f"record seq {seq} (line {n}) does not chain to the record before it: "
                                           "a record was inserted or replaced")
        try:
            AuditRecord.model_validate(record)
        except ValidationError:
            return bad("malformed", n, seq, f"record seq {seq} (line {n}) has unexpected fields")
        seen.add(seq)
        prev_hash, expected = record["record_hash"], seq + 1
    head = _head_path(path)
    if head.exists():
        want = json.loads(head.read_text(encoding="utf-8"))
        if want.get("seq") != expected - 1 or want.get("record_hash") != prev_hash:
            return bad("truncated", len(raw) + 1, expected,
                       f"the log ends at seq {expected - 1} but its head names seq {want.get('seq')}: records removed at the end")
    return VerifyReport(ok=True, records=len(raw), message=f"{len(raw)} records, chain intact")


def read_log(path: Path) -> Iterator[AuditRecord]:
    """The records of a log (unverified; call `verify_log` first when it matters)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield AuditRecord.model_validate_json(line)


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
    for r in read_log(path):
        if cutoff is not None and datetime.fromisoformat(r.at).date() < cutoff:
            continue
        if r.kind == "finding":
            findings.append(r)
        elif r.kind == "flag":
            flags.setdefault(r.call_id, []).append(r.reason or "")
        else:
            erased.append(r.call_id)
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
        if r.kind == "finding" and r.value_hmac in digests
    ]
