"""Fail-closed audio on real speech (Piper, 8 kHz stereo): a customer turn the transcriber lost
(no words) is muted in the customer's channel, reported as muted speech and logged as an
"unaligned_speech" audit record; the agent's turn, covered by its words, is left as it was.
Slow-marked: Piper and Silero, ~5-10 s on a 2-core CPU."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.lab.scripts import CallScript
from pipeline.redact.audio import redact_audio
from pipeline.redact.audit import append_call, read_log
from pipeline.redact.text import TextRedaction
from pipeline.schema import Turn, Word
from tests._redact_support import options

SCRIPT = CallScript.model_validate({
    "call_id": "lost-turn-001",
    "channel_type": "telephone",
    "turns": [
        {"speaker": "agent", "text": "Thanks for waiting. What can I do for you this morning?", "pause_before_s": 0.5},
        {"speaker": "customer", "text": "I was hoping to move my appointment to next week if that's possible."},
    ],
})


def _words_over(start: float, end: float, n: int = 8) -> list[Word]:
    """Words tiling a span, as a transcriber's word times would."""
    edges = np.linspace(start, end, n + 1)
    return [Word(start_s=float(a), end_s=float(b), text=f"w{k}", probability=0.9)
            for k, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]


@pytest.mark.slow
def test_a_lost_turn_of_real_speech_is_muted_and_logged_and_covered_speech_is_kept(tmp_path) -> None:
    from pipeline.config import IngestOptions
    from pipeline.ingest import ingest
    from pipeline.lab.synth import synthesize_script

    made = synthesize_script(SCRIPT, tmp_path / "in", layout="stereo", sample_rate=8000, audio_format="wav",
                             hold_audio="silence", truth_dir=tmp_path / "truth")
    rec = ingest(made.audio_path, IngestOptions())
    agent, customer = made.truth.turns
    turns = [Turn(index=0, speaker="agent", start_s=agent.start_s, end_s=agent.end_s, text="(words)",
                  words=_words_over(agent.start_s, agent.end_s), channel=0),
             # The customer's turn was dropped by the transcriber: no segment, so no turn at all.
             ]
    out = redact_audio(rec, [], options(), turns)
    assert out.audio is not None
    sr = rec.sample_rate
    a, b = int(agent.start_s * sr), int(agent.end_s * sr)
    np.testing.assert_array_equal(out.audio[0, a:b], rec.audio[0, a:b])
    c, d = int(customer.start_s * sr), int(customer.end_s * sr)
    assert float(np.max(np.abs(rec.audio[1, c:d]))) > 0.05 and float(np.max(np.abs(out.audio[1, c:d]))) == 0.0
    assert [s.channel for s in out.unaligned] == [1] and out.unaligned[0].speech_like
    turn_s = customer.end_s - customer.start_s
    assert 0.6 * turn_s < out.muted_speech_s <= turn_s + 0.1  # the turn's voiced time, not more

    text = TextRedaction(turns=turns, findings=[], operators=[], residual=[], flagged=False, reasons=[])
    append_call(tmp_path / "audit.jsonl", rec.call_id, text, out)
    records = [r for r in read_log(tmp_path / "audit.jsonl") if r.kind == "unaligned_speech"]
    assert len(records) == 1 and records[0].reason.startswith("channel 1:") and "speech" in records[0].reason
    assert records[0].start_s <= customer.start_s + 0.1 and records[0].end_s >= customer.end_s - 0.1
