"""Training on the prediction path's pairs (data.pairs=found), article-level edges, and figures by mention order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import train_config
from transformers import EvalPrediction

from stance.actors.pairs import ORDERS, mention_order
from stance.dataset.build import BuildOptions
from stance.dataset.found import MISSED, found_rows
from stance.evaluation.endtoend import FoundPair, score_edges, score_found
from stance.schema import STANCES, Article, PairKey, StanceLabel
from stance.training.selection import SELECTION_METRIC, metrics_by_corpus

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUP, OPP, NEU = (STANCES.index(s) for s in ("support", "oppose", "neutral"))


def _gold() -> Article:
    # Closed list with the corpus's own names ("US"), as SEESAW has; the gazetteer calls it "United States".
    return Article(
        "a",
        [
            "The US criticised China over trade.",
            "Russia praised China.",
            "Beijing said it would respond.",
            "It also rebuked Washington.",
        ],
        labels=[
            StanceLabel(0, "US", "China", "oppose"),  # reached: both named in the sentence
            StanceLabel(1, "Russia", "China", "support"),  # reached
            StanceLabel(3, "China", "US", "oppose"),  # "It": the path cannot reach it
            StanceLabel(2, "China", "Russia", "neutral"),  # neutral and unreachable
        ],
        actors=["US", "China", "Russia"],
        aliases={"US": ["US", "Washington"], "China": ["China", "Beijing"], "Russia": ["Russia"]},
        split="train",
    )


def test_found_pairs_take_gold_labels_with_the_path_s_input_and_keep_what_the_path_misses(gazetteer) -> None:
    rows = found_rows([_gold()], gazetteer, None, BuildOptions(context_sentences=1), "train")
    by_pair = {(r["sentence_index"], r["actor"], r["target"]): r for r in rows}
    # Reached: the gold label on the path's own names and marked mentions.
    us_china = by_pair[(0, "United States", "China")]
    assert (us_china["label"], us_china["origin"]) == (OPP, "annotated")
    assert us_china["text"][us_china["actor_start"] : us_china["actor_end"]] == "US"
    assert by_pair[(1, "Russia", "China")]["label"] == SUP
    # Found without a gold label: neutral, capped like co-mention neutrals.
    reverse = by_pair[(0, "China", "United States")]
    assert (reverse["label"], reverse["origin"]) == (NEU, "co-mention")
    # Never reached by the path: kept as the labelled builder makes it, under the corpus's names.
    missed = by_pair[(3, "China", "US")]
    assert (missed["label"], missed["origin"]) == (OPP, "annotated") and missed["actor_start"] == -1
    assert by_pair[(2, "China", "Russia")]["label"] == NEU


def test_on_dev_a_missed_polar_pair_is_marked_missed_and_a_missed_neutral_dropped(gazetteer) -> None:
    rows = found_rows([_gold()], gazetteer, None, BuildOptions(context_sentences=1), "dev")
    missed = [r for r in rows if r["origin"] == MISSED]
    assert [(r["actor"], r["target"], r["label"]) for r in missed] == [("China", "US", OPP)]
    assert not any(r["sentence_index"] == 2 and r["actor"] == "China" and r["target"] == "Russia" for r in rows)


def test_selection_on_the_path_counts_a_missed_pair_as_called_neutral() -> None:
    labels = np.array([SUP, OPP, NEU, OPP])
    logits = np.eye(3)[[SUP, OPP, NEU, OPP]] * 5.0  # perfect on every row
    compute = metrics_by_corpus(["x"] * 4, ["annotated", "annotated", "co-mention", MISSED])
    out = compute(EvalPrediction(predictions=logits, label_ids=labels))
    # Support 1.0; oppose: one of two found, no false positive -> F1 2/3.
    assert out[SELECTION_METRIC] == pytest.approx((1.0 + 2 / 3) / 2)
    plain = metrics_by_corpus(["x"] * 4, ["annotated"] * 4)(EvalPrediction(predictions=logits, label_ids=labels))
    assert plain[SELECTION_METRIC] == pytest.approx(1.0)  # labelled dev: 3-way macro-F1, as before


def _edges_gold() -> list[Article]:
    return [
        Article(
            "a",
            ["s0", "s1", "s2"],
            labels=[
                StanceLabel(0, "X", "Y", "oppose"),
                StanceLabel(2, "X", "Y", "oppose"),  # the same edge twice: one gold edge
                StanceLabel(1, "Y", "X", "support"),
                StanceLabel(1, "X", "Z", "neutral"),  # not an edge
            ],
            group="story1",
        ),
        Article("b", ["t0"], labels=[StanceLabel(0, "P", "Q", "support")], group="story2"),
    ]


def test_article_edges_by_any_sentence_and_by_net_stance() -> None:
    found = [
        FoundPair(PairKey("a", 0, "X", "Y"), "oppose", 0.9, probabilities=(0.05, 0.9, 0.05)),
        FoundPair(PairKey("a", 2, "X", "Y"), "neutral", 0.3, probabilities=(0.1, 0.3, 0.6)),
        FoundPair(PairKey("a", 1, "Y", "X"), "neutral", 0.4, probabilities=(0.4, 0.1, 0.5)),
        FoundPair(PairKey("a", 1, "X", "Z"), "support", 0.5, probabilities=(0.5, 0.45, 0.05)),
        FoundPair(PairKey("b", 0, "P", "Q"), "oppose", 0.45, probabilities=(0.35, 0.45, 0.2)),
    ]
    edges = score_edges(_edges_gold(), found, resamples=0, seed=0)
    assert edges["gold_edges"] == 3
    anyrule = edges["any sentence"]  # X->Y oppose (right), X->Z support (wrong), P->Q oppose (wrong)
    assert (anyrule["predicted_edges"], anyrule["correct"]) == (3, 1)
    assert anyrule["precision"] == pytest.approx(1 / 3) and anyrule["recall"] == pytest.approx(1 / 3)
    # X->Y: mean(-0.85, -0.2) = -0.525, oppose; Y->X: +0.3, support; X->Z +0.05 and P->Q -0.1: within the margin.
    net = edges["net stance"]
    assert (net["predicted_edges"], net["correct"]) == (2, 2)
    assert net["precision"] == 1.0 and net["f1"] == pytest.approx(2 * 2 / (2 + 3))


def test_edge_interval_resamples_stories() -> None:
    found = [FoundPair(PairKey("a", 0, "X", "Y"), "oppose", 0.9, probabilities=(0.05, 0.9, 0.05))]
    edges = score_edges(_edges_gold(), found, resamples=200, seed=0)
    low, high = edges["any sentence"]["f1_ci95"]
    assert 0 <= low <= edges["any sentence"]["f1"] <= high <= 1


def test_mention_order_and_the_end_to_end_split_by_it() -> None:
    assert mention_order(0, 10) == ORDERS[0] and mention_order(10, 0) == ORDERS[1] and mention_order(-1, 3) == ORDERS[2]
    gold = [
        Article(
            "a",
            ["Xavier praised Yolanda.", "Yolanda was attacked by Xavier.", "He hit Yolanda."],
            labels=[
                StanceLabel(0, "Xavier", "Yolanda", "support"),
                StanceLabel(1, "Xavier", "Yolanda", "oppose"),
                StanceLabel(2, "Xavier", "Yolanda", "oppose"),
            ],
            actors=["Xavier", "Yolanda"],
        )
    ]
    found = [
        FoundPair(PairKey("a", 0, "Xavier", "Yolanda"), "support", 0.9),
        FoundPair(PairKey("a", 1, "Xavier", "Yolanda"), "neutral", 0.2),
    ]
    by = score_found(gold, found, resamples=0)["by_direction"]
    assert by["actor first"]["f1_support"] == 1.0 and by["actor first"]["gold_polar"] == 1
    assert by["target first"]["gold_polar"] == 1 and by["target first"]["f1_oppose"] == 0.0
    assert by["not both named"]["gold_polar"] == 1


class _FixedFinder:
    """A finder that tags every capitalised word after the first: deterministic and model-free."""

    seconds = 0.0

    def find(self, texts, show_progress: bool = False):
        import re

        return [[m.span() for m in re.finditer(r"(?<=\s)[A-Z][a-z]+", t)] for t in texts]


def test_found_rows_with_a_finder_pair_its_spans(gazetteer) -> None:
    gold = Article(
        "g",
        ["Yesterday Pelosi criticised China."],
        labels=[StanceLabel(0, "Nancy Pelosi", "China", "oppose")],
        actors=["Nancy Pelosi", "China"],
        aliases={"Nancy Pelosi": ["Pelosi"], "China": ["China"]},
    )
    rows = found_rows([gold], gazetteer, _FixedFinder(), BuildOptions(context_sentences=0), "train")
    labelled = [r for r in rows if r["origin"] == "annotated"]
    assert [(r["actor"], r["target"], r["label"]) for r in labelled] == [("Pelosi", "China", OPP)]
    assert labelled[0]["actor_start"] == gold.sentences[0].index("Pelosi")


def test_training_on_found_pairs_chooses_on_the_path_and_carries_the_finder(tmp_path: Path, tiny_finder) -> None:
    from datasets import Dataset

    from stance.actors.gazetteer import load_gazetteer
    from stance.dataset.build import FEATURES, dataset_from_config
    from stance.dataset.found import training_builder
    from stance.readers import read_articles
    from stance.training.train import train

    finder_dir = tiny_finder[0]
    cfg = train_config(tmp_path, "data.pairs=found", f"finder={finder_dir}", "train.epochs=1")
    dataset = dataset_from_config(cfg, builder=training_builder(cfg))
    origins = set(dataset["train"]["origin"])
    assert origins <= {"annotated", "co-mention"} and "co-mention" in origins
    assert len(dataset["test"]) > 0 and set(dataset["test"]["origin"]) <= {"annotated", "co-mention"}  # labelled
    # The seed data has no dev split: its train article stands in, read as the path reads it.
    gazetteer = load_gazetteer(cfg.data.gazetteer)
    train_articles = [a for a in read_articles(cfg.data, gazetteer) if a.split == "train"]
    from stance.dataset.found import load_finder

    dev = found_rows(train_articles, gazetteer, load_finder(finder_dir), BuildOptions(context_sentences=2), "dev")
    assert {r["origin"] for r in dev} >= {"annotated", "co-mention"}
    dataset["dev"] = Dataset.from_list(dev, features=FEATURES)
    metrics = train(cfg, dataset)
    folder = Path(cfg.output_dir)
    assert metrics["selected_on"] == "dev" and metrics["decision"]["n"] == len(dev)
    if any(r["origin"] == MISSED for r in dev):
        assert metrics["selected_on_path"]["gold_polar_missed"] == sum(r["origin"] == MISSED for r in dev)
    assert (folder / "mentions" / "model.safetensors").exists()  # the finder it learnt with travels with it


def test_calibrate_on_the_path_fits_over_found_pairs_and_missed_ones(tmp_path: Path, tiny_model) -> None:
    import shutil

    from helpers import apply_config

    from stance.decision import load_decision
    from stance.evaluation.calibrate import calibrate, path_probabilities

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    report = calibrate(apply_config("calibrate", f"model_dir={model}", "split=train", "pairs=found"))
    assert report["fitted_on"] == "seed/train (prediction path)" == load_decision(model).fitted_on
    from stance.predict.classifier import StanceClassifier
    from stance.readers import read_articles

    clf = StanceClassifier.from_pretrained(model, device="cpu")
    cfg = apply_config("calibrate", f"model_dir={model}")
    articles = [a for a in read_articles(cfg.data, clf.gazetteer) if a.split == "train"]
    probs, labels = path_probabilities(clf, articles)
    assert report["n"] == len(labels) and probs.shape == (len(labels), 3)
    gold_polar = sum(1 for a in articles for x in a.labels if x.stance != "neutral")
    assert int((labels != NEU).sum()) == gold_polar  # every gold polar pair is in, found or missed
    missed = probs[:, NEU] == 1.0
    assert missed.any() and (labels[missed] != NEU).all()


def test_pair_finding_with_references_pairs_a_pronoun_subject_with_who_it_names(gazetteer) -> None:
    from stance.actors.pairs import find_pairs
    from stance.readers.raw import article_from_text

    article = article_from_text("p", "Vladimir Putin met Xi Jinping in Beijing. He praised China.", date="2024-05-16")
    plain = find_pairs([article], gazetteer, 1)[0]
    resolved = find_pairs([article], gazetteer, 1, references=True)[0]
    second = {(r["actor"], r["target"]) for r in resolved if r["sentence_index"] == 1}
    assert not any(r["sentence_index"] == 1 for r in plain)  # one actor named in the sentence: no pair
    assert second == {("Xi Jinping", "China"), ("China", "Xi Jinping")}  # "He": the person mentioned last
    row = next(r for r in resolved if r["sentence_index"] == 1 and r["actor"] == "Xi Jinping")
    assert row["text"][row["actor_start"] : row["actor_end"]] == "He"


def _mentions(*names: str) -> list:
    from stance.actors.actor import Mention

    return [Mention(name, 0, len(name), name) for name in names]


def test_context_pairs_pair_a_sentence_s_actors_with_those_named_in_the_sentences_before() -> None:
    from stance.actors.pairs import sentence_pairs

    listed = [_mentions("Russia"), _mentions("China", "Iran"), _mentions("Japan"), _mentions(), _mentions("Iran")]
    assert sentence_pairs(listed, 2) == []  # one actor named: nothing within the sentence
    assert sentence_pairs(listed, 1) == [("China", "Iran"), ("Iran", "China")]
    back_one = sentence_pairs(listed, 2, context_pairs=1)
    assert back_one == [("Japan", "China"), ("China", "Japan"), ("Japan", "Iran"), ("Iran", "Japan")]
    back_two = sentence_pairs(listed, 2, context_pairs=2)
    assert set(back_two) - set(back_one) == {("Japan", "Russia"), ("Russia", "Japan")}
    # An actor named in this sentence is not paired again from before; a sentence without actors gets none.
    assert sentence_pairs(listed, 4, context_pairs=3) == [
        ("Iran", "Japan"),
        ("Japan", "Iran"),
        ("Iran", "China"),
        ("China", "Iran"),
    ]
    assert sentence_pairs(listed, 3, context_pairs=2) == []


def test_found_rows_with_context_pairs_reach_a_pair_whose_actor_was_named_a_sentence_before(gazetteer) -> None:
    gold = Article(
        "c",
        ["The US criticised China over trade.", "It was rebuked by Russia."],
        labels=[StanceLabel(1, "Russia", "US", "oppose")],  # the US is named only in the sentence before
        actors=["US", "China", "Russia"],
        aliases={"US": ["US"], "China": ["China"], "Russia": ["Russia"]},
        split="train",
    )
    plain = found_rows([gold], gazetteer, None, BuildOptions(context_sentences=1), "dev")
    assert not any(r["sentence_index"] == 1 and r["origin"] != MISSED for r in plain)
    rows = found_rows([gold], gazetteer, None, BuildOptions(context_sentences=1, context_pairs=1), "dev")
    by_pair = {(r["sentence_index"], r["actor"], r["target"]): r for r in rows}
    # The path calls the US "United States"; its unmarked end is placed by its marked mention in sentence 0.
    reached = by_pair[(1, "Russia", "United States")]
    assert (reached["label"], reached["origin"]) == (OPP, "annotated")
    assert reached["target_start"] == -1 and reached["text"][reached["actor_start"] : reached["actor_end"]] == "Russia"
    assert reached["context"] == "The US criticised China over trade."
    assert not any(r["origin"] == MISSED for r in rows)  # reached, so not counted as missed
    assert by_pair[(1, "China", "Russia")]["label"] == NEU


def test_context_pairs_must_stay_within_the_context_the_model_sees() -> None:
    from omegaconf import OmegaConf

    from stance.dataset.build import build_options
    from stance.errors import StanceError

    cfg = OmegaConf.create(
        {
            "name": "x",
            "context_sentences": 1,
            "context_pairs": 2,
            "neutral_pairs": True,
            "max_neutral_fraction": 0.5,
            "split_fractions": [0.8, 0.1, 0.1],
        }
    )
    with pytest.raises(StanceError, match=r"data.context_pairs=2.*data.context_sentences \(1\)"):
        build_options(cfg, 0)
    assert build_options(OmegaConf.merge(cfg, {"context_pairs": 1}), 0).context_pairs == 1


def test_a_model_trained_with_context_pairs_predicts_with_them(tiny_model, tmp_path) -> None:
    from dataclasses import replace

    from stance.predict.classifier import StanceClassifier
    from stance.readers.raw import article_from_text

    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    article = article_from_text("p", "Russia met China in Beijing. Japan protested.")
    assert not any(r["sentence_index"] == 1 for r in clf.pairs_of(article))
    clf.encoding = replace(clf.encoding, context_pairs=1)
    saved = StanceClassifier.from_pretrained(clf.save_pretrained(tmp_path / "m"), device="cpu")
    assert saved.encoding.context_pairs == 1
    second = {(r["actor"], r["target"]) for r in saved.pairs_of(article) if r["sentence_index"] == 1}
    assert ("Japan", "China") in second and ("Russia", "Japan") in second
