"""One fingerprint for "already done" (pipeline.settings): the input's bytes, its sidecar's bytes,
every stage's settings and the model manifest. A changed sidecar or manifest re-runs the call
under `callqa run` (run_batch); a change to detection or scoring alone re-assesses it.

The flow's side (the task cache key and `process_call`) is in test_flows.py.
"""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.ingest import InputItem, discover_inputs
from pipeline.paths import resolve_paths
from pipeline.run import Models, run_batch
from pipeline.settings import input_fingerprint, load_settings, manifest_fingerprint, settings_fingerprint
from tests._flows_support import copy_manifest, make_silent_stereo, touch_manifest, write_sidecar
from tests._paths import SAMPLE_CALLS


def _site(folder, manifest, extra: str = "") -> object:
    site = folder / "site.yaml"
    site.write_text(f"models:\n  manifest: {manifest}\n{extra}", encoding="utf-8")
    return site


# --- the fingerprint itself (no models) ------------------------------------------------------

def test_settings_fingerprint_follows_the_manifest_content_and_every_stage(tmp_path):
    manifest = copy_manifest(tmp_path / "manifest.yaml")
    site = _site(tmp_path, manifest)
    before = settings_fingerprint(load_settings(site)), manifest_fingerprint(load_settings(site))
    assert settings_fingerprint(load_settings(site)) == before[0]  # stable

    touch_manifest(manifest)  # the manifest is read when the fingerprint is taken (once per run)
    after = load_settings(site)
    assert manifest_fingerprint(after) != before[1]
    assert settings_fingerprint(after) != before[0]

    # A stage's own file (detect) and an inline stage section (score) both count.
    (tmp_path / "detect-site.yaml").write_text("max_evidence_chars: 200\n")
    detect = load_settings(_site(tmp_path, manifest, "stages:\n  detect_file: detect-site.yaml\n"))
    score = load_settings(_site(tmp_path, manifest, "stages:\n  score: {purpose: summative}\n"))
    assert len({settings_fingerprint(s) for s in (after, detect, score)}) == 3


def test_where_results_go_is_not_part_of_the_fingerprint(tmp_path):
    default = settings_fingerprint(load_settings())
    site = tmp_path / "site.yaml"
    site.write_text("output:\n  database_url: elsewhere.db\n  audit_log: elsewhere.jsonl\n")
    assert settings_fingerprint(load_settings(site)) == default
    # ... but what is written is.
    site.write_text("output:\n  scorecard_html: false\n")
    assert settings_fingerprint(load_settings(site)) != default


def test_input_fingerprint_follows_the_sidecar_bytes(tmp_path):
    audio, sidecar = make_silent_stereo(tmp_path)
    item = InputItem(audio, "audio", sidecar)
    first = input_fingerprint(item, "f" * 64)
    assert first.sidecar_sha256 is not None and first.key == input_fingerprint(item, "f" * 64).key
    write_sidecar(sidecar, "fp-stereo", agent_id="A-002")  # same length: the bytes decide, not size or time
    assert input_fingerprint(item, "f" * 64).key != first.key
    assert input_fingerprint(item, "e" * 64).key != input_fingerprint(item, "f" * 64).key
    no_sidecar = input_fingerprint(InputItem(audio, "audio", None), "f" * 64)
    assert no_sidecar.sidecar_sha256 is None and no_sidecar.key != first.key


# --- callqa run: run_batch re-runs, skips and re-assesses by the fingerprint ----------------------

@pytest.fixture
def batch(tmp_path):
    """A silent stereo call with a sidecar and a chat transcript, a site config on a copied manifest."""
    inputs = tmp_path / "in"
    audio, sidecar = make_silent_stereo(inputs)
    shutil.copy2(SAMPLE_CALLS / "sample-005.transcript.json", inputs / "sample-005.transcript.json")
    manifest = copy_manifest(tmp_path / "manifest.yaml")
    return {"inputs": discover_inputs([inputs]), "sidecar": sidecar, "manifest": manifest,
            "site": _site(tmp_path, manifest), "paths": resolve_paths(tmp_path / "out", environ={})}


def _run(batch, site=None):
    settings = load_settings(site or batch["site"])
    summary = run_batch(batch["inputs"], batch["paths"], settings, Models(settings, allow_dev_key=True))
    return {o.call_id: (o.status, o.reason) for o in summary.outcomes}


def _result(batch, call_id: str) -> dict:
    return json.loads((batch["paths"].out_dir / call_id / "result.json").read_text())


def test_run_batch_reruns_a_call_after_its_sidecar_or_the_model_manifest_changes(batch):
    done = ("done", None)
    assert _run(batch) == {"fp-stereo": done, "sample-005": done}
    first = _result(batch, "fp-stereo")["pipeline"]
    assert first["sidecar_sha256"] and first["manifest_sha256"] and first["settings_fingerprint"]
    assert _run(batch) == {"fp-stereo": ("skipped", "already_done"), "sample-005": ("skipped", "already_done")}

    write_sidecar(batch["sidecar"], "fp-stereo", agent_id="A-002")
    assert _run(batch) == {"fp-stereo": done, "sample-005": ("skipped", "already_done")}
    assert _result(batch, "fp-stereo")["metadata"]["agent_id"] == "A-002"

    touch_manifest(batch["manifest"])
    assert _run(batch) == {"fp-stereo": done, "sample-005": done}  # every call, from the start
    again = _result(batch, "fp-stereo")["pipeline"]
    assert again["manifest_sha256"] != first["manifest_sha256"]
    assert again["settings_fingerprint"] != first["settings_fingerprint"]
    assert _run(batch) == {"fp-stereo": ("skipped", "already_done"), "sample-005": ("skipped", "already_done")}


def test_run_batch_reassesses_when_only_scoring_changed(batch, tmp_path):
    _run(batch)
    audit = batch["paths"].audit_log.read_text().count("\n")
    changed = _site(tmp_path, batch["manifest"], "stages:\n  score: {purpose: summative}\n")
    assert _run(batch, changed) == {"fp-stereo": ("done", "reassessed"), "sample-005": ("done", "reassessed")}
    assert _result(batch, "sample-005")["scorecard"]["purpose"] == "summative"
    assert batch["paths"].audit_log.read_text().count("\n") == audit  # redaction did not run again
    assert _run(batch, changed) == {"fp-stereo": ("skipped", "already_done"),
                                    "sample-005": ("skipped", "already_done")}


def test_a_result_from_before_fingerprints_is_processed_again(batch):
    _run(batch)
    path = batch["paths"].out_dir / "sample-005" / "result.json"
    old = json.loads(path.read_text())
    for key in ("settings_fingerprint", "manifest_sha256", "sidecar_sha256"):
        old["pipeline"].pop(key)
    path.write_text(json.dumps(old))
    assert _run(batch)["sample-005"] == ("done", None)
