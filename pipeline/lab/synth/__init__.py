"""Synthetic calls: labelled scripts -> telephone audio (Piper voice) + exact timing truth.

Scripts are read by `pipeline.lab.scripts` (the one labelled-script reader), truths by
`pipeline.lab.truth`. Public API::

    load_voice(engine="auto")                       -> the TTS voice (cached factory)
    synthesize_script(script, out_dir, *, layout="stereo", sample_rate=8000, hold_audio="music",
                      voice=None, audio_format="flac", voice_pair="distinct",
                      noise_floor_dbfs=None, progress=None) -> SynthResult
    synthesize_dir(scripts_dir, out_dir, **same)    -> list[SynthResult]
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
from pipeline.lab.synth.voice import load_voice, voice_pair_for

__all__ = [
    "load_voice",
    "voice_pair_for",
    "SynthOptions",
    "SynthResult",
    "plan_timeline",
    "build_truth",
    "synthesize_script",
    "synthesize_dir",
    "write_silent_recording",
]
