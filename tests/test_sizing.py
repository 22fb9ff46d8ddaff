"""Transcription slots and threads per worker: `auto` from the core count, numbers as given."""

from __future__ import annotations

import pytest

from pipeline.config import TranscribeOptions, sized, worker_sizing


@pytest.mark.parametrize("cores, slots, threads", [
    (1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 4, 2), (16, 8, 2), (96, 8, 2),
])
def test_auto_sizing_on_cpu_fills_the_cores_with_single_threaded_transcriptions(cores, slots, threads):
    sizing = worker_sizing(cores, "cpu")
    assert (sizing.slots, sizing.cpu_threads) == (slots, threads)
    assert sizing.slots * sizing.cpu_threads <= cores or cores == 1


def test_auto_sizing_on_a_gpu_is_one_transcription_per_process():
    assert (worker_sizing(32, "cuda").slots, worker_sizing(32, "cuda").cpu_threads) == (1, 1)


def test_numbers_in_the_configuration_are_kept_and_auto_is_resolved():
    assert sized(TranscribeOptions(), "cpu", cores=4).model_dump()["cpu_threads"] == 1
    assert sized(TranscribeOptions(), "cpu", cores=4).slots == 4
    explicit = TranscribeOptions(slots=3, cpu_threads=2)
    assert sized(explicit, "cpu", cores=64) == explicit
    half = sized(TranscribeOptions(slots=1), "cpu", cores=16)
    assert (half.slots, half.cpu_threads) == (1, 2)


def test_loaded_settings_hold_numbers_and_slots_leave_the_fingerprint_alone(tmp_path):
    from pipeline.config import usable_cores
    from pipeline.settings import load_settings, settings_fingerprint
    from pipeline.transcribe import pick_device

    default = load_settings(None)
    transcribe = default.core.transcribe
    assert isinstance(transcribe.slots, int) and isinstance(transcribe.cpu_threads, int)
    expected = worker_sizing(usable_cores(), pick_device(transcribe)[0])
    assert (transcribe.slots, transcribe.cpu_threads) == (expected.slots, expected.cpu_threads)
    site = tmp_path / "site.yaml"
    site.write_text("transcribe:\n  slots: 3\n")
    three = load_settings(site)
    assert three.core.transcribe.slots == 3
    # Slots change speed, not results: a call done with 1 slot is not re-run with 3.
    assert settings_fingerprint(three) == settings_fingerprint(default)
    site.write_text("transcribe:\n  cpu_threads: 3\n")
    threads = load_settings(site)
    assert threads.core.transcribe.cpu_threads == 3
    # Threads change CTranslate2's arithmetic (and so a word now and then): they are part of it.
    assert settings_fingerprint(threads) != settings_fingerprint(default)


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_bad_slots_are_refused_with_the_key(tmp_path, value):
    from pipeline.errors import ConfigError
    from pipeline.settings import load_settings

    site = tmp_path / "site.yaml"
    site.write_text(f"transcribe:\n  slots: {value}\n")
    with pytest.raises(ConfigError, match="transcribe.slots"):
        load_settings(site)
