"""The SEESAW reader, on a small synthetic corpus in SEESAW's layout (tests/fixtures/seesaw)."""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from stance.actors.pairs import NO_SPAN
from stance.dataset.build import BuildOptions, build_dataset, label_table
from stance.errors import InputFormatError, StanceError
from stance.readers import read_articles
from stance.readers.seesaw import load_seesaw, read_seesaw
from stance.readers.seesaw_aliases import article_aliases, entity_aliases
from stance.schema import STANCES, StanceLabel
from stance.settings import load_data_config

ROOT = Path(__file__).resolve().parent.parent


def config(root, splits=("train", "valid", "test")):
    return OmegaConf.create({"name": "seesaw", "format": "seesaw", "root": str(root), "splits": list(splits)})


@pytest.fixture
def read(fixtures):
    return read_seesaw(config(fixtures / "seesaw"))


@pytest.fixture
def articles(read):
    return {a.id: a for a in read[0]}


def test_one_article_per_document_with_meta_and_split_mapping(articles) -> None:
    assert list(articles) == [
        "TRIPLET_900_DOCUMENT_0",
        "TRIPLET_900_DOCUMENT_1",
        "TRIPLET_901_DOCUMENT_0",
        "TRIPLET_902_DOCUMENT_0",
    ]
    assert [a.split for a in articles.values()] == ["train", "train", "validation", "test"]
    first = articles["TRIPLET_900_DOCUMENT_0"]
    assert first.title == "Doe slams Republicans on tax reform"
    assert first.source == "Northfield Courier"
    assert first.url == "https://example.org/900/0"
    assert first.date == "2031-04-02"
    assert first.origin.endswith("articles/TRIPLET_900_DOCUMENT_0.json")
    # The file lists sentences out of order; they come back in id order.
    assert first.sentences[0] == "Sen. Doe criticised Republicans over the tax reform on Monday."
    assert first.sentences[4].startswith("Acme Energy Corporation (AEC)")
    assert len(first.sentences) == 5
    # Every listed entity is a possible actor or target, topics included.
    assert first.actors == ["Jane Doe", "John Roe", "Republican Party", "tax reform", "Acme Energy Corporation"]
    assert articles["TRIPLET_900_DOCUMENT_1"].source == "Lakeside Ledger"


def test_splits_option_selects_stories(fixtures) -> None:
    assert {a.split for a in load_seesaw(config(fixtures / "seesaw", ["train", "valid"]))} == {"train", "validation"}
    valid = load_seesaw(config(fixtures / "seesaw", ["validation"]))
    assert [a.id for a in valid] == ["TRIPLET_901_DOCUMENT_0"]
    with pytest.raises(StanceError, match="'dev' is not a SEESAW split"):
        load_seesaw(config(fixtures / "seesaw", ["dev"]))


def test_missing_test_stories_are_fine(fixtures, tmp_path) -> None:
    root = tmp_path / "seesaw"
    shutil.copytree(fixtures / "seesaw", root)
    for sub in (
        "meta/TRIPLET_902.json",
        "articles/TRIPLET_902_DOCUMENT_0.json",
        "annotations/TRIPLET_902_DOCUMENT_0.json",
    ):
        (root / sub).unlink()
    assert {a.split for a in load_seesaw(config(root))} == {"train", "validation"}


def test_labels_majority_vote_and_tie(articles, read) -> None:
    assert articles["TRIPLET_900_DOCUMENT_0"].labels == [
        # annotators A and B said NEG, C said POS: the majority wins
        StanceLabel(0, "Jane Doe", "Republican Party", "oppose"),
        StanceLabel(0, "Jane Doe", "tax reform", "oppose"),
        StanceLabel(1, "John Roe", "tax reform", "support"),
        StanceLabel(2, "John Roe", "Jane Doe", "support"),
    ]
    # Sentence 0 of document 1 is a one-against-one tie: no label; the self pair and unlisted names are gone.
    assert articles["TRIPLET_900_DOCUMENT_1"].labels == [StanceLabel(1, "Jane Doe", "Democratic Party", "support")]
    stats = read[1]
    assert stats.ties == 1
    assert stats.merged == 2
    assert stats.triplets == 17
    assert stats.labels == 9 == sum(len(a.labels) for a in articles.values())


