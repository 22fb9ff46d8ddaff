"""The dashboard: KPIs over time per team and agent, score distribution, calibration drift and
auto-vs-assessor agreement, as server-rendered SVG charts each with its table (issue #18)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
