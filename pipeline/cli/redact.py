"""`callqa redact eval`: a thin typer wrapper over pipeline.lab.eval_redact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli._common import CallqaTyper, JsonOpt, progress_hook

__all__ = ["app"]

app = CallqaTyper(help="Redaction tools.")


@app.callback()
def _group() -> None:
    """Redaction tools."""


@app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                            help="Folder of labelled call scripts (tests/data/SCHEMA.md format).")],
    no_organisation: Annotated[bool, typer.Option(
        "--no-organisation", help="Do not pass each script's organisation as keep words (a call with no sidecar).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """PII recall per entity type and over-redaction, the scripts read as transcript input.

    Reports name entity types, call ids and turn indices, never a value.
    """
    from pipeline.lab.eval_redact import evaluate_dir

    with progress_hook() as progress:
        result = evaluate_dir(dataset, keep_organisation=not no_organisation, progress=progress)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"recall {result.recall:.4f} ({result.leaked} of {result.labelled} values leaked)  "
               f"over-redaction {result.over_redaction:.4f} "
               f"({result.non_pii_words_redacted} of {result.non_pii_words} other words)")
    for entity_type, r in result.per_type.items():
        typer.echo(f"  {entity_type:20s} recall {r.recall:.3f}  ({r.leaked} of {r.labelled} leaked)")
    for miss in result.misses:
        typer.echo(f"  leaked: {miss.call_id} turn {miss.turn_index} {miss.entity_type}")