def test_skipped_triplets_are_counted_by_reason(read, fixtures, caplog) -> None:
    assert read[1].skipped == Counter(
        {
            "'Not in the list' entity": 2,
            "no holder (subject None)": 1,
            "entity missing from the entity list": 1,
            "subject equals object": 1,
        }
    )
    with caplog.at_level(logging.INFO, logger="stance.readers.seesaw"):
        load_seesaw(config(fixtures / "seesaw"))
    assert "2 'Not in the list' entity" in caplog.text and "1 POS/NEG ties" in caplog.text


def test_person_aliases_have_last_name_and_titles() -> None:
    forms = entity_aliases("Jane Doe", ["People"])
    assert forms[0] == "Jane Doe"
    assert {"Doe", "Sen. Doe", "Senator Doe", "Mr. Doe", "Ms. Doe", "President Doe", "Gov. Doe"} <= set(forms)
    assert {"George Bush", "Bush"} <= set(entity_aliases("George W. Bush", ["People"]))
    assert "Kennedy" in entity_aliases("Robert F. Kennedy Jr.", ["People"])
    assert "Smith" in entity_aliases("anna smith", ["People"])
    # A group typed People gets no last-name forms.
    assert entity_aliases("House Democrats", ["People"]) == ["House Democrats"]


def test_party_us_and_organisation_aliases() -> None:
    assert entity_aliases("Republican Party", ["People"]) == ["Republican Party", "Republicans", "Republican", "GOP"]
    assert {"Democrats", "Democrat", "Democratic"} <= set(entity_aliases("Democratic Party", ["Organization"]))
    assert {"U.S.", "US", "America"} <= set(entity_aliases("United States", ["GPE"]))
    justice = entity_aliases("United States Department of Justice", ["Organization"])
    assert {"U.S. Department of Justice", "Justice Department", "Department of Justice"} <= set(justice)
    assert {"House", "U.S. House"} <= set(entity_aliases("United States House of Representatives", ["Organization"]))
    assert "Supreme Court" in entity_aliases("Supreme Court of the United States", ["Organization"])
    assert "Washington Gazette" in entity_aliases("The Washington Gazette", ["Organization"])
    assert {"Open Roads League", "ORL"} <= set(entity_aliases("Open Roads League (ORL)", ["Organization"]))
    assert "FBI" in entity_aliases("Federal Bureau of Investigation", ["Organization"])
    assert {"voters", "Voter"} <= set(entity_aliases("voter", ["People"]))


def test_shared_aliases_are_dropped_for_both_entities() -> None:
    aliases = article_aliases([("Mary Major", ["People"]), ("Carl Major", ["People"]), ("Paul Minor", ["People"])])
    assert aliases["Mary Major"] == ["Mary Major"]
    assert aliases["Carl Major"] == ["Carl Major"]
    assert "Minor" in aliases["Paul Minor"]
    # A form that is another entity's canonical name stays with that entity only.
    aliases = article_aliases([("Congress", ["Organization"]), ("United States Congress", ["Organization"])])
    assert aliases["Congress"] == ["Congress"]
    assert "Congress" not in aliases["United States Congress"]
    assert "U.S. Congress" in aliases["United States Congress"]


def rows_of(dataset):
    return {r["id"]: (split, r) for split, ds in dataset.items() for r in ds}


def span(row, which):
    start, end = row[f"{which}_start"], row[f"{which}_end"]
    return NO_SPAN if start == NO_SPAN else row["text"][start:end]


