"""KPI metadata from sidecars and transcript inputs (issue #18): CSAT, NPS, disposition, wrap-up,
queue, team and the customer reference, which is kept only as a keyed digest."""

from __future__ import annotations

import json
import logging

import pytest

from pipeline.errors import InputError
from pipeline.ingest import customer_ref_digest, read_sidecar, read_transcript_input
from pipeline.redact import hmac_value

KEY = b"metadata-test-key-0123456789"
REF = "CRM-77812-XQ"


def _sidecar(tmp_path, data) -> object:
    path = tmp_path / "call.wav.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _transcript(tmp_path, metadata) -> object:
    path = tmp_path / "chat.transcript.json"
    path.write_text(json.dumps({"call_id": "chat-1", "channel_type": "digital", "metadata": metadata,
                                "turns": [{"speaker": "agent", "text": "Hello."}]}), encoding="utf-8")
    return path


def test_sidecar_carries_the_kpi_metadata(tmp_path):
    meta = read_sidecar(_sidecar(tmp_path, {"csat": 4, "nps": 9, "disposition": "resolved", "wrap_up_s": 42.5,
                                            "queue": "Billing & Payments", "team_id": "team-north",
                                            "customer_ref": REF}), call_id_key=KEY)
    assert (meta.csat, meta.nps, meta.disposition, meta.wrap_up_s, meta.queue, meta.team_id) == (
        4, 9, "resolved", 42.5, "Billing & Payments", "team-north")
    assert meta.customer_digest == customer_ref_digest(KEY, REF)
    assert REF not in meta.model_dump_json()


def test_the_customer_digest_is_stable_keyed_and_apart_from_value_digests():
    assert customer_ref_digest(KEY, REF) == customer_ref_digest(KEY, f"  {REF.lower()} ")
    assert customer_ref_digest(KEY, REF) != customer_ref_digest(b"another-key-0123456789", REF)
    # Its own derived key: never equal to the redaction's digest of the same value.
    assert customer_ref_digest(KEY, REF) != hmac_value(KEY, REF)
    assert customer_ref_digest(KEY, REF) != customer_ref_digest(KEY, "CRM-77813-XQ")


def test_transcript_metadata_is_checked_the_same_way_and_the_reference_does_not_travel(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        transcript, _ = read_transcript_input(_transcript(tmp_path, {"csat": 2, "customer_ref": REF,
                                                                     "caller_name": "Sam Okoro"}), call_id_key=KEY)
    assert transcript.metadata["csat"] == 2
    assert transcript.metadata["customer_digest"] == customer_ref_digest(KEY, REF)
    assert "customer_ref" not in transcript.metadata and "caller_name" not in transcript.metadata
    assert REF not in transcript.model_dump_json()
    assert "caller_name" in caplog.text and "Sam Okoro" not in caplog.text


def test_unknown_sidecar_keys_still_warn_and_a_digest_cannot_be_handed_in(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        meta = read_sidecar(_sidecar(tmp_path, {"customer_digest": "a" * 64, "caller": "07700 900123"}),
                            call_id_key=KEY)
    assert meta.customer_digest is None
    assert "customer_digest" in caplog.text and "'caller'" in caplog.text and "07700" not in caplog.text


def test_without_a_key_the_reference_is_dropped_not_kept(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        meta = read_sidecar(_sidecar(tmp_path, {"customer_ref": REF}), call_id_key=None)
    assert meta.customer_digest is None and REF not in caplog.text and "customer_ref" in caplog.text


@pytest.mark.parametrize(("data", "key"), [
    ({"csat": 6}, "csat"), ({"csat": 0}, "csat"), ({"csat": "5"}, "csat"), ({"csat": True}, "csat"),
    ({"csat": 4.5}, "csat"), ({"nps": 11}, "nps"), ({"nps": -1}, "nps"), ({"nps": [9]}, "nps"),
    ({"wrap_up_s": -3}, "wrap_up_s"), ({"wrap_up_s": "30"}, "wrap_up_s"), ({"wrap_up_s": 1e9}, "wrap_up_s"),
    ({"disposition": "r" * 65}, "disposition"), ({"disposition": "<b>done</b>"}, "disposition"),
    ({"disposition": "rang back 07700900123"}, "disposition"),
    ({"queue": "billing\nINJECTED"}, "queue"), ({"queue": "q" * 129}, "queue"), ({"queue": {"a": 1}}, "queue"),
    ({"team_id": "t" * 129}, "team_id"),
    ({"customer_ref": "C" * 129}, "customer_ref"), ({"customer_ref": ""}, "customer_ref"),
    ({"customer_ref": {"id": "SECRET-REF-1"}}, "customer_ref"), ({"customer_ref": "a\nb"}, "customer_ref"),
    ({"customer_ref": True}, "customer_ref"),
])
def test_hostile_values_are_refused_naming_the_key_not_the_value(tmp_path, data, key):
    with pytest.raises(InputError) as caught:
        read_sidecar(_sidecar(tmp_path, data), call_id_key=KEY)
    message = str(caught.value)
    assert f"'{key}'" in message and caught.value.reason == "bad_sidecar"
    value = json.dumps(list(data.values())[0])
    for fragment in ("07700900123", "INJECTED", "SECRET-REF-1", "<b>", "q" * 20, "r" * 20, "C" * 20):
        if fragment in value:
            assert fragment not in message
    with pytest.raises(InputError) as caught:
        read_transcript_input(_transcript(tmp_path, data), call_id_key=KEY)
    assert f"'{key}'" in str(caught.value) and caught.value.reason == "bad_transcript"
