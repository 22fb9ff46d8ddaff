"""faster-whisper on real synthesised speech (the bundled samples, Piper's voice at 8 kHz)."""

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.ingest import ingest
from pipeline.lab.scripts import load_script
from pipeline.lab.truth import load_truth
from pipeline.transcribe import is_hallucination, load_whisper, transcribe
from pipeline.lab.wer import normalise, reference_tokens, wer_counts
from tests._paths import SAMPLE_CALLS, SAMPLE_TRUTH, SAMPLES

CONFIG = load_config()


@pytest.fixture(scope="module")
def whisper():
    return load_whisper(CONFIG.transcribe, CONFIG.models)


@pytest.fixture(scope="module")
def stereo_call(whisper):
    recording = ingest(SAMPLE_CALLS / "sample-004.flac", CONFIG.ingest)
    return recording, transcribe(recording, CONFIG.transcribe, whisper)


def test_cpu_int8_when_no_gpu(whisper):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a GPU is present: test_cuda_float16_batched_on_a_gpu covers this host")
    assert whisper.device == "cpu" and whisper.compute_type == "int8"
    assert whisper.batched is None


@pytest.mark.gpu
def test_cuda_float16_batched_on_a_gpu(whisper):
    # The other tests here then run the batched GPU path on the same fixture.
    assert whisper.device == "cuda" and whisper.compute_type == "float16"
    assert whisper.batched is not None


def test_words_have_times_and_probabilities(stereo_call):
    recording, transcript = stereo_call
    words = [w for s in transcript.segments for w in s.words]
    assert len(words) > 50
    for w in words:
        assert 0.0 <= w.start_s <= w.end_s <= recording.duration_s + 1e-3
        assert 0.0 <= w.probability <= 1.0
        assert w.text and w.text == w.text.strip()
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)  # both channels merged by time


def test_each_party_transcribed_on_its_own_channel(stereo_call):
    _, transcript = stereo_call
    script = load_script(SAMPLES / "scripts" / "sample-004.yaml")
    truth = load_truth(SAMPLE_TRUTH / "sample-004.json")
    assert {s.channel for s in transcript.segments} == {0, 1}
    for channel, speaker in enumerate(truth.channel_map):
        ref = [tok for t in script.turns if t.speaker == speaker for tok in reference_tokens(t.text)]
        hyp = [w for s in transcript.segments if s.channel == channel for w in normalise(s.text)]
        # tiny.en on Piper's voice at 8 kHz: about 0.1 with numbers and names left aside
        assert wer_counts(ref, hyp, ignore_masked=True).wer < 0.3, speaker


def test_word_times_follow_the_truth(stereo_call):
    _, transcript = stereo_call
    truth = load_truth(SAMPLE_TRUTH / "sample-004.json")
    spans = [(t.start_s - 0.5, t.end_s + 0.5, t.channel) for t in truth.turns]
    words = [(w, s.channel) for s in transcript.segments for w in s.words]
    inside = sum(any(a <= w.start_s and w.end_s <= b and c == ch for a, b, c in spans) for w, ch in words)
    assert inside / len(words) > 0.95


def test_silent_recording_gives_no_words(whisper):
    recording = ingest(SAMPLE_CALLS / "silent-001.flac", CONFIG.ingest)
    transcript = transcribe(recording, CONFIG.transcribe, whisper)
    assert transcript.segments == []


def test_no_words_during_hold_music(whisper):
    recording = ingest(SAMPLE_CALLS / "sample-003.flac", CONFIG.ingest)
    truth = load_truth(SAMPLE_TRUTH / "sample-003.json")
    hold = truth.holds[0]
    assert hold.audio == "music"
    transcript = transcribe(recording, CONFIG.transcribe, whisper)
    during = [w for s in transcript.segments for w in s.words
              if hold.start_s + 0.5 < (w.start_s + w.end_s) / 2 < hold.end_s - 0.5]
    assert during == []
    assert any(s.start_s > hold.end_s for s in transcript.segments)  # speech after the hold is kept


def test_music_alone_is_not_transcribed(whisper):
    from pipeline.lab.synth.holdmusic import hold_music
    from pipeline.schema import Recording, RecordingMetadata, Source

    music = hold_music(16000 * 20, 16000).astype(np.float32)
    recording = Recording(call_id="music", channel_type="telephone", metadata=RecordingMetadata(),
                          source=Source(path="m.wav", sha256="0" * 64, format="wav", duration_s=20, sample_rate=16000, channels=1),
                          audio=music[None, :])
    assert transcribe(recording, CONFIG.transcribe, whisper).segments == []


@pytest.mark.parametrize("text, expected", [
    ("Thanks for watching!", True), ("Thank you for watching.", True), ("♪ ♪", True), ("...", True),
    ("Subtitles by the Amara.org community", True), (" you", True),
    ("Thank you for calling.", False), ("Thank you.", False), ("You're welcome.", False),
    ("Please subscribe me to the newsletter.", False),
])
def test_hallucination_table(text, expected):
    assert is_hallucination(text) is expected
