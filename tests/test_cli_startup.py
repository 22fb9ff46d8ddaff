"""The CLI starts at once: importing it and building every command's help loads no model library.

Each check runs in a fresh interpreter, so what another test imported cannot hide an import.
This fails as soon as someone adds a top-level import of a heavy library anywhere on the CLI's
import path (a stage package's __init__, settings, a command module).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests._paths import REPO

HEAVY = ("torch", "torchaudio", "presidio_analyzer", "presidio_anonymizer", "spacy", "prefect", "faster_whisper",
         "ctranslate2", "pyannote", "sentence_transformers", "transformers", "sklearn")

# Builds the help of the root and of every command and group under it, as `callqa ... --help`
# would, then reports which heavy top-level packages are loaded.
PROBE = """
import json, sys
from typer.main import get_command
import pipeline.cli

def walk(command, ctx):
    command.get_help(ctx)
    yield ctx.command_path
    if hasattr(command, 'list_commands'):  # a group (typer bundles its own click)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            yield from walk(sub, type(ctx)(sub, info_name=name, parent=ctx))

root = get_command(pipeline.cli.app)
paths = list(walk(root, root.make_context("callqa", [], resilient_parsing=True)))
heavy = sorted(m for m in %r if m in sys.modules)
print(json.dumps({"paths": paths, "heavy": heavy}))
""" % (HEAVY,)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_every_help_text_builds_without_a_heavy_import():
    proc = _run("-c", PROBE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # Positive control: the walk reached the commands the issue names, so an empty list means something.
    assert {"callqa", "callqa review", "callqa review list", "callqa run", "callqa audit report"} <= set(report["paths"])
    assert report["heavy"] == [], f"importing the CLI loads {report['heavy']}: import them inside the loaders"


@pytest.mark.parametrize("argv", [["--help"], ["review", "list", "--help"]])
def test_help_exits_0_without_a_heavy_import(argv):
    # The real entry point (python -m pipeline.cli), then the module table of the same process.
    code = ("import runpy, sys\n"
            f"sys.argv = ['callqa', *{argv!r}]\n"
            "try:\n    runpy.run_module('pipeline.cli', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = _run("-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage:" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


def test_the_stage_packages_import_light():
    # settings imports redact/ and detect/ for their options: their __init__s must stay lazy.
    code = ("import sys\nimport pipeline.settings, pipeline.redact, pipeline.detect, pipeline.diarise\n"
            "from pipeline.redact import RedactOptions\nfrom pipeline.detect import DetectOptions\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = _run("-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""


def test_the_lazy_exports_resolve():
    # Every name a stage package lists in __all__ is reachable (a typo in the lazy table fails here).
    import pipeline.detect
    import pipeline.diarise
    import pipeline.redact

    for package in (pipeline.redact, pipeline.detect, pipeline.diarise):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
