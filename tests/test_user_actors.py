"""`actors=my_actors.csv`: a user's own actors in a CSV, layered over the gazetteer, mistakes named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stance.actors.dictionaries import gazetteer_sha256
from stance.actors.gazetteer import load_gazetteer
from stance.actors.resolve import predict_actors
from stance.errors import InputFormatError, StanceError

CSV = """name,aliases,type,code,affiliation,from,to
Mitch McConnell,McConnell|Sen. McConnell,person,USALEG,United States,2007-01-03,2025-01-03
Acme Party,Acme,organization,,,,
"""


def _layered(tmp_path: Path, text: str = CSV) -> str:
    path = tmp_path / "my_actors.csv"
    path.write_text(text, encoding="utf-8")
    mode, gazetteer = predict_actors(str(path), "data/actors.yaml", tmp_path / "out")
    assert mode == "auto"
    return gazetteer


def test_a_csv_of_actors_is_layered_over_the_gazetteer(tmp_path: Path) -> None:
    g = load_gazetteer(_layered(tmp_path))
    assert g.actors_in("McConnell warned China; the Acme chairman agreed.") == [
        "Mitch McConnell",
        "China",
        "Acme Party",
    ]
    assert g.affiliation("Mitch McConnell", "2020-06-01") == "United States"
    assert g.code("Mitch McConnell", "2020-06-01") == "USALEG" and g.code("Mitch McConnell", "2000-01-01") is None
    assert "Russia" in g  # the base gazetteer is still there underneath
    before = gazetteer_sha256(_layered(tmp_path))
    (tmp_path / "my_actors.csv").write_text(CSV + "Jane Roe,,person,,,,\n", encoding="utf-8")
    assert gazetteer_sha256(str(tmp_path / "out" / "my_actors.gazetteer.yaml")) != before  # an edit is another job


def test_pairing_modes_pass_through_and_anything_else_is_refused(tmp_path: Path) -> None:
    assert predict_actors("found", "phoenix", tmp_path) == ("found", "phoenix")
    with pytest.raises(StanceError, match=r"nor a \.csv"):
        predict_actors("everyone", "phoenix", tmp_path)
    with pytest.raises(StanceError, match="does not exist"):
        predict_actors(str(tmp_path / "missing.csv"), "phoenix", tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("name,type\nJane Roe,wizard\n", 2, "type", "is not one of"),
        ("name,aliases,type,affiliation\nJane Roe,,person,Atlantis\n", 2, "affiliation", "is not an actor"),
        ("name,type,from\nJane Roe,person,2020-01-01\n", 2, "code", "give the code"),
        (
            "name,type,code,from\nOk,person,USAGOV,2020-01-01\nJane Roe,person,USAGOV,May 2020\n",
            3,
            "code",
            "not a date",
        ),
        ("name,kind\nJane Roe,person\n", 1, None, "lacks the column(s) type"),
    ],
)
def test_mistakes_are_named_by_file_line_and_column(tmp_path, text, line, field, words) -> None:
    with pytest.raises(InputFormatError) as caught:
        load_gazetteer(_layered(tmp_path, text))
    problem = caught.value.problems[0]
    assert problem.file.endswith("my_actors.csv") and problem.line == line and problem.field == field
    assert words in problem.message


def test_stance_predict_pairs_the_users_actors(tmp_path: Path, tiny_model) -> None:
    import json

    from helpers import apply_config

    from stance.predict.batch import predict_files

    (tmp_path / "my_actors.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("McConnell criticised the Acme chairman.\n", encoding="utf-8")
    out = tmp_path / "out" / "rows.jsonl"
    overrides = [f"model_dir={tiny_model}", f"input={tmp_path / 'in'}", f"output={out}", "actors=gazetteer"]
    predict_files(apply_config("predict", *overrides))
    assert not out.read_text().strip()  # the model's own gazetteer knows neither
    predict_files(apply_config("predict", *overrides[:3], f"actors={tmp_path / 'my_actors.csv'}", "overwrite=true"))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(r["actor"], r["target"]) for r in rows} == {
        ("Mitch McConnell", "Acme Party"),
        ("Acme Party", "Mitch McConnell"),
    }
    assert (tmp_path / "out" / "my_actors.gazetteer.yaml").is_file()  # the layered list, named beside the output
