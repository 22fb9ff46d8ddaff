"""Builders for diarise tests: recordings and transcripts from (channel, start, text) lines."""

from __future__ import annotations

import numpy as np

from pipeline.schema import Recording, RecordingMetadata, Segment, Source, Transcript, Word
from pipeline.lab.scripts import CallScript, ScriptTurn

SR = 16000


def recording(n_channels: int, duration_s: float, *, seed: int = 0, **metadata) -> Recording:
    """A recording of independent noise per channel (so stereo channels are not duplicates)."""
    rng = np.random.default_rng(seed)
    audio = (0.01 * rng.standard_normal((n_channels, int(duration_s * SR)))).astype(np.float32)
    return Recording(
        call_id="test-call",
        channel_type="telephone",
        source=Source(path="test.wav", sha256="0" * 64, format="wav", duration_s=duration_s, sample_rate=SR,
                      channels=n_channels),
        metadata=RecordingMetadata(**metadata),
        audio=audio,
    )


def segment(channel: int, start: float, text: str, *, word_s: float = 0.3, gap_s: float = 0.05) -> Segment:
    """A segment whose words are spaced evenly from `start`."""
    words, t = [], start
    for token in text.split():
        words.append(Word(start_s=t, end_s=t + word_s, text=token, probability=0.9))
        t += word_s + gap_s
    return Segment(channel=channel, start_s=start, end_s=words[-1].end_s, text=" " + text, words=words,
                   avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2)


def transcript(segments: list[Segment], duration_s: float) -> Transcript:
    segments = sorted(segments, key=lambda s: (s.start_s, s.channel))
    return Transcript(language="en", language_probability=1.0, duration_s=duration_s, segments=segments)


# A short call in our own words (not a dev script), for end-to-end tests on synthesised audio.
SCRIPT = CallScript(
    call_id="diar-test-001",
    channel_type="telephone",
    organisation="Riverside Water",
    agent_name="Tom",
    turns=[
        ScriptTurn(speaker="agent", pause_before_s=0.8,
                   text="Hello, thank you for calling Riverside Water, Tom speaking. This call is recorded. How can I help?"),
        ScriptTurn(speaker="customer",
                   text="Hi Tom. I'm ringing because my water meter reading looks far too high this quarter."),
        ScriptTurn(speaker="agent",
                   text="I can look into that for you. Could you confirm your postcode and the first line of your address?"),
        ScriptTurn(speaker="customer", text="Yes, it's twelve Mill Lane, and the postcode is L S one, four A B."),
        ScriptTurn(speaker="agent", overlap_s=0.6,
                   text="Thank you. I can see the reading was estimated, so I will book a proper reading for Friday."),
        ScriptTurn(speaker="customer", text="Great, that sounds fine. Thanks for sorting it out."),
    ],
)
