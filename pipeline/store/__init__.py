"""The results index: SQLAlchemy models, Alembic migrations (shipped in the package), writes.

    store = open_store(url)      # a URL or SQLite path from pipeline.paths.resolve_paths
    store.upgrade()              # (pipeline.paths.open_index does both)
    run_id = store.record_run(pipeline_version=..., config_hash=...)
    store.save_result(run_id, result, out_dir / call_id / "result.json")
    store.finish_run(run_id, status="done", n_calls=..., n_failed=...)
"""

from __future__ import annotations

from .audit_head import AuditHead, audit_heads, indexed_call_ids, read_audit_head, write_audit_head
from .db import SavedResult, Store, migrations_dir, open_store, result_flags
from .erase import ErasedRows, erase_call_rows
from .tombstones import add_tombstones, tombstoned

__all__ = ["AuditHead", "audit_heads", "indexed_call_ids", "read_audit_head", "write_audit_head",
           "Store", "SavedResult", "open_store", "migrations_dir", "result_flags", "ErasedRows",
           "erase_call_rows", "add_tombstones", "tombstoned"]
