"""The learned detectors (issue #17): training is reproducible, the model file is JSON checked
against its hash, complaint episodes gate the LASS stages, and the evaluation reports calibration."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from pipeline.detect.learned import LASS_KINDS, decide
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
    """The dev corpus chose the thresholds, so this is a floor against regressions, below the
    figures docs/detection.md reports for it, not a measure of generalisation."""
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