def test_build_marks_spans_of_named_actors(read, gazetteer) -> None:
    dataset = build_dataset(read[0], gazetteer, BuildOptions(neutral_pairs=False))
    rows = rows_of(dataset)
    assert len(rows) == 9
    assert label_table(dataset)["train"]["total"] == 5
    assert label_table(dataset)["validation"]["total"] == 3
    split, row = rows["TRIPLET_900_DOCUMENT_0:0:Jane Doe->Republican Party"]
    assert split == "train" and STANCES[row["label"]] == "oppose"
    assert (span(row, "actor"), span(row, "target")) == ("Sen. Doe", "Republicans")
    assert row["context"] == ""
    # The holder is "He": unnamed in its sentence, so no span.
    _, row = rows["TRIPLET_900_DOCUMENT_0:2:John Roe->Jane Doe"]
    assert (span(row, "actor"), span(row, "target")) == (NO_SPAN, "Doe")
    assert row["context"] == " ".join(read[0][0].sentences[:2])
    _, row = rows["TRIPLET_900_DOCUMENT_0:1:John Roe->tax reform"]
    assert (span(row, "actor"), span(row, "target")) == ("Mr. Roe", NO_SPAN)
    _, row = rows["TRIPLET_900_DOCUMENT_1:1:Jane Doe->Democratic Party"]
    assert (span(row, "actor"), span(row, "target")) == ("Jane Doe", "Democrats")
    split, row = rows["TRIPLET_901_DOCUMENT_0:0:Mary Major->United States Department of Energy"]
    assert split == "validation" and span(row, "target") == "Energy Department"


def test_build_counts_with_neutral_pairs(read, gazetteer) -> None:
    dataset = build_dataset(read[0], gazetteer, BuildOptions(max_neutral_fraction=1.0))
    table = label_table(dataset)
    assert {s: (t["support"], t["oppose"], t["neutral"]) for s, t in table.items()} == {
        "train": (3, 2, 9),
        "dev": (0, 0, 0),
        "validation": (1, 2, 6),
        "test": (1, 0, 1),
    }
    rows = rows_of(dataset)
    # Only listed entities pair up: "AEC" is Acme's acronym, the unlisted "Richard Moe" is no actor.
    assert not any("Richard Moe" in key for key in rows)
    # The documented cost of dropping a tie: both entities are named, so it comes back as a co-mention neutral.
    _, row = rows["TRIPLET_900_DOCUMENT_1:0:John Roe->Democratic Party"]
    assert row["origin"] == "co-mention" and STANCES[row["label"]] == "neutral"
    assert (span(row, "actor"), span(row, "target")) == ("Rep. Roe", "Democrats")
    # The ambiguous "Major" matches neither Major, so sentence 1 of 901 pairs nobody.
    assert not any(key.startswith("TRIPLET_901_DOCUMENT_0:1:") for key in rows)


def test_config_file_dispatches_to_the_reader(fixtures, gazetteer) -> None:
    cfg = load_data_config("seesaw")
    assert cfg.format == "seesaw" and list(cfg.splits) == ["train", "valid", "test"]
    cfg.root = str(fixtures / "seesaw")
    assert [a.id for a in read_articles(cfg, gazetteer)][:1] == ["TRIPLET_900_DOCUMENT_0"]


