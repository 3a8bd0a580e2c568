"""Both corpora at once (`data=mix`) and distillation into the small model (`experiment=distill`), #13."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import train_config
from omegaconf import OmegaConf

from stance.dataset.build import UNLABELLED, dataset_from_config, label_table
from stance.errors import StanceError
from stance.settings import load_data_config


def mix_config(tmp: Path, fixtures: Path, *overrides: str, first: str = "seed", dev_fraction: float = 0.15):
    """The tiny train config on a mix of the seed articles (or the SEESAW fixture) and the DSE fixture."""
    cfg = train_config(tmp, "data=mix", *overrides)
    one = load_data_config(first)
    if first == "seesaw":
        one.root = str(fixtures / "seesaw")
    dse = load_data_config("dse")
    dse.root = str(fixtures / "dse")
    dse.weight = 2.0
    dse.dev_fraction = one.dev_fraction = dev_fraction
    cfg.data.parts = {first: one, "dse": dse}
    return cfg


def test_the_mix_config_names_both_corpora_with_weights(tmp_path) -> None:
    cfg = train_config(tmp_path, "experiment=recipe", "data=mix", "data.parts.dse.weight=0.25")
    assert set(cfg.data.parts) == {"seesaw", "dse"}
    assert cfg.data.parts.dse.weight == 0.25 and cfg.data.parts.seesaw.weight == 1.0
    assert cfg.data.parts.seesaw.format == "seesaw" and cfg.data.parts.dse.format == "dse"
    assert cfg.data.context_sentences == 1  # the recipe's window, given to every part


def test_a_mix_is_each_corpus_built_alone_with_a_corpus_tag(tmp_path, fixtures) -> None:
    cfg = mix_config(tmp_path, fixtures)
    assert cfg.data.context_sentences == 1
    mixed = dataset_from_config(cfg)
    alone = {}
    for name in ("seed", "dse"):
        one = train_config(tmp_path)
        one.data = OmegaConf.merge(cfg.data.parts[name], {"name": name, "context_sentences": 1})
        alone[name] = dataset_from_config(one)
    for split in ("train", "dev", "validation", "test"):
        tags = Counter(mixed[split]["corpus"])
        assert tags == Counter({n: len(alone[n][split]) for n in alone if len(alone[n][split])})
        for name in alone:
            ours = [r for r in mixed[split] if r["corpus"] == name]
            assert [r["id"] for r in ours] == alone[name][split]["id"]
            # one window for every part, the mix's (1): the seed's own config says 2, DSE's 0
            assert [r["context"] for r in ours] == alone[name][split]["context"]
    table = label_table(mixed)
    assert table["train:dse"]["total"] == len(alone["dse"]["train"])
    assert len(alone["dse"]["train"]) + len(alone["dse"]["dev"]) == 10  # 5 lines, both directions
    assert table["train"]["total"] == table["train:dse"]["total"] + table["train:seed"]["total"]


def test_a_mix_is_refused_where_one_corpus_is_read(tmp_path, fixtures, gazetteer) -> None:
    from stance.readers import read_articles

    cfg = mix_config(tmp_path, fixtures)
    with pytest.raises(StanceError, match="data=seed or data=dse"):
        read_articles(cfg.data, gazetteer)
    from stance.dataset.build import sampling_weights

    cfg.data.parts.dse.weight = -1

    with pytest.raises(StanceError, match=r"data.parts.dse.weight=-1.0"):
        sampling_weights(cfg.data)


def test_sampling_weights_draw_each_corpus_as_often_as_configured() -> None:
    from stance.training.sampler import PairedSampler

    # 40 pairs of corpus a (weight 2), 40 of b (weight 0.5), 10 of c (weight 0): both directions adjacent
    groups = [g for g in range(90) for _ in range(2)]
    draws = [2.0] * 80 + [0.5] * 80 + [0.0] * 20
    sampler = PairedSampler(groups, seed=3, draws=draws)
    assert len(sampler) == 80 * 2 + 40
    seen: Counter[int] = Counter()
    for _ in range(20):
        order = list(sampler)
        assert len(order) == len(sampler)
        assert not any(i >= 160 for i in order)  # weight 0: never drawn
        seen.update(order)
        for k in range(0, len(order) - 1, 2):  # a pair's two directions stay side by side
            assert order[k] // 2 == order[k + 1] // 2
    a = sum(seen[i] for i in range(80)) / (20 * 80)
    b = sum(seen[i] for i in range(80, 160)) / (20 * 80)
    assert a == pytest.approx(2.0, abs=0.02) and b == pytest.approx(0.5, abs=0.08)
    assert list(PairedSampler(groups, seed=3, draws=draws)) == list(PairedSampler(groups, seed=3, draws=draws))
    with pytest.raises(StanceError, match="every sampling weight is 0"):
        PairedSampler([0, 1], seed=0, draws=[0.0, 0.0])


def test_class_weights_balance_the_classes_as_drawn() -> None:
    from stance.training.loss import class_weights

    labels = [0, 0, 1, 2, 2, 2]
    plain = class_weights(labels, "balanced")
    assert plain.tolist() == pytest.approx([6 / 6, 6 / 3, 6 / 9])
    # label 2's examples drawn half as often: 1.5 of them per epoch
    drawn = class_weights(labels, "balanced", [1, 1, 1, 0.5, 0.5, 0.5])
    assert drawn.tolist() == pytest.approx([4.5 / 6, 4.5 / 3, 4.5 / 4.5])


def test_selection_is_the_mean_of_the_corpora_macro_f1() -> None:
    from transformers import EvalPrediction

    from stance.metrics import macro_f1
    from stance.training.selection import SELECTION_METRIC, metrics_by_corpus

    y = np.array([0, 1, 2, 2, 0, 1, 2, 2, 2, 2])
    pred = np.array([0, 1, 2, 2, 1, 1, 2, 0, 2, 2])
    logits = np.eye(3)[pred]
    tags = ["a"] * 4 + ["b"] * 6
    out = metrics_by_corpus(tags)(EvalPrediction(predictions=logits, label_ids=y))
    assert out["macro_f1_a"] == pytest.approx(1.0)
    assert out["macro_f1_b"] == pytest.approx(macro_f1(y[4:], pred[4:]))
    assert out[SELECTION_METRIC] == pytest.approx((1.0 + out["macro_f1_b"]) / 2)
    single = metrics_by_corpus(["a"] * 10)(EvalPrediction(predictions=logits, label_ids=y))
    assert single[SELECTION_METRIC] == single["macro_f1"] == pytest.approx(macro_f1(y, pred))


def test_distillation_loss_mixes_the_teacher_and_the_gold_labels() -> None:
    from stance.training.distill import DistillOptions, distillation_loss

    torch.manual_seed(0)
    logits = torch.randn(6, 3, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 2, 0, 1])
    gold = torch.tensor([1.0, 1, 1, 1, 0, 0])
    weight = torch.tensor([1.0, 2.0, 0.5])
    teacher = torch.softmax(torch.randn(6, 3), -1)
    # alpha 0: the class-weighted cross entropy over the gold examples only
    ce = torch.nn.functional.cross_entropy(logits[:4], labels[:4], weight=weight)
    got = distillation_loss(logits, labels, teacher, gold, DistillOptions(alpha=0.0), weight)
    assert got.item() == pytest.approx(ce.item(), rel=1e-5)
    # alpha 1: zero exactly when the student's tempered distribution is the teacher's
    same = distillation_loss(torch.log(teacher) + 5, labels, teacher, gold, DistillOptions(alpha=1.0, temperature=1))
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    # and its gradient moves the student toward the teacher, on the unlabelled rows too
    loss = distillation_loss(logits, labels, teacher, gold, DistillOptions(alpha=1.0, temperature=2.0))
    loss.backward()
    target = torch.softmax(torch.log(teacher) / 2, -1)

    def gap(z: torch.Tensor) -> float:
        return float((torch.softmax(z / 2, -1) - target).abs().sum())

    assert gap(logits.detach() - logits.grad) < gap(logits.detach())
    assert logits.grad[4:].abs().sum() > 0  # the teacher-only rows (gold 0) still teach
    with pytest.raises(StanceError, match=r"distill\.alpha"):
        DistillOptions(alpha=1.5)


def test_training_on_a_mix_reports_each_corpus(tmp_path, fixtures) -> None:
    from stance.training.train import train

    cfg = mix_config(tmp_path, fixtures, "train.epochs=1", "train.sampling=paired", first="seesaw", dev_fraction=0)
    metrics = train(cfg)
    assert metrics["sampling_weights"] == {"seesaw": 1.0, "dse": 2.0}
    assert metrics["selected_on"] == "validation"  # both corpora's valid stories (no dev here: too few)
    by_corpus = metrics["validation_by_corpus"]
    assert set(by_corpus) == {"seesaw", "dse"}
    assert sum(m["n"] for m in by_corpus.values()) == metrics[metrics["selected_on"]]["n"]
    assert {"macro_f1_seesaw", "macro_f1_dse"} <= set(metrics["epoch_scores"][0])
    assert "train:dse" in metrics["examples"]


def test_distillation_trains_on_the_teachers_probabilities(tmp_path, tiny_model) -> None:
    from stance.model import weights_sha256
    from stance.predict.classifier import StanceClassifier
    from stance.training.distill import distillation_set, teacher_folders
    from stance.training.train import train

    cfg = train_config(
        tmp_path,
        f"teacher={tiny_model}",
        "train.epochs=1",
        "distill.alpha=0.7",
        "data.paths=[tests/fixtures/articles]",
        "data.max_neutral_fraction=0.2",
    )
    dataset = dataset_from_config(cfg, keep_capped=True)
    assert len(dataset[UNLABELLED]) > 0  # co-mention pairs the cap (20%) leaves out
    rows = distillation_set(cfg, dataset, teacher_folders(cfg.teacher))
    assert rows["gold"] == [1.0] * len(dataset["train"]) + [0.0] * len(dataset[UNLABELLED])
    expected = StanceClassifier.from_pretrained(tiny_model).predict_proba(list(rows)).numpy()
    assert np.allclose(np.asarray(rows["teacher"]), expected, atol=1e-5)
    # a list of teachers is their mean: the same teacher twice gives the same probabilities
    twice = distillation_set(cfg, dataset, teacher_folders([str(tiny_model), str(tiny_model)]))
    assert np.allclose(np.asarray(twice["teacher"]), expected, atol=1e-5)

    metrics = train(cfg)
    d = metrics["distillation"]
    assert d["teachers"] == [{"path": str(tiny_model), "weights_sha256": weights_sha256(tiny_model)}]
    assert d["alpha"] == 0.7 and d["teacher_only_examples"] == len(dataset[UNLABELLED])
    card = (tmp_path / "model" / "README.md").read_text(encoding="utf-8")
    assert f"distilled from `{tiny_model.name}`" in card and "alpha 0.7" in card
    with pytest.raises(StanceError, match="not a model folder"):
        teacher_folders(str(tmp_path / "nowhere"))
