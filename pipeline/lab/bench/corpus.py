"""The benchmark corpus: telephone calls of set lengths, synthesised once and cached.

Calls are composed from the turns of the bundled sample scripts (pipeline/samples/scripts),
cycled until the estimated speech reaches the target length, and spoken by the project's Piper
synthesiser at 8 kHz, stereo (a party per channel) and mono. Every length uses the same turns in
the same voices, so the synthesiser's clip cache turns a 15-minute call into a few minutes of
unique speech. A batch of N calls repeats one synthesised call under N call ids (hard links),
which keeps synthesis out of the batch's cost while every call is still processed in full.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.lab.bench.options import CorpusOptions, Layout
from pipeline.errors import InputError
from pipeline.ingest import InputItem
from pipeline.lab.scripts import CallScript, ScriptTurn, load_scripts
from pipeline.progress import ProgressHook, prefixed

__all__ = ["BenchCall", "compose_script", "estimate_seconds", "bench_call", "linked_copy", "batch_copies", "samples_scripts_dir"]

@dataclass(frozen=True)
class BenchCall:
    """One synthesised call of the corpus."""

    call_id: str
    layout: Layout
    minutes: float
    item: InputItem
    audio_s: float


def samples_scripts_dir() -> Path:
    """The bundled sample scripts (pipeline/samples/scripts), the default corpus source."""
    return Path(__file__).resolve().parents[2] / "samples" / "scripts"


def estimate_seconds(turns: list[ScriptTurn], words_per_s: float) -> float:
    """Rough length of a call from its words and scripted pauses (overlaps ignored)."""
    return sum(len(t.text.split()) / words_per_s + t.pause_before_s + t.hold_s for t in turns)


def compose_script(sources: list[CallScript], minutes: float, options: CorpusOptions, scale: float = 1.0) -> CallScript:
    """A telephone script of about `minutes` minutes: the sources' turns in order, cycled (pure).

    `scale` stretches the estimated target, to correct the estimate by a synthesised length.

    Raises:
        InputError: no telephone script among the sources.
    """
    pool = [t for s in sources if s.channel_type == "telephone" for t in s.turns]
    if not pool:
        raise InputError("no telephone scripts to compose benchmark calls from", path="corpus.scripts_dir",
                         reason="empty")
    target = minutes * 60.0 * scale
    turns: list[ScriptTurn] = []
    while estimate_seconds(turns, options.speech_words_per_s) < target:
        turn = pool[len(turns) % len(pool)]
        update = {"pause_before_s": min(turn.pause_before_s, options.max_pause_s)}
        if not turns:
            update |= {"overlap_s": 0.0, "pause_before_s": 1.0}
        turns.append(turn.model_copy(update=update))
    first = sources[0]
    return CallScript(call_id=f"bench-{round(minutes * 60):04d}s", channel_type="telephone", scenario="benchmark call",
                      organisation=first.organisation, agent_name=first.agent_name, turns=turns)


def _scripts(options: CorpusOptions) -> list[CallScript]:
    return load_scripts(Path(options.scripts_dir) if options.scripts_dir else samples_scripts_dir())


def bench_call(minutes: float, layout: Layout, options: CorpusOptions, *, cache_root: Path | None = None,
               voice=None, progress: ProgressHook | None = None) -> BenchCall:
    """The corpus call of `minutes` minutes in `layout`, synthesised unless cached.

    The length is first estimated from words and pauses, then corrected by the synthesised
    length (a second pass reuses every cached clip). The synthesiser writes the same bytes for
    the same script, so a cached call is reused while its recipe (script and correction) holds.

    Args:
        minutes: the target length.
        layout: stereo or mono.
        options: the corpus section of configs/bench.yaml.
        cache_root: where calls are cached (default options.cache_dir).
        voice: a loaded TTS voice to reuse (default: the synthesiser loads one).
        progress: the one progress hook; synthesis reports "synth <call_id> <layout>/turns".

    Returns:
        The call, its input item and its synthesised length.
    """
    from pipeline.lab.synth import synthesize_script
    from pipeline.lab.truth import load_truth

    root = cache_root or Path(options.cache_dir)
    sources = _scripts(options)
    target = minutes * 60.0
    folder = root / layout
    call_id = compose_script(sources, minutes, options).call_id
    recipe_path = folder / f"{call_id}.recipe.json"
    audio = folder / f"{call_id}.flac"
    truth_path = folder / "truth" / f"{call_id}.json"
    try:
        scale = float(json.loads(recipe_path.read_text(encoding="utf-8"))["scale"])
    except (OSError, ValueError, KeyError, TypeError):
        scale = 1.0
    for attempt in range(3):
        script = compose_script(sources, minutes, options, scale=scale)
        recipe = json.dumps({"scale": scale, "script": script.model_dump(mode="json")}, sort_keys=True)
        if not (audio.is_file() and truth_path.is_file() and recipe_path.is_file()
                and recipe_path.read_text(encoding="utf-8") == recipe):
            synthesize_script(script, folder, layout=layout, cache_dir=root / "clips", voice=voice,
                              progress=prefixed(progress, f"synth {call_id} {layout}"))
            recipe_path.write_text(recipe, encoding="utf-8")
        duration = load_truth(truth_path).duration_s
        if abs(duration - target) <= options.length_tolerance * target or attempt == 2:
            break
        scale *= target / duration
    return BenchCall(call_id, layout, minutes, InputItem(audio, "audio", folder / f"{call_id}.json"), duration)


def linked_copy(call: BenchCall, call_id: str, folder: Path) -> BenchCall:
    """`call` again under `call_id` in `folder`: the audio hard-linked where the file system allows
    (copied otherwise), a sidecar of its own. The bytes are the same; the pipeline still decodes,
    transcribes and stores every copy, and the sidecar makes each copy's input fingerprint its own."""
    folder.mkdir(parents=True, exist_ok=True)
    sidecar = json.loads(call.item.sidecar.read_text(encoding="utf-8")) if call.item.sidecar else {}
    audio = folder / f"{call_id}{call.item.path.suffix}"
    if not audio.exists():
        try:
            os.link(call.item.path, audio)
        except OSError:
            shutil.copyfile(call.item.path, audio)
    meta = folder / f"{call_id}.json"
    meta.write_text(json.dumps({**sidecar, "call_id": call_id}), encoding="utf-8")
    return BenchCall(call_id, call.layout, call.minutes, InputItem(audio, "audio", meta), call.audio_s)


def batch_copies(call: BenchCall, n: int, folder: Path) -> list[BenchCall]:
    """`n` copies of one call under call ids bench-batch-0001... (`linked_copy`)."""
    return [linked_copy(call, f"bench-batch-{i:04d}", folder) for i in range(1, n + 1)]
