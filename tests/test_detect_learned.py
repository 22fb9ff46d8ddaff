"""The learned detectors (issue #17): training is reproducible, the model file is JSON checked
against its hash, complaint episodes gate the LASS stages, and the evaluation reports calibration."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from pipeline.detect.learned import LASS_KINDS, DetectorModel, Episodes, decide
from pipeline.errors import ConfigError, ModelUnavailableError
from pipeline.schema import EVENT_KINDS
from tests._paths import DATASETS, DETECT_HELDOUT, DEV_CALLS

CORPUS_DEV = DATASETS / "corpus" / "dev"


def _col(kind: str) -> int:
    return EVENT_KINDS.index(kind)


def test_lass_stages_fire_only_after_a_complaint():
    p = np.zeros((4, len(EVENT_KINDS)))
    p[0, _col("lass.apologise")] = 0.9  # before any complaint: an apology for a slow reply, not LASS
    p[1, _col("complaint.raised")] = 0.9
    p[2, _col("lass.apologise")] = 0.9
    p[3, _col("lass.satisfy")] = 0.9
    thresholds = {k: 0.5 for k in EVENT_KINDS}
    fired = decide(p, thresholds)
    assert [(int(t), EVENT_KINDS[j]) for t, j in zip(*np.nonzero(fired))] == [
        (1, "complaint.raised"), (2, "lass.apologise"), (3, "lass.satisfy")]
    # The complaint's own threshold decides whether there is an episode at all.
    assert not decide(p, {**thresholds, "complaint.raised": 0.95})[:, [_col(k) for k in LASS_KINDS]].any()


def _fired(fired: np.ndarray) -> list[tuple[int, str]]:
    return [(int(t), EVENT_KINDS[j]) for t, j in zip(*np.nonzero(fired))]


def test_a_decided_complaint_moves_the_episode_back_to_an_earlier_milder_one():
    # Turn 1: a polite complaint under the threshold; turn 3 the angrier follow-up over it. The
    # listening at turn 2 belongs to the episode only if it starts at turn 1.
    p = np.zeros((5, len(EVENT_KINDS)))
    p[1, _col("complaint.raised")] = 0.5
    p[2, _col("lass.listen")] = 0.9
    p[3, _col("complaint.raised")] = 0.95
    p[4, _col("lass.solve")] = 0.9
    thresholds = {k: 0.8 for k in EVENT_KINDS}
    assert _fired(decide(p, thresholds)) == [(3, "complaint.raised"), (4, "lass.solve")]
    moved = decide(p, thresholds, Episodes(onset_factor=0.5))
    assert _fired(moved) == [(1, "complaint.raised"), (2, "lass.listen"), (3, "complaint.raised"), (4, "lass.solve")]
    # Under the factor's share of the threshold the earlier turn stays a plain turn.
    assert _fired(decide(p, thresholds, Episodes(onset_factor=0.7)))[0] == (3, "complaint.raised")
    # No decided complaint: the onset factor alone opens nothing.
    assert not decide(p, {**thresholds, "complaint.raised": 0.99}, Episodes(onset_factor=0.1))[:, _col("complaint.raised")].any()


def test_an_apology_the_classifier_decided_on_reveals_a_complaint_under_the_threshold():
    p = np.zeros((4, len(EVENT_KINDS)))
    p[0, _col("complaint.raised")] = 0.1
    p[1, _col("complaint.raised")] = 0.3
    p[2, _col("lass.apologise")] = 0.9
    thresholds = {k: 0.8 for k in EVENT_KINDS}
    episodes = Episodes(apology_factor=0.25)
    assert _fired(decide(p, thresholds, episodes)) == [(1, "complaint.raised"), (2, "lass.apologise")]
    # Too little complaint in any turn, or no apology after the likeliest one: no complaint.
    assert not decide(p, thresholds, Episodes(apology_factor=0.5)).any()
    p[2, _col("lass.apologise")] = 0.5
    assert not decide(p, thresholds, episodes).any()


def test_a_reply_that_solves_corroborates_a_complaint_under_the_threshold():
    # Turn 1: a complaint at 0.62 against a threshold of 0.8; turn 2: the agent's refund, decided.
    p = np.zeros((5, len(EVENT_KINDS)))
    p[1, _col("complaint.raised")] = 0.62
    p[2, _col("lass.solve")] = 0.9
    p[3, _col("complaint.raised")] = 0.05
    p[4, _col("lass.listen")] = 0.3
    thresholds = {k: 0.8 for k in EVENT_KINDS}
    support = Episodes(support_factor=0.75, support_kinds=["lass.apologise", "lass.solve"])
    assert _fired(decide(p, thresholds, support)) == [(1, "complaint.raised"), (2, "lass.solve")]
    # Without the rule, under its factor, with a kind that does not corroborate, or with the reply
    # more than two turns on: no complaint, so no solution either.
    assert not decide(p, thresholds).any(axis=0)[_col("complaint.raised")]
    assert not decide(p, thresholds, support.model_copy(update={"support_factor": 0.8})).any()
    assert not decide(p, thresholds, support.model_copy(update={"support_kinds": ["empathy"]})).any()
    late = np.insert(p, 2, 0.0, axis=0)
    late[2, _col("lass.listen")] = 0.0
    late = np.insert(late, 2, 0.0, axis=0)
    assert not decide(late, thresholds, support)[:, _col("complaint.raised")].any()
    # The reply's solution under its own threshold, or under the support level, corroborates nothing.
    p[2, _col("lass.solve")] = 0.7
    assert not decide(p, thresholds, support).any()
    p[2, _col("lass.solve")] = 0.4
    assert not decide(p, {**thresholds, "lass.solve": 0.3}, support).any()
    assert decide(p, {**thresholds, "lass.solve": 0.3}, support.model_copy(update={"support_level": 0.25})).any()


def test_the_support_rule_is_the_most_cautious_that_finds_the_corroborated_complaints_precisely():
    from pipeline.lab.train_detect import choose_support

    def call(complaint: float, solve: float, truth: bool) -> tuple[np.ndarray, np.ndarray]:
        p = np.zeros((3, len(EVENT_KINDS)))
        p[1, _col("complaint.raised")], p[2, _col("lass.solve")] = complaint, solve
        labels = np.zeros(p.shape, dtype=bool)
        labels[1, _col("complaint.raised")] = truth
        return p, labels

    # Under a complaint threshold of 0.8: true complaints at 0.7 (a solution at 0.9 after it) and at
    # 0.66 (a solution at 0.4), a false one at 0.5 (a solution at 0.9), one the threshold decides anyway.
    calls = [call(0.7, 0.9, True), call(0.66, 0.4, True), call(0.5, 0.9, False), call(0.9, 0.9, True),
             call(0.3, 0.0, False)]
    probabilities, labels = [c[0] for c in calls], [c[1] for c in calls]
    thresholds = {"complaint.raised": 0.8, "lass.solve": 0.2}
    # Both true ones need a level of 0.25 and a factor of at most 0.8 (0.64); under 0.65 the false one joins.
    chosen = choose_support(probabilities, labels, thresholds, complaint_precision=0.95, episodes=Episodes(),
                            kinds=("lass.solve",))
    assert (chosen.support_factor, chosen.support_level, chosen.support_kinds) == (0.8, 0.25, ["lass.solve"])
    assert _fired(decide(probabilities[1], thresholds, chosen))[0] == (1, "complaint.raised")
    assert not decide(probabilities[2], thresholds, chosen).any()
    # Nothing to add at the precision: no support.
    assert choose_support(probabilities[2:], labels[2:], thresholds, episodes=Episodes(),
                          kinds=("lass.solve",)).support_factor is None


@pytest.mark.parametrize("other", ["lass.listen", "call.idv", "call.summary"])
def test_a_solution_is_not_also_the_listening_the_id_check_or_the_recap_of_one_turn(other):
    p = np.zeros((3, len(EVENT_KINDS)))
    p[0, _col("complaint.raised")] = 0.9
    p[1, _col(other)], p[1, _col("lass.solve")] = 0.9, 0.6   # the question about the problem, over a solve reading
    p[2, _col(other)], p[2, _col("lass.solve")] = 0.6, 0.9   # the solution, over the other reading
    fired = decide(p, {k: 0.5 for k in EVENT_KINDS})
    assert fired[1, _col(other)] and not fired[1, _col("lass.solve")]
    assert fired[2, _col("lass.solve")] and not fired[2, _col(other)]


def test_a_model_file_from_before_the_episode_rule_decides_as_it_was_trained():
    model = DetectorModel.model_validate({"format": "callqa-detector/1", "seed": 0, "kinds": {}})
    assert model.episodes == Episodes() and model.episodes.onset_factor is None and model.episodes.apology_factor is None


def test_one_offer_is_an_up_sell_or_a_cross_sell_not_both():
    p = np.zeros((1, len(EVENT_KINDS)))
    p[0, _col("sales.cross_sell")] = 0.7
    p[0, _col("sales.up_sell")] = 0.8
    fired = decide(p, {"sales.cross_sell": 0.5, "sales.up_sell": 0.5})
    assert fired[0, _col("sales.up_sell")] and not fired[0, _col("sales.cross_sell")]


def test_calibration_error_on_controlled_scores():
    from pipeline.lab.eval_detect import _ece

    edges = np.linspace(0, 1, 11)
    # 0.25 said of four pairs, one of them labelled: calibrated. 0.95 of two, none labelled: off by 0.95.
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.95, 0.95])
    y = np.array([1, 0, 0, 0, 0, 0], dtype=float)
    ece, bins = _ece(p, y, edges)
    assert ece == pytest.approx(2 / 6 * 0.95)
    assert bins[2].pairs == 4 and bins[2].accuracy == pytest.approx(0.25) and bins[9].pairs == 2


def test_the_shipped_model_is_in_the_manifest_and_verifies():
    from pipeline.models import resolve_model

    resolved = resolve_model("callqa-detector")
    assert resolved.verified
    data = json.loads((resolved.path / "detector.json").read_text(encoding="utf-8"))
    assert data["format"] == "callqa-detector/1" and "complaint.raised" in data["kinds"]


def test_a_site_model_needs_its_hash_and_a_wrong_hash_is_refused(tmp_path):
    from pipeline.detect.learned import load_detector
    from pipeline.detect.options import load_detect_options
    from pipeline.models import resolve_model

    site = tmp_path / "detect.yaml"
    site.write_text(f"models: {{detector_file: {tmp_path / 'mine.json'}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="detector_sha256"):
        load_detect_options(site)
    shipped = resolve_model("callqa-detector").path / "detector.json"
    copy = tmp_path / "mine.json"
    copy.write_bytes(shipped.read_bytes() + b" ")
    with pytest.raises(ModelUnavailableError, match="sha256"):
        load_detector(copy, hashlib.sha256(shipped.read_bytes()).hexdigest())
    not_a_model = tmp_path / "pickle.json"
    not_a_model.write_bytes(b"\x80\x04\x95\x00")
    with pytest.raises(ModelUnavailableError, match="not a callqa detector model"):
        load_detector(not_a_model, hashlib.sha256(not_a_model.read_bytes()).hexdigest())


def test_training_twice_with_one_seed_writes_the_same_bytes(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    outs = []
    for name in ("a.json", "b.json"):
        result = runner.invoke(app, ["detect", "train", str(DEV_CALLS), "--out", str(tmp_path / name), "--seed", "3"])
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / name).read_bytes())
        assert hashlib.sha256(outs[-1]).hexdigest() in result.output
    assert outs[0] == outs[1]
    model = json.loads(outs[0])
    assert model["seed"] == 3 and model["training"]["calls"] == 10 and model["training"]["thresholds_from"] == "train-oof"
    # A site points its config at the result; the hash it was given is checked.
    site = tmp_path / "detect.yaml"
    site.write_text(f"models: {{detector_file: '{tmp_path / 'a.json'}', "
                    f"detector_sha256: {hashlib.sha256(outs[0]).hexdigest()}}}\n", encoding="utf-8")
    result = runner.invoke(app, ["detect", "eval", str(DETECT_HELDOUT / "fresh4"), "--detect-config", str(site)])
    assert result.exit_code == 0, result.output
    assert "calibration: ECE" in result.output


def test_eval_reports_calibration_and_writes_the_reliability_diagram(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["detect", "eval", str(DETECT_HELDOUT / "fresh4"), "--plots", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    calibration = report["calibration"]
    assert 0.0 <= calibration["ece"] <= 1.0 and calibration["pairs"] > 0
    assert sum(b["pairs"] for b in calibration["bins"]) == calibration["pairs"]
    assert (tmp_path / "detection_reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(report["events"]["turn_level"]) == set(EVENT_KINDS)


def test_the_shipped_model_on_the_dev_corpus(detect_setup):
    """The dev corpus is among the shipped model's training calls, so this is a floor against
    regressions, not a measure of generalisation (the frozen test set is never read by a test)."""
    from pipeline.lab.eval_detect import evaluate_transcripts

    options, models = detect_setup
    report = evaluate_transcripts(CORPUS_DEV, options=options, models=models)
    assert report.events.call_micro_f1 >= 0.9, report.events.errors
    assert report.lass.stage_accuracy >= 0.9, report.lass.mismatches
    assert report.calibration is not None and report.calibration.ece <= 0.05


def test_learning_curve_command_writes_its_plot(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    plot = tmp_path / "curve.png"
    result = CliRunner().invoke(app, ["detect", "learning-curve", str(DEV_CALLS), "--dev", str(DETECT_HELDOUT / "fresh4"),
                                      "--plot", str(plot), "--fractions", "0.6,1.0"])
    assert result.exit_code == 0, result.output
    assert "6 training calls" in result.output and "10 training calls" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(app, ["detect", "learning-curve", str(DEV_CALLS), "--dev", str(DEV_CALLS),
                                   "--plot", str(plot), "--fractions", "0,2"])
    assert bad.exit_code == 2


def test_a_call_with_no_turns_gives_no_events_not_an_error(detect_setup):
    # A silent recording transcribes to no turns; the classifiers' features need at least one.
    from pipeline.detect import detect

    options, models = detect_setup
    assert models.detector is not None
    detection = detect([], channel_type="telephone", options=options, models=models)
    assert detection.events == [] and detection.lass == []
