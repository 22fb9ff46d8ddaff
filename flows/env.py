"""Prefect settings for running with no server and no network (the local default).

Prefect reads its settings from the environment, so these are applied to `os.environ` by the
entry points that ask for them (the CLI, the tests) and never at import.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["OFFLINE_SETTINGS", "use_local_prefect"]

# With PREFECT_API_URL unset, Prefect starts a temporary API in-process on a SQLite file under
# PREFECT_HOME. Each switch below stops a call to the internet that this machine cannot make
# (and that would log errors): the server's anonymous analytics, the client's telemetry notice
# and events (DO_NOT_TRACK), and Prefect Cloud orchestration telemetry.
OFFLINE_SETTINGS: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    # Not a network switch: the temporary API's start-up wait. Prefect's default (20 s) timed out
    # here on a 2-core machine under load, where a start took 26 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def use_local_prefect(home: Path | None = None, *, override: bool = False) -> dict[str, str]:
    """Set the offline Prefect settings in this process's environment.

    Args:
        home: a PREFECT_HOME to use (its SQLite database and result storage live there); None
            keeps the current one (default ~/.prefect).
        override: replace values the user already set; by default their settings win.

    Returns:
        The settings that were applied.
    """
    wanted = dict(OFFLINE_SETTINGS)
    if home is not None:
        wanted["PREFECT_HOME"] = str(home)
    applied = {}
    for key, value in wanted.items():
        if override or key not in os.environ:
            os.environ[key] = value
            applied[key] = value
    return applied
