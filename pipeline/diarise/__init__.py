"""Speaker diarisation and agent / customer roles.

Stereo recordings: one party per channel (pure numpy, no torch). Mono: pyannote.audio with
local weights (`load_diariser`), each word given to the speaker active at its time. Then roles.

    options = load_diarise_options()
    result = diarise(recording, transcript, options)           # stereo: no model needed
    result = diarise(recording, transcript, options, load_diariser(options))   # mono
"""

from pipeline.diarise.core import Diarisation, SpeakerSpan, diarise
from pipeline.diarise.options import DiariseOptions, load_diarise_options
from pipeline.diarise.roles import RoleAssignment

__all__ = [
    "Diarisation",
    "DiariseOptions",
    "Diariser",
    "RoleAssignment",
    "SpeakerSpan",
    "diarise",
    "load_diariser",
    "load_diarise_options",
]


def __getattr__(name: str):
    # The engine imports torch; load it only when the mono path is asked for.
    if name in ("Diariser", "load_diariser"):
        from pipeline.diarise import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'pipeline.diarise' has no attribute {name!r}")
