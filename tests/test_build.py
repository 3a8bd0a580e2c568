"""The dataset builder: grouping by article, neutral pairs, determinism, counts."""

from __future__ import annotations

from pathlib import Path

from datasets import load_from_disk

from stance.dataset.build import BuildOptions, assign_split, build_dataset, label_table, save_dataset
from stance.readers.articles import load_articles
from stance.schema import STANCES

ROOT = Path(__file__).resolve().parent.parent


def build(fixtures: Path, gazetteer, **kw):
    articles = load_articles([fixtures / "articles"], gazetteer)
    return articles, build_dataset(articles, gazetteer, BuildOptions(**kw))


def test_one_example_per_label_with_spans_context_and_label(fixtures: Path, gazetteer) -> None:
    _, ds = build(fixtures, gazetteer, neutral_pairs=False, split_fractions=(1, 0, 0), context_sentences=1)
    rows = {r["id"]: r for split in ds.values() for r in split}
    row = rows["fx-1:1:United States->Ukraine"]
    assert row["text"] == "Washington said it would keep supporting Ukraine against Russia."
    assert row["text"][row["actor_start"] : row["actor_end"]] == "Washington"
    assert row["text"][row["target_start"] : row["target_end"]] == "Ukraine"
    assert row["context"] == "China and Russia criticised the U.S. on Monday."
    assert STANCES[row["label"]] == "support" and row["origin"] == "annotated"
    assert rows["fx-1:0:China->United States"]["context"] == ""
    assert len(rows) == 8  # the fixture's eight labels


def test_unlabelled_comentions_become_neutral_only_when_enabled(fixtures: Path, gazetteer) -> None:
    _, with_neutral = build(fixtures, gazetteer, neutral_pairs=True, max_neutral_fraction=1.0)
    _, without = build(fixtures, gazetteer, neutral_pairs=False)
    rows = {r["id"]: r for split in with_neutral.values() for r in split}
    auto = rows["fx-1:0:United States->China"]
    assert STANCES[auto["label"]] == "neutral" and auto["origin"] == "co-mention"
    # NATO met in Brussels: NATO and the EU (Brussels) co-mentioned, both directions.
    assert "fx-1:2:NATO->European Union" in rows and "fx-1:2:European Union->NATO" in rows
    # a labelled pair is never duplicated as a neutral one
    assert STANCES[rows["fx-1:0:China->United States"]["label"]] == "oppose"
    assert sum(len(s) for s in without.values()) == 8
    assert all(r["origin"] == "annotated" for s in without.values() for r in s)


def test_neutral_cap_limits_comention_examples_in_train_only(fixtures: Path, gazetteer) -> None:
    _, whole = build(fixtures, gazetteer, max_neutral_fraction=1.0, split_fractions=(1, 0, 0))
    before = [r["origin"] for r in whole["train"]]
    allowed = int(0.2 / 0.8 * before.count("annotated"))
    assert before.count("co-mention") > allowed  # the fixture has more co-mentions than the cap lets through
    _, capped = build(fixtures, gazetteer, max_neutral_fraction=0.2, split_fractions=(1, 0, 0))
    after = [r["origin"] for r in capped["train"]]
    assert after.count("co-mention") == allowed and after.count("annotated") == before.count("annotated")
    # Held out, nothing is capped: every pair prediction would meet is scored.
    _, held = build(fixtures, gazetteer, max_neutral_fraction=0.2, split_fractions=(0, 0, 1))
    _, held_whole = build(fixtures, gazetteer, max_neutral_fraction=1.0, split_fractions=(0, 0, 1))
    assert list(held["test"]["id"]) == list(held_whole["test"]["id"])
    origins = list(held["test"]["origin"])
    assert origins.count("co-mention") > 0.2 / 0.8 * origins.count("annotated")


def test_articles_never_straddle_splits_and_source_split_wins(fixtures: Path, gazetteer) -> None:
    _, ds = build(fixtures, gazetteer)
    where: dict[str, set[str]] = {}
    for split, data in ds.items():
        for aid in data["article_id"]:
            where.setdefault(aid, set()).add(split)
    assert all(len(s) == 1 for s in where.values())
    assert where["fx-3"] == {"test"}


def test_split_assignment_is_deterministic_for_a_seed_and_varies_with_it() -> None:
    ids = [f"article-{i}" for i in range(200)]
    first = [assign_split(i, (0.8, 0.1, 0.1), seed=1) for i in ids]
    assert first == [assign_split(i, (0.8, 0.1, 0.1), seed=1) for i in ids]
    assert first != [assign_split(i, (0.8, 0.1, 0.1), seed=2) for i in ids]
    assert 120 < first.count("train") < 190 and first.count("validation") > 5 and first.count("test") > 5


