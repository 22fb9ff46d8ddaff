"""Prefect 3 flows for callqa: thin wrappers that run the pipeline's plain functions as tasks.

Importing this package does not import Prefect (it is heavy); `flows.nightly` does. The stages
in `pipeline` never import `flows`.
"""

__all__: list[str] = []
