"""Personal data in file names (issue #16): a stem that looks like a phone number, an e-mail
address or a postcode becomes a keyed-digest call id, and the name never shows in errors, logs or
the recording's source path; a declared call_id that looks like one is refused."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.config import IngestOptions
from pipeline.errors import InputError
from pipeline.ingest import InputItem, discover_inputs, fingerprint, ingest, looks_personal, read_transcript_input, shown_path
from pipeline.redact import hmac_value

KEY = b"names-test-key-0123456789"
OTHER_KEY = b"another-test-key-987654321"
OPTIONS = IngestOptions()
NUMBER = "07700900123"
CALL_ID = re.compile(r"^call-[0-9a-f]{16}$")


def write_wav(path: Path, seconds: float = 1.5, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    sf.write(path, (0.05 * rng.standard_normal(int(seconds * 8000))).astype(np.float32), 8000)
    return path


@pytest.mark.parametrize("text", [
    NUMBER, "07700 900123", "+44 7700 900123", "+44-7700-900-123", "(0113) 496 0000", "0113.496.0000",
    "555-1234", "call_07700900123", "20261101-143000-07700900123", "2026-11-01_" + NUMBER,
    "jane.doe@example.com", "LS1 4AB", "ls14ab", "SW1A_1AA", "call-ls1-4ab",
])
def test_personal_looking_names(text):
    assert looks_personal(text)


@pytest.mark.parametrize("text", [
    "sample-001", "2026-11-01 call #7 (x)", "20261101_143000", "2026-11-01T14-30-00_agent7", "call-000123",
    "dev-001", "queue7-call12", "123456", "ls1", "LS1 4A", "agent@desk", "2026-11-01_143000_0001",
])
def test_ordinary_names(text):
    assert not looks_personal(text)


def test_a_personal_stem_gets_a_keyed_digest_call_id_and_is_never_shown(tmp_path):
    path = write_wav(tmp_path / f"{NUMBER}.wav")
    rec = ingest(path, OPTIONS, call_id_key=KEY)
    assert CALL_ID.match(rec.call_id)
    assert rec.source.path.endswith(f"<withheld:{rec.call_id}>.wav")
    assert NUMBER not in rec.source.path and NUMBER not in rec.model_dump_json(exclude={"audio"})
    # Deterministic for the same file, and the one fingerprint() reports for the skip check.
    assert ingest(path, OPTIONS, call_id_key=KEY).call_id == rec.call_id
    assert fingerprint(InputItem(path, "audio"), call_id_key=KEY)[0] == rec.call_id
    # Keyed: another key gives another id; not the digest a finding of the same value would carry.
    assert ingest(path, OPTIONS, call_id_key=OTHER_KEY).call_id != rec.call_id
    assert rec.call_id != f"call-{hmac_value(KEY, NUMBER)[:16]}"
    # A different name gives a different id.
    other = write_wav(tmp_path / "07700900124.wav")
    assert ingest(other, OPTIONS, call_id_key=KEY).call_id != rec.call_id


def test_without_a_key_the_id_comes_from_the_content(tmp_path):
    path = write_wav(tmp_path / "jane.doe@example.com.wav")
    rec = ingest(path, OPTIONS)
    assert rec.call_id == f"call-{rec.source.sha256[:16]}"
    assert "jane" not in rec.source.path and rec.source.path.endswith("<withheld>.wav")
    assert fingerprint(InputItem(path, "audio"))[0] == rec.call_id


def test_ordinary_stems_keep_their_names(tmp_path):
    rec = ingest(write_wav(tmp_path / "2026-11-01_143000_0001.wav"), OPTIONS, call_id_key=KEY)
    assert rec.call_id == "2026-11-01_143000_0001"
    assert rec.source.path == str(tmp_path / "2026-11-01_143000_0001.wav")


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("not audio\n" * 50), "not_audio"),
    (lambda p: write_wav(p, seconds=0.2), "too_short"),
], ids=["empty", "not-audio", "too-short"])
def test_errors_withhold_the_name(tmp_path, make, reason):
    path = tmp_path / f"+44 {NUMBER[1:]}.wav"
    make(path)
    with pytest.raises(InputError) as e:
        ingest(path, OPTIONS, call_id_key=KEY)
    assert e.value.reason == reason
    assert NUMBER[1:] not in str(e.value) and NUMBER[1:] not in e.value.path
    assert "<withheld:call-" in str(e.value)


def test_a_personal_folder_is_withheld_too(tmp_path):
    folder = tmp_path / "LS1 4AB"
    folder.mkdir()
    shown = shown_path(folder / "call-1.wav", KEY)
    assert "LS1" not in shown and shown.endswith("<withheld>/call-1.wav")


def test_a_personal_sidecar_call_id_is_refused_without_quoting_it(tmp_path, caplog):
    write_wav(tmp_path / f"{NUMBER}.wav")
    (tmp_path / f"{NUMBER}.json").write_text(json.dumps({"call_id": "C-07700900999", "nickname": "x"}))
    with caplog.at_level(logging.DEBUG, logger="pipeline.ingest"), pytest.raises(InputError) as e:
        ingest(discover_inputs([tmp_path])[0], OPTIONS, call_id_key=KEY)
    assert e.value.reason == "bad_sidecar"
    assert "personal data" in str(e.value)
    for text in (str(e.value), caplog.text):
        assert "07700900999" not in text and NUMBER not in text
    assert "nickname" in caplog.text  # the unknown key is still named, under the withheld file name


def test_a_personal_transcript_call_id_is_refused(tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"call_id": "jane.doe@example.com", "channel_type": "digital",
                                "turns": [{"speaker": "agent", "text": "hello"}]}))
    with pytest.raises(InputError) as e:
        read_transcript_input(path)
    assert e.value.reason == "bad_transcript" and "jane" not in str(e.value)


def test_a_trusted_pattern_keeps_a_sites_own_numeric_ids(tmp_path):
    trusted = IngestOptions(trusted_call_id_pattern=r"(CRM-)?[0-9]{8}")
    assert ingest(write_wav(tmp_path / "12345678.wav"), trusted, call_id_key=KEY).call_id == "12345678"
    (tmp_path / "12345678.json").write_text(json.dumps({"call_id": "CRM-87654321"}))
    assert ingest(tmp_path / "12345678.wav", trusted, call_id_key=KEY).call_id == "CRM-87654321"
    # Only a full match is trusted: a phone number beside the reference is still withheld.
    assert CALL_ID.match(ingest(write_wav(tmp_path / f"12345678-{NUMBER}.wav"), trusted, call_id_key=KEY).call_id)
