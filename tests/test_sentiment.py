"""Turn sentiment (issue #18): the shipped classifier beats VADER on the development corpus, reads
clear turns the right way, and every turn of a run carries a sentiment, with the customer's
trajectory as a metric and as context evidence on LASS satisfy. Real models: the packaged
MiniLM encoder, VADER's lexicon and the shipped model file, no mocks.

The frozen detection test set (tests/data/corpus/test3/) is never read here.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.detect.experience import sentiment_model
from pipeline.detect.sentiment import (
    LABELS,
    predict_proba,
    read_sentiment_model,
    sentiments_from_proba,
    trajectory,
    turn_features,
    vader_label,
)
from pipeline.errors import ModelUnavailableError
from pipeline.schema import Turn, TurnSentiment
from tests._paths import DATASETS

DEV = DATASETS / "corpus" / "dev"
# The margin the shipped model must keep over VADER on dev (it measured +0.20 macro F1, +0.16
# accuracy when trained): a retrained model that loses most of that fails here.
MARGIN_F1 = 0.10
MARGIN_ACCURACY = 0.08


@pytest.fixture(scope="module")
def features():
    from pipeline.lab.train_sentiment import feature_models

    return feature_models()


@pytest.fixture(scope="module")
def model():
    return sentiment_model("turn-sentiment")[0]


def test_classifier_beats_vader_on_the_dev_corpus_side_by_side():
    from pipeline.cli import app as cli_app

    run = CliRunner().invoke(cli_app, ["detect", "eval-sentiment", str(DEV), "--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output[run.output.index("{"):])
    assert report["turns"] >= 200 and set(report["support"]) == set(LABELS)
    ours, vader = report["classifier"], report["vader"]
    assert ours["macro_f1"] >= vader["macro_f1"] + MARGIN_F1, (ours, vader)
    assert ours["accuracy"] >= vader["accuracy"] + MARGIN_ACCURACY, (ours, vader)
    # Every class is found, not just the majority one.
    assert min(ours["per_class_f1"].values()) >= 0.45, ours


def test_the_shipped_model_is_verified_by_the_manifest_and_says_how_it_was_made(model):
    from pipeline.models import resolve_model

    resolved = resolve_model("turn-sentiment")
    assert resolved.verified
    assert model.encoder == "all-minilm-l6-v2" and model.trained["train"] == ["train"] and model.trained["dev"] == ["dev"]
    assert model.trained["dev_macro_f1"] > model.trained["dev_vader_macro_f1"]


def test_clear_turns_read_the_right_way(model, features):
    embed, vader = features
    texts = ["This is an absolute disgrace, I've been cut off three times this week and I'm furious.",
             "Brilliant, thank you so much, you've been really helpful.",
             "My postcode is <UK_POSTCODE> and the account number is <ACCOUNT_NUMBER>."]
    found = sentiments_from_proba(predict_proba(model, turn_features(texts, embed, vader)))
    assert [s.label for s in found] == ["negative", "positive", "neutral"]
    assert found[0].score < -0.5 < 0.5 < found[1].score and abs(found[2].score) < 0.5


def test_vader_baseline_band():
    assert [vader_label(v) for v in (0.3, 0.04, -0.04, -0.3)] == ["positive", "neutral", "neutral", "negative"]


def _turn(i: int, speaker: str, score: float | None) -> Turn:
    label = None if score is None else ("positive" if score > 0 else "negative" if score < 0 else "neutral")
    return Turn(index=i, speaker=speaker, start_s=None, end_s=None, text="x",
                sentiment=None if score is None else TurnSentiment(score=score, label=label))


def test_trajectory_is_last_third_minus_first_third_of_the_customer_turns():
    # Customer scores -0.8, -0.6, 0.0, 0.2, 0.6, 0.9: thirds of two turns, agent turns ignored.
    scores = [-0.8, -0.6, 0.0, 0.2, 0.6, 0.9]
    turns = []
    for i, s in enumerate(scores):
        turns += [_turn(2 * i, "agent", 0.9), _turn(2 * i + 1, "customer", s)]
    assert trajectory(turns) == pytest.approx((0.6 + 0.9) / 2 - (-0.8 - 0.6) / 2)
    assert trajectory([_turn(0, "customer", 0.5), _turn(1, "agent", -1.0)]) is None
    assert trajectory([_turn(0, "customer", -0.5), _turn(1, "customer", 0.5)]) == pytest.approx(1.0)


def test_a_malformed_model_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "sentiment.json"
    bad.write_text(json.dumps({"format": "callqa-sentiment/1", "labels": ["negative", "neutral", "positive"],
                               "encoder": "all-minilm-l6-v2", "features": ["a"], "coef": [[1.0]], "intercept": [0.0]}))
    with pytest.raises(ModelUnavailableError, match="sentiment.json is not a callqa-sentiment/1 model"):
        read_sentiment_model(bad)


_CALL = {
    "call_id": "cx-001", "channel_type": "digital", "metadata": {"agent_id": "agent-07"},
    "turns": [
        {"speaker": "agent", "text": "Hello, you're through to Northwind Energy, Sam speaking. How can I help?"},
        {"speaker": "customer", "text": "This is a disgrace. You've charged me twice this month and nobody answers "
                                        "my emails. I'm furious."},
        {"speaker": "agent", "text": "I'm really sorry about that. So you've been charged twice for the same bill?"},
        {"speaker": "customer", "text": "Yes, twice! Two hundred pounds gone and I'm short for the rent."},
        {"speaker": "agent", "text": "I've refunded the duplicate payment now; it will be back in your account "
                                     "within three working days."},
        {"speaker": "customer", "text": "Okay."},
        {"speaker": "agent", "text": "Is there anything else, and are you happy with how we've sorted this out?"},
        {"speaker": "customer", "text": "Brilliant, thank you so much, that's a real weight off my mind."},
        {"speaker": "agent", "text": "You're welcome, thanks for calling. Goodbye."},
        {"speaker": "customer", "text": "Lovely, thanks, bye!"},
    ],
}


@pytest.mark.slow
def test_every_turn_of_a_run_carries_sentiment_and_satisfy_shows_the_trajectory(tmp_path):
    from pipeline.ingest import discover_inputs
    from pipeline.run import Models, run_batch
    from pipeline.settings import load_settings

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cx-001.transcript.json").write_text(json.dumps(_CALL), encoding="utf-8")
    settings = load_settings()
    summary = run_batch(discover_inputs([folder]), tmp_path / "out", settings, Models(settings, allow_dev_key=True))
    assert [o.status for o in summary.outcomes] == ["done"]
    result = json.loads((tmp_path / "out" / "cx-001" / "result.json").read_text(encoding="utf-8"))

    assert all(t["sentiment"] is not None and t["sentiment"]["label"] in LABELS for t in result["turns"])
    customer = [t["sentiment"] for t in result["turns"] if t["speaker"] == "customer"]
    assert customer[0]["label"] == "negative" and customer[-1]["label"] == "positive"
    assert result["metrics"]["customer_sentiment_trajectory"] > 1.0  # furious -> thankful
    assert "turn-sentiment" in [m["name"] for m in result["pipeline"]["models"]]
    # No audio: no loudness, no speaking rate, no raised voice.
    assert all(t["loudness_lufs"] is None and t["speaking_rate_wps"] is None for t in result["turns"])
    assert not [e for e in result["events"] if e["kind"] == "voice.raised"]

    satisfy = next(i for i in result["scorecard"]["items"] if i["id"] == "lass_satisfy")
    context = [e for e in satisfy["evidence"] if e["kind"] == "metric:customer_sentiment_trajectory"]
    assert len(context) == 1 and context[0]["basis"] == "interpretive" and "rose" in context[0]["quote"]


@pytest.mark.slow
def test_training_reproduces_the_shipped_model(tmp_path, features):
    """Retraining from the shipped calls and code gives the shipped model: the same labels, features,
    training record and labels on every dev turn, coefficients within 1e-5. Not byte for byte across
    machines: BLAS kernels differ by CPU in the last bits and the solver stops on a tolerance, which
    moves coefficients by ~1e-6 (the shipped file was identical on one machine, not on a fresh one)."""
    import hashlib

    import numpy as np

    from pipeline.cli import app as cli_app
    from pipeline.models import resolve_model

    out = tmp_path / "sentiment.json"
    run = CliRunner().invoke(cli_app, ["detect", "train-sentiment", str(DATASETS / "corpus" / "train"),
                                       "--dev", str(DEV), "--out", str(out), "--seed", "0"])
    assert run.exit_code == 0, run.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() in run.output  # the sha256 printed for the manifest
    shipped_path = resolve_model("turn-sentiment").path / "sentiment.json"
    got, shipped = json.loads(out.read_text()), json.loads(shipped_path.read_text())
    for key in ("format", "labels", "encoder", "features", "trained"):
        assert got[key] == shipped[key], key
    np.testing.assert_allclose(got["coef"], shipped["coef"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["intercept"], shipped["intercept"], rtol=1e-4, atol=1e-5)
    retrained, reference = read_sentiment_model(out), read_sentiment_model(shipped_path)
    from pipeline.lab.scripts import load_scripts

    rows = turn_features([t.text for call in load_scripts(DEV) for t in call.turns], *features)
    mine, theirs = sentiments_from_proba(predict_proba(retrained, rows)), sentiments_from_proba(predict_proba(reference, rows))
    assert [s.label for s in mine] == [s.label for s in theirs]
    # Scores are rounded to 4 places: a coefficient ~1e-6 off can move one across a rounding edge (0.7287 / 0.7286).
    np.testing.assert_allclose([s.score for s in mine], [s.score for s in theirs], atol=2e-4)
