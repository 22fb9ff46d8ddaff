"""`callqa detect train-sentiment` and `callqa detect eval-sentiment`: thin wrappers over
pipeline.lab.train_sentiment (issue #18). Mounted on the `detect` group by pipeline/cli/app.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import JsonOpt
from pipeline.cli.detect import app as detect_app

__all__ = ["train_sentiment_command", "eval_sentiment_command"]

_Folders = Annotated[list[Path], typer.Argument(exists=True, file_okay=False,
                                                help="Folders of labelled call scripts (tests/data/SCHEMA.md format).")]


def _line(name: str, f: object) -> str:
    return f"  {name:12s} accuracy {f.accuracy:.3f}  macro F1 {f.macro_f1:.3f}  " + "  ".join(  # type: ignore[attr-defined]
        f"{k} F1 {v:.3f}" for k, v in f.per_class_f1.items())  # type: ignore[attr-defined]


def _print(report: object, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))  # type: ignore[attr-defined]
        return
    r = report
    typer.echo(f"labelled turns: {r.turns} in {r.calls} calls  ({', '.join(f'{k} {v}' for k, v in r.support.items())})")  # type: ignore[attr-defined]
    typer.echo(_line("classifier", r.classifier))  # type: ignore[attr-defined]
    typer.echo(_line("VADER", r.vader))  # type: ignore[attr-defined]


@detect_app.command("train-sentiment")
def train_sentiment_command(
    train_dirs: _Folders,
    dev: Annotated[list[Path], typer.Option("--dev", exists=True, file_okay=False,
                                            help="Folder(s) to choose the regularisation on (repeatable).")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="Model file to write (JSON).")],
    seed: Annotated[int, typer.Option("--seed", help="The solver's random state, recorded in the model.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Fit the turn-sentiment classifier on TRAIN_DIRS, choose it on --dev, write it to --out and
    print its development figures beside VADER's, and the sha256 for models/manifest.yaml."""
    from pipeline.lab.train_sentiment import feature_models, train
    from pipeline.models import sha256_uncached

    embed, vader = feature_models()
    model, report = train(train_dirs, dev, embed=embed, vader=vader, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.model_dump(mode="json"), separators=(",", ":")) + "\n", encoding="utf-8")
    _print(report, as_json)
    if not as_json:
        typer.echo(f"wrote {out} (C {model.trained['C']}, class weight {model.trained['class_weight']}); "
                   f"sha256 {sha256_uncached(out)}")


@detect_app.command("eval-sentiment")
def eval_sentiment_command(
    folders: _Folders,
    model_file: Annotated[Optional[Path], typer.Option(
        "--model", exists=True, dir_okay=False, help="Model file (default: the manifest's turn-sentiment).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy and macro F1 of the turn-sentiment classifier and of VADER, side by side, on the
    labelled customer turns of FOLDERS."""
    from pipeline.detect.experience import sentiment_model
    from pipeline.detect.sentiment import read_sentiment_model
    from pipeline.lab.train_sentiment import evaluate, feature_models

    model = read_sentiment_model(model_file) if model_file else sentiment_model("turn-sentiment")[0]
    embed, vader = feature_models()
    _print(evaluate(folders, model, embed=embed, vader=vader), as_json)
