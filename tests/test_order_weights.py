"""Training by mention order, and the selection split scored once per epoch, in length order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stance.schema import STANCES
from stance.training.loss import order_weights, stance_loss

SUP, OPP, NEU = (STANCES.index(s) for s in ("support", "oppose", "neutral"))


def test_reverse_polar_pairs_weigh_as_much_as_forward_ones_and_each_class_keeps_its_weight() -> None:
    # Support: three actor-first, one target-first; oppose: one of each; a neutral and an unmarked pair.
    labels = [SUP, SUP, SUP, SUP, OPP, OPP, NEU, SUP]
    actor_starts = [0, 0, 0, 20, 0, 30, 40, -1]
    target_starts = [10, 10, 10, 5, 9, 2, 0, 5]
    w = order_weights(labels, actor_starts, target_starts)
    assert w[:3] == pytest.approx([4 / 6] * 3) and w[3] == pytest.approx(2.0)
    assert sum(w[:4]) == pytest.approx(4.0)  # the class's total is unchanged
    assert sum(w[:3]) == pytest.approx(w[3])  # both orders weigh the same in total
    assert w[4:] == [1.0, 1.0, 1.0, 1.0]  # already even, neutral, not both marked


def test_a_class_seen_in_one_order_only_is_left_alone() -> None:
    assert order_weights([SUP, SUP], [0, 0], [5, 7]) == [1.0, 1.0]


def test_unit_example_weights_give_the_class_weighted_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 3), torch.tensor([0, 1, 2, 2, 1, 0, 2, 2])
    classes = torch.tensor([2.0, 1.5, 0.5])
    plain = stance_loss(logits, labels, classes)
    assert stance_loss(logits, labels, classes, torch.ones(8)).item() == pytest.approx(plain.item(), rel=1e-6)
    doubled = torch.ones(8)
    doubled[0] = 2.0
    assert stance_loss(logits, labels, classes, doubled).item() != pytest.approx(plain.item(), rel=1e-6)


def test_training_with_order_weights_hands_them_to_the_loss(tmp_path: Path, monkeypatch) -> None:
    from helpers import train_config

    import stance.training.trainer as trainer_module
    from stance.training.train import train

    seen: list[torch.Tensor] = []
    original = trainer_module.stance_loss

    def recording(logits, labels, weights, example_weights=None):  # type: ignore[no-untyped-def]
        if example_weights is not None:
            seen.append(example_weights.detach().clone())
        return original(logits, labels, weights, example_weights)

    monkeypatch.setattr(trainer_module, "stance_loss", recording)
    cfg = train_config(tmp_path, "train.max_steps=3", "train.order_weights=balanced")
    train(cfg)
    assert len(seen) >= 3
    assert any(bool((w != 1.0).any()) for w in seen)  # the seed data has polar pairs in both orders


def test_the_selection_split_is_scored_in_length_order_with_missed_pairs_cut_short() -> None:
    from datasets import Dataset
    from helpers import train_config

    from stance.dataset.found import MISSED
    from stance.encoding import EncodingConfig
    from stance.model import build_tokenizer
    from stance.training.selection import selection_set

    cfg = train_config(Path("/tmp"))
    tokenizer = build_tokenizer(cfg.model)
    base = {"article_id": "a", "context": "", "actor_start": 0, "actor_end": 3, "target_start": -1, "target_end": -1}
    rows = Dataset.from_list(
        [
            {**base, "id": "short", "text": "USA said.", "actor": "USA", "target": "China", "label": SUP},
            {
                **base,
                "id": "long",
                "text": "USA said " + "very " * 20 + "much.",
                "actor": "USA",
                "target": "Iran",
                "label": OPP,
            },
            {
                **base,
                "id": "missed",
                "text": "USA said " + "quite " * 30 + "so.",
                "actor": "USA",
                "target": "Cuba",
                "label": OPP,
            },
        ]
    ).add_column("origin", ["co-mention", "annotated", MISSED])
    ordered, encoded = selection_set(rows, tokenizer, EncodingConfig(max_length=128, context_sentences=0))
    assert ordered["id"] == ["long", "short", "missed"]
    assert encoded["labels"] == ordered["label"]
    assert len(encoded["input_ids"][2]) == 2 and encoded["input_ids"][2][0] == tokenizer.cls_token_id
    assert len(encoded["input_ids"][0]) > len(encoded["input_ids"][1]) > 2


def test_the_chosen_epoch_s_recorded_dev_predictions_are_those_of_the_saved_model(tmp_path: Path, monkeypatch) -> None:
    from helpers import train_config
    from transformers import Trainer

    from stance.dataset.build import dataset_from_config
    from stance.predict.classifier import StanceClassifier
    from stance.training.train import train

    cfg = train_config(tmp_path, "train.epochs=2")
    dataset = dataset_from_config(cfg)
    dataset["dev"] = dataset["train"].select(range(60))
    monkeypatch.setattr(Trainer, "predict", lambda *a, **k: pytest.fail("dev was scored a second time"))
    metrics = train(cfg, dataset)
    clf = StanceClassifier.from_pretrained(cfg.output_dir, device="cpu")
    probs = clf.predict_proba(list(dataset["dev"])).numpy()
    y = np.asarray(dataset["dev"]["label"])
    matrix = np.zeros((3, 3), dtype=int)
    np.add.at(matrix, (y, probs.argmax(-1)), 1)
    assert matrix.tolist() == metrics["dev"]["confusion_matrix"]["rows_true_cols_pred"]
