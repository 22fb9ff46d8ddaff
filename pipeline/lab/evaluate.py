"""`callqa eval`: run the pipeline on labelled scripts synthesised to audio, and score it.

Each script (tests/data/SCHEMA.md format) is spoken by the synthesiser into telephone audio with
its timing truth, processed by the same `process_input` a run uses, and compared with the
script. Metrics: WER per call and overall (all words, and leaving numbers and PII aside; speaker
attributed and speaker-blind), the real-time factor of the stages, and what redaction left
behind (pipeline.lab.eval_outputs): recall on the redacted transcript and on the re-listened
redacted audio per entity type, payment data audible, over-redaction in text and audio.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.ingest import InputItem
from pipeline.lab.eval_outputs import CallRedactionScore, Relistener, score_call, summarise
from pipeline.lab.scripts import CallScript, load_scripts
from pipeline.progress import ProgressHook
from pipeline.run import Models, process_input
from pipeline.schema import CallResult
from pipeline.settings import Settings
from pipeline.lab.wer import WerCounts, normalise, reference_tokens, wer_counts

__all__ = ["CallEval", "EvalReport", "evaluate_scripts", "synthesised_inputs", "transcript_wer"]

log = logging.getLogger(__name__)

Layout = Literal["stereo", "mono"]


class CallEval(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    audio_s: float
    processing_s: float = Field(description="Wall time of all stages for this call.")
    transcribe_s: float
    wer: WerCounts = Field(description="Speaker-blind, every word.")
    wer_masked: WerCounts = Field(description="Speaker-blind, numbers and PII left aside.")
    wer_speaker: WerCounts = Field(description="Speaker-attributed, every word.")
    wer_speaker_masked: WerCounts = Field(description="Speaker-attributed, numbers and PII left aside.")
    role_words: tuple[int, int] = Field(description="(words given the right role, words) by the timing truth.")
    overlaps: tuple[int, int] = Field(description="(scripted interruptions found as overlapping turns, scripted).")
    kinds_true: list[str] = Field(description="Event kinds the script labels.")
    kinds_found: list[str] = Field(description="Event kinds detected.")
    pii: tuple[int, int] = Field(description="(PII values with nothing identifying left in the redacted text, values).")
    der: float | None = Field(None, description="Diarisation error rate (pyannote.metrics, 0.25 s collar).")
    redaction: CallRedactionScore | None = Field(None, description="What redaction left behind (eval_outputs).")

    @property
    def rtf(self) -> float:
        return self.processing_s / self.audio_s if self.audio_s else 0.0


class EvalReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    scripts_dir: str
    layout: Layout
    model: str
    calls: list[CallEval]
    timing: dict = Field(default_factory=dict, description="Timing-metric errors against the timing truth.")
    relisten_model: str | None = Field(None, description="The model that re-listened to the redacted audio.")

    def total(self, field: str) -> WerCounts:
        total = WerCounts()
        for call in self.calls:
            total = total + getattr(call, field)
        return total

    def event_scores(self) -> dict[str, float | None]:
        tp = sum(len(set(c.kinds_true) & set(c.kinds_found)) for c in self.calls)
        fp = sum(len(set(c.kinds_found) - set(c.kinds_true)) for c in self.calls)
        fn = sum(len(set(c.kinds_true) - set(c.kinds_found)) for c in self.calls)
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
        return {"precision": precision, "recall": recall, "f1": f1}

    def to_json(self) -> dict:
        audio = sum(c.audio_s for c in self.calls)

        def ratio(field: str) -> float | None:
            num = sum(getattr(c, field)[0] for c in self.calls)
            den = sum(getattr(c, field)[1] for c in self.calls)
            return round(num / den, 4) if den else None

        return {
            "scripts_dir": self.scripts_dir,
            "layout": self.layout,
            "model": self.model,
            "overall": {
                "wer": self.total("wer").wer,
                "wer_masked": self.total("wer_masked").wer,
                "wer_speaker": self.total("wer_speaker").wer,
                "wer_speaker_masked": self.total("wer_speaker_masked").wer,
                "audio_s": round(audio, 3),
                "rtf": round(sum(c.processing_s for c in self.calls) / audio, 4) if audio else None,
                "rtf_transcribe": round(sum(c.transcribe_s for c in self.calls) / audio, 4) if audio else None,
                "role_word_accuracy": ratio("role_words"),
                "der_mean": (round(sum(c.der for c in self.calls if c.der is not None)
                                   / max(1, sum(c.der is not None for c in self.calls)), 4)),
                "overlap_recall": ratio("overlaps"),
                "pii_recall": ratio("pii"),
                "events_call_level": self.event_scores(),
                "timing": self.timing,
            },
            "redaction": summarise([c.redaction for c in self.calls if c.redaction is not None],
                                   relisten_model=self.relisten_model).model_dump(mode="json"),
            "calls": [
                {"call_id": c.call_id, "audio_s": round(c.audio_s, 3), "rtf": round(c.rtf, 4),
                 "wer": c.wer.wer, "wer_masked": c.wer_masked.wer, "wer_speaker": c.wer_speaker.wer,
                 "wer_speaker_masked": c.wer_speaker_masked.wer,
                 "role_word_accuracy": round(c.role_words[0] / c.role_words[1], 4) if c.role_words[1] else None,
                 "pii_recall": round(c.pii[0] / c.pii[1], 4) if c.pii[1] else None,
                 "pii_relisten_leaked": (sum(c.redaction.relisten_leaked.values())
                                         if c.redaction is not None and c.redaction.relisten_leaked is not None
                                         else None),
                 "events_missed": sorted(set(c.kinds_true) - set(c.kinds_found)),
                 "events_extra": sorted(set(c.kinds_found) - set(c.kinds_true))}
                for c in self.calls
            ],
        }


def _pii_spans(text: str, values: list[str]) -> list[tuple[int, int]]:
    spans = []
    for value in values:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    return spans


def transcript_wer(script: CallScript, result: CallResult) -> dict[str, WerCounts]:
    """The four WER counts of one call: speaker-blind and speaker-attributed, all and masked."""
    turns = [(t.speaker, reference_tokens(t.text, _pii_spans(t.text, [p.text for p in t.pii]))) for t in script.turns]
    hyp_turns = sorted(result.turns, key=lambda t: (t.start_s or 0.0, t.index))
    blind_ref = [tok for _, toks in turns for tok in toks]
    blind_hyp = [w for t in hyp_turns for w in normalise(t.text)]
    counts = {
        "wer": wer_counts(blind_ref, blind_hyp, ignore_masked=False),
        "wer_masked": wer_counts(blind_ref, blind_hyp, ignore_masked=True),
    }
    for key, ignore in (("wer_speaker", False), ("wer_speaker_masked", True)):
        total = WerCounts()
        for speaker in ("agent", "customer"):
            ref = [tok for s, toks in turns if s == speaker for tok in toks]
            hyp = [w for t in hyp_turns if t.speaker == speaker for w in normalise(t.text)]
            total = total + wer_counts(ref, hyp, ignore_masked=ignore)
        # Words given to no party (speaker "unknown") are all errors of attribution.
        unknown = [w for t in hyp_turns if t.speaker not in ("agent", "customer") for w in normalise(t.text)]
        counts[key] = total + WerCounts(insertions=len(unknown))
    return counts


def synthesised_inputs(scripts: list[CallScript], work_dir: Path, layout: Layout,
                       progress: ProgressHook | None = None, *, noise_dbfs: float | None = None,
                       audio_dir: Path | None = None):
    """Yield (script, truth, InputItem) for every audio script (digital ones have no audio).

    The synthesiser's clip cache makes re-runs cheap. Reports ("synth", done, audio scripts).

    Args:
        noise_dbfs: a seeded line-noise floor (RMS dBFS, e.g. -48); None for digital silence.
        audio_dir: audio already synthesised for these scripts (`callqa synth` output: audio,
            sidecars, truth/); nothing is synthesised then.
    """
    from pipeline.lab.synth import synthesize_script
    from pipeline.lab.truth import load_truth

    audio = [s for s in scripts if s.channel_type != "digital"]
    target = work_dir / (layout if noise_dbfs is None else f"{layout}-noise{-noise_dbfs:g}")
    for n, script in enumerate(audio):
        if audio_dir is not None:
            path = next((p for p in (audio_dir / f"{script.call_id}.flac", audio_dir / f"{script.call_id}.wav")
                         if p.is_file()), audio_dir / f"{script.call_id}.flac")
            sidecar = audio_dir / f"{script.call_id}.json"
            truth = load_truth(audio_dir / "truth" / f"{script.call_id}.json")
            item = InputItem(path, "audio", sidecar if sidecar.is_file() else None)
        else:
            result = synthesize_script(script, target, layout=layout, cache_dir=work_dir / "clips",
                                       noise_floor_dbfs=noise_dbfs)
            truth, item = result.truth, InputItem(result.audio_path, "audio", result.sidecar_path)
        if progress:
            progress("synth", n + 1, len(audio))
        yield script, truth, item


def evaluate_scripts(
    scripts_dir: Path,
    settings: Settings,
    *,
    layout: Layout = "stereo",
    work_dir: Path,
    models: Models | None = None,
    progress: ProgressHook | None = None,
    relisten_model: str | None = "base",
    noise_dbfs: float | None = None,
    audio_dir: Path | None = None,
    margin_s: float = 0.35,
) -> EvalReport:
    """Synthesise, process and score every audio script in `scripts_dir`.

    Args:
        scripts_dir: labelled scripts in the tests/data/SCHEMA.md format.
        settings: the configuration to evaluate.
        layout: stereo (a party per channel) or mono.
        work_dir: cache of synthesised audio (re-used while the scripts do not change).
        models: loaded models to reuse.
        progress: the one progress hook (pipeline.progress): ("synth", done, total) as scripts
            are spoken, ("calls", done, total) as calls are processed and scored, and the
            stages' own steps inside each call (see `process_input`).
        relisten_model: the Whisper model (a manifest name) that re-listens to each call's
            redacted audio; it should differ from the pipeline's. None skips the re-listen.
        noise_dbfs: a line-noise floor for the synthesised audio (see `synthesised_inputs`).
        audio_dir: use audio already synthesised for these scripts instead of synthesising.
        margin_s: widening of each value's estimated time when measuring muted non-PII speech.

    Returns:
        WER, diarisation, PII, event and timing figures per call and overall.

    Raises:
        InputError, ConfigError: the scripts folder is missing, empty or holds an invalid script.
        ModelUnavailableError, StageError: as the stages raise them.
    """
    models = models or Models(settings)
    models.whisper  # load before timing the first call
    from pipeline.lab.eval_detect import score_timing
    from pipeline.lab.eval_diarise import diarisation_error_rate, overlap_recall, role_word_accuracy
    from pipeline.ingest import ingest

    from pipeline.lab.synth.voice import load_voice

    relistener = Relistener.load(settings, relisten_model) if relisten_model else None
    spoken_length = load_voice().spoken_length  # where a value lies in time inside its turn
    scripts = load_scripts(scripts_dir)
    total = sum(s.channel_type != "digital" for s in scripts)
    calls: list[CallEval] = []
    truths, metrics = {}, {}
    for script, truth, item in synthesised_inputs(scripts, work_dir, layout, progress, noise_dbfs=noise_dbfs,
                                                  audio_dir=audio_dir):
        started = time.perf_counter()
        processed = process_input(item, settings, models, progress=progress)
        result = processed.result
        elapsed = time.perf_counter() - started
        der = diarisation_error_rate(truth, processed.diarisation)["der"] if processed.diarisation else None
        accuracy, n_words = role_word_accuracy(truth, result.turns)
        # What redaction left behind. The decoded input is needed to tell muted speech from kept
        # speech; decoding again costs a few milliseconds (the run does not keep the recording).
        audio_on = settings.core.output.redacted_audio
        redaction = score_call(
            script, truth, redacted_text=" ".join(t.text for t in result.turns),
            unredacted_text=(" ".join(t.text for t in processed.diarisation.turns)
                             if processed.diarisation is not None else None),
            original_audio=ingest(item, settings.core.ingest).audio if audio_on else None,
            redacted_audio=processed.redacted_audio, audio_withheld=audio_on and processed.redacted_audio is None,
            relistener=relistener, margin_s=margin_s, spoken_length=spoken_length)
        n_values = sum(redaction.labelled.values())
        truths[script.call_id], metrics[script.call_id] = truth, result.metrics
        calls.append(CallEval(
            call_id=script.call_id,
            audio_s=result.source.duration_s or 0.0,
            processing_s=elapsed,
            transcribe_s=result.pipeline.timings_s.get("transcribe", 0.0),
            role_words=(round((accuracy or 0.0) * n_words), n_words),
            overlaps=overlap_recall(truth, result.turns),
            kinds_true=sorted({k for t in script.turns for k in t.labels}),
            kinds_found=sorted({e.kind for e in result.events}),
            pii=(n_values - sum(redaction.text_leaked.values()), n_values),
            der=der,
            redaction=redaction,
            **transcript_wer(script, result),
        ))
        if progress:
            progress("calls", len(calls), total)
    timing_options = settings.detect.timing
    timing = score_timing(truths, metrics, silence_min_s=timing_options.silence_min_s,
                          overtalk_min_s=timing_options.overtalk_min_s).model_dump() if calls else {}
    return EvalReport(scripts_dir=str(scripts_dir), layout=layout, model=settings.core.transcribe.model,
                      calls=calls, timing=timing, relisten_model=relisten_model)
