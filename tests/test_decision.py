"""The neutral/polar decision: fitted on the development split, saved with the model, used by every path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stance.decision import ARGMAX, DECISION_FILE, Decision, fit_decision, load_decision, save_decision
from stance.schema import STANCES

SUP, OPP, NEU = (STANCES.index(s) for s in ("support", "oppose", "neutral"))


def test_a_threshold_on_p_neutral_decides_and_the_polar_side_is_the_likelier_one() -> None:
    probs = np.array([[0.5, 0.1, 0.4], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    assert ARGMAX.labels(probs).tolist() == [SUP, OPP, NEU]
    assert Decision(0.35).labels(probs).tolist() == [NEU, OPP, NEU]  # 0.4 ≥ 0.35: neutral after all
    assert Decision(0.6).labels(probs).tolist() == [SUP, OPP, SUP]  # neutral needs 0.6: the third goes polar


def test_the_fitted_threshold_beats_argmax_on_its_split_or_argmax_is_kept() -> None:
    rng = np.random.default_rng(0)
    y = rng.choice([SUP, OPP, NEU], size=600, p=[0.2, 0.2, 0.6])
    probs = np.full((600, 3), 0.1)
    # An over-polar model (as balanced class weights make one): neutral pairs get P(neutral) ~ 0.3-0.45.
    probs[y == NEU, NEU] = rng.uniform(0.3, 0.45, (y == NEU).sum())
    probs[y == NEU, SUP] = rng.uniform(0.3, 0.6, (y == NEU).sum())
    probs[y != NEU, y[y != NEU]] = 0.7
    probs[y != NEU, NEU] = rng.uniform(0.0, 0.25, (y != NEU).sum())
    probs /= probs.sum(1, keepdims=True)
    decision, report = fit_decision(probs, y, "dev")
    assert decision.neutral_threshold is not None and report["rule"] == "neutral_threshold"
    assert report["macro_f1_support_oppose_fitted"] > report["macro_f1_support_oppose_argmax"]
    # A model whose argmax is already right keeps it.
    perfect = np.eye(3)[y] * 0.9 + 0.1 / 3
    kept, report = fit_decision(perfect, y, "dev")
    assert kept.neutral_threshold is None and report["rule"] == "argmax"


def test_the_decision_round_trips_through_the_model_folder(tmp_path: Path) -> None:
    assert load_decision(tmp_path) == ARGMAX  # a folder from before: the argmax
    save_decision(tmp_path, {"neutral_threshold": 0.3, "fitted_on": "seesaw/dev", "rule": "neutral_threshold"})
    assert load_decision(tmp_path) == Decision(0.3, "seesaw/dev")
    assert json.loads((tmp_path / DECISION_FILE).read_text())["fitted_on"] == "seesaw/dev"


def test_training_fits_the_decision_and_predict_and_evaluate_use_it(trained, tmp_path: Path) -> None:
    import shutil

    from helpers import apply_config

    from stance.evaluation.calibrate import calibrate
    from stance.evaluation.evaluate import evaluate
    from stance.predict.classifier import StanceClassifier

    folder, metrics = trained
    # The seed data has neither dev nor validation examples: nothing to fit on, so the folder keeps the argmax.
    assert metrics["selected_on"] is None and "decision" not in metrics and not (folder / DECISION_FILE).exists()
    model = tmp_path / "model"
    shutil.copytree(folder, model)
    save_decision(model, {"neutral_threshold": 0.999, "fitted_on": "test-only"})  # almost never neutral
    clf = StanceClassifier.from_pretrained(model, device="cpu")
    assert clf.decision == Decision(0.999, "test-only")
    assert clf.predict("China condemned Russia.", "China", "Russia").stance != "neutral"
    results = evaluate(
        apply_config("evaluate", f"model_dir={model}", f"output_dir={tmp_path / 'e'}", "bootstrap_resamples=0")
    )
    model_report = results["systems"]["model"]
    assert model_report["decision"]["neutral_threshold"] == 0.999
    assert model_report["per_class"]["neutral"]["recall"] < 0.05  # the saved call, not the argmax
    path = results["prediction_path"]
    assert path["found_pairs_predicted_neutral"] <= 0.05 * path["found_pairs"]
    with pytest.raises(Exception, match="held out"):
        calibrate(apply_config("calibrate", f"model_dir={model}", "split=test"))
    report = calibrate(apply_config("calibrate", f"model_dir={model}", "split=train"))
    assert load_decision(model).fitted_on == report["fitted_on"] == "seed/train"


def test_training_with_a_dev_split_fits_the_decision_there(tmp_path: Path) -> None:
    from helpers import train_config

    from stance.dataset.build import dataset_from_config
    from stance.training.train import train

    cfg = train_config(tmp_path, "train.epochs=1")
    dataset = dataset_from_config(cfg)
    dataset["dev"] = dataset["train"].select(range(120))  # the seed data has no dev split of its own
    metrics = train(cfg, dataset)
    assert metrics["selected_on"] == "dev" and metrics["decision"]["fitted_on"] == "dev"
    assert metrics["decision"]["n"] == 120
    assert load_decision(cfg.output_dir).fitted_on == "dev"
