"""The labelled-article format: good files load; each kind of broken file is named precisely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stance.errors import InputFormatError
from stance.readers.articles import article_to_dict, load_articles

ROOT = Path(__file__).resolve().parent.parent


def test_good_fixtures_load_with_all_fields(fixtures: Path, gazetteer) -> None:
    articles = load_articles([fixtures / "articles"], gazetteer)
    assert [a.id for a in articles] == ["fx-1", "fx-2", "fx-3"]
    first = articles[0]
    assert first.title == "Fixture one" and first.date == "2024-05-17" and first.url == ""
    assert len(first.sentences) == 3 and len(first.labels) == 4
    assert first.labels[0].actor == "China" and first.labels[0].stance == "oppose"
    assert articles[1].title == "" and articles[1].split is None
    assert articles[2].split == "test"


def test_round_trip_through_json(fixtures: Path, gazetteer, tmp_path: Path) -> None:
    articles = load_articles([fixtures / "articles"], gazetteer)
    out = tmp_path / "round.json"
    out.write_text(json.dumps([article_to_dict(a) for a in articles]), encoding="utf-8")
    again = load_articles([out], gazetteer)
    assert [article_to_dict(a) for a in again] == [article_to_dict(a) for a in articles]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_json.json", ["bad_json.json:5:", "invalid JSON"]),
        (
            "unknown_actor.json",
            ["unknown_actor.json:4:", "article 'b2'", "labels[0].actor", "unknown actor 'Atlantis'"],
        ),
        ("bad_stance.json", ["bad_stance.json:4:", "labels[0].stance", "unknown stance 'friendly'"]),
        ("duplicate_id.json", ["duplicate_id.json", "article 'dup'", "field 'id'", "duplicate article id"]),
        ("self_label.json", ["self_label.json:4:", "labels[0].target", "labelled toward itself"]),
        ("out_of_range.json", ["out_of_range.json:4:", "labels[0].sentence", "out of range"]),
        ("conflict.json", ["conflict.json:5:", "labels[1]", "conflicts with labels[0]"]),
        ("alias_not_canonical.json", ["labels[0].actor", "alias of 'United States'"]),
        ("bad_date.json", ["bad_date.json:1:", "article 'b9'", "field 'date'", "'16 May 2024' is not a date"]),
    ],
)
def test_broken_files_are_rejected_naming_file_line_article_and_field(
    fixtures: Path, gazetteer, name: str, expected: list[str]
) -> None:
    with pytest.raises(InputFormatError) as info:
        load_articles([fixtures / "broken" / name], gazetteer)
    message = str(info.value)
    for part in expected:
        assert part in message


def test_duplicate_ids_across_files_name_both_files(fixtures: Path, gazetteer, tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    copy.write_text((fixtures / "articles" / "more.json").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        load_articles([fixtures / "articles", copy], gazetteer)
    assert "duplicate article id (first in" in str(info.value) and "more.json" in str(info.value)


def test_every_problem_in_a_folder_is_reported_at_once(fixtures: Path, gazetteer) -> None:
    with pytest.raises(InputFormatError) as info:
        load_articles([fixtures / "broken"], gazetteer)
    assert len(info.value.problems) >= 8


def test_exact_repeats_are_merged_not_rejected(gazetteer, tmp_path: Path) -> None:
    label = {"sentence": 0, "actor": "China", "target": "Russia", "stance": "support"}
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"id": "x", "sentences": ["China met Russia."], "labels": [label, label]}))
    assert len(load_articles([path], gazetteer)[0].labels) == 1


def test_cli_reports_broken_input_without_traceback(fixtures: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from stance.cli import build_main; build_main()",
            f"data.paths=[{fixtures / 'broken' / 'bad_stance.json'}]",
            f"output_dir={tmp_path / 'out'}",
            f"hydra.run.dir={tmp_path / 'hydra'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad_stance.json:4: article 'b3': field 'labels[0].stance'" in result.stderr


def test_seed_articles_are_valid_and_labelled(gazetteer) -> None:
    articles = load_articles([ROOT / "data" / "articles"], gazetteer)
    assert {a.id for a in articles} == {"seed-000", "seed-004"}
    for article in articles:
        assert article.labels, article.id
        assert {lab.stance for lab in article.labels} >= {"support", "oppose"}
