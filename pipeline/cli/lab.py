"""`callqa synth` and `callqa eval`: the lab's measuring tools on labelled scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from pipeline.errors import CallqaError

__all__ = ["eval_command", "synth_command"]

err = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Site YAML over the packaged defaults.")]
DevKeyOpt = Annotated[bool, typer.Option(
    "--allow-dev-key", help="Without $CALLQA_REDACTION_KEY, use a public development key (never in production).")]


def _settings(path: Path | None):
    from pipeline.settings import load_settings

    try:
        return load_settings(path)
    except CallqaError as e:
        err.print(f"[red]config error:[/] {e}")
        raise typer.Exit(2) from None


def synth_command(
    scripts_dir: Annotated[Path, typer.Argument(help="Labelled call scripts (tests/data/SCHEMA.md format).")],
    out_dir: Annotated[Path, typer.Argument(help="Where audio, sidecars and truth/ go.")],
    layout: Annotated[str, typer.Option(help="stereo (a party per channel) or mono.")] = "stereo",
    voice_pair: Annotated[str, typer.Option(help="distinct, or similar (a hard pair for diarisation).")] = "distinct",
    hold_audio: Annotated[str, typer.Option(help="music or silence during holds.")] = "music",
) -> None:
    """Speak labelled scripts into telephone audio (Piper neural voice) with timing truth."""
    from pipeline.lab.synth import synthesize_dir

    if not scripts_dir.is_dir():
        err.print(f"[red]not a directory:[/] {scripts_dir}")
        raise typer.Exit(2)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                  disable=not err.is_terminal) as progress:
        task = progress.add_task("synth", total=None)

        def hook(step: str, done: int, total: int) -> None:
            progress.update(task, description=step, completed=done, total=total or None)

        try:
            results = synthesize_dir(scripts_dir, out_dir, layout=layout, voice_pair=voice_pair,
                                     hold_audio=hold_audio, hook=hook)
        except CallqaError as e:
            err.print(f"[red]error:[/] {e}")
            raise typer.Exit(2) from None
    for r in results:
        made = r.audio_path or r.transcript_path
        out.print(f"{r.call_id}: {made} ({r.seconds:.1f} s), truth {r.truth_path}")


def eval_command(
    scripts_dir: Annotated[Path, typer.Argument(help="Labelled call scripts, e.g. tests/data/dev_calls.")],
    config: ConfigOpt = None,
    layout: Annotated[str, typer.Option(help="Synthesise as stereo or mono.")] = "stereo",
    model: Annotated[Optional[str], typer.Option(help="Whisper model name (overrides the config).")] = None,
    work_dir: Annotated[Path, typer.Option(help="Cache of synthesised audio.")] = Path(".cache/eval"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """Run the pipeline on labelled scripts synthesised to audio and report WER and speed."""
    from pipeline.lab.evaluate import evaluate_scripts
    from pipeline.run import Models

    cfg = _settings(config)
    if model:
        core = cfg.core.model_copy(update={"transcribe": cfg.core.transcribe.model_copy(update={"model": model})})
        cfg = cfg.model_copy(update={"core": core})
    if layout not in ("stereo", "mono"):
        err.print("[red]--layout must be stereo or mono[/]")
        raise typer.Exit(2)
    if not scripts_dir.is_dir():
        err.print(f"[red]not a directory:[/] {scripts_dir}")
        raise typer.Exit(2)
    try:
        report = evaluate_scripts(scripts_dir, cfg, layout=layout, work_dir=work_dir,
                                  models=Models(cfg, allow_dev_key=allow_dev_key))
    except CallqaError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    data = report.to_json()
    if as_json:
        out.print_json(json.dumps(data))
        return
    table = Table(title=f"callqa eval {scripts_dir} ({layout}, {report.model})")
    for col in ("call", "audio s", "RTF", "WER", "WER no num/PII", "spk WER", "spk WER no num/PII"):
        table.add_column(col, justify="right")

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    for c in data["calls"]:
        table.add_row(c["call_id"], f"{c['audio_s']:.1f}", pct(c["rtf"]), pct(c["wer"]), pct(c["wer_masked"]),
                      pct(c["wer_speaker"]), pct(c["wer_speaker_masked"]))
    o = data["overall"]
    table.add_row("overall", f"{o['audio_s']:.1f}", pct(o["rtf"]), pct(o["wer"]), pct(o["wer_masked"]),
                  pct(o["wer_speaker"]), pct(o["wer_speaker_masked"]), style="bold")
    out.print(table)
    ev = o["events_call_level"]
    out.print(f"transcription RTF {pct(o['rtf_transcribe'])} (seconds of processing per second of audio)")
    out.print(f"role-attributed word accuracy {pct(o['role_word_accuracy'])}, DER {pct(o['der_mean'])} "
              f"(0.25 s collar), overlap recall {pct(o['overlap_recall'])}, "
              f"PII recall through audio {pct(o['pii_recall'])}")
    out.print(f"events (call level): precision {pct(ev['precision'])} recall {pct(ev['recall'])} F1 {pct(ev['f1'])}")
    if o["timing"]:
        errors = ", ".join(f"{k} {v:.2f} s" for k, v in o["timing"]["mean_abs_error_s"].items())
        out.print(f"timing mean absolute error vs truth: {errors}")
