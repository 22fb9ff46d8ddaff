"""The retention purge as a Prefect flow: `pipeline.retention.apply_retention` on a schedule.

Thin: the periods come from the run's settings (the redaction policy's `retention` section),
the locations from `pipeline.paths.resolve_paths`, as for `callqa retention apply`; the flow adds
the schedule (prefect.yaml, deployment `retention`) and a counts-only artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from pipeline.paths import open_index, resolve_paths
from pipeline.redact.keys import redaction_key
from pipeline.retention import apply_retention
from pipeline.settings import load_settings

__all__ = ["retention_purge"]


@flow(name="callqa-retention", log_prints=False)
def retention_purge(
    out: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    dev_key: bool = False,
    database_url: str | None = None,
    audit_log: str | None = None,
) -> dict[str, Any]:
    """Remove what is past its retention period; returns the counts (no call ids).

    Args:
        out: the output folder (None: $CALLQA_OUT, else ./out).
        config: a site configuration file (its redaction policy's `retention` section).
        dry_run: count only.
        dev_key: allow the public development redaction key (tests, demos).
        database_url, audit_log: as for `callqa retention apply`.
    """
    settings = load_settings(Path(config) if config else None)
    paths = resolve_paths(out, database_url=database_url, audit_log=audit_log, output=settings.core.output)
    key = None if dry_run else redaction_key(allow_dev=dev_key)
    store = open_index(paths)
    try:
        report = apply_retention(settings.redact.retention, paths.out_dir, paths.audit_log, store, key=key,
                                 dry_run=dry_run)
    finally:
        store.dispose()
    data = report.model_dump()
    create_markdown_artifact(
        key="callqa-retention",
        markdown=("# callqa retention" + (" (dry run)" if dry_run else "") + "\n\n| results | redacted audio | index calls |"
                  f"\n| ---: | ---: | ---: |\n| {report.results} | {report.redacted_audio} | {report.index_calls} |\n"),
        description="callqa retention: what was removed (counts only)")
    get_run_logger().info("retention: %d results, %d redacted audio, %d index calls%s", report.results,
                          report.redacted_audio, report.index_calls, " (dry run)" if dry_run else "")
    return data
