"""Synthetic calls: labelled scripts -> telephone audio (Piper voice) + exact timing truth.

Public API::

    load_script(path) / load_scripts(dir)          -> CallScript / list[CallScript]
    load_voice(engine="auto")                       -> the TTS voice (cached factory)
    synthesize_script(script, out_dir, *, layout="stereo", sample_rate=8000, hold_audio="music",
                      voice=None, audio_format="flac", voice_pair="distinct",
                      noise_floor_dbfs=None, hook=None) -> SynthResult
    synthesize_dir(scripts_dir, out_dir, **same)    -> list[SynthResult]
    load_truth(path)                                -> CallTruth
"""

from pipeline.lab.synth.render import (
    SynthOptions,
    SynthResult,
    build_truth,
    plan_timeline,
    synthesize_dir,
    synthesize_script,
    write_silent_recording,
)
from pipeline.lab.synth.script import CallScript, PiiSpan, ScriptTurn, load_script, load_scripts
from pipeline.lab.synth.truth import CallTruth, load_truth
from pipeline.lab.synth.voice import load_voice, voice_pair_for

__all__ = [
    "CallScript",
    "ScriptTurn",
    "PiiSpan",
    "load_script",
    "load_scripts",
    "load_voice",
    "voice_pair_for",
    "SynthOptions",
    "SynthResult",
    "plan_timeline",
    "build_truth",
    "synthesize_script",
    "synthesize_dir",
    "write_silent_recording",
    "CallTruth",
    "load_truth",
]
