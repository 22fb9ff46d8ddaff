"""The one place that says where things live: results index, audit log, output folders, secrets.

Every command, the Prefect flows and the web app resolve through `resolve_paths`, so they all
find the same results index and audit log for the same output folder. One precedence order,
for every setting (the README's table says the same):

    command-line flag  >  environment variable  >  site config (output section)  >  default under --out

    what              flag              environment             site config            default
    output folder     --out             CALLQA_OUT              -                      ./out
    results index     --database-url    CALLQA_DATABASE_URL     output.database_url    <out>/callqa.db (SQLite)
    audit log         --audit-log       CALLQA_AUDIT_LOG        output.audit_log       <out>/audit/redaction.jsonl
    web secret        -                 CALLQA_WEB_SECRET       -                      <out>/.web-secret (0600)
    redaction key     -                 CALLQA_REDACTION_KEY    -                      none: refused (--allow-dev-key for tests)

A relative path in a site config is relative to that file, like every other path in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipeline.config import OutputOptions

if TYPE_CHECKING:  # SQLAlchemy and Alembic load when an index is opened, not with the CLI
    from pipeline.store import Store

__all__ = [
    "AUDIT_LOG_ENV",
    "DATABASE_URL_ENV",
    "OUT_ENV",
    "REDACTION_KEY_ENV",
    "WEB_SECRET_ENV",
    "RunPaths",
    "Source",
    "open_index",
    "resolve_paths",
]

OUT_ENV = "CALLQA_OUT"
DATABASE_URL_ENV = "CALLQA_DATABASE_URL"
AUDIT_LOG_ENV = "CALLQA_AUDIT_LOG"
WEB_SECRET_ENV = "CALLQA_WEB_SECRET"
REDACTION_KEY_ENV = "CALLQA_REDACTION_KEY"
DEFAULT_OUT = Path("out")

Source = Literal["flag", "environment", "config", "default"]


@dataclass(frozen=True)
class RunPaths:
    """Where one output folder's artefacts live; `sources` says which rule chose each."""

    out_dir: Path
    # A SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file path.
    database_url: str
    audit_log: Path
    sources: Mapping[str, Source] = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file of the results index, or None when it is a server database."""
        url = self.database_url
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return None if "://" in url else Path(url)

    @property
    def cache_dir(self) -> Path:
        """Prefect's task cache records: inside out/, so deleting out/ forgets what was done."""
        return self.out_dir / ".callqa" / "cache"

    @property
    def shards_dir(self) -> Path:
        """Outcomes of a batch's shard flow runs, for the parent flow to gather."""
        return self.out_dir / ".callqa" / "shards"

    @property
    def work_dir(self) -> Path:
        """Work lists of running batches (which file each task's call id names; flows.worklist)."""
        return self.out_dir / ".callqa" / "work"

    @property
    def quarantine_dir(self) -> Path:
        return self.out_dir / "quarantine"

    @property
    def run_report(self) -> Path:
        return self.out_dir / "run-report.json"

    @property
    def web_secret_file(self) -> Path:
        return self.out_dir / ".web-secret"

    def absolute(self) -> RunPaths:
        """The same locations as absolute paths, for a worker in another working directory or host."""
        sqlite = self.sqlite_path
        url = str(sqlite.resolve()) if sqlite is not None and str(sqlite) != ":memory:" else self.database_url
        return RunPaths(out_dir=self.out_dir.resolve(), database_url=url, audit_log=self.audit_log.resolve(),
                        sources=self.sources)

    def describe(self) -> dict[str, str]:
        """Each resolved location with the rule that chose it (no secrets: none are held here)."""
        return {
            "out_dir": f"{self.out_dir} ({self.sources.get('out_dir', 'default')})",
            "database_url": f"{_redact_url(self.database_url)} ({self.sources.get('database_url', 'default')})",
            "audit_log": f"{self.audit_log} ({self.sources.get('audit_log', 'default')})",
        }


def _redact_url(url: str) -> str:
    # A server URL may carry a password: never print it.
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def _pick(flag, env_value, config_value, default) -> tuple[object, Source]:
    for value, source in ((flag, "flag"), (env_value, "environment"), (config_value, "config")):
        if value not in (None, ""):
            return value, source
    return default, "default"


def resolve_paths(
    out_dir: Path | str | None = None,
    *,
    database_url: str | None = None,
    audit_log: Path | str | None = None,
    output: OutputOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunPaths:
    """Resolve the output folder, results index and audit log by the one precedence order.

    Args:
        out_dir: the --out flag (None: $CALLQA_OUT, else ./out).
        database_url: the --database-url flag.
        audit_log: the --audit-log flag.
        output: the site configuration's `output` section (its paths already made absolute by
            the loader, or relative to the working directory).
        environ: the environment (default os.environ; tests pass their own).

    Returns:
        RunPaths; nothing is created on disk.
    """
    env = os.environ if environ is None else environ
    sources: dict[str, Source] = {}
    out, sources["out_dir"] = _pick(out_dir, env.get(OUT_ENV), None, DEFAULT_OUT)
    out = Path(out)
    url, sources["database_url"] = _pick(database_url, env.get(DATABASE_URL_ENV),
                                         output.database_url if output else None, out / "callqa.db")
    log, sources["audit_log"] = _pick(audit_log, env.get(AUDIT_LOG_ENV), output.audit_log if output else None,
                                      out / "audit" / "redaction.jsonl")
    return RunPaths(out_dir=out, database_url=str(url), audit_log=Path(log), sources=sources)


def open_index(paths: RunPaths) -> Store:
    """Open the results index these paths name and bring its tables up to date.

    Args:
        paths: from `resolve_paths`.

    Returns:
        The open, migrated Store (a SQLite file's folder is created if missing).

    Raises:
        ConfigError: the URL is malformed or names an unsupported backend.
    """
    from pipeline.store import open_store

    store = open_store(paths.database_url)
    store.upgrade()
    return store
