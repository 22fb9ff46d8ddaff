"""Run the pipeline over synthesised challenge audio, keeping what a run throws away: the ASR turns
before redaction.

For each recording this writes what `callqa run` writes (OUT/<call_id>/: result.json,
transcript.txt, audio.redacted.wav) and, beside it in ASR_DIR, the diarised turns with their
words BEFORE redaction:

    ASR_DIR/<call_id>.turns.json       {"call_id", "channel_type", "organisation", "turns": [Turn...]}
    ASR_DIR/<call_id>.transcript.json  the same turns as transcript-input JSON (`callqa run` reads it)

so a text policy can be scored again on real transcriber output in seconds
(`callqa challenge score-text`), and `callqa eval --outputs` can measure over-redaction.

It only uses what every version of the pipeline has (`process_input`, `write_outputs`), so it
also runs against an older snapshot of the code, to take a baseline before a change:

    PYTHONPATH=/tmp/base python pipeline/lab/challenge/dump_asr.py AUDIO_DIR OUT_DIR ASR_DIR
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["run_and_dump"]


def run_and_dump(audio_dir: Path, out_dir: Path, asr_dir: Path | None, *, config: Path | None = None,
                 allow_dev_key: bool = True, model: str | None = None, progress=None,
                 follow: list[str] | None = None) -> list[str]:
    """Process every recording in `audio_dir` as a run would, and dump its unredacted ASR turns.

    Args:
        audio_dir: synthesised recordings with sidecars (`callqa synth` output).
        out_dir: where OUT/<call_id>/ folders go.
        asr_dir: where the ASR dumps go; None for none.
        config: a site configuration file (default: the packaged settings).
        allow_dev_key: use the public development HMAC key when none is set (lab data only).
        model: a Whisper model name overriding the configuration.
        progress: called with ("calls", done, total).
        follow: call ids to process in this order as the synthesiser writes them (each is taken
            once its truth file exists, the synthesiser's last write), so the pipeline overlaps
            synthesis; None processes what `audio_dir` holds now.

    Returns:
        The call ids processed.
    """
    from pipeline.ingest import discover_inputs
    from pipeline.run import Models, process_input, write_outputs
    from pipeline.settings import load_settings

    settings = load_settings(config)
    if model:
        core = settings.core.model_copy(
            update={"transcribe": settings.core.transcribe.model_copy(update={"model": model})})
        settings = settings.model_copy(update={"core": core})
    models = Models(settings, allow_dev_key=allow_dev_key)
    items = [i for i in discover_inputs([Path(audio_dir)]) if i.kind == "audio"] if follow is None else \
        [_Waiting(Path(audio_dir), cid) for cid in follow]
    out_dir.mkdir(parents=True, exist_ok=True)
    if asr_dir is not None:
        asr_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for n, item in enumerate(items):
        if isinstance(item, _Waiting):
            item = item.wait()
        processed = process_input(item, settings, models)
        write_outputs(processed, out_dir, settings)
        result = processed.result
        if asr_dir is not None and processed.diarisation is not None:
            turns = [t.model_dump(mode="json") for t in processed.diarisation.turns]
            organisation = result.metadata.organisation
            doc = {"call_id": result.call_id, "channel_type": result.channel_type, "organisation": organisation,
                   "turns": turns}
            _write(asr_dir / f"{result.call_id}.turns.json", doc)
            _write(asr_dir / f"{result.call_id}.transcript.json", {
                "call_id": result.call_id, "channel_type": result.channel_type,
                "metadata": {"organisation": organisation} if organisation else {},
                "turns": [{"speaker": t["speaker"] if t["speaker"] in ("agent", "customer") else "customer",
                           "text": t["text"], "start_s": t["start_s"], "end_s": t["end_s"]}
                          for t in turns if t["text"].strip()],
            })
        done.append(result.call_id)
        if progress:
            progress("calls", n + 1, len(items))
    return done


class _Waiting:
    """A call the synthesiser has not written yet."""

    def __init__(self, folder: Path, call_id: str) -> None:
        self.folder, self.call_id = folder, call_id

    def wait(self):
        import time

        from pipeline.ingest import InputItem

        while not (self.folder / "truth" / f"{self.call_id}.json").is_file():
            time.sleep(2.0)
        return InputItem(self.folder / f"{self.call_id}.flac", "audio", self.folder / f"{self.call_id}.json")


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":  # for running against another snapshot of the code (see the docstring)
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("audio_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("asr_dir", type=Path, nargs="?")
    parser.add_argument("--model", default=None)
    parser.add_argument("--follow", default=None, help="Comma-separated call ids to wait for and process in order.")
    args = parser.parse_args()
    ids = run_and_dump(args.audio_dir, args.out_dir, args.asr_dir, model=args.model,
                       follow=args.follow.split(",") if args.follow else None,
                       progress=lambda step, d, t: print(f"{step} {d}/{t}", file=sys.stderr, flush=True))
    print(f"{len(ids)} calls")
