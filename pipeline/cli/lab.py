"""`callqa synth`, `callqa eval` and `callqa make-samples`: the lab's measuring tools on labelled scripts."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import ConfigOpt, DevKeyOpt, JsonOpt, Layout, load_site_settings, out, progress_hook

__all__ = ["VoicePair", "HoldAudio", "eval_command", "synth_command", "samples_command"]


class VoicePair(str, Enum):
    """The two synthetic voices: clearly different, or alike (a hard pair for diarisation)."""

    distinct = "distinct"
    similar = "similar"


class HoldAudio(str, Enum):
    """What fills a hold."""

    music = "music"
    silence = "silence"


ScriptsArg = Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                            help="Folder of labelled call scripts (tests/data/SCHEMA.md format).")]


def synth_command(
    scripts_dir: ScriptsArg,
    out_dir: Annotated[Path, typer.Argument(help="Where audio, sidecars and truth/ go.")],
    layout: Annotated[Layout, typer.Option(help="stereo (a party per channel) or mono.")] = Layout.stereo,
    voice_pair: Annotated[VoicePair, typer.Option(
        help="distinct, or similar (a hard pair for diarisation).")] = VoicePair.distinct,
    hold_audio: Annotated[HoldAudio, typer.Option(help="What fills holds: music or silence.")] = HoldAudio.music,
    noise_dbfs: Annotated[Optional[float], typer.Option(
        max=-40.0, help="RMS level of a seeded line-noise floor, e.g. -48 (default: none, digital silence).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(
        file_okay=False, help="Reuse synthesised turn clips from here (a second layout of the same scripts "
                              "costs no Piper time).")] = None,
) -> None:
    """Speak labelled scripts into telephone audio (Piper neural voice) with timing truth."""
    from pipeline.lab.synth import synthesize_dir

    with progress_hook() as progress:
        results = synthesize_dir(scripts_dir, out_dir, layout=layout.value, voice_pair=voice_pair.value,
                                 hold_audio=hold_audio.value, noise_floor_dbfs=noise_dbfs, cache_dir=cache_dir,
                                 progress=progress)
    for r in results:
        made = r.audio_path or r.transcript_path
        out.print(f"{r.call_id}: {made} ({r.seconds:.1f} s), truth {r.truth_path}")


def samples_command(
    root: Annotated[Optional[Path], typer.Option(
        file_okay=False, help="Samples folder holding samples.yaml and scripts/ (default: the packaged pipeline/samples).")
    ] = None,
) -> None:
    """Regenerate the bundled sample calls (audio, sidecars, chat transcript, timing truths).

    Byte-identical on every run with the same piper-tts, voice and sox; see pipeline/samples/README.md.
    """
    from pipeline.lab.synth.make_samples import make_samples

    with progress_hook() as progress:
        results = make_samples(root, progress=progress)
    for r in results:
        path = r.audio_path or r.transcript_path
        out.print(f"{r.call_id:12s} {path.stat().st_size:8d} bytes  {r.truth.duration_s:6.1f} s  {path}",
                  highlight=False)


def eval_command(
    scripts_dir: ScriptsArg,
    config: ConfigOpt = None,
    layout: Annotated[Layout, typer.Option(help="Synthesise as stereo or mono.")] = Layout.stereo,
    model: Annotated[Optional[str], typer.Option(help="Whisper model name (overrides the config).")] = None,
    work_dir: Annotated[Path, typer.Option(help="Cache of synthesised audio.")] = Path(".cache/eval"),
    relisten_model: Annotated[str, typer.Option(
        help="Whisper model (manifest name) that re-listens to the redacted audio; pick one the pipeline does "
             "not use. 'none' skips the re-listen (the slow part).")] = "base",
    noise_dbfs: Annotated[Optional[float], typer.Option(
        max=-40.0, help="Line-noise floor of the synthesised audio, RMS dBFS (e.g. -48); default none.")] = None,
    audio_dir: Annotated[Optional[Path], typer.Option(
        exists=True, file_okay=False, help="Audio already synthesised for these scripts (callqa synth output, "
                                           "with truth/): used instead of synthesising.")] = None,
    outputs: Annotated[Optional[Path], typer.Option(
        exists=True, file_okay=False, help="Score the outputs a run already wrote here (OUT/<call_id>/) instead of "
                                           "running the pipeline; needs --audio-dir. Redaction figures only.")] = None,
    asr_dir: Annotated[Optional[Path], typer.Option(
        exists=True, file_okay=False, help="With --outputs: unredacted ASR dumps (callqa challenge run), for "
                                           "over-redaction in text.")] = None,
    margin_s: Annotated[float, typer.Option(
        min=0.0, max=2.0, help="Seconds added each side of a value's estimated time when measuring muted "
                               "non-PII speech.")] = 0.35,
    as_json: JsonOpt = False,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """Run the pipeline on labelled scripts synthesised to audio and report WER, speed and what redaction
    left behind: recall on the redacted transcript and on the re-listened redacted audio per entity type,
    payment data audible, over-redaction in text and audio."""
    from pipeline.lab.evaluate import evaluate_scripts
    from pipeline.run import Models

    cfg = load_site_settings(config)
    if model:
        core = cfg.core.model_copy(update={"transcribe": cfg.core.transcribe.model_copy(update={"model": model})})
        cfg = cfg.model_copy(update={"core": core})
    relisten = None if relisten_model.lower() == "none" else relisten_model
    if outputs is not None:
        _score_outputs(scripts_dir, cfg, outputs, audio_dir, asr_dir, relisten, margin_s, as_json)
        return
    with progress_hook() as progress:
        report = evaluate_scripts(scripts_dir, cfg, layout=layout.value, work_dir=work_dir,
                                  models=Models(cfg, allow_dev_key=allow_dev_key), progress=progress,
                                  relisten_model=relisten, noise_dbfs=noise_dbfs, audio_dir=audio_dir,
                                  margin_s=margin_s)
    data = report.to_json()
    if as_json:
        out.print_json(json.dumps(data))
        return
    _print_eval(data, f"callqa eval {scripts_dir} ({layout.value}, {report.model})")
    _print_redaction(data["redaction"])


def _score_outputs(scripts_dir: Path, cfg, outputs: Path, audio_dir: Path | None, asr_dir: Path | None,
                   relisten: str | None, margin_s: float, as_json: bool) -> None:
    from pipeline.errors import InputError
    from pipeline.lab.eval_outputs import Relistener, score_outputs, summarise
    from pipeline.lab.scripts import load_scripts

    if audio_dir is None:
        raise InputError("--outputs needs --audio-dir: the synthesised audio and truth/ of those calls",
                         path=str(outputs), reason="missing")
    from pipeline.lab.synth.voice import load_voice

    relistener = Relistener.load(cfg, relisten) if relisten else None
    with progress_hook() as progress:
        scores = score_outputs(load_scripts(scripts_dir), audio_dir, outputs, cfg, asr_dir=asr_dir,
                               relistener=relistener, margin_s=margin_s, progress=progress,
                               spoken_length=load_voice().spoken_length)
    data = {"scripts_dir": str(scripts_dir), "outputs": str(outputs),
            "redaction": summarise(scores, relisten_model=relisten, margin_s=margin_s).model_dump(mode="json")}
    if as_json:
        out.print_json(json.dumps(data))
        return
    _print_redaction(data["redaction"])


def _print_redaction(r: dict) -> None:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    t, h = r["transcript"], r["relisten"]
    out.print(f"redacted transcript: recall {pct(t['recall'])} ({t['leaked']} of {t['labelled']} values leaked)")
    if h is not None:
        p = r["payment_audible"]
        out.print(f"re-listened audio ({r['relisten_model']}, peak-normalised, no VAD): recall {pct(h['recall'])} "
                  f"({h['leaked']} of {h['labelled']} audible); payment values audible {p['audible']} "
                  f"of {p['labelled']} in {p['calls_with_payment_audible']} calls, card expiry audible "
                  f"{p['card_expiry_audible']}; audio withheld in {r['audio_withheld']} calls")
    n = r.get("relisten_near")
    if n is not None:
        out.print(f"  heard near the value's own time: recall {pct(n['recall'])} ({n['leaked']} of "
                  f"{n['labelled']}; payment {n['payment']})")
    e = r.get("exposed")
    if e is not None:
        out.print(f"values left audible by time (at least half a value's estimated speech unmuted, every call): "
                  f"{e['leaked']} of {e['labelled']}; payment {e['payment']} of {e['payment_labelled']} in "
                  f"{e['calls_with_payment_exposed']} calls")
    for entity_type, row in t["per_type"].items():
        heard = h["per_type"].get(entity_type) if h else None
        out.print(f"  {entity_type:20s} text {row['leaked']:3d}/{row['labelled']:<3d} leaked"
                  + (f"   audio {heard['leaked']:3d}/{heard['labelled']:<3d} audible" if heard else ""),
                  highlight=False)
    o = r["over_redaction"]
    if o["text"]:
        out.print(f"over-redaction in text: {o['text']['removed']} of {o['text']['non_pii_words_heard']} non-PII "
                  f"words heard ({pct(o['text']['ratio'])})")
    if o["audio"]:
        out.print(f"over-redaction in audio: {o['audio']['muted_s']:.1f} of {o['audio']['non_pii_speech_s']:.1f} s "
                  f"of non-PII speech muted ({pct(o['audio']['ratio'])}, value margin {r['margin_s']} s); "
                  f"PII speech muted {pct(o['audio']['pii_speech_muted_ratio'])}")


def _print_eval(data: dict, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
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
