"""Train, evaluate and predict end to end with the tiny random model: seconds, no downloads."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import apply_config, train_config
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from stance.cli import CONFIG_DIR
from stance.dataset.build import dataset_from_config
from stance.encoding import MARKERS, EncodingConfig, encode_batch
from stance.metrics import classification_report
from stance.predict.batch import predict_files
from stance.predict.classifier import StanceClassifier
from stance.readers.articles import load_articles
from stance.schema import STANCES

ROOT = Path(__file__).resolve().parent.parent


def test_every_config_group_composes() -> None:
    groups = {g: sorted(p.stem for p in (Path(CONFIG_DIR) / g).glob("*.yaml")) for g in ("data", "model", "train")}
    assert {"seed", "seesaw", "dse", "mix"} <= set(groups["data"]) and {"minilm", "tiny"} <= set(groups["model"])
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for group, options in groups.items():
            for option in options:
                cfg = compose("train", overrides=[f"{group}={option}"])
                OmegaConf.resolve(cfg)
                # The group's file lands whole under its key: a typo'd key or a wrong @package would not.
                expected = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / group / f"{option}.yaml"))
                composed = OmegaConf.to_container(cfg[group])
                if isinstance(expected, dict) and expected.pop("defaults", None) is not None:
                    # a file with a schema or other configs in its defaults: every value it sets is in the result
                    assert OmegaConf.to_container(OmegaConf.merge(composed, expected)) == composed, (group, option)
                else:
                    assert composed == expected, (group, option)
                assert cfg.output_dir == f"models/{cfg.model.name}-{cfg.data.name}"
        build = compose("build", overrides=["data=seesaw", "data.context_sentences=3"])
        assert build.data.format == "seesaw" and build.data.context_sentences == 3
    cfg = apply_config("evaluate", "model_dir=models/x", "data=dse", "split=validation")
    assert cfg.model_dir == "models/x" and cfg.data.format == "dse" and "model" not in cfg
    cfg = apply_config("predict", "model_dir=models/x", "input=a.jsonl", "output=b.csv", "device=cpu")
    assert (cfg.model_dir, cfg.input, cfg.output, cfg.device) == ("models/x", "a.jsonl", "b.csv", "cpu")
    # one root: every command's config sits beside the others, and the hydra block is written once
    assert not (Path(CONFIG_DIR) / "apply").exists()
    for name in ("build", "train", "evaluate", "predict", "calibrate"):
        text = (Path(CONFIG_DIR) / f"{name}.yaml").read_text(encoding="utf-8")
        assert "  - common" in text and "hydra:" not in text, name


def test_overrides_change_the_run_without_editing_files(tmp_path: Path) -> None:
    cfg = train_config(tmp_path, "train.epochs=1", "train.learning_rate=1e-4", "model.max_length=64", "seed=7")
    assert (cfg.train.epochs, cfg.train.learning_rate, cfg.model.max_length, cfg.seed) == (1, 1e-4, 64, 7)
    assert cfg.run_name == "tiny-seed"


def test_training_lowers_the_loss_and_writes_a_complete_folder(trained) -> None:
    folder, metrics = trained
    losses = metrics["loss_history"]
    assert len(losses) >= 4
    assert np.mean(losses[-2:]) < np.mean(losses[:2]) - 0.1, losses
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "training_config.yaml"} <= names
    assert {"metrics.json", "README.md"} <= names and "training_args.bin" not in names
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {"0": "support", "1": "oppose", "2": "neutral"}
    assert config["stance_encoding"]["version"] == 1
    assert OmegaConf.load(folder / "training_config.yaml").train.learning_rate == 3e-3
    assert "## Metrics" in (folder / "README.md").read_text()
    assert not list(folder.parent.glob(".model.tmp-*"))
    saved = json.loads((folder / "metrics.json").read_text())
    assert 0 < saved["wall_time_s"] <= metrics["wall_time_s"]


def test_saved_folder_reloads_with_identical_predictions_and_plain_transformers(trained, gazetteer) -> None:
    folder, _ = trained
    articles = load_articles([ROOT / "data" / "articles"], gazetteer)
    first = StanceClassifier.from_pretrained(folder, device="cpu")
    second = StanceClassifier.from_pretrained(folder, device="cpu")
    rows = first.pairs_of(articles[0])[:40]
    a, b = first.predict_proba(rows), second.predict_proba(rows)
    assert torch.equal(a, b)
    # Plain transformers, fed the same encoding, gives the same labels.
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert all(m in tokenizer.get_vocab() for m in MARKERS)
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    batch = tokenizer.pad(encode_batch(columns, tokenizer, first.encoding), return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    labels = [model.config.id2label[i] for i in logits.argmax(-1).tolist()]
    assert labels == [STANCES[i] for i in a.argmax(-1).tolist()]


def test_encoding_is_identical_at_train_and_predict_time(trained, gazetteer) -> None:
    from stance.training.trainer import encode_dataset

    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    cfg = train_config(folder.parent)
    dataset = dataset_from_config(cfg)
    encoded = encode_dataset(dataset["test"], clf.tokenizer, clf.encoding)
    train_side = {r["id"]: ids for r, ids in zip(dataset["test"], encoded["input_ids"], strict=True)}
    article = next(a for a in load_articles([ROOT / "data" / "articles"], gazetteer) if a.split == "test")
    predict_rows = clf.pairs_of(article)
    columns = {k: [r[k] for r in predict_rows] for k in predict_rows[0]}
    predict_side = dict(
        zip(
            [r["id"] for r in predict_rows],
            encode_batch(columns, clf.tokenizer, clf.encoding)["input_ids"],
            strict=True,
        )
    )
    shared = set(train_side) & set(predict_side)
    assert len(shared) > 50
    assert all(train_side[i] == predict_side[i] for i in shared)


def test_long_inputs_are_cut_around_the_mentions(trained) -> None:
    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    filler = "The talks went on for many hours without any agreement being reached by anyone. " * 8
    text = f"{filler}China criticised {filler}the United States over its trade policy."
    rows = clf._row(text, "China", "United States", context=filler)
    encoding = EncodingConfig(max_length=96)
    ids = encode_batch({k: [v] for k, v in rows.items()}, clf.tokenizer, encoding)["input_ids"][0]
    assert len(ids) <= 96
    decoded = clf.tokenizer.decode(ids)
    for marker in MARKERS:
        assert marker in decoded
    assert "china" in decoded.lower() and "united states" in decoded.lower()


def test_single_and_batch_api(trained) -> None:
    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    one = clf.predict("China criticised the United States.", "China", "United States")
    assert one.stance in STANCES and abs(sum(one.probabilities.values()) - 1) < 1e-5
    many = clf.predict([("China criticised the United States.", "China", "United States")] * 3)
    assert [m.stance for m in many] == [one.stance] * 3
    assert many[0].probabilities == pytest.approx(one.probabilities, abs=1e-5)


def test_classification_report_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 3, 200))
    probs = rng.dirichlet([1, 1, 1], 200)
    report = classification_report(y_true, y_pred, probs, bootstrap_resamples=200)
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert report["macro_f1_support_oppose"] == pytest.approx(f1_score(y_true, y_pred, labels=[0, 1], average="macro"))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2])
    for i, name in enumerate(STANCES):
        got = report["per_class"][name]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((p[i], r[i], f[i], s[i]))
    assert report["confusion_matrix"]["rows_true_cols_pred"] == confusion_matrix(y_true, y_pred).tolist()
    low, high = report["macro_f1_ci95"]
    assert low < report["macro_f1"] < high
    assert 0 <= report["ece"] <= 1


def test_expected_calibration_error_of_known_cases() -> None:
    from stance.metrics import expected_calibration_error

    y = np.array([0, 1, 2, 0])
    assert expected_calibration_error(y, np.eye(3)[y]) == pytest.approx(0.0)
    # Always 90% sure, right half the time: ECE 0.4.
    probs = np.array([[0.9, 0.05, 0.05]] * 4)
    assert expected_calibration_error(np.array([0, 0, 1, 1]), probs) == pytest.approx(0.4)


def test_evaluate_writes_metrics_equal_to_scikit_learn(trained, tmp_path: Path) -> None:
    from stance.evaluation.data import evaluation_data
    from stance.evaluation.evaluate import evaluate

    folder, _ = trained
    cfg = apply_config(
        "evaluate", f"model_dir={folder}", f"output_dir={tmp_path}", "bootstrap_resamples=100", "device=cpu"
    )
    results = evaluate(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert set(saved["systems"]) == {"model", "majority", "tfidf_lr"}
    assert (tmp_path / "confusion.png").stat().st_size > 1000
    assert "| tfidf_lr |" in (tmp_path / "report.md").read_text()
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    examples = evaluation_data(cfg, clf, folder).examples
    y_pred = clf.predict_proba(list(examples)).argmax(-1).numpy()
    y_true = np.asarray(examples["label"])
    assert results["systems"]["model"]["n"] == len(y_true) == 388
    assert saved["systems"]["model"]["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    majority = saved["systems"]["majority"]
    assert majority["per_class"]["neutral"]["recall"] == 1.0  # the training split is mostly neutral


def test_evaluate_on_labelled_input(trained, tmp_path: Path) -> None:
    from stance.evaluation.evaluate import evaluate

    folder, _ = trained
    cfg = apply_config(
        "evaluate",
        f"model_dir={folder}",
        f"input={ROOT / 'tests/fixtures/articles'}",
        f"output_dir={tmp_path}",
        "baselines=false",
    )
    results = evaluate(cfg)
    assert set(results["systems"]) == {"model"} and results["systems"]["model"]["n"] >= 8


def test_predict_over_a_folder_of_text_files_writes_rows_and_summary(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a1.txt").write_text("China criticised the United States on Monday. Russia agreed with Beijing.\n")
    (inputs / "a2.txt").write_text("Nothing to see here.\n")
    (inputs / "bad.txt").write_bytes(b"\xff\xfe broken")
    cfg = OmegaConf.create(
        {"model_dir": str(folder), "input": str(inputs), "output": str(tmp_path / "out.csv"), "device": "cpu"}
        | {"gazetteer": "data/actors.yaml", "batch_size": 4}
    )
    result = predict_files(cfg)
    assert (result["articles"], result["failed_inputs"]) == (2, 1)
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    pairs = {(r["article_id"], r["sentence_index"], r["actor"], r["target"]) for r in rows}
    assert pairs == {
        ("a1", "0", "China", "United States"),
        ("a1", "0", "United States", "China"),
        ("a1", "1", "Russia", "China"),
        ("a1", "1", "China", "Russia"),
    }
    for r in rows:
        probs = [float(r[f"p_{s}"]) for s in STANCES]
        assert abs(sum(probs) - 1) < 1e-4 and r["stance"] == STANCES[int(np.argmax(probs))]
        assert r["model"] == "model"
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    edge = next(e for e in summary["articles"]["a1"] if (e["actor"], e["target"]) == ("China", "United States"))
    assert edge["n"] == 1 and sum(edge["counts"].values()) == 1
    errors = [json.loads(line) for line in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert len(errors) == 1 and errors[0]["file"].endswith("bad.txt") and "UTF-8" in errors[0]["message"]


def test_predict_cli_over_jsonl(trained, tmp_path: Path) -> None:
    folder, _ = trained
    source = tmp_path / "news.jsonl"
    lines = [
        {"id": "n1", "text": "NATO warned Russia. Ukraine thanked NATO.", "title": "t", "date": "2024-01-01"},
        {"id": "n2", "text": "Japan and South Korea held talks."},
        "not json",
        {"text": "no id"},
    ]
    source.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out.jsonl"
    cli = [sys.executable, "-c", "from stance.cli import predict_main; predict_main()"]
    done = subprocess.run(
        [*cli, f"model_dir={folder}", f"input={source}", f"output={out}", "device=cpu", f"hydra.run.dir={tmp_path}/h"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr  # two lines could not be read
    assert "2 inputs could not be read" in done.stderr and "Traceback" not in done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["article_id"] for r in rows} == {"n1", "n2"}
    assert {(r["actor"], r["target"]) for r in rows if r["article_id"] == "n1"} == {
        ("NATO", "Russia"),
        ("Russia", "NATO"),
        ("Ukraine", "NATO"),
        ("NATO", "Ukraine"),
    }
    errors = [json.loads(line) for line in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [3, 4]


def test_a_broken_model_folder_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / ".incomplete").touch()
    cli = [sys.executable, "-c", "from stance.cli import evaluate_main; evaluate_main()"]
    done = subprocess.run(
        [*cli, f"model_dir={tmp_path / 'm'}", f"hydra.run.dir={tmp_path}/h"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2
    assert "was not finished" in done.stderr and "Traceback" not in done.stderr


def test_paired_sampler_keeps_both_directions_together_and_reshuffles() -> None:
    from datasets import Dataset

    from stance.training.sampler import PairedSampler, pair_groups

    rows = [
        {"article_id": "a", "sentence_index": 0, "actor": "X", "target": "Y"},
        {"article_id": "a", "sentence_index": 0, "actor": "X", "target": "Z"},
        {"article_id": "a", "sentence_index": 0, "actor": "Y", "target": "X"},
        {"article_id": "a", "sentence_index": 1, "actor": "X", "target": "Y"},
        {"article_id": "b", "sentence_index": 0, "actor": "X", "target": "Y"},
        {"article_id": "a", "sentence_index": 0, "actor": "Z", "target": "X"},
    ]
    groups = pair_groups(Dataset.from_list(rows))
    assert groups == [0, 1, 0, 2, 3, 1]
    sampler = PairedSampler(groups * 10, seed=1)
    epochs = [list(sampler) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(60))
        for i, j in ((0, 2), (1, 5)):
            pos = {idx: k for k, idx in enumerate(order)}
            assert abs(pos[i] - pos[j]) == 1  # the two directions are adjacent
    assert epochs[0] != epochs[1]
    assert list(PairedSampler(groups * 10, seed=1)) == epochs[0]  # deterministic for a seed


def test_polarity_micro_f1_scores_annotated_polar_pairs_only() -> None:
    from stance.evaluation.classifier_only import polarity_micro_f1

    y = [0, 1, 1, 2, 0]
    probs = np.array([[0.2, 0.1, 0.7], [0.3, 0.4, 0.3], [0.6, 0.3, 0.1], [0.9, 0.0, 0.1], [0.1, 0.8, 0.1]])
    origin = ["annotated", "annotated", "annotated", "annotated", "co-mention"]
    # Row 0: support beats oppose (neutral ignored) → right; row 1 right; row 2 wrong; rows 3–4 excluded.
    assert polarity_micro_f1(y, probs, origin) == {"n": 3, "micro_f1": pytest.approx(2 / 3)}


def test_the_recipe_composes_for_each_corpus() -> None:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        seesaw = compose("train", overrides=["experiment=recipe"])
        dse = compose("train", overrides=["experiment=recipe", "data=dse", "train.epochs=1"])
    assert (seesaw.data.name, seesaw.model.name, seesaw.train.sampling) == ("seesaw", "minilm", "paired")
    assert seesaw.run_name == "recipe-seesaw" and seesaw.output_dir == "models/recipe-seesaw"
    assert (dse.data.name, dse.train.epochs, dse.data.neutral_pairs) == ("dse", 1, False)


def test_paired_training_runs_on_dse_fixtures(tmp_path: Path) -> None:
    from stance.training.train import train

    fixtures = ROOT / "tests" / "fixtures" / "dse"
    metrics = train(
        train_config(tmp_path, "data=dse", f"data.root={fixtures}", "train.sampling=paired", "train.epochs=2")
    )
    # Dev (lines hashed out of train by their sentence) chose the checkpoint; validation was not looked at.
    assert metrics["selected_on"] == "dev" and "validation" not in metrics
    assert metrics["examples"]["train"]["total"] + metrics["examples"]["dev"]["total"] == 10
    assert metrics["examples"]["dev"]["total"] == metrics["dev"]["n"] > 0
    assert (tmp_path / "model" / "model.safetensors").exists()
    from stance.evaluation.evaluate import evaluate

    cfg = apply_config(
        "evaluate",
        f"model_dir={tmp_path / 'model'}",
        "data=dse",
        f"data.root={fixtures}",
        f"output_dir={tmp_path / 'ev'}",
    )
    results = evaluate(cfg)
    five = results["corpus_metrics"]["dse_5class"]
    assert five["n"] == 3  # three test lines, two directions each
    # By hand: the fixture's gold labels, and the model's two directed calls per line folded into one label.
    gold = [1, 3, 2]  # the labels of tests/fixtures/dse/test.txt
    clf = StanceClassifier.from_pretrained(tmp_path / "model", device="cpu")
    from stance.evaluation.data import evaluation_data

    rows = list(evaluation_data(cfg, clf, tmp_path / "model").examples)
    probs = clf.predict_proba(rows).numpy()
    predicted = []
    for pq, qp in zip(probs[0::2], probs[1::2], strict=True):
        a, b = STANCES[pq.argmax()], STANCES[qp.argmax()]
        if a != "neutral" and (b == "neutral" or max(pq[:2]) >= max(qp[:2])):
            predicted.append(1 if a == "support" else 3)
        elif b != "neutral":
            predicted.append(2 if b == "support" else 4)
        else:
            predicted.append(0)
    matrix = [[0] * 5 for _ in range(5)]
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    assert five["confusion_matrix"]["rows_true_cols_pred"] == matrix
    assert five["accuracy"] == pytest.approx(sum(g == p for g, p in zip(gold, predicted, strict=True)) / 3)
    assert five["micro_f1"] == pytest.approx(f1_score(gold, predicted, labels=[0, 1, 2, 3, 4], average="micro"))
    assert "dse_5class" in (tmp_path / "ev" / "report.md").read_text()


def test_one_predict_for_a_sentence_a_list_an_article_and_articles(trained) -> None:
    from stance.errors import StanceError
    from stance.readers.raw import article_from_text

    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    article = article_from_text("a1", "China criticised the United States. Russia praised China.")
    rows = clf.predict(article)
    assert isinstance(rows, list) and rows and {r.article_id for r in rows} == {"a1"}
    streamed = clf.predict(iter([article, article_from_text("a2", "Japan thanked the United States.")]))
    assert not isinstance(streamed, list)
    ids = [r.article_id for r in streamed]
    assert ids[: len(rows)] == ["a1"] * len(rows) and ids[len(rows) :] and set(ids[len(rows) :]) == {"a2"}
    with_context = clf.predict([("China criticised the United States.", "China", "United States", "Talks failed.")])
    assert with_context[0].stance in STANCES
    with pytest.raises(StanceError, match="name the actor and the target"):
        clf.predict("China criticised the United States.")
    with pytest.raises(StanceError, match="not int"):
        clf.predict([1, 2])


def test_save_pretrained_writes_a_folder_that_loads_back_the_same_model(trained, tmp_path) -> None:
    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    copy = StanceClassifier.from_pretrained(clf.save_pretrained(tmp_path / "copy"), device="cpu")
    items = [
        ("China criticised the United States.", "China", "United States"),
        ("Russia praised China.", "Russia", "China"),
    ]
    for a, b in zip(clf.predict(items), copy.predict(items), strict=True):
        assert a.stance == b.stance and a.probabilities == pytest.approx(b.probabilities, abs=1e-6)
    assert copy.decision == clf.decision and (tmp_path / "copy" / "gazetteer.json").is_file()
    quantized = StanceClassifier.from_pretrained(folder, device="cpu", precision="int8")
    with pytest.raises(Exception, match="precision=fp32 to save it"):
        quantized.save_pretrained(tmp_path / "q")
    assert not (tmp_path / "q").exists()


def test_a_folder_without_a_gazetteer_is_paired_with_the_one_default_everywhere(trained, tmp_path) -> None:
    import shutil

    from stance.actors.resolve import GAZETTEER_CARD, PATH_GAZETTEER, choose_gazetteer

    folder, _ = trained
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    (old / GAZETTEER_CARD).unlink()  # as folders trained before models carried their gazetteer
    assert choose_gazetteer(None, old) == PATH_GAZETTEER == "phoenix"
    assert StanceClassifier.from_pretrained(old, device="cpu").gazetteer_file == PATH_GAZETTEER
    assert choose_gazetteer("data/actors.yaml", old) == "data/actors.yaml"  # given wins
    assert choose_gazetteer(None, folder).endswith(".yaml") and str(folder) in choose_gazetteer(None, folder)
