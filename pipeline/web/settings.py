"""The web app's settings: options from configs/web.yaml, the store, the output folder, the secret.

Where the results index, the audit log and the secret file live is decided by
`pipeline.paths.resolve_paths`, as for every command. The secret signs the login form's CSRF
token. It comes from $CALLQA_WEB_SECRET (at least 32 characters) or, when that is unset, from
`<out>/.web-secret`, created on first start with mode 0600; a secret file that others can read is
refused. Every worker of one site must see the same secret (the same out folder or the same
environment variable).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import OutputOptions, configs_dir, deep_merge, read_yaml, validate_model
from pipeline.errors import ConfigError
from pipeline.paths import WEB_SECRET_ENV, RunPaths, resolve_paths

__all__ = ["SECRET_ENV", "WebOptions", "WebSettings", "load_web_options", "load_web_settings", "load_secret"]

SECRET_ENV = WEB_SECRET_ENV


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionOptions(_Options):
    lifetime_hours: float = Field(10, gt=0, le=24 * 30)
    secure_cookies: bool = False
    same_site: Literal["lax", "strict"] = "lax"


class LoginOptions(_Options):
    max_failures: int = Field(5, ge=1)
    window_minutes: float = Field(15, gt=0)
    min_password_length: int = Field(10, ge=8)


class QueueOptions(_Options):
    page_size: int = Field(200, ge=1, le=5000)


class ResultsOptions(_Options):
    # Results made with the public development key are refused (403) unless this is on (test data only).
    allow_dev_key: bool = False


class WebOptions(_Options):
    session: SessionOptions = SessionOptions()
    login: LoginOptions = LoginOptions()
    queue: QueueOptions = QueueOptions()
    results: ResultsOptions = ResultsOptions()


class WebSettings(BaseModel):
    """Everything the app factory needs; nothing is read from globals after this."""

    model_config = ConfigDict(frozen=True)

    database_url: str
    out_dir: Path
    audit_log: Path
    secret: bytes = Field(repr=False)
    options: WebOptions = WebOptions()


def load_web_options(path: Path | None = None) -> WebOptions:
    """configs/web.yaml, with a site file deep-merged over it.

    Raises:
        ConfigError: a file is unreadable, not YAML, or has an unknown key or bad value.
    """
    packaged = configs_dir() / "web.yaml"
    data = read_yaml(packaged)
    if path is None:
        return validate_model(WebOptions, data, file=str(packaged))
    return validate_model(WebOptions, deep_merge(data, read_yaml(Path(path))), file=str(path))


def load_secret(secret_file: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """$CALLQA_WEB_SECRET, else `secret_file` (`RunPaths.web_secret_file`; created 0600 on first use).

    Raises:
        ConfigError: the variable is too short, or the file is readable by others or too short.
    """
    env = os.environ if environ is None else environ
    value = env.get(SECRET_ENV)
    if value:
        if len(value) < 32:
            raise ConfigError(f"${SECRET_ENV} must be at least 32 characters", file=SECRET_ENV)
        return value.encode()
    path = Path(secret_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"the web secret file is readable by others (mode {mode:o}); run chmod 600 on it",
                              file=str(path)) from None
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < 32:
            raise ConfigError("the web secret file is too short; delete it to generate a new one",
                              file=str(path))
        return secret.encode()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip().encode()


def load_web_settings(paths: RunPaths | None = None, *, out_dir: Path | None = None, database_url: str | None = None,
                      audit_log: Path | None = None, output: OutputOptions | None = None,
                      options_path: Path | None = None, secure_cookies: bool | None = None,
                      environ: Mapping[str, str] | None = None) -> WebSettings:
    """Settings for `callqa serve` and `from_environment`.

    Args:
        paths: already resolved locations; None resolves them here from `out_dir`,
            `database_url`, `audit_log` and `output` by `resolve_paths`'s one precedence order.
        out_dir: the --out flag (None: $CALLQA_OUT, else ./out).
        database_url: the --database-url flag.
        audit_log: the --audit-log flag.
        output: the site configuration's output section.
        options_path: a site web.yaml over configs/web.yaml.
        secure_cookies: overrides the options' session.secure_cookies when given.
        environ: the environment (default os.environ; tests pass their own).

    Raises:
        ConfigError: a bad web.yaml or secret.
    """
    env = os.environ if environ is None else environ
    if paths is None:
        paths = resolve_paths(out_dir, database_url=database_url, audit_log=audit_log, output=output, environ=env)
    options = load_web_options(options_path)
    if secure_cookies is not None:
        options = options.model_copy(update={"session": options.session.model_copy(
            update={"secure_cookies": secure_cookies})})
    return WebSettings(database_url=paths.database_url, out_dir=paths.out_dir, audit_log=paths.audit_log,
                       secret=load_secret(paths.web_secret_file, env), options=options)
