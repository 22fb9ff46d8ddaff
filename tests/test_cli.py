"""The README's main job, end to end through the installed `callqa` command."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests._paths import SAMPLE_CALLS

CALLQA = [sys.executable, "-m", "pipeline.cli"]


def callqa(*args, check=False) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *map(str, args)], capture_output=True, text=True, check=check, timeout=900)


@pytest.fixture(scope="module")
def result_schema():
    return json.loads(callqa("schema", check=True).stdout)


def test_schema_is_a_json_schema(result_schema):
    jsonschema.Draft202012Validator.check_schema(result_schema)
    assert {"call_id", "turns", "pii", "events", "metrics", "sla", "scorecard"} <= set(result_schema["properties"])


def test_models_list_shows_the_default_verified():
    proc = callqa("models", "list", check=True)
    assert "tiny.en" in proc.stdout and "verified" in proc.stdout


def test_bad_config_fails_with_the_key(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("transcribe:\n  modle: base\n")
    proc = callqa("run", SAMPLE_CALLS, "--out", tmp_path / "out", "--config", site)
    assert proc.returncode == 2
    assert "transcribe.modle" in proc.stderr and "site.yaml" in proc.stderr


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    inputs = tmp_path_factory.mktemp("inputs")
    for f in SAMPLE_CALLS.iterdir():
        shutil.copy(f, inputs / f.name)
    (inputs / "corrupt.wav").write_bytes(b"RIFF\x00\x10\x00\x00WAVEfmt garbage that is not audio" * 10)
    out = tmp_path_factory.mktemp("out")
    proc = callqa("run", inputs, "--out", out, "--json")
    return inputs, out, proc


@pytest.mark.slow
def test_samples_produce_valid_results_and_the_bad_file_is_reported(sample_run, result_schema):
    inputs, out, proc = sample_run
    assert proc.returncode == 1, proc.stderr  # one failure -> non-zero, after finishing the rest
    summary = json.loads(proc.stdout)
    by_path = {Path(c["path"]).name: c for c in summary["calls"]}
    assert by_path["corrupt.wav"]["status"] == "failed"
    assert by_path["corrupt.wav"]["reason"] in ("truncated", "corrupt")
    expected = {p.name for p in SAMPLE_CALLS.iterdir() if p.suffix == ".flac" or p.name.endswith(".transcript.json")}
    assert {n for n, c in by_path.items() if c["status"] == "done"} == expected
    for call in summary["calls"]:
        if call["status"] != "done":
            continue
        result = json.loads((out / call["call_id"] / "result.json").read_text())
        jsonschema.validate(result, result_schema)
        assert (out / call["call_id"] / "transcript.txt").is_file()
        if result["source"]["format"] != "transcript-json" and call["call_id"] != "silent-001":
            words = [w for t in result["turns"] for w in t["words"]]
            assert len(words) > 20
            assert all(w["end_s"] >= w["start_s"] for w in words)
    silent = json.loads((out / "silent-001" / "result.json").read_text())
    assert silent["turns"] == []


@pytest.mark.slow
def test_rerun_skips_finished_calls(sample_run):
    inputs, out, _ = sample_run
    (inputs / "corrupt.wav").unlink()
    proc = callqa("run", inputs, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counts"]["skipped"] == len(summary["calls"]) and summary["counts"]["done"] == 0


@pytest.mark.slow
def test_sample_scorecards_cite_evidence_and_fail_on_compliance(sample_run):
    _, out, _ = sample_run
    for folder in out.iterdir():
        path = folder / "result.json"
        if not path.is_file() or folder.name == "silent-001":
            continue
        card = json.loads(path.read_text())["scorecard"]
        assert card is not None, folder.name
        for item in card["items"]:
            if item["suggestion"] in ("yes", "partial"):
                assert item["evidence"], (folder.name, item["id"])  # no evidence, no positive suggestion
        assert (folder / "scorecard.html").is_file()
    # sample-004 discusses the account before ID&V and gives no recording notice
    failing = json.loads((out / "sample-004" / "result.json").read_text())
    assert failing["scorecard"]["critical_failed"] is True
    assert "critical_failed" in failing["flags"]
    model = json.loads((out / "sample-001" / "result.json").read_text())
    assert model["scorecard"]["critical_failed"] is False
