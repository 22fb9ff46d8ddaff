"""The synthetic-call generator: script loading, timeline, audio vs truth, outputs, determinism.

Audio tests synthesise a short script of our own with the real Piper voice (a few seconds of
CPU per call) and check the written audio against the written truth by energy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from pipeline.errors import ConfigError, InputError
from pipeline.schema import RecordingMetadata, TranscriptInput
from pipeline.lab.scripts import CallScript, load_script, load_scripts
from pipeline.lab.truth import load_truth
from pipeline.lab.synth import (
    build_truth,
    load_voice,
    plan_timeline,
    synthesize_dir,
    synthesize_script,
    voice_pair_for,
    write_silent_recording,
)
from pipeline.lab.synth.make_samples import SamplesManifest, samples_dir
from pipeline.lab.synth.holdmusic import hold_music
from pipeline.config import load_yaml_model
from tests._paths import DEV_CALLS

SECRET = "Zebedee Quillfeather"  # a value that must never appear in an error message

TEST_SCRIPT = {
    "call_id": "synth-test-001",
    "channel_type": "telephone",
    "scenario": "order check with a hold and an interruption",
    "organisation": "Test Org Ltd",
    "agent_name": "Sam",
    "turns": [
        {"speaker": "agent", "text": "Good morning, thank you for calling. How can I help?", "pause_before_s": 0.7,
         "labels": ["call.greeting"]},
        {"speaker": "customer", "text": "Hello, I would like to check my order, please.", "pause_before_s": 0.5},
        {"speaker": "agent", "text": "Of course. May I put you on hold for a moment?", "hold_s": 3.0,
         "labels": ["call.hold_request"]},
        {"speaker": "agent", "text": "Thanks for waiting. Your order ships tomorrow.", "pause_before_s": 0.6,
         "labels": ["call.hold_return"]},
        {"speaker": "customer", "text": "Brilliant, thank you very much for your help today.", "overlap_s": 0.6},
        {"speaker": "agent", "text": "You're welcome. Goodbye.", "pause_before_s": 2.5, "labels": ["call.closing"]},
    ],
    "expected": {"complaint": False},
}

CHAT_SCRIPT = {
    "call_id": "synth-chat-001",
    "channel_type": "digital",
    "organisation": "Test Org Ltd",
    "turns": [
        {"speaker": "agent", "text": "Hi, how can I help?", "pause_before_s": 2.0},
        {"speaker": "customer", "text": "where is my parcel", "pause_before_s": 5.0},
        {"speaker": "agent", "text": "It arrives tomorrow.", "overlap_s": 1.0},
    ],
}


def _write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _rms(audio: np.ndarray, sr: int, start_s: float, end_s: float, channel: int = 0) -> float:
    a, b = max(0, int(round(start_s * sr))), min(audio.shape[0], int(round(end_s * sr)))
    if b <= a:
        return 0.0
    x = audio[a:b, channel].astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def _read(path: Path) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return audio, sr


# ------------------------------------------------------------------------------ script loading


@pytest.mark.parametrize(
    ("mutate", "error", "key"),
    [
        (lambda d: d["turns"][1].update(speeker="customer"), ConfigError, "turns.1.speeker"),
        (lambda d: d["turns"][0].update(speaker="supervisor"), ConfigError, "turns.0.speaker"),
        (lambda d: d["turns"][2].update(pause_before_s="soon"), ConfigError, "turns.2.pause_before_s"),
        (lambda d: d["turns"][2].update(hold_s=-1), ConfigError, "turns.2.hold_s"),
        (lambda d: d["turns"][0].update(labels=["call.hello"]), ConfigError, "turns.0.labels.0"),
        (lambda d: d.update(channel_type="fax"), ConfigError, "channel_type"),
        (lambda d: d.pop("call_id"), ConfigError, "call_id"),
        (lambda d: d.update(call_id="../escape"), ConfigError, "call_id"),
        (lambda d: d.update(turns=[]), ConfigError, "turns"),
        (lambda d: d.update(colour="blue"), ConfigError, "colour"),
    ],
)
def test_load_script_errors_name_file_and_key(tmp_path, mutate, error, key):
    data = json.loads(json.dumps(TEST_SCRIPT))
    mutate(data)
    path = _write_yaml(tmp_path / "bad.yaml", data)
    with pytest.raises(error) as info:
        load_script(path)
    assert info.value.file == str(path)
    assert info.value.key == key
    assert str(path) in str(info.value) and key in str(info.value)


def test_pii_not_in_text_is_named_without_echoing_the_value(tmp_path):
    data = json.loads(json.dumps(TEST_SCRIPT))
    data["turns"][1]["pii"] = [{"type": "PERSON", "text": SECRET}]
    path = _write_yaml(tmp_path / "pii.yaml", data)
    with pytest.raises(ConfigError) as info:
        load_script(path)
    assert info.value.key == "turns.1"
    assert "pii[0]" in str(info.value)
    assert SECRET not in str(info.value)


def test_bad_value_is_not_echoed(tmp_path):
    data = json.loads(json.dumps(TEST_SCRIPT))
    data["turns"][0]["speaker"] = SECRET
    with pytest.raises(ConfigError) as info:
        load_script(_write_yaml(tmp_path / "s.yaml", data))
    assert SECRET not in str(info.value)
    assert "agent" in str(info.value)  # says what is allowed


def test_missing_file_and_not_yaml(tmp_path):
    with pytest.raises(InputError) as info:
        load_script(tmp_path / "nope.yaml")
    assert info.value.reason == "missing"
    (tmp_path / "broken.yaml").write_text("call_id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_script(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_script(tmp_path / "list.yaml")


def test_load_scripts_directory_errors(tmp_path):
    with pytest.raises(InputError) as info:
        load_scripts(tmp_path / "absent")
    assert info.value.reason == "missing"
    with pytest.raises(InputError) as info:
        load_scripts(tmp_path)
    assert info.value.reason == "empty"
    _write_yaml(tmp_path / "a.yaml", TEST_SCRIPT)
    _write_yaml(tmp_path / "b.yaml", TEST_SCRIPT)
    with pytest.raises(InputError) as info:
        load_scripts(tmp_path)
    assert info.value.reason == "duplicate_call_id"


def test_load_scripts_keeps_the_asked_for_calls(tmp_path):
    _write_yaml(tmp_path / "a.yaml", TEST_SCRIPT)
    _write_yaml(tmp_path / "b.yaml", {**TEST_SCRIPT, "call_id": "synth-test-002"})
    assert [s.call_id for s in load_scripts(tmp_path, call_ids=["synth-test-002"])] == ["synth-test-002"]
    with pytest.raises(InputError) as info:
        load_scripts(tmp_path, call_ids=["absent"])
    assert info.value.reason == "empty"


def test_dev_calls_load():
    scripts = load_scripts(DEV_CALLS)
    assert len(scripts) >= 10
    assert {s.channel_type for s in scripts} >= {"telephone", "digital"}
    assert all(t.pause_before_s >= 0 for s in scripts for t in s.turns)


# ------------------------------------------------------------------------------- timeline (pure)


def test_plan_timeline_follows_schema_timing():
    script = CallScript.model_validate(TEST_SCRIPT)
    sr = 1000  # one sample per millisecond keeps the arithmetic readable
    lengths = [2000, 1500, 1800, 1600, 2200, 900]
    tl = plan_timeline(script, lengths, sr, tail_s=0.5)
    assert tl.starts[0] == 700  # lead-in pause
    assert tl.starts[1] == 2700 + 500  # after turn 0 ends (2700) + pause
    assert tl.starts[2] == 4700 + 400  # default pause 0.4
    assert tl.holds == ((6900, 9900, 2),)  # 3 s hold right after turn 2's speech
    assert tl.starts[3] == 9900 + 600  # pause counts from the end of the hold
    assert tl.starts[4] == tl.ends[3] - 600  # overlap: starts 0.6 s before turn 3 ends
    assert tl.starts[5] == tl.ends[4] + 2500
    assert tl.length == tl.ends[5] + 500

    truth = build_truth(script, tl, layout="stereo")
    assert truth.greeting_latency_s == 0.7
    assert [(o.interrupter, o.interrupted, o.start_s, o.end_s) for o in truth.overlaps] == [
        ("customer", "agent", tl.starts[4] / sr, tl.ends[3] / sr)
    ]
    assert [(h.start_s, h.end_s, h.after_turn) for h in truth.holds] == [(6.9, 9.9, 2)]
    # Silences: every gap that is neither speech nor hold, with whose turn it was.
    gaps = [(s.start_s, s.end_s, s.turn_owner, s.after_turn) for s in truth.silences]
    assert gaps == [
        (0.0, 0.7, "agent", None),
        (2.7, 3.2, "customer", 0),
        (4.7, 5.1, "agent", 1),
        (9.9, 10.5, "agent", 2),
        (tl.ends[4] / sr, tl.starts[5] / sr, "agent", 4),
    ]
    # Talk time is the union of each party's spans.
    assert truth.talk_time_s["agent"] == pytest.approx((2000 + 1800 + 1600 + 900) / sr)
    assert truth.talk_time_s["customer"] == pytest.approx((1500 + 2200) / sr)
    assert [t.channel for t in truth.turns] == [0, 1, 0, 0, 1, 0]
    assert build_truth(script, tl, layout="mono").turns[1].channel is None


def test_voice_pairs_are_deterministic_and_separated():
    for i in range(200):
        call_id = f"call-{i}"
        pair = voice_pair_for(call_id)
        assert pair == voice_pair_for(call_id)
        assert abs(pair.agent.pitch_cents - pair.customer.pitch_cents) >= 300
        assert -200 <= pair.agent.pitch_cents <= 300
        assert 0.85 <= pair.agent.length_scale <= 1.15 and 0.85 <= pair.customer.length_scale <= 1.15
        similar = voice_pair_for(call_id, "similar")
        assert abs(similar.agent.pitch_cents - similar.customer.pitch_cents) <= 60
    assert len({voice_pair_for(f"call-{i}").agent.pitch_cents for i in range(50)}) > 40  # varied per call


def test_hold_music_is_deterministic_and_low():
    a = hold_music(8000 * 5, 8000)
    assert np.array_equal(a, hold_music(8000 * 5, 8000))
    assert 0.05 < float(np.max(np.abs(a))) <= 0.11
    assert float(np.sqrt(np.mean(a**2))) > 0.02


# ---------------------------------------------------------------------------------- audio


@pytest.fixture(scope="module")
def script_file(tmp_path_factory) -> Path:
    return _write_yaml(tmp_path_factory.mktemp("scripts") / "synth-test-001.yaml", TEST_SCRIPT)


@pytest.fixture(scope="module")
def stereo(script_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("stereo")
    calls: list[tuple[str, int, int]] = []
    result = synthesize_script(load_script(script_file), out, progress=lambda *a: calls.append(a))
    return result, calls


@pytest.fixture(scope="module")
def mono(script_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("mono")
    return synthesize_script(load_script(script_file), out, layout="mono", hold_audio="silence")


def _speech_channels(truth, t: float) -> set[int]:
    return {turn.channel for turn in truth.turns if turn.start_s <= t < turn.end_s}


def test_stereo_files_and_format(stereo):
    result, calls = stereo
    audio, sr = _read(result.audio_path)
    info = sf.info(str(result.audio_path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 8000, 2)
    assert result.audio_path.name == "synth-test-001.flac"
    assert result.truth_path == result.audio_path.parent / "truth" / "synth-test-001.json"
    assert load_truth(result.truth_path) == result.truth
    assert result.truth.duration_s == pytest.approx(audio.shape[0] / sr, abs=1e-3)
    assert result.truth.engine and result.truth.engine.startswith("piper")
    # Progress: one "turns" report per turn, ending at total.
    assert calls[-1] == ("turns", 6, 6) and len(calls) == 6


def test_stereo_truth_matches_audio(stereo):
    result, _ = stereo
    truth = result.truth
    audio, sr = _read(result.audio_path)
    for turn in truth.turns:
        own, other = turn.channel, 1 - turn.channel
        assert own == ("agent", "customer").index(turn.speaker)
        assert _rms(audio, sr, turn.start_s, turn.end_s, own) > 0.03, turn.index
        # Speech right at both edges of the span (the truth is speech, not padding).
        assert _rms(audio, sr, turn.start_s, turn.start_s + 0.1, own) > 0.003, turn.index
        assert _rms(audio, sr, turn.end_s - 0.1, turn.end_s, own) > 0.003, turn.index
        # Nothing on the own channel just outside the span (50 ms tolerance), unless the same
        # party speaks there too.
        for a, b in ((turn.start_s - 0.3, turn.start_s - 0.05), (turn.end_s + 0.05, turn.end_s + 0.3)):
            if not any(_speech_channels(truth, t) & {own} for t in np.arange(a, b, 0.01)):
                in_hold = any(h.start_s < b and a < h.end_s for h in truth.holds) and own == 0
                if not in_hold:
                    assert _rms(audio, sr, a, b, own) < 1e-3, (turn.index, a, b)
    # Stereo separation: where only one party speaks, the other channel is silent.
    for turn in truth.turns:
        other = 1 - turn.channel
        clear = [
            t for t in np.arange(turn.start_s, turn.end_s, 0.05)
            if other not in _speech_channels(truth, t) and other not in _speech_channels(truth, t + 0.05)
            and not any(h.start_s <= t + 0.05 and t <= h.end_s for h in truth.holds)
        ]
        assert clear, turn.index
        assert max(_rms(audio, sr, t, t + 0.05, other) for t in clear) < 1e-3, turn.index


def test_stereo_overlap_on_both_channels(stereo):
    result, _ = stereo
    audio, sr = _read(result.audio_path)
    (overlap,) = result.truth.overlaps
    assert (overlap.interrupter, overlap.interrupted, overlap.turn_index) == ("customer", "agent", 4)
    assert overlap.end_s - overlap.start_s == pytest.approx(0.6, abs=0.002)
    assert _rms(audio, sr, overlap.start_s, overlap.end_s, 0) > 0.01
    assert _rms(audio, sr, overlap.start_s, overlap.end_s, 1) > 0.01


def test_stereo_hold_music(stereo):
    result, _ = stereo
    audio, sr = _read(result.audio_path)
    (hold,) = result.truth.holds
    assert (hold.audio, hold.after_turn, hold.channel) == ("music", 2, 0)
    assert hold.end_s - hold.start_s == pytest.approx(3.0, abs=0.002)
    assert _rms(audio, sr, hold.start_s + 0.1, hold.end_s - 0.1, 0) > 0.02
    assert _rms(audio, sr, hold.start_s, hold.end_s, 1) < 1e-3
    # The hold is not speech and not a silence.
    assert not any(s.start_s < hold.end_s and hold.start_s < s.end_s for s in result.truth.silences)
    assert result.truth.greeting_latency_s == result.truth.turns[0].start_s == 0.7


def test_stereo_silences_are_silent(stereo):
    result, _ = stereo
    audio, sr = _read(result.audio_path)
    assert result.truth.silences
    for gap in result.truth.silences:
        for ch in (0, 1):
            assert _rms(audio, sr, gap.start_s + 0.05, gap.end_s - 0.05, ch) < 1e-3


def test_sidecar_validates(stereo, mono):
    result, _ = stereo
    data = json.loads(result.sidecar_path.read_text())
    assert result.sidecar_path.name == "synth-test-001.json"
    assert set(data) == {"call_id", "channel_type", "channel_map", "organisation"}
    meta = RecordingMetadata.model_validate(data)
    assert meta.channel_map == ["agent", "customer"] and meta.call_id == "synth-test-001"
    mono_meta = json.loads(mono.sidecar_path.read_text())
    assert "channel_map" not in mono_meta
    RecordingMetadata.model_validate(mono_meta)


def test_mono_mixes_both_parties(mono):
    audio, sr = _read(mono.audio_path)
    assert audio.shape[1] == 1
    truth = mono.truth
    assert truth.layout == "mono" and truth.channel_map is None
    for turn in truth.turns:
        assert turn.channel is None
        assert _rms(audio, sr, turn.start_s, turn.end_s, 0) > 0.03
    (hold,) = truth.holds
    assert hold.audio == "silence"
    assert _rms(audio, sr, hold.start_s, hold.end_s, 0) < 1e-3
    for gap in truth.silences:
        assert _rms(audio, sr, gap.start_s + 0.05, gap.end_s - 0.05, 0) < 1e-3


class _CountingVoice:
    """The real voice, counting how often it is asked to speak."""

    def __init__(self, voice) -> None:
        self.voice, self.spoken = voice, 0

    def __getattr__(self, name: str):
        return getattr(self.voice, name)

    def synthesize(self, text: str, **kwargs):
        self.spoken += 1
        return self.voice.synthesize(text, **kwargs)


def test_same_script_same_bytes_with_and_without_cache(script_file, stereo, tmp_path):
    result, _ = stereo
    cache = tmp_path / "cache"
    voice = _CountingVoice(load_voice())
    again = synthesize_script(load_script(script_file), tmp_path / "a", cache_dir=cache, voice=voice)  # fills it
    assert len(list(cache.glob("*.npy"))) == len(TEST_SCRIPT["turns"]) == voice.spoken
    cached = synthesize_script(load_script(script_file), tmp_path / "b", cache_dir=cache, voice=voice)  # reads it
    assert voice.spoken == len(TEST_SCRIPT["turns"])  # every clip came from the cache, none was spoken again
    for run in (again, cached):
        assert run.audio_path.read_bytes() == result.audio_path.read_bytes()
        assert run.truth_path.read_bytes() == result.truth_path.read_bytes()
        assert run.sidecar_path.read_bytes() == result.sidecar_path.read_bytes()


def test_similar_voice_pair_and_noise_floor(script_file, stereo, tmp_path):
    result, _ = stereo
    similar = synthesize_script(load_script(script_file), tmp_path, voice_pair="similar", noise_floor_dbfs=-60.0)
    voices = similar.truth.voices
    assert abs(voices["agent"].pitch_cents - voices["customer"].pitch_cents) <= 60
    audio, sr = _read(similar.audio_path)
    gap = similar.truth.silences[-1]
    level = _rms(audio, sr, gap.start_s, gap.end_s, 1)
    assert 0.0005 < level < 0.002  # -60 dBFS = 0.001 RMS
    assert similar.audio_path.read_bytes() != result.audio_path.read_bytes()


def test_espeak_fallback_engine(script_file, tmp_path):
    voice = load_voice("espeak")
    result = synthesize_script(load_script(script_file), tmp_path, voice=voice, layout="mono")
    assert result.truth.engine == "espeak-ng"
    audio, sr = _read(result.audio_path)
    for turn in result.truth.turns:
        assert _rms(audio, sr, turn.start_s, turn.end_s, 0) > 0.03
    for gap in result.truth.silences:
        assert _rms(audio, sr, gap.start_s + 0.05, gap.end_s - 0.05, 0) < 1e-3


def test_bad_option_is_a_config_error(script_file, tmp_path):
    with pytest.raises(ConfigError) as info:
        synthesize_script(load_script(script_file), tmp_path, layout="quad")
    assert info.value.key == "layout"


def test_chat_writes_transcript_input(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    _write_yaml(scripts / "chat.yaml", CHAT_SCRIPT)
    (result,) = synthesize_dir(scripts, tmp_path / "out")
    assert result.audio_path is None and result.sidecar_path is None
    assert result.transcript_path == tmp_path / "out" / "synth-chat-001.transcript.json"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["synth-chat-001.transcript.json", "truth"]
    doc = TranscriptInput.model_validate_json(result.transcript_path.read_text())
    assert [t.text for t in doc.turns] == [t["text"] for t in CHAT_SCRIPT["turns"]]
    assert [t.speaker for t in doc.turns] == ["agent", "customer", "agent"]
    starts = [t.start_s for t in doc.turns]
    assert starts[0] == 2.0 and starts == sorted(starts)
    assert doc.turns[2].start_s >= doc.turns[1].end_s  # chat messages never overlap
    assert result.truth.layout == "transcript" and not result.truth.overlaps
    assert load_truth(result.truth_path).turns[1].start_s == doc.turns[1].start_s


def test_synth_command_writes_the_scripts_and_refuses_unknown_choices(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    scripts = tmp_path / "scripts"
    scripts.mkdir()
    _write_yaml(scripts / "chat.yaml", CHAT_SCRIPT)
    made = CliRunner().invoke(app, ["synth", str(scripts), str(tmp_path / "out")])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "out" / "synth-chat-001.transcript.json").is_file() and "synth-chat-001" in made.stdout
    for option, value in (("--layout", "quad"), ("--voice-pair", "twins"), ("--hold-audio", "jazz")):
        refused = CliRunner().invoke(app, ["synth", str(scripts), str(tmp_path / "x"), option, value])
        assert refused.exit_code == 2 and option in refused.output, option
    assert not (tmp_path / "x").exists()
    _write_yaml(scripts / "bad.yaml", {**CHAT_SCRIPT, "call_id": "synth-chat-002", "channel_type": "fax"})
    bad = CliRunner().invoke(app, ["synth", str(scripts), str(tmp_path / "y")])
    assert bad.exit_code == 2 and "bad.yaml" in bad.output and "Traceback" not in bad.output


def test_silent_recording(tmp_path):
    result = write_silent_recording("silent-x", tmp_path, seconds=6.0)
    audio, sr = _read(result.audio_path)
    assert sr == 8000 and audio.shape == (48000, 1)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert 0 < rms < 0.001
    assert RecordingMetadata.model_validate_json(result.sidecar_path.read_text()).call_id == "silent-x"
    assert result.truth.turns == [] and result.truth.duration_s == 6.0
    assert write_silent_recording("silent-x", tmp_path / "again").audio_path.read_bytes() == result.audio_path.read_bytes()


# --------------------------------------------------------------------------- bundled samples


def test_bundled_samples_match_their_truths():
    root = samples_dir()
    manifest = load_yaml_model(SamplesManifest, root / "samples.yaml")
    calls, truths = root / "calls", root / "truth"
    total = 0
    layouts = set()
    for entry in manifest.samples:
        script = load_script(root / "scripts" / entry.script)
        truth = load_truth(truths / f"{script.call_id}.json")
        assert [t.text for t in truth.turns] == [t.text for t in script.turns]
        if script.channel_type == "digital":
            path = calls / f"{script.call_id}.transcript.json"
            TranscriptInput.model_validate_json(path.read_text())
            total += path.stat().st_size
            continue
        path = calls / f"{script.call_id}.flac"
        total += path.stat().st_size
        RecordingMetadata.model_validate_json((calls / f"{script.call_id}.json").read_text())
        audio, sr = _read(path)
        assert sr == 8000 and audio.shape[1] == (2 if entry.layout == "stereo" else 1)
        assert truth.layout == entry.layout
        layouts.add(entry.layout)
        for turn in truth.turns:
            ch = turn.channel or 0
            assert _rms(audio, sr, turn.start_s, turn.end_s, ch) > 0.015, (script.call_id, turn.index)
        for hold in truth.holds:
            level = _rms(audio, sr, hold.start_s, hold.end_s, 0)
            assert level > 0.02 if hold.audio == "music" else level < 1e-3
        speech = sum(truth.talk_time_s.values())
        assert 30 <= speech <= 75, script.call_id
    for silent in manifest.silent:
        path = calls / f"{silent.call_id}.flac"
        audio, sr = _read(path)
        assert audio.shape[0] == int(silent.seconds * sr)
        assert float(np.max(np.abs(audio))) < 0.01
        total += path.stat().st_size
    assert layouts == {"stereo", "mono"}
    assert total < 3_000_000
    assert any(h.audio == "music" for p in truths.glob("*.json") for h in load_truth(p).holds)
    assert any(s.end_s - s.start_s >= 9.5 for p in truths.glob("*.json") for s in load_truth(p).silences)
