import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.config import IngestOptions
from pipeline.errors import InputError
from pipeline.ingest import discover_inputs, ingest, read_transcript_input
from pipeline.schema import TranscriptInput

OPTIONS = IngestOptions()


def tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rows = [0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]
    return np.stack(rows, axis=1).astype(np.float32)


def write_audio(path: Path, seconds=2.0, rate=8000, channels=1) -> Path:
    data = tone(seconds, rate, channels)
    suffix = path.suffix
    if suffix in (".wav", ".flac"):
        sf.write(path, data, rate)
    else:
        wav = path.with_suffix(".src.wav")
        sf.write(wav, data, rate)
        codec = {".mp3": ["-c:a", "libmp3lame"], ".ogg": ["-c:a", "libvorbis"], ".opus": ["-c:a", "libopus"],
                 ".m4a": ["-c:a", "aac"]}[suffix]
        # Opus only encodes at 8/12/16/24/48 kHz; other rates are resampled by the encoder.
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *codec, str(path)], check=True)
        wav.unlink()
    return path


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"])
@pytest.mark.parametrize("channels", [1, 2])
def test_formats_decode_to_16k_per_channel(tmp_path, suffix, channels):
    path = write_audio(tmp_path / f"call{suffix}", seconds=2.0, rate=8000, channels=channels)
    rec = ingest(path, OPTIONS)
    assert rec.sample_rate == 16000
    assert rec.audio.shape[0] == channels
    assert rec.audio.dtype == np.float32
    assert rec.duration_s == pytest.approx(2.0, abs=0.1)  # lossy codecs pad a little
    assert rec.source.channels == channels
    assert len(rec.source.sha256) == 64
    assert rec.call_id == "call"
    # the tone survives decoding and resampling: energy at 220 Hz on channel 0
    spectrum = np.abs(np.fft.rfft(rec.audio[0]))
    freqs = np.fft.rfftfreq(rec.audio.shape[1], 1 / 16000)
    assert abs(freqs[np.argmax(spectrum)] - 220) < 5


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_sample_rates_8_to_48k(tmp_path, rate):
    rec = ingest(write_audio(tmp_path / "a.wav", rate=rate), OPTIONS)
    assert rec.source.sample_rate == rate
    assert rec.audio.shape[1] == pytest.approx(2.0 * 16000, abs=2)