def test_build_is_deterministic_and_saves_with_stats(fixtures: Path, gazetteer, tmp_path: Path) -> None:
    _, a = build(fixtures, gazetteer, max_neutral_fraction=0.3)
    _, b = build(fixtures, gazetteer, max_neutral_fraction=0.3)
    assert {k: v.to_list() for k, v in a.items()} == {k: v.to_list() for k, v in b.items()}
    table = save_dataset(a, tmp_path / "ds")
    assert (tmp_path / "ds" / "stats.json").exists()
    reloaded = load_from_disk(str(tmp_path / "ds"))
    assert label_table(reloaded) == table
    assert sum(row["total"] for row in table.values()) == sum(len(s) for s in a.values())


def test_seed_data_counts_match_the_labels(gazetteer) -> None:
    articles = load_articles([ROOT / "data" / "articles"], gazetteer)
    ds = build_dataset(articles, gazetteer, BuildOptions(neutral_pairs=False))
    for article in articles:
        split = ds[article.split]
        rows = [r for r in split if r["article_id"] == article.id]
        assert len(rows) == len(article.labels)
        for stance in STANCES:
            expected = sum(lab.stance == stance for lab in article.labels)
            assert sum(STANCES[r["label"]] == stance for r in rows) == expected


def test_balance_spans_gives_neutrals_the_span_pattern_of_labelled_pairs() -> None:
    from stance.actors.pairs import NO_SPAN
    from stance.dataset.build import balance_span_presence

    def row(origin: str, actor: bool, target: bool) -> dict:
        return {
            "origin": origin,
            "actor_start": 0 if actor else NO_SPAN,
            "actor_end": 3 if actor else NO_SPAN,
            "target_start": 5 if target else NO_SPAN,
            "target_end": 9 if target else NO_SPAN,
        }

    labelled = [row("annotated", False, True)] * 30 + [row("annotated", True, True)] * 10
    neutrals = [row("co-mention", True, True) for _ in range(400)]
    out = balance_span_presence([*labelled, *[dict(r) for r in neutrals]], seed=3)
    unmarked = [r for r in out[40:] if r["actor_start"] == NO_SPAN]
    assert 0.65 < len(unmarked) / 400 < 0.85  # about the 3/4 of labelled pairs with an unnamed actor
    assert all(r["actor_end"] == NO_SPAN and r["target_start"] == 5 for r in unmarked)
    assert out[:40] == labelled  # labelled pairs are never touched
    again = balance_span_presence([*labelled, *[dict(r) for r in neutrals]], seed=3)
    assert again == out


def test_dev_is_carved_from_train_by_group_and_never_splits_one() -> None:
    from stance.schema import Article, StanceLabel

    # DSE-like: two records of each sentence (different entity pairs), grouped by the sentence text.
    articles = [
        Article(
            id=f"line-{i}-{k}",
            sentences=[f"[A{i}] met [B{i}] and [C{i}]."],
            labels=[StanceLabel(0, "A", "B", "neutral")],
            split="train",
            group=f"sentence {i}",
        )
        for i in range(60)
        for k in range(2)
    ]
    articles.append(
        Article(id="held", sentences=["x"], labels=[StanceLabel(0, "A", "B", "neutral")], split="validation")
    )
    from stance.actors.gazetteer import Gazetteer

    ds = build_dataset(articles, Gazetteer(actors={}), BuildOptions(dev_fraction=0.3, context_sentences=0))
    where: dict[str, set[str]] = {}
    for split, data in ds.items():
        for group in data["group"]:
            where.setdefault(group, set()).add(split)
    assert all(len(s) == 1 for s in where.values())
    dev = [g for g, s in where.items() if s == {"dev"}]
    assert 10 <= len(dev) <= 30 and where["held"] == {"validation"}
    # The same groups whatever the seed: dev is fixed by the group id alone.
    again = build_dataset(articles, Gazetteer(actors={}), BuildOptions(dev_fraction=0.3, context_sentences=0, seed=7))
    assert sorted(set(again["dev"]["group"])) == sorted(dev)
    none = build_dataset(articles, Gazetteer(actors={}), BuildOptions(dev_fraction=0.0, context_sentences=0))
    assert len(none["dev"]) == 0 and len(none["train"]) == 120
