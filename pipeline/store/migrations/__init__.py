"""Alembic migrations of the results index, shipped inside the package (see pipeline.store.upgrade)."""
