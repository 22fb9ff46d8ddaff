"""`callqa challenge`: the PII challenge corpus (issue #15), a maintainer's tool kept out of the everyday help."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli._common import CallqaTyper, out

__all__ = ["app"]

app = CallqaTyper(help="The PII challenge corpus: generate it.")


@app.callback()
def _group() -> None:
    """The PII challenge corpus."""


@app.command("make")
def make_command(
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Writes OUT_DIR/train and OUT_DIR/test.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same corpus.")] = 15,
    calls: Annotated[int, typer.Option(help="Calls in all, half per split.")] = 44,
) -> None:
    """Generate labelled call scripts full of valid fictitious PII said in many ways (tests/data/SCHEMA.md format).

    The test half is meant to be FROZEN: score it, never tune on it. No value reaches a file name.
    """
    from pipeline.lab.challenge import write_corpus

    written = write_corpus(out_dir, seed=seed, calls=calls)
    for half, files in written.items():
        out.print(f"{half}: {len(files)} scripts in {out_dir / half}", highlight=False)
