"""Erasure in Prefect: delete Prefect's own records of an erased call.

The flows name each task run after its call id and pass call ids (never file names) as
parameters, so an erased call is found in Prefect's database by its id: the `process_call`
task runs named after it (their logs and states go with them), the shard flow runs whose
parameters list it, and the nightly artifacts whose data names it. `callqa erase` calls this
after `pipeline.compliance.erase_call`, when a Prefect API is configured (PREFECT_API_URL) or
the local Prefect database exists.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["PrefectErasure", "prefect_configured", "forget_call"]

log = logging.getLogger(__name__)

# The artifact keys the nightly flow publishes (flows.nightly).
ARTIFACT_KEYS = ["callqa-nightly-report", "callqa-nightly-calls"]
SHARD_FLOW = "callqa-shard"
_PAGE = 200


class PrefectErasure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task_runs: int = 0
    flow_runs: int = 0
    artifacts: int = 0


def prefect_configured() -> bool:
    """Whether Prefect keeps records here: an API is named, or the local database exists."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    from prefect.settings import get_current_settings

    home = Path(get_current_settings().home).expanduser()
    return (home / "prefect.db").is_file()


def _names_call(value: object, call_id: str) -> bool:
    return f'"{call_id}"' in json.dumps(value, default=str) or f"-{call_id}" in json.dumps(value, default=str)


def forget_call(call_id: str) -> PrefectErasure:
    """Delete the task runs, shard flow runs and artifacts that name `call_id`.

    Returns:
        How many of each were deleted.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowFilter,
        FlowFilterName,
        TaskRunFilter,
        TaskRunFilterName,
    )

    counts = {"task_runs": 0, "flow_runs": 0, "artifacts": 0}
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=call_id)))
        for run in runs:
            if run.name.endswith(f"-{call_id}") or _names_call(run.parameters if hasattr(run, "parameters") else {},
                                                               call_id):
                client.delete_task_run(run.id)
                counts["task_runs"] += 1
        offset = 0
        while True:
            flow_runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[SHARD_FLOW])),
                                              limit=_PAGE, offset=offset)
            for run in flow_runs:
                if _names_call(run.parameters, call_id):
                    client.delete_flow_run(run.id)
                    counts["flow_runs"] += 1
            if len(flow_runs) < _PAGE:
                break
            offset += _PAGE
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=ARTIFACT_KEYS)))
        for artifact in artifacts:
            if _names_call(artifact.data, call_id):
                client.delete_artifact(artifact.id)
                counts["artifacts"] += 1
    log.info("deleted Prefect's records of an erased call: %s", counts)
    return PrefectErasure(**counts)
