"""`callqa challenge`: the PII challenge corpus (issue #15), a maintainer's tool kept out of the everyday help."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli._common import CallqaTyper, out

__all__ = ["app"]

app = CallqaTyper(help="The PII challenge corpus: generate it, run it, score the text policy on it.")


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


@app.command("run")
def run_command(
    audio_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Synthesised calls (callqa synth output).")],
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Where OUT/<call_id>/ folders go.")],
    asr_dir: Annotated[Path, typer.Argument(file_okay=False, help="Where the unredacted ASR turns go.")],
    model: Annotated[str | None, typer.Option(help="Whisper model name (overrides the config).")] = None,
) -> None:
    """Run the pipeline over synthesised calls and keep each call's ASR turns before redaction.

    Uses the public development HMAC key when none is set: lab data only.
    """
    from pipeline.cli._common import progress_hook
    from pipeline.lab.challenge.dump_asr import run_and_dump

    with progress_hook() as progress:
        ids = run_and_dump(audio_dir, out_dir, asr_dir, model=model, progress=progress)
    out.print(f"{len(ids)} calls: outputs in {out_dir}, ASR turns in {asr_dir}", highlight=False)


@app.command("redo")
def redo_command(
    audio_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Synthesised calls (callqa synth output).")],
    asr_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Their ASR dumps (callqa challenge run).")],
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Where OUT/<call_id>/ folders go.")],
    config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A site configuration file.")] = None,
) -> None:
    """Redact dumped ASR turns again with the current policy, text and audio, without transcribing again.

    The same redaction a full run of the current code gives (transcription does not depend on the policy);
    score it with `callqa eval --outputs`.
    """
    from pipeline.cli._common import progress_hook
    from pipeline.lab.challenge.redo import redo_redaction

    with progress_hook() as progress:
        ids = redo_redaction(audio_dir, asr_dir, out_dir, config=config, progress=progress)
    out.print(f"{len(ids)} calls redacted again into {out_dir}", highlight=False)


@app.command("score-text")
def score_text_command(
    scripts_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="The labelled scripts.")],
    asr_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Their ASR dumps (callqa challenge run).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Redact dumped ASR turns again with the current text policy and score them (seconds, no audio).

    Lists misses by call, script turn and type, never a value. Use it on the TRAIN half only.
    """
    import json

    from pipeline.cli._common import progress_hook
    from pipeline.lab.challenge.score_text import score_asr_dumps

    with progress_hook() as progress:
        score = score_asr_dumps(scripts_dir, asr_dir, progress=progress)
    if as_json:
        typer.echo(json.dumps(score.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"{score.calls} calls: recall {score.recall:.4f} ({sum(score.leaked.values())} of "
               f"{sum(score.labelled.values())} values leaked; {sum(score.heard.values())} heard by the transcriber), "
               f"over-redaction {score.over_redaction:.4f} ({score.non_pii_words_removed} of "
               f"{score.non_pii_words_heard} non-PII words heard)")
    for entity_type, n in sorted(score.labelled.items()):
        typer.echo(f"  {entity_type:20s} leaked {score.leaked.get(entity_type, 0):3d} of {n:3d}"
                   f"  (heard {score.heard.get(entity_type, 0)})")
    for miss in score.misses:
        typer.echo(f"  leaked: {miss.call_id} turn {miss.turn_index} {miss.entity_type}")


@app.command("attribute")
def attribute_command(
    scripts_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="The labelled scripts (TRAIN half).")],
    audio_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Synthesised calls (callqa synth output).")],
    redo_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="callqa challenge redo output (redo.json).")],
    config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="The site configuration the redo used.")] = None,
    near_s: Annotated[float, typer.Option(help="A muted frame this close to a value's estimated time is 'near'.")] = 0.5,
    far_s: Annotated[float, typer.Option(help="Beyond this from every value it is 'far'.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Attribute the non-PII speech a redo muted to its cause (finding and its padding per recogniser, merge gap,
    unaligned speech), split by distance from the nearest labelled value. Seconds only, never a value."""
    import json

    from pipeline.cli._common import progress_hook
    from pipeline.lab.challenge.attribute import attribute_run
    from pipeline.lab.synth.voice import load_voice
    from pipeline.settings import load_settings

    with progress_hook() as progress:
        result = attribute_run(scripts_dir, audio_dir, redo_dir, load_settings(config), near_s=near_s, far_s=far_s,
                               spoken_length=load_voice().spoken_length, progress=progress)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    ratio = result.muted_s / result.non_pii_speech_s if result.non_pii_speech_s else 0.0
    typer.echo(f"{result.calls} calls: {result.muted_s:.1f} of {result.non_pii_speech_s:.1f} s non-PII speech muted "
               f"({ratio:.1%})")
    typer.echo(f"  {'cause':28s} {'total':>7s} {'<=' + str(near_s):>7s} {'<=' + str(far_s):>7s} {'far':>7s} calls")
    for name, c in result.causes.items():
        typer.echo(f"  {name:28s} {c.total_s:7.2f} {c.near_s:7.2f} {c.mid_s:7.2f} {c.far_s:7.2f} {c.calls:5d}")
