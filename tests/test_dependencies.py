"""Every third-party package the code imports is declared in pyproject.toml, and the lock holds
an exact version of each declared one (issue #14: tldextract, regex, huggingface_hub, pyannote.core,
pyannote.metrics, pyannote.pipeline and starlette were imported but came only by accident).

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests._paths import REPO

LOCAL = {"pipeline", "flows", "tests", "__future__"} | {p.stem for p in (REPO / "tests").glob("*.py")}
# Import names whose distribution need not be installed here to be checked (optional at run time).
NOT_INSTALLED = {"pynvml": "nvidia-ml-py"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _norm(re.match(r"[A-Za-z0-9._-]+", requirement).group())


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: {_requirement_name(r) for r in reqs} for group, reqs in groups.items()}


def _imports(folder: Path) -> dict[str, str]:
    """Absolute imports of third-party modules under `folder`: module -> first file that imports it."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in LOCAL and top not in sys.stdlib_module_names:
                    found.setdefault(name, str(path.relative_to(REPO)))
    return found


def _distribution(module: str, installed: dict[str, list[str]]) -> str:
    top = module.split(".")[0]
    if top in NOT_INSTALLED:
        return NOT_INSTALLED[top]
    dists = {_norm(d) for d in installed.get(top, [])}
    if len(dists) > 1:  # a namespace package (pyannote): the distribution is named by two parts
        dists &= {_norm(".".join(module.split(".")[:2]))}
    assert len(dists) == 1, f"cannot tell which installed distribution provides '{module}': {dists or 'none'}"
    return dists.pop()


@pytest.fixture(scope="module")
def declared() -> dict[str, set[str]]:
    return _declared()


@pytest.mark.parametrize(("folders", "groups"), [
    (("pipeline", "flows"), None),  # the code: core, or the extra that its optional import needs
    (("tests",), ("core", "test")),  # the tests: what `.[test]` installs beside the core
])
def test_every_imported_package_is_declared(declared, folders, groups):
    installed = packages_distributions()
    allowed = set().union(*(names for group, names in declared.items() if groups is None or group in groups))
    missing = {}
    for folder in folders:
        for module, where in _imports(REPO / folder).items():
            dist = _distribution(module, installed)
            if dist not in allowed:
                missing[dist] = f"{module} in {where}"
    assert missing == {}, f"imported but not declared in pyproject.toml {groups or ''}: {missing}"


def test_the_lock_pins_every_declared_package(declared):
    text = (REPO / "constraints.txt").read_text(encoding="utf-8")
    pinned = {_norm(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9._-]+)==\S+", text, re.MULTILINE)}
    unpinned = set().union(*declared.values()) - pinned
    assert unpinned == set(), f"declared but not in constraints.txt (run bash .ci/lock): {sorted(unpinned)}"
    # torch without its local label, so a GPU host's CUDA build of the same release satisfies it.
    assert re.search(r"^torch==\d+(\.\d+)*$", text, re.MULTILINE)
