"""How quality is measured: group bootstrap, mention patterns, and the prediction path against gold labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import apply_config

from stance.dataset.match import _gold_sentence, _locate, article_text
from stance.evaluation.classifier_only import by_mention_pattern, mention_pattern
from stance.evaluation.endtoend import FoundPair, found_pairs, score_found
from stance.metrics import bootstrap_macro_f1, cluster_interval
from stance.schema import STANCES, Article, PairKey, StanceLabel

SUPPORT, OPPOSE, NEUTRAL = (STANCES.index(s) for s in ("support", "oppose", "neutral"))


def test_cluster_bootstrap_draws_whole_groups() -> None:
    groups = ["a"] * 3 + ["b"] * 2 + ["c"] * 5
    seen: list[np.ndarray] = []

    def statistic(idx: np.ndarray) -> float:
        seen.append(idx)
        return float(len(idx))

    cluster_interval(statistic, groups, resamples=50, seed=0)
    members = {"a": {0, 1, 2}, "b": {3, 4}, "c": {5, 6, 7, 8, 9}}
    for idx in seen[-50:]:
        drawn = list(idx)
        # Every draw is a union of whole groups (with repeats), never a part of one.
        for name, block in members.items():
            hits = [i for i in drawn if i in block]
            assert len(hits) % len(block) == 0, (name, drawn)
        assert len(drawn) in {sum(s) for s in _sums_of_three([3, 2, 5])}


def _sums_of_three(sizes: list[int]) -> list[tuple[int, int, int]]:
    return [(x, y, z) for x in sizes for y in sizes for z in sizes]


def test_grouped_interval_is_wider_when_groups_are_correlated() -> None:
    # 40 stories of 25 examples each; within a story the model is all right or all wrong.
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, 1000)
    right = np.repeat(rng.random(40) < 0.7, 25)
    y_pred = np.where(right, y_true, (y_true + 1) % 3)
    groups = np.repeat(np.arange(40), 25)
    low_g, high_g = bootstrap_macro_f1(y_true, y_pred, 300, 0, groups)
    low_e, high_e = bootstrap_macro_f1(y_true, y_pred, 300, 0)
    assert (high_g - low_g) > 2 * (high_e - low_e)


def test_mention_pattern_breakdown_by_hand() -> None:
    def row(actor: bool, target: bool, label: int, origin: str = "annotated") -> dict:
        return {
            "actor_start": 0 if actor else -1,
            "target_start": 4 if target else -1,
            "label": label,
            "origin": origin,
        }

    rows = [
        row(True, True, SUPPORT),
        row(True, True, NEUTRAL, "co-mention"),
        row(False, True, OPPOSE),
        row(False, False, SUPPORT),
    ]
    probs = np.array(
        [
            [0.7, 0.2, 0.1],  # support, right
            [0.2, 0.1, 0.7],  # neutral, right
            [0.6, 0.3, 0.1],  # called support, gold oppose: wrong
            [0.5, 0.1, 0.4],  # support, right
        ]
    )
    assert [mention_pattern(r) for r in rows] == ["both marked", "both marked", "one marked", "neither marked"]
    table = by_mention_pattern(rows, probs)
    assert table["both marked"]["n"] == 2 and table["both marked"]["macro_f1"] == pytest.approx(2 / 3)
    assert table["both marked"]["polarity_annotated"] == {"n": 1, "micro_f1": 1.0}
    assert table["one marked"]["polarity_annotated"] == {"n": 1, "micro_f1": 0.0}
    assert table["neither marked"]["polarity_annotated"] == {"n": 1, "micro_f1": 1.0}


def test_predicted_sentences_are_placed_in_the_gold_sentence_they_overlap_most() -> None:
    gold = Article("a", ["First one here.", "Mr. Smith met Ms. Jones. They talked.", "End."])
    text, starts = article_text(gold)
    assert text == "First one here. Mr. Smith met Ms. Jones. They talked. End." and starts == [0, 16, 54]
    split = ["First one here.", "Mr. Smith met Ms. Jones.", "They talked. End."]
    located = _locate(text, split)
    assert located == [0, 16, 41]
    placed = [_gold_sentence(s, s + len(x), starts, gold.sentences) for s, x in zip(located, split, strict=True)]
    assert placed == [0, 1, 1]  # "They talked. End." overlaps sentence 1 by 12 characters, sentence 2 by 4


def test_end_to_end_scores_by_hand() -> None:
    gold = [
        Article(
            "a",
            ["s0", "s1", "s2"],
            labels=[
                StanceLabel(0, "X", "Y", "support"),  # found, called support: true positive
                StanceLabel(1, "X", "Y", "oppose"),  # found, called neutral: missed
                StanceLabel(2, "Y", "X", "oppose"),  # never found: missed
                StanceLabel(2, "X", "Y", "neutral"),  # found, called oppose: false positive
            ],
        )
    ]
    found = [
        FoundPair(PairKey("a", 0, "X", "Y"), "support", 0.9),
        FoundPair(PairKey("a", 1, "X", "Y"), "neutral", 0.2),
        FoundPair(PairKey("a", 2, "X", "Y"), "oppose", 0.8),
        FoundPair(PairKey("a", 0, "Y", "Z"), "support", 0.7),  # no gold label: gold neutral, a false positive
    ]
    result = score_found(gold, found, resamples=0)
    assert result["gold_polar_pairs"] == 3 and result["gold_polar_found"] == 2
    assert result["finder_recall_polar"] == pytest.approx(2 / 3)
    assert result["gold_polar_found_called_neutral"] == 1
    support, oppose = result["per_class"]["support"], result["per_class"]["oppose"]
    assert (support["precision"], support["recall"], support["support"]) == (0.5, 1.0, 1)
    assert (oppose["precision"], oppose["recall"], oppose["support"]) == (0.0, 0.0, 2)
    assert result["macro_f1_support_oppose"] == pytest.approx((2 / 3 + 0) / 2)
    assert result["finder_recall_polar_named"] == result["finder_recall_polar"]  # untyped: every actor is named


def test_recall_between_named_entities_leaves_out_topics() -> None:
    gold = [
        Article(
            "a",
            ["Xavier praised Yolanda.", "Xavier attacked zoning; he also hit back."],
            labels=[
                StanceLabel(0, "Xavier", "Yolanda", "support"),  # two people, both named: found
                StanceLabel(1, "Xavier", "zoning", "oppose"),  # toward a topic: not between named entities
                StanceLabel(1, "Yolanda", "Xavier", "oppose"),  # named entities, Yolanda only as "he": missed
            ],
            actors=["Xavier", "Yolanda", "zoning"],
            actor_types={"Xavier": ["People"], "Yolanda": ["Organization"], "zoning": ["Topic"]},
        )
    ]
    found = [
        FoundPair(PairKey("a", 0, "Xavier", "Yolanda"), "support", 0.9),
        FoundPair(PairKey("a", 1, "Xavier", "zoning"), "oppose", 0.9),
    ]
    result = score_found(gold, found, resamples=0)
    assert (result["gold_polar_named_pairs"], result["gold_polar_named_found"]) == (2, 1)
    assert result["finder_recall_polar_named"] == 0.5 and result["finder_recall_polar"] == pytest.approx(2 / 3)
    assert result["gold_polar_named_both_in_sentence"] == 1  # the reachable bound: "he" is not a name


def test_the_two_paths_agree_on_the_pairs_they_share(tiny_model: Path, gazetteer) -> None:
    # The seed test article through stance-predict's path and through classifier-only scoring:
    # a pair both score from the same sentence must get the same label (no train/predict skew).
    from stance.evaluation.data import evaluation_data
    from stance.evaluation.endtoend import agreement, model_input
    from stance.predict.classifier import StanceClassifier

    cfg = apply_config("evaluate", f"model_dir={tiny_model}", "split=test")
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    data = evaluation_data(cfg, clf, tiny_model)
    rows = list(data.examples)
    labels = clf.predict_proba(rows).argmax(-1).tolist()
    labelled = {
        PairKey(r["article_id"], r["sentence_index"], r["actor"], r["target"]): (STANCES[k], model_input(r))
        for r, k in zip(rows, labels, strict=True)
    }
    found, counts = found_pairs(clf, data.articles)
    scored = counts["pairs_scored"]
    shared = agreement(found, labelled)
    assert scored > 50 and shared["same_input_pairs"] > 50
    assert shared["same_input_same_label"] == shared["same_input_pairs"]
    result = score_found(data.articles, found, resamples=0)
    assert 0 < result["gold_polar_found"] <= result["gold_polar_pairs"]


def test_evaluate_reports_both_paths_with_the_weights_hash(tiny_model: Path, tmp_path: Path) -> None:
    import json

    from stance.evaluation.evaluate import evaluate
    from stance.paths import file_sha256

    cfg = apply_config(
        "evaluate", f"model_dir={tiny_model}", f"output_dir={tmp_path}", "bootstrap_resamples=50", "device=cpu"
    )
    results = evaluate(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["weights_sha256"] == file_sha256(tiny_model / "model.safetensors")
    assert set(saved["systems"]["model"]["by_mention_pattern"]) <= {"both marked", "one marked", "neither marked"}
    path = saved["prediction_path"]
    assert path["articles"] == 1 and path["gold_polar_pairs"] > 0
    assert path["actors"] == "gazetteer" and path["pairs_per_article"] == path["pairs_scored"]  # no finder: listed
    assert path["pairs_per_second"] > 0 and 0 <= path["articles_without_pairs_fraction"] <= 1
    assert results["systems"]["model"]["ci_resamples"] == "groups"
    report = (tmp_path / "report.md").read_text()
    assert "The prediction path" in report and "by mention pattern" in report
    only_found = evaluate(
        apply_config("evaluate", f"model_dir={tiny_model}", f"output_dir={tmp_path / 'f'}", "pairs=found")
    )
    assert "systems" not in only_found
    for key in ("found_pairs", "gold_polar_found", "per_class", "macro_f1_support_oppose"):
        assert only_found["prediction_path"][key] == path[key]


def test_one_group_gives_no_interval_rather_than_a_false_one() -> None:
    low, high = bootstrap_macro_f1([0, 1, 2, 0], [0, 1, 1, 0], 100, 0, ["one article"] * 4)
    assert np.isnan(low) and np.isnan(high)
    low, high = bootstrap_macro_f1([0, 1, 2, 0], [0, 1, 1, 0], 100, 0)  # four independent examples: an interval
    assert 0 <= low <= high <= 1


def test_the_checkpoint_is_chosen_on_dev_and_validation_only_with_a_warning(caplog) -> None:
    from stance.training.selection import selection_split

    assert selection_split({"train", "dev", "validation", "test"}) == "dev"
    with caplog.at_level("WARNING"):
        assert selection_split({"train", "validation", "test"}) == "validation"
    assert "not held out" in caplog.text
    assert selection_split({"train", "test"}) is None
