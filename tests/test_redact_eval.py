"""PII recall and over-redaction on the labelled dev calls as transcript input (issue targets:
recall >= 0.99 overall and per entity type, over-redaction <= 2%), and no value anywhere in
the stage's outputs or logs."""

from __future__ import annotations

import json
import logging
import re

import pytest

from pipeline.redact.audit import append_call
from pipeline.lab.eval_redact import evaluate_transcripts, score_spans, value_leaks
from pipeline.lab.scripts import CallScript, load_scripts
from pipeline.redact.text import redact_text
from pipeline.schema import Turn
from tests._paths import DEV_CALLS
from tests._redact_support import KEY, analyzer, options


@pytest.fixture(scope="module")
def calls() -> list[CallScript]:
    return load_scripts(DEV_CALLS)


def test_dev_calls_meet_recall_and_over_redaction_targets(calls) -> None:
    result = evaluate_transcripts(calls, analyzer(), options())
    assert result.labelled > 90
    assert result.recall >= 0.99, result.misses
    for entity_type, r in result.per_type.items():
        assert r.recall >= 0.99, (entity_type, result.misses)
    assert result.over_redaction <= 0.02


def test_no_value_in_redacted_output_log_or_log_lines(calls, tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = tmp_path / "audit.jsonl"
    outputs = []
    for call in calls:
        turns = [Turn(index=i, speaker=t.speaker, start_s=None, end_s=None, text=t.text) for i, t in enumerate(call.turns)]
        red = redact_text(turns, options(), analyzer(), KEY)
        append_call(log, call.call_id, red)
        outputs.append((call, red.model_dump_json() + "\n" + " ".join(t.text for t in red.turns)))
    logs = log.read_text() + caplog.text
    for call, output in outputs:
        redacted_text = output.rsplit("\n", 1)[1]
        for turn in call.turns:
            for span in turn.pii:
                entity_type, value = span.type, span.text
                pattern = re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)
                assert not pattern.search(output) and not pattern.search(logs), (call.call_id, entity_type)
                assert not value_leaks(value, entity_type, redacted_text), (call.call_id, entity_type)


def _one_turn_call(text: str, pii: list[tuple[str, str]]) -> list[CallScript]:
    turn = {"speaker": "customer", "text": text, "pii": [{"type": t, "text": v} for t, v in pii]}
    return [CallScript.model_validate({"call_id": "t", "channel_type": "telephone", "turns": [turn]})]


def test_score_spans_definitions() -> None:
    text = "It's Mr Okafor on oh seven seven double oh, nine double oh, four six two today."
    calls = _one_turn_call(text, [("PERSON", "Mr Okafor"), ("PHONE_NUMBER", "oh seven seven double oh, nine double oh, four six two")])
    name = (text.index("Okafor"), text.index("Okafor") + 6)  # "Mr" is a filler: redacting the surname suffices
    phone_start = text.index("oh seven")
    partial = (phone_start, text.index("four six two"))  # "four six two" survives: leaked
    over = (text.index("today"), text.index("today") + 5)
    result = score_spans(calls, {"t": {0: [name, partial, over]}})
    assert result.per_type["PERSON"].recall == 1.0
    assert result.per_type["PHONE_NUMBER"].recall == 0.0
    assert result.non_pii_words == 3 and result.non_pii_words_redacted == 1  # It's, on, today


@pytest.mark.parametrize(
    ("value", "entity", "text", "leaks"),
    [
        ("oh seven seven double oh, nine double oh, four six two", "PHONE_NUMBER", "call me on 07700 900462", True),
        ("oh seven seven double oh, nine double oh, four six two", "PHONE_NUMBER", "ending four six two one", False),
        ("oh seven seven double oh, nine double oh, four six two", "PHONE_NUMBER", "it's nine double oh four six", True),
        ("Daniel Okafor", "PERSON", "thanks mr okafor", True),
        ("Daniel Okafor", "PERSON", "thanks <PERSON>", False),
        ("d dot okafor seventy-eight at example dot com", "EMAIL_ADDRESS", "send it to example dot com", False),
        ("the third of September, nineteen seventy-eight", "DATE_OF_BIRTH", "born in 1978", True),
        # a year in thousands is one code: heard whole it leaks, its digits apart in other talk do not
        ("the eleventh of December, two thousand and five", "DATE_OF_BIRTH", "It's the 11th of December 2005.", True),
        ("the eleventh of December, two thousand and five", "DATE_OF_BIRTH", "I've told 5 people, it's been 2 weeks", False),
        ("plus four four, two oh, seven nine four six", "PHONE_NUMBER", "Plus <PHONE_NUMBER>, read it out to me", False),
        ("plus four four, two oh, seven nine four six", "PHONE_NUMBER", "plus 44 20 7946", True),
        # a domain said on its own: its last labels are in every address, its provider is not
        ("gmail dot com", "EMAIL_ADDRESS", "Can I take an email address? .com. That happened sometime.", False),
        ("gmail dot com", "EMAIL_ADDRESS", "it's gmail.com", True),
    ],
)
def test_value_leaks_on_unaligned_text(value: str, entity: str, text: str, leaks: bool) -> None:
    assert value_leaks(value, entity, text) is leaks


def test_recall_on_text_for_the_audio_path() -> None:
    from pipeline.lab.eval_redact import recall_on_text

    calls = _one_turn_call("My number is oh seven seven double oh, nine double oh, four six two.",
                           [("PHONE_NUMBER", "oh seven seven double oh, nine double oh, four six two")])
    assert recall_on_text(calls, {"t": "my number is <PHONE_NUMBER>."}).recall == 1.0
    leaked = recall_on_text(calls, {"t": "my number is 07700 900 462."})
    assert leaked.recall == 0.0 and leaked.misses[0].entity_type == "PHONE_NUMBER"


def test_over_redaction_on_a_transcription_counts_heard_words_that_were_removed() -> None:
    from pipeline.lab.eval_redact import over_redaction_on_text

    (call,) = _one_turn_call("My number is 07700 900462, thanks.", [("PHONE_NUMBER", "07700 900462")])
    before = {"t": "my number is 07700 900462 thanks"}
    assert over_redaction_on_text([call], before, {"t": "my number is <PHONE_NUMBER> thanks"}) == (4, 0)
    assert over_redaction_on_text([call], before, {"t": "my <PHONE_NUMBER> thanks"}) == (4, 2)


def test_redact_eval_command_prints_the_same_figures_as_the_function(calls) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    keep = {c.call_id: (c.organisation,) for c in calls if c.organisation}
    expected = evaluate_transcripts(calls, analyzer(), options(), keep)
    result = CliRunner().invoke(app, ["redact", "eval", str(DEV_CALLS), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected.model_dump(mode="json")
    plain = CliRunner().invoke(app, ["redact", "eval", str(DEV_CALLS), "--no-organisation"])
    assert plain.exit_code == 0 and plain.stdout.startswith("recall ") and "PERSON" in plain.stdout


def test_redact_eval_command_reports_a_bad_script_without_a_traceback(tmp_path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    (tmp_path / "bad.yaml").write_text("call_id: x\nchannel_type: fax\nturns: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["redact", "eval", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "Traceback" not in result.output