def test_missing_root_names_the_path(tmp_path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(StanceError, match=r"nowhere.*does not exist.*data\.root="):
        load_seesaw(config(missing))
    with pytest.raises(StanceError, match=r"data\.root="):
        load_seesaw(OmegaConf.create({"format": "seesaw"}))


def test_malformed_files_are_all_reported(fixtures, tmp_path) -> None:
    root = tmp_path / "seesaw"
    shutil.copytree(fixtures / "seesaw", root)
    (root / "articles" / "TRIPLET_900_DOCUMENT_1.json").write_text('{"title": "x", "text": [', encoding="utf-8")
    meta_path = root / "meta" / "TRIPLET_901.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["Meta info for article 0"]["url"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    ann_path = root / "annotations" / "TRIPLET_900_DOCUMENT_0.json"
    ann = json.loads(ann_path.read_text(encoding="utf-8"))
    ann["sentence-level stances"]["7"] = ann["sentence-level stances"]["0"]
    ann["sentence-level stances"]["1"][0]["sentiment"] = "MAYBE"
    ann_path.write_text(json.dumps(ann), encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        load_seesaw(config(root))
    problems = info.value.problems
    by_file = {(Path(p.file).name, p.field) for p in problems}
    assert by_file == {
        ("TRIPLET_900_DOCUMENT_1.json", None),
        ("TRIPLET_901.json", "Meta info for article 0.url"),
        ("TRIPLET_900_DOCUMENT_0.json", "sentence-level stances.7"),
        ("TRIPLET_900_DOCUMENT_0.json", "sentence-level stances.1[0].sentiment"),
    }
    messages = " | ".join(p.message for p in problems)
    assert "invalid JSON" in messages and "out of range" in messages and "'url' is missing" in messages


def test_bad_sentence_ids_and_missing_keys(fixtures, tmp_path) -> None:
    root = tmp_path / "seesaw"
    shutil.copytree(fixtures / "seesaw", root)
    doc_path = root / "articles" / "TRIPLET_901_DOCUMENT_0.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["text"][2]["id"] = 5
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    meta_path = root / "meta" / "TRIPLET_900.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["Split"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        load_seesaw(config(root))
    fields = {(Path(p.file).name, p.field) for p in info.value.problems}
    assert fields == {("TRIPLET_901_DOCUMENT_0.json", "text"), ("TRIPLET_900.json", "Split")}
    assert "sentence ids must be 0..2" in str(info.value)


def test_within_the_tolerance_a_broken_file_is_skipped_and_the_rest_read(fixtures, tmp_path, caplog) -> None:
    root = tmp_path / "seesaw"
    shutil.copytree(fixtures / "seesaw", root)
    (root / "articles" / "TRIPLET_900_DOCUMENT_1.json").write_text('{"title": "x", "text": [', encoding="utf-8")
    cfg = config(root)
    cfg.max_bad_fraction = 0.5
    skipped = []
    with caplog.at_level("WARNING"):
        articles = read_articles(cfg, None, skipped)
    assert sorted(a.id for a in articles) == [
        "TRIPLET_900_DOCUMENT_0",
        "TRIPLET_901_DOCUMENT_0",
        "TRIPLET_902_DOCUMENT_0",
    ]
    assert [Path(p.file).name for p in skipped] == ["TRIPLET_900_DOCUMENT_1.json"]
    assert "skipped 1 malformed records of 4" in caplog.text and "TRIPLET_900_DOCUMENT_1.json" in caplog.text


def test_articles_carry_their_story_as_group(articles) -> None:
    assert {a.id: a.group for a in articles.values()} == {
        "TRIPLET_900_DOCUMENT_0": "TRIPLET_900",
        "TRIPLET_900_DOCUMENT_1": "TRIPLET_900",
        "TRIPLET_901_DOCUMENT_0": "TRIPLET_901",
        "TRIPLET_902_DOCUMENT_0": "TRIPLET_902",
    }


SHARED_SEESAW = ROOT / ".." / "shared" / "datasets" / "seesaw"


@pytest.mark.skipif(not (SHARED_SEESAW / "meta").is_dir(), reason="SEESAW is not beside the repo")
def test_dev_is_about_15_percent_of_train_stories_fixed_by_story_hash(gazetteer) -> None:
    from stance.dataset.build import in_dev, split_of

    articles = load_seesaw(OmegaConf.merge(config(SHARED_SEESAW), {"dev_fraction": 0.15}))
    options = BuildOptions(dev_fraction=0.15)
    stories: dict[str, set[str]] = {}
    for article in articles:
        stories.setdefault(article.group, set()).add(split_of(article, options))
    assert all(len(s) == 1 for s in stories.values())  # a story never straddles splits
    train_stories = [g for g, s in stories.items() if s <= {"train", "dev"}]
    dev = [g for g in train_stories if stories[g] == {"dev"}]
    assert 0.10 < len(dev) / len(train_stories) < 0.20
    # Fixed by the story id alone: no seed, no dependence on which other stories are read.
    assert dev == [g for g in train_stories if in_dev(g, 0.15)]