def test_sha256_is_of_the_bytes(tmp_path):
    import hashlib

    path = write_audio(tmp_path / "a.flac")
    assert ingest(path, OPTIONS).source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("this is not audio at all\n" * 20), "not_audio"),
        (lambda p: p.write_bytes(write_audio(p.with_name("src.wav")).read_bytes()[:5000]), "truncated"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200), "truncated"),
    ],
    ids=["empty", "text-named-wav", "cut-off-wav", "garbage-after-header"],
)
def test_bad_wav_inputs_raise_typed_errors(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(InputError) as e:
        ingest(path, OPTIONS)
    assert e.value.reason == reason
    assert "bad.wav" in str(e.value)


def test_corrupt_flac(tmp_path):
    good = write_audio(tmp_path / "good.flac").read_bytes()
    bad = tmp_path / "bad.flac"
    bad.write_bytes(good[:200] + bytes(range(256)) * 40)
    with pytest.raises(InputError) as e:
        ingest(bad, OPTIONS)
    assert e.value.reason == "corrupt"


def test_too_short_and_too_long(tmp_path):
    with pytest.raises(InputError) as e:
        ingest(write_audio(tmp_path / "short.wav", seconds=0.5), OPTIONS)
    assert e.value.reason == "too_short"
    with pytest.raises(InputError) as e:
        ingest(write_audio(tmp_path / "long.wav", seconds=3.0), IngestOptions(max_duration_s=2.0))
    assert e.value.reason == "too_long"


def test_sample_rate_out_of_range(tmp_path):
    with pytest.raises(InputError) as e:
        ingest(write_audio(tmp_path / "hifi.wav", rate=96000), OPTIONS)
    assert e.value.reason == "bad_sample_rate"


def test_unsupported_format(tmp_path):
    path = tmp_path / "call.wma"
    path.write_bytes(b"0" * 100)
    with pytest.raises(InputError) as e:
        ingest(path, OPTIONS)
    assert e.value.reason == "unsupported_format"


def test_sidecar_metadata_and_call_id(tmp_path):
    audio = write_audio(tmp_path / "rec 01.wav", channels=2)
    (tmp_path / "rec 01.json").write_text(json.dumps({
        "call_id": "C-100", "agent_id": "A7", "channel_type": "telephone",
        "channel_map": ["customer", "agent"], "queue": "billing", "customer_name": "should be dropped",
    }))
    rec = ingest(discover_inputs([tmp_path])[0], OPTIONS)
    assert rec.call_id == "C-100"
    assert rec.metadata.channel_map == ["customer", "agent"]
    assert rec.metadata.queue == "billing"
    assert "customer_name" not in rec.metadata.model_dump()
    assert audio.exists()


def test_default_call_id_is_a_safe_name(tmp_path):
    rec = ingest(write_audio(tmp_path / "2026-11-01 call #7 (x).wav"), OPTIONS)
    assert rec.call_id == "2026-11-01_call__7__x"


@pytest.mark.parametrize(
    "sidecar",
    ["{not json", "[1, 2]", json.dumps({"call_id": "../../etc/passwd"}), json.dumps({"channel_type": "fax"}),
     json.dumps({"channel_map": ["agent"]})],
    ids=["not-json", "not-object", "path-traversal-id", "bad-channel-type", "map-wrong-length"],
)
def test_bad_sidecars(tmp_path, sidecar):
    write_audio(tmp_path / "r.wav", channels=2)
    (tmp_path / "r.json").write_text(sidecar)
    with pytest.raises(InputError) as e:
        ingest(discover_inputs([tmp_path])[0], OPTIONS)
    assert e.value.reason == "bad_sidecar"


def test_discovery_pairs_sidecars_and_finds_transcripts(tmp_path):
    write_audio(tmp_path / "a.wav")
    (tmp_path / "a.json").write_text("{}")
    write_audio(tmp_path / "b.flac")
    (tmp_path / "b.flac.json").write_text("{}")
    (tmp_path / "chat.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("ignored in a directory")
    (tmp_path / "c.wma").write_bytes(b"x")
    items = {i.path.name: i for i in discover_inputs([tmp_path])}
    assert set(items) == {"a.wav", "b.flac", "chat.json", "c.wma"}
    assert items["a.wav"].sidecar.name == "a.json"
    assert items["b.flac"].sidecar.name == "b.flac.json"
    assert items["chat.json"].kind == "transcript"
    assert items["c.wma"].kind == "unsupported"
    # a file named explicitly is never silently dropped
    assert discover_inputs([tmp_path / "notes.txt"])[0].kind == "unsupported"


def test_transcript_input(tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({
        "call_id": "chat-1", "channel_type": "digital", "metadata": {"queue": "web"},
        "turns": [{"speaker": "customer", "text": "hi"}, {"speaker": "agent", "text": "hello", "start_s": 3.0}],
    }))
    transcript, source = read_transcript_input(path)
    assert isinstance(transcript, TranscriptInput)
    assert [t.speaker for t in transcript.turns] == ["customer", "agent"]
    assert source.format == "transcript-json" and source.duration_s is None


@pytest.mark.parametrize(
    "body",
    ['{"call_id": "x", "channel_type": "digital", "turns": []}',
     '{"call_id": "x", "channel_type": "digital", "turns": [{"speaker": "bot", "text": "hi"}]}',
     '{"turns": "nope"',
     '{"call_id": "x/../../y", "channel_type": "digital", "turns": [{"speaker": "agent", "text": "hi"}]}'],
    ids=["no-turns", "bad-speaker", "not-json", "unsafe-call-id"],
)
def test_bad_transcripts(tmp_path, body):
    path = tmp_path / "t.json"
    path.write_text(body)
    with pytest.raises(InputError) as e:
        read_transcript_input(path)
    assert e.value.reason == "bad_transcript"
