"""The DSE reader: parsing, label mapping, spans after building, 5-class recombination and scoring."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from stance.dataset.build import BuildOptions, article_examples, build_dataset
from stance.errors import InputFormatError, StanceError
from stance.evaluation.dse import dse_report, five_class, five_class_from_rows
from stance.readers import read_articles
from stance.readers.dse import DIRECTIONS, load_dse, unbracket
from stance.schema import STANCES

OPTIONS = BuildOptions(context_sentences=0, neutral_pairs=False)
ROOT = Path(__file__).resolve().parent.parent


def config(root, splits=("train", "valid", "test")):
    return OmegaConf.create(
        {"name": "dse", "format": "dse", "root": str(root), "splits": list(splits), "gazetteer": "data/actors.yaml"}
    )


@pytest.fixture
def articles(fixtures, gazetteer):
    return load_dse(config(fixtures / "dse"))


def by_origin(articles):
    return {a.origin.rsplit("/", 1)[-1]: a for a in articles}


def test_reads_every_line_of_every_split(articles):
    ids = [a.id for a in articles]
    assert ids == [
        "dse-train-1",
        "dse-train-2",
        "dse-train-3",
        "dse-train-4",
        "dse-train-5",
        "dse-validation-2",  # line 1 of valid.txt is a header
        "dse-validation-3",
        "dse-test-1",
        "dse-test-2",
        "dse-test-3",
    ]
    assert [a.split for a in articles] == ["train"] * 5 + ["validation"] * 2 + ["test"] * 3
    first = articles[0]
    assert first.sentences == ["Trump blamed China for the spread of the virus."]
    assert first.actors == ["Trump", "China"]
    assert first.aliases == {"Trump": ["Trump"], "China": ["China"]}
    assert first.origin.endswith("dse/train.txt:1")


def test_read_articles_dispatches_on_format(fixtures, gazetteer):
    assert len(read_articles(config(fixtures / "dse", ["test"]), gazetteer)) == 3


def test_only_entity_brackets_are_removed(articles):
    lines = by_origin(articles)
    assert lines["train.txt:2"].sentences == ["Macron praised Merkel for her leadership [sic] during the talks."]
    assert lines["train.txt:5"].sentences == [
        "the union said the [new rules] were unfair, and Acme Corp denounced the union."
    ]
    assert lines["valid.txt:3"].sentences == ["Ortega rejected the report by Rivera [citing Ortega's aides]."]
    # A case/space variant inside the brackets is the entity, and becomes one of its aliases.
    russia = lines["test.txt:3"]
    assert russia.sentences == ["russia thanked Nato for nothing, Nato said."]
    assert russia.aliases["Russia"] == ["Russia", "russia"]


@pytest.mark.parametrize("label", [0, 1, 2, 3, 4])
def test_label_mapping_both_directions(tmp_path, label):
    (tmp_path / "train.txt").write_text(f"[Alpha] spoke of [Beta].\tAlpha\tBeta\t{label}\n", encoding="utf-8")
    (article,) = load_dse(config(tmp_path, ["train"]))
    directed = {(x.actor, x.target): x.stance for x in article.labels}
    expected = {
        0: ("neutral", "neutral"),
        1: ("support", "neutral"),
        2: ("neutral", "support"),
        3: ("oppose", "neutral"),
        4: ("neutral", "oppose"),
    }[label]
    assert directed == {("Alpha", "Beta"): expected[0], ("Beta", "Alpha"): expected[1]}
    assert DIRECTIONS[label] == expected
    # p→q comes first, so the builder emits it first.
    assert (article.labels[0].actor, article.labels[0].target) == ("Alpha", "Beta")
    assert five_class(*expected) == label


def test_spans_point_at_the_bracketed_mentions(articles, gazetteer):
    dataset = build_dataset(articles, gazetteer, OPTIONS)
    assert {s: len(dataset[s]) for s in dataset} == {"train": 10, "dev": 0, "validation": 4, "test": 6}
    assert set(dataset["train"]["origin"]) == {"annotated"}
    lines = by_origin(articles)
    clean = ["train.txt:1", "train.txt:2", "train.txt:3", "train.txt:4", "train.txt:5", "valid.txt:3", "test.txt:1"]
    for key in clean:
        article = lines[key]
        # Re-derive the marked spans from the raw line.
        raw = (article.origin.rsplit(":", 1)[0], int(article.origin.rsplit(":", 1)[1]))
        with open(raw[0], encoding="utf-8") as handle:
            sentence, p, q, _ = handle.read().splitlines()[raw[1] - 1].split("\t")
        marked = unbracket(sentence, p, q)
        rows = article_examples(article, gazetteer, OPTIONS)
        assert [(r["actor"], r["target"]) for r in rows] == [(p, q), (q, p)]
        pq = rows[0]
        assert (pq["actor_start"], pq["actor_end"]) == marked.p_span, key
        assert (pq["target_start"], pq["target_end"]) == marked.q_span, key
        assert pq["text"][pq["actor_start"] : pq["actor_end"]].lower() == p.lower()
    # p twice, bracketed first: the span is the bracketed (first) one.
    johnson = article_examples(lines["train.txt:4"], gazetteer, OPTIONS)[0]
    assert johnson["actor_start"] == johnson["text"].index("Johnson")
    assert johnson["text"][johnson["actor_start"] :].startswith("Johnson said Varadkar")


def test_the_bracketed_mention_wins_over_an_earlier_one(fixtures, gazetteer):
    lines = by_origin(load_dse(config(fixtures / "dse")))
    # "Smith's office said [Smith] ...": the span is the bracketed Smith, not the first.
    smith = article_examples(lines["valid.txt:2"], gazetteer, OPTIONS)[0]
    assert smith["actor_start"] > 0 and smith["text"][smith["actor_start"] : smith["actor_end"]] == "Smith"
    # "Chinese officials said [China] ...": not the gazetteer alias "Chinese" that comes first.
    china = article_examples(lines["test.txt:2"], gazetteer, OPTIONS)[0]
    assert china["text"][china["actor_start"] : china["actor_end"]] == "China"


def test_five_class_rule():
    assert five_class("neutral", "neutral") == 0
    assert five_class("support", "neutral") == 1
    assert five_class("neutral", "support") == 2
    assert five_class("oppose", "neutral") == 3
    assert five_class("neutral", "oppose") == 4
    # Both non-neutral: the more confident direction (max of its support/oppose probability) ...
    assert five_class("support", "oppose", [0.6, 0.1, 0.3], [0.1, 0.8, 0.1]) == 4
    assert five_class("oppose", "support", [0.1, 0.9, 0.0], [0.7, 0.2, 0.1]) == 3
    # ... p→q on a tie, or without probabilities.
    assert five_class("support", "oppose", [0.5, 0.2, 0.3], [0.2, 0.5, 0.3]) == 1
    assert five_class("oppose", "support") == 3
    assert five_class("support", "oppose", [0.1, 0.1, 0.8], None) == 1
    with pytest.raises(ValueError, match="positive"):
        five_class("positive", "neutral")


def _onehot(stances):
    probs = np.full((len(stances), 3), 0.1)
    for i, s in enumerate(stances):
        probs[i, STANCES.index(s)] = 0.8
    return probs


def test_five_class_from_rows_in_builder_order(articles, gazetteer):
    dataset = build_dataset(articles, gazetteer, OPTIONS)
    rows = list(dataset["train"])
    gold_labels = [3, 1, 0, 2, 4]
    # Perfect predictions reproduce the gold labels.
    perfect = np.eye(3)[[r["label"] for r in rows]]
    gold, predicted = five_class_from_rows(rows, perfect)
    assert gold == gold_labels and predicted == gold_labels
    # Swap every line's two predictions: p→q support becomes q→p support, and so on.
    swapped = perfect.reshape(-1, 2, 3)[:, ::-1].reshape(-1, 3)
    _, predicted = five_class_from_rows(rows, swapped)
    assert predicted == [4, 2, 0, 1, 3]
    # Both directions non-neutral: the more confident one wins.
    probs = _onehot(["oppose", "support"] + ["neutral"] * 8)
    probs[1] = [0.95, 0.0, 0.05]
    _, predicted = five_class_from_rows(rows, probs)
    assert predicted == [2, 0, 0, 0, 0]
    # The model's calls (a fitted neutral threshold) rule over the argmax: here line 1 is called neutral.
    decided = [2, 2, *np.asarray(probs).argmax(1)[2:]]
    _, predicted = five_class_from_rows(rows, probs, decided=decided)
    assert predicted == [0, 0, 0, 0, 0]


def test_five_class_from_rows_with_articles_ignores_row_order(articles, gazetteer):
    dataset = build_dataset(articles, gazetteer, OPTIONS)
    rows = list(dataset["train"])
    reordered = [rows[i] for i in (1, 0, 3, 2, 5, 4, 7, 6, 9, 8)]
    probs = np.eye(3)[[r["label"] for r in reordered]]
    gold, predicted = five_class_from_rows(reordered, probs, articles)
    assert gold == [3, 1, 0, 2, 4] and predicted == gold
    # Without the articles, the first row of each line is taken as p→q.
    gold, _ = five_class_from_rows(reordered, probs)
    assert gold == [4, 2, 0, 1, 3]


def test_five_class_from_rows_needs_two_directed_rows(articles, gazetteer):
    rows = list(build_dataset(articles, gazetteer, OPTIONS)["train"])
    with pytest.raises(StanceError, match="dse-train-1: expected two rows"):
        five_class_from_rows(rows[:1] + rows[2:], np.eye(3)[[0] * 9])
    with pytest.raises(StanceError, match="probabilities"):
        five_class_from_rows(rows, np.zeros((3, 3)))


def test_dse_report_matches_sklearn():
    y_true = [0, 1, 2, 3, 4, 0, 0, 3, 3, 1]
    y_pred = [0, 1, 1, 3, 0, 0, 4, 3, 1, 1]
    report = dse_report(y_true, y_pred)
    labels = [0, 1, 2, 3, 4]
    assert report["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=labels, average="micro"))
    assert report["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    assert list(report["per_class_f1"].values()) == pytest.approx(list(per_class))
    assert report["per_class_f1"]["q_positive_p"] == 0.0
    assert report["confusion_matrix"]["rows_true_cols_pred"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert report["n"] == 10


def test_quoted_fields_are_read_as_pandas_reads_them(fixtures, gazetteer):
    # Tab-separated with CSV quoting, as the corpus authors read it: `"NHL.""Youve"` is the entity NHL."Youve.
    articles = load_dse(config(fixtures / "dse_quoted", ["train"]))
    assert [a.id for a in articles] == ["dse-train-1", "dse-train-2", "dse-train-3"]
    nhl, gang, plain = articles
    assert nhl.actors == ["the Arizona Republic", 'NHL."Youve']
    assert nhl.sentences == [
        'Thats the best expression I can use."Phoenix ... told the Arizona Republic ... play in the NHL."Youve '
        "always ...NHL."
    ]
    row = article_examples(nhl, gazetteer, OPTIONS)[0]
    assert row["text"][row["target_start"] : row["target_end"]] == 'NHL."Youve'
    # Doubled quotes become one, the outer quotes go: nothing of the published text is doubled or kept by mistake.
    assert gang.sentences == ['Duong was characterized as an "associate" of a Vietnamese street gang, police said.']
    assert (gang.labels[0].actor, gang.labels[0].stance) == ("police", "oppose")
    # A quote inside an unquoted field is text.
    assert plain.sentences == ['Trump blamed China for "fake news" on Tuesday.']


def test_malformed_records_stop_the_run_above_the_tolerance_with_file_and_line(fixtures):
    with pytest.raises(InputFormatError) as caught:
        load_dse(config(fixtures / "dse_broken", ["train"]))
    problems = caught.value.problems
    assert all(p.file.endswith("dse_broken/train.txt") for p in problems)
    by_line = {p.line: p for p in problems}
    assert sorted(by_line) == [1, 2, 3, 4, 5, 6]
    assert by_line[1].field == "label" and "'x'" in by_line[1].message
    assert "expected 4 tab-separated fields" in by_line[2].message and "found 3" in by_line[2].message
    assert by_line[3].field == "label" and "'7'" in by_line[3].message
    assert "same entity" in by_line[4].message
    assert by_line[5].field == "sentence" and "q='China' not found in square brackets" in by_line[5].message
    assert "'Beijing'" in by_line[5].message
    assert "UTF-8" in by_line[6].message
    text = str(caught.value)
    assert "6 of 7 records are malformed" in text and "max_bad_fraction=0.01" in text
    assert "dse_broken/train.txt:5: field 'sentence'" in text


def test_malformed_records_within_the_tolerance_are_skipped_and_reported(fixtures, caplog):
    cfg = config(fixtures / "dse_broken", ["train"])
    cfg.max_bad_fraction = 0.9
    skipped = []
    with caplog.at_level("WARNING"):
        articles = read_articles(cfg, None, skipped)
    assert [a.id for a in articles] == ["dse-train-7"]  # the one good line
    assert [p.line for p in skipped] == [1, 2, 3, 4, 5, 6]
    assert "skipped 6 malformed records of 7" in caplog.text and "dse_broken/train.txt:2" in caplog.text


def test_one_bad_line_in_a_large_file_is_skipped(tmp_path, caplog):
    lines = [f"[A{i}] met [B{i}].\tA{i}\tB{i}\t0" for i in range(199)]
    lines.insert(100, "[A] met [B].\tA\tB")  # line 101: three fields
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    skipped = []
    with caplog.at_level("WARNING"):
        articles = load_dse(config(tmp_path, ["train"]), skipped)
    assert len(articles) == 199 and [(p.line, p.file.endswith("train.txt")) for p in skipped] == [(101, True)]
    assert "skipped 1 malformed records of 200 (0.50%" in caplog.text


SHARED_DSE = ROOT / ".." / "shared" / "datasets" / "dse"


@pytest.mark.skipif(not (SHARED_DSE / "train.txt").exists(), reason="the published DSE files are not beside the repo")
def test_the_published_files_load_whole(caplog):
    skipped = []
    with caplog.at_level("WARNING"):
        articles = load_dse(config(SHARED_DSE, ["train", "valid"]), skipped)
    assert skipped == [] and "skipped" not in caplog.text
    per_split = Counter(a.split for a in articles)
    assert per_split == {"train": 13144, "validation": 1461}
    # Field for field what the authors' pandas.read_csv(sep="\t", header=None) reads.
    import pandas as pd

    frames = [pd.read_csv(SHARED_DSE / name, sep="\t", header=None) for name in ("train.txt", "valid.txt")]
    published = pd.concat(frames).values.tolist()
    assert len(published) == len(articles)
    for article, (sentence, p, q, label) in zip(articles, published, strict=True):
        p, q = p.strip(), q.strip()  # the reader trims whitespace around fields, nothing else
        assert article.actors == [p, q]
        assert article.sentences == [unbracket(sentence.strip(), p, q).text]
        assert five_class(article.labels[0].stance, article.labels[1].stance) == label
    assert any(a.actors[1] == 'NHL."Youve' for a in articles)


def test_missing_root_or_split_file_says_how_to_fix(tmp_path, fixtures):
    with pytest.raises(StanceError, match=r"does not exist.*set data\.root="):
        load_dse(config(tmp_path / "nowhere"))
    with pytest.raises(StanceError, match=r"valid\.txt does not exist; set data\.root="):
        load_dse(config(fixtures / "dse_broken"))
    with pytest.raises(StanceError, match="not a DSE split"):
        load_dse(config(fixtures / "dse", ["dev"]))


def test_only_a_clear_header_is_skipped(tmp_path):
    root = tmp_path / "dse"
    root.mkdir()
    (root / "train.txt").write_text("sentence\tp\tq\tlabel\n[A] met [B].\tA\tB\t0\n", encoding="utf-8")
    assert [a.id for a in load_dse(config(root, ["train"]))] == ["dse-train-2"]
    (root / "train.txt").write_text("[A] met [B].\tA\tB\tzero\n[A] met [B].\tA\tB\t0\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"train\.txt:1: field 'label'"):
        load_dse(config(root, ["train"]))
