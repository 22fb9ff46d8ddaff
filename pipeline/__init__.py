"""callqa: speech and transcript analytics for recorded customer-service calls.

The stage library: pure functions over the schema in `pipeline.schema`; no Prefect inside.
"""

__version__ = "0.1.0"
