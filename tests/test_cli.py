"""The README's main job, end to end through the installed `callqa` command."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from pipeline.cli import app as cli_app
from pipeline.cli._common import CallqaTyper, ExitCode, exit_code_for
from pipeline.errors import (
    AuthError,
    CallqaError,
    ConfigError,
    InputError,
    ModelUnavailableError,
    ReviewError,
    StageError,
    UserError,
)
from tests._paths import REPO, SAMPLE_CALLS

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


# ------------------------------------------------------------- one handler, one table, one style



def _click_tree():
    """(command path, click command) for the root and every command and group under it."""
    from typer.main import get_command

    root = get_command(cli_app)

    def walk(command, ctx):
        yield ctx.command_path, command
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(sub, type(ctx)(sub, info_name=name, parent=ctx))

    return list(walk(root, root.make_context("callqa", [], resilient_parsing=True)))


def test_version_prints_the_package_version():
    import pipeline

    result = CliRunner().invoke(cli_app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"callqa {pipeline.__version__}"


@pytest.mark.parametrize("error, code", [
    (ConfigError("bad", key="k"), 2),
    (InputError("bad", path="x.wav", reason="corrupt"), 2),
    (ReviewError("no", reason="finalised"), 3),
    (UserError("no"), 3),
    (AuthError("no", reason="bad_credentials"), 3),
    (ModelUnavailableError("missing", model="tiny.en"), 4),
    (StageError("boom", stage="detect"), 5),
    (CallqaError("other"), 2),
    (ValueError("a bug"), 5),
])
def test_exit_code_table(error, code):
    assert exit_code_for(error) == code


def test_readme_exit_code_table_is_the_one_in_the_code():
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [int(r) for r in rows if r.isdigit()] == [int(c) for c in ExitCode]


def test_the_handler_prints_one_line_and_never_an_unexpected_errors_message():
    app = CallqaTyper()

    @app.command("refused")
    def refused() -> None:
        raise ReviewError("card finalised", reason="finalised", call_id="c-1")

    @app.command("bug")
    def bug() -> None:
        raise ValueError("07700 900185")  # a library's message may quote the data

    runner = CliRunner()
    r = runner.invoke(app, ["refused"])
    assert r.exit_code == 3 and "error: call c-1: card finalised" in r.output
    b = runner.invoke(app, ["bug"])
    assert b.exit_code == 5 and "internal error (ValueError)" in b.output and "900185" not in b.output


def test_every_command_goes_through_the_one_handler():
    def callbacks(typer_app, path):
        for info in typer_app.registered_commands:
            yield f"{path} {info.name or info.callback.__name__}", info.callback
        for group in typer_app.registered_groups:
            yield from callbacks(group.typer_instance, f"{path} {group.name}")

    found = dict(callbacks(cli_app, "callqa"))
    assert "callqa review list" in found and "callqa run" in found  # positive control
    unhandled = [path for path, fn in found.items() if not getattr(fn, "__callqa_handled__", False)]
    assert unhandled == []


def test_one_style_of_options():
    problems = []
    for path, command in _click_tree():
        for param in command.params:
            if param.name == "help":
                continue
            opts = getattr(param, "opts", [])
            if not getattr(param, "help", None):
                problems.append(f"{path} {opts}: no help")
            if set(opts) & {"--db", "--log", "--dev-key", "--assessor"}:
                problems.append(f"{path} {opts}: old name")
            if "--json" in opts and not getattr(param, "is_flag", False):
                problems.append(f"{path} --json takes a value: name a file option for the file (--json-file)")
            if "--out" in opts and param.type_descriptor.annotation is not Path:
                problems.append(f"{path} --out is not a folder path")
    assert problems == []


def test_review_without_an_index_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli_app, ["review", "list", "--out", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no results index" in result.output and "callqa.db" in result.output


def test_audit_report_takes_the_log_and_the_threshold_from_the_site_config(tmp_path, monkeypatch):
    from pipeline.redact.audit import append_records

    for name in ("CALLQA_AUDIT_LOG", "CALLQA_OUT"):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site"
    site.mkdir()
    append_records(site / "logs" / "audit.jsonl", [
        {"kind": "finding", "call_id": "c-1", "entity_type": "PERSON", "recognizer": "r", "score": score}
        for score in (0.5, 0.8)
    ])
    (site / "site.yaml").write_text("output: {audit_log: logs/audit.jsonl}\n"
                                    "stages: {redaction: {low_score_review: 0.9}}\n")
    runner = CliRunner()
    with_site = runner.invoke(cli_app, ["audit", "report", "--config", str(site / "site.yaml")])
    assert with_site.exit_code == 0, with_site.output
    assert [f["score"] for f in json.loads(with_site.output)["low_score"]] == [0.5, 0.8]
    flag = runner.invoke(cli_app, ["audit", "report", "--audit-log", str(site / "logs" / "audit.jsonl")])
    assert [f["score"] for f in json.loads(flag.output)["low_score"]] == [0.5]  # the packaged 0.7


def test_a_bad_choice_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli_app, ["review", "summary", "agent-1", "--period", "year",
                                          "--out", str(tmp_path)])
    assert result.exit_code == 2 and "year" in result.output
