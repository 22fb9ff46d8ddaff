"""Test-wide setup: a redaction key for the run (the pipeline refuses to run without one)."""

import os

# A fixed test key: digests in test outputs are reproducible and never meant to be secret.
os.environ.setdefault("CALLQA_REDACTION_KEY", "callqa-test-key-0123456789abcdef")
