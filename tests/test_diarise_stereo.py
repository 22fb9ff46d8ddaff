"""Stereo diarisation: channels are speakers; channel maps; overlap kept; roles with evidence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.diarise import Diarisation, diarise, load_diarise_options
from pipeline.errors import ConfigError
from tests._diarise_support import recording, segment, transcript

AGENT_OPEN = "Good morning, you're through to Acme Water, Sam speaking. Calls are recorded for quality. How can I help?"
CUSTOMER_1 = "Hi, I'm calling about my bill, it's gone up again."
AGENT_2 = "Sorry to hear that. Can I take your full name and date of birth please?"
CUSTOMER_2 = "Yes it's Jo Bloggs, first of May."


def _call(agent_channel: int = 0, *, overlap: bool = False):
    customer_channel = 1 - agent_channel
    segs = [
        segment(agent_channel, 0.5, AGENT_OPEN),
        segment(customer_channel, 8.0, CUSTOMER_1),
        segment(agent_channel, 11.5 if not overlap else 10.5, AGENT_2),
        segment(customer_channel, 17.0, CUSTOMER_2),
    ]
    return transcript(segs, 22.0)


@pytest.fixture(scope="module")
def options():
    return load_diarise_options()


def test_stereo_needs_no_torch(options):
    rec = recording(2, 22.0)
    result = diarise(rec, _call(), options)
    assert isinstance(result, Diarisation)
    assert result.method == "stereo-channels"
    # In a fresh interpreter (other tests here may have imported torch already).
    code = (
        "import sys; from pipeline.diarise import diarise, load_diarise_options;"
        "from tests._diarise_support import recording, segment, transcript;"
        "r = diarise(recording(2, 5.0), transcript([segment(0, 0.0, 'Hello there.')], 5.0), load_diarise_options());"
        "assert r.method == 'stereo-channels';"
        "assert 'torch' not in sys.modules, 'stereo imported torch'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_stereo_turns_follow_channels_and_config_map(options):
    result = diarise(recording(2, 22.0), _call(), options)
    assert [t.speaker for t in result.turns] == ["agent", "customer", "agent", "customer"]
    assert [t.channel for t in result.turns] == [0, 1, 0, 1]
    assert [t.index for t in result.turns] == [0, 1, 2, 3]
    assert result.turns[1].text == CUSTOMER_1
    assert result.roles.source == "config"
    assert not result.roles.flagged
    assert result.roles.confidence >= 0.9
    assert all(t.start_s <= t.end_s for t in result.turns)


def test_sidecar_map_wins_over_config(options):
    rec = recording(2, 22.0, channel_map=["customer", "agent"])
    result = diarise(rec, _call(agent_channel=1), options)
    assert [t.speaker for t in result.turns] == ["agent", "customer", "agent", "customer"]
    assert [t.channel for t in result.turns] == [1, 0, 1, 0]
    assert result.roles.source == "sidecar"
    assert result.roles.confidence == 1.0


def test_map_inferred_from_evidence_when_config_has_none():
    options = load_diarise_options(overrides={"channel_map": None})
    result = diarise(recording(2, 22.0, organisation="Acme Water"), _call(agent_channel=1), options)
    assert [t.speaker for t in result.turns] == ["agent", "customer", "agent", "customer"]
    assert result.roles.source == "evidence"
    assert result.roles.mapping == {"channel:1": "agent", "channel:0": "customer"}
    assert result.roles.confidence > 0.9
    assert any("organisation" in e for e in result.roles.evidence)
    assert any("recording_notice" in e for e in result.roles.evidence)
    # evidence never quotes the transcript
    assert not any("bill" in e.lower() or "acme" in e.lower() for e in result.roles.evidence)


def test_contradicted_config_map_is_flagged_not_silently_kept(options):
    # Config says channel 0 is the agent, but channel 1 greets, gives the notice and asks ID&V.
    result = diarise(recording(2, 22.0), _call(agent_channel=1), options)
    assert result.roles.flagged
    assert result.roles.confidence == 0.5
    assert result.turns[0].speaker == "customer"  # the map is kept, for a person to review


def test_contradicted_config_map_swapped_when_allowed():
    options = load_diarise_options(overrides={"roles": {"swap_contradicted_config_map": True}})
    result = diarise(recording(2, 22.0), _call(agent_channel=1), options)
    assert not result.roles.flagged
    assert result.turns[0].speaker == "agent"
    assert result.turns[0].channel == 1


def test_overlap_is_kept_as_two_overlapping_turns(options):
    result = diarise(recording(2, 22.0), _call(overlap=True), options)
    customer_1, agent_2 = result.turns[1], result.turns[2]
    assert (customer_1.speaker, agent_2.speaker) == ("customer", "agent")
    assert agent_2.start_s < customer_1.end_s  # interruption kept, not trimmed
    assert customer_1.text == CUSTOMER_1 and agent_2.text == AGENT_2


def test_backchannel_inside_a_pause_splits_the_other_turn(options):
    segs = [
        segment(0, 0.0, "So what I'll do"),     # ends at 1.35 s
        segment(1, 1.5, "okay"),           # said inside the agent's pause
        segment(0, 2.2, "raise a refund today."),
    ]
    result = diarise(recording(2, 5.0), transcript(segs, 5.0), options)
    assert [t.speaker for t in result.turns] == ["agent", "customer", "agent"]


def test_long_pause_splits_same_speaker(options):
    segs = [segment(0, 0.0, "Bear with me."), segment(0, 6.0, "Thanks for waiting.")]
    result = diarise(recording(2, 9.0), transcript(segs, 9.0), options)
    assert len(result.turns) == 2


def test_duplicate_channels_are_treated_as_mono_not_as_two_parties():
    from pipeline.diarise.core import _channels_duplicate

    rec = recording(2, 3.0)
    same = rec.audio.copy()
    same[1] = same[0]
    assert _channels_duplicate(same)
    assert not _channels_duplicate(rec.audio)


def test_wrong_length_channel_map_is_ignored_with_warning(options):
    rec = recording(2, 22.0, channel_map=["agent"])
    result = diarise(rec, _call(), options)
    assert result.roles.source == "config"
    assert any("sidecar channel map" in w for w in result.warnings)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"min_speakers": 4, "max_speakers": 3}, None),
        ({"device": "tpu"}, "device"),
        ({"roles": {"agent_cues": {"x": {"weight": 0}}}}, "roles.agent_cues.x.weight"),
        ({"typo": 1}, "typo"),
    ],
)
def test_bad_config_names_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        load_diarise_options(overrides=overrides)
    if key:
        assert err.value.key == key


def test_silent_stereo_call_gives_no_turns_but_valid_roles(options):
    result = diarise(recording(2, 5.0), transcript([], 5.0), options)
    assert result.turns == [] and result.n_speakers == 0
    assert result.roles.source == "config"
    assert result.roles.mapping == {"channel:0": "agent", "channel:1": "customer"}
