"""The layers of docs/architecture.md, checked: imports point down, never up.

Every import in pipeline/ and flows/ counts, including those inside functions (a lazy import is
still a dependency). The test fails naming the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests._paths import REPO

GROUND = {"pipeline", "pipeline.schema", "pipeline.errors", "pipeline.config", "pipeline.models",
          "pipeline.offline", "pipeline.torch_compat", "pipeline.spans", "pipeline.progress", "pipeline.lazy", "pipeline.files"}
STAGES = {"pipeline.ingest", "pipeline.transcribe", "pipeline.vad", "pipeline.diarise", "pipeline.redact",
          "pipeline.detect", "pipeline.score", "pipeline.store"}
SERVICES = {"pipeline.run", "pipeline.settings", "pipeline.paths", "pipeline.compliance", "pipeline.review",
            "pipeline.lab", "pipeline.recording", "pipeline.retention"}
FACES = {"pipeline.cli", "pipeline.web", "flows"}
LAYERS = {"ground": GROUND, "stage": STAGES, "service": SERVICES, "face": FACES}
RANK = {"ground": 0, "stage": 1, "service": 2, "face": 3}


def unit_of(module: str) -> tuple[str, str]:
    """(layer, unit): the unit is the stage, service or face a module belongs to."""
    for layer, units in LAYERS.items():
        for unit in sorted(units, key=len, reverse=True):
            if unit != "pipeline" and (module == unit or module.startswith(unit + ".")):
                return layer, unit
    if module == "pipeline":
        return "ground", "pipeline"
    raise AssertionError(f"{module} is in no layer: add it to docs/architecture.md and to this test")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> list[Path]:
    files = sorted((REPO / "pipeline").rglob("*.py")) + sorted((REPO / "flows").rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def imports(path: Path, here: str | None = None) -> list[tuple[int, str]]:
    """(line, imported module) for every import of a project module in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] in ("pipeline", "flows")]
    return found


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    layer, unit = unit_of(importer)
    to_layer, to_unit = unit_of(imported)
    if unit == to_unit:
        return None
    if RANK[to_layer] > RANK[layer]:
        return f"a {layer} imports a {to_layer} ({to_unit}): imports point down only"
    if layer == "stage" and to_layer == "stage" and imported != to_unit:
        return f"a stage imports another stage's internals ({imported}): use {to_unit}'s public API"
    if layer == "service" and to_unit == "pipeline.lab":
        return "a service imports lab code: measuring tools sit beside the services, never under them"
    if layer == "face" and unit == "pipeline.web" and to_unit in ("pipeline.cli", "flows"):
        return f"the web app imports another face ({to_unit})"
    if unit == "flows" and to_unit in ("pipeline.cli", "pipeline.web"):
        return f"the flows import another face ({to_unit})"
    return None


def test_every_module_has_a_layer():
    for path in project_modules():
        unit_of(module_name(path))


def test_no_import_points_up_or_into_another_stage():
    problems = []
    for path in project_modules():
        importer = module_name(path)
        for line, imported in imports(path):
            why = violation(importer, imported)
            if why:
                problems.append(f"{path.relative_to(REPO)}:{line}: {importer} -> {imported}: {why}")
    assert not problems, "layer rules broken (docs/architecture.md):\n" + "\n".join(problems)


@pytest.mark.parametrize("importer, imported, allowed", [
    ("pipeline.redact.audit", "pipeline.run", False),           # stage -> service
    ("pipeline.redact.audit", "pipeline.store.erase", False),   # stage -> another stage's internals
    ("pipeline.redact.audit", "pipeline.store", True),          # stage -> another stage's public API
    ("pipeline.detect.core", "pipeline.cli.app", False),        # stage -> face
    ("pipeline.schema", "pipeline.detect", False),              # ground -> stage
    ("pipeline.run", "pipeline.lab.synth", False),              # service -> lab
    ("pipeline.lab.evaluate", "pipeline.run", True),            # lab -> service
    ("pipeline.web.app", "pipeline.cli.app", False),            # face -> another face
    ("pipeline.cli.batch", "flows.nightly", True),              # the CLI starts a flow
    ("pipeline.cli.app", "pipeline.redact.audit", True),        # a face may use a stage
])
def test_the_rules_themselves(importer, imported, allowed):
    assert (violation(importer, imported) is None) is allowed


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    # A positive control: an import inside a function and a relative import both count, and
    # both are reported as breaking the rules for a stage.
    sample = tmp_path / "sample.py"
    sample.write_text("def load():\n    from pipeline.run import process_input\n\nfrom ..store.erase import x\n")
    found = imports(sample, here="pipeline.redact.sample")
    assert sorted(found) == [(2, "pipeline.run"), (4, "pipeline.store.erase")]
    assert all(violation("pipeline.redact.sample", name) for _, name in found)
