"""The Phoenix / CAMEO dictionaries: parsing, dated roles, agents, case rules, includes and speed."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from stance.actors.gazetteer import Gazetteer, load_gazetteer
from stance.readers.phoenix import parse_date, parse_restriction, read_phoenix
from stance.readers.phoenix_names import display_phrase, name_case, plural

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "phoenix"


@pytest.fixture(scope="module")
def records():
    skipped: list = []
    return read_phoenix(FIXTURES, {"max_bad_fraction": 0.5}, skipped), skipped


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory, records) -> Gazetteer:
    """The fixture dictionaries in the committed compact form, loaded as a gazetteer."""
    path = tmp_path_factory.mktemp("phoenix") / "phoenix.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records[0]:
            handle.write(json.dumps(record.to_json()) + "\n")
    return Gazetteer.from_phoenix(path)


def spans(g: Gazetteer, text: str) -> list[tuple[str, str]]:
    return [(m.actor, m.text) for m in g.find(text)]


def test_dates_two_and_four_digit_years_and_restrictions() -> None:
    assert parse_date("450703") == "1945-07-03"
    assert parse_date("090120") == "2009-01-20"
    assert parse_date("19411207") == "1941-12-07"
    assert parse_restriction("USAGOV >090120") == ("USAGOV", "2009-01-20", None, True)
    assert parse_restriction("USAGOV <450101") == ("USAGOV", None, "1945-01-01", True)
    assert parse_restriction("USAELI 18970101-450703") == ("USAELI", "1897-01-01", "1945-07-03", True)
    assert parse_restriction("AFG") == ("AFG", None, None, False)
    with pytest.raises(ValueError):
        parse_restriction("USAGOV 9008223-100101")


def test_phrases_in_natural_text() -> None:
    assert display_phrase("MR._OBAMA_") == "Mr. Obama"
    assert display_phrase("U.S._PRESIDENT") == "U.S. President"
    assert display_phrase("UNITED_STATES_OF_AMERICA_") == "United States of America"
    assert name_case(display_phrase("US_INTELLIGENCE_COMMUNITY_")) == "US Intelligence Community"
    assert name_case("The Us Secretary of State") == "The US Secretary of State" and name_case("Un Envoy") == "UN Envoy"
    assert name_case("Kang Chang Uk") == "Kang Chang Uk" and name_case("Uk Rabun") == "Uk Rabun"  # persons stay
    assert plural("protester") == "protesters" and plural("militia") == "militias" and plural("army") == "armies"


def test_records_synonyms_roles_and_a_bad_record_reported(records) -> None:
    found, skipped = records
    by_name = {r.name: r for r in found}
    obama = by_name["Barack Obama"]
    assert obama.type == "person" and obama.code is None
    assert obama.roles == [("USAELI", "1978-01-01", "2000-01-01"), ("USAGOV", "2009-01-20", None)]
    assert {"Mr. Obama", "U.S. President"} <= set(obama.aliases)
    assert by_name["China"].code == "CHN" and "Chinese" in by_name["China"].aliases
    assert by_name["Old Timer"].roles == [("USAGOV", None, "1945-01-01")]
    assert "Broken Date Person" not in by_name
    where = {(p.file, p.line) for p in skipped}
    assert ("Phoenix.Countries.actors.txt", 28) in where  # the bad date line
    assert any(p.file == "Phoenix.agents.txt" and "ISLAMIC_EXTREMIST" in p.message for p in skipped)


def test_agents_plurals_and_substitution_sets(records) -> None:
    agents = {r.name: r for r in records[0] if r.type == "agent"}
    assert agents["police"].code == "COP" and agents["police"].aliases == []  # `{}`: no plural
    assert agents["protester"].aliases == ["protesters"] and agents["protester"].code == "OPP"
    assert agents["chamber of commerce"].aliases == ["chambers of commerce"]
    assert agents["mukhabarat"].aliases == []  # trailing `_`: not pluralised
    assert set(agents["policeman"].aliases) == {"policemen", "policewoman", "policewomen", "policeperson"}
    assert agents["peacekeeping troops"].code == "IGO~"


def test_dated_codes_and_roll_up(phoenix: Gazetteer) -> None:
    assert phoenix.code("Barack Obama", "2010-05-01") == "USAGOV"
    assert phoenix.code("Barack Obama", "2005-01-01") == "USAELI"
    assert phoenix.code("Barack Obama", "2010-05-01 12:00:00+00:00") == "USAGOV"
    assert phoenix.affiliation("Barack Obama", "2010-05-01") == "United States of America"
    assert phoenix.affiliation("Barack Obama", "2005-01-01") == "Barack Obama"
    assert phoenix.affiliation("James Byrnes", "1946-01-01") == "United States of America"
    assert phoenix.affiliation("Ban Ki-Moon", "2010-01-01") == "United Nations"
    assert phoenix.affiliation("Hamas") == "Hamas"  # rebels do not speak for a state
    assert phoenix.code("China") == "CHN" and phoenix.code("nobody") is None


def test_an_agent_takes_the_country_before_it(phoenix: Gazetteer) -> None:
    text = "Chinese police said the police and protesters left."
    found = phoenix.find(text)
    assert spans(phoenix, text) == [
        ("China police", "Chinese police"),
        ("police", "police"),
        ("protester", "protesters"),
    ]
    composite = found[0].actor
    assert composite in phoenix and phoenix.code(composite) == "CHNCOP"
    assert phoenix.affiliation(composite) == "China" and phoenix.code("police") == "COP"
    assert phoenix.affiliation("Turkey protester") == "Turkey protester"  # rebuilt from its name, not a state role
    # A bare agent is a role, not an actor to pair; with its country it is one.
    assert phoenix.is_generic("police") and not phoenix.is_generic(composite)
    assert [m.text for m in phoenix.actor_mentions(text)] == ["Chinese police"]


def test_case_rules_and_possessives(phoenix: Gazetteer) -> None:
    assert spans(phoenix, "give us turkey") == []
    assert spans(phoenix, "Us and the us") == []
    assert spans(phoenix, "US and Turkey") == [("United States of America", "US"), ("Turkey", "Turkey")]
    assert spans(phoenix, "China's envoy, the US' plan, TURKEY") == [
        ("China", "China"),
        ("United States of America", "US"),
        ("Turkey", "TURKEY"),
    ]
    assert spans(phoenix, "Xi'an and Xi Jinping") == [("Xi Jinping", "Xi Jinping")]


def test_yaml_overrides_and_merges_phoenix(tmp_path: Path, phoenix: Gazetteer) -> None:
    (tmp_path / "phoenix.jsonl.gz").write_bytes(_compact(phoenix))
    (tmp_path / "mine.yaml").write_text(
        "include: [phoenix.jsonl.gz]\n"
        "actors:\n"
        "  - {name: United States, type: country, code: USA, aliases: [U.S., Washington]}\n"
        "  - name: Barack Obama\n"
        "    type: person\n"
        "    roles: [{code: USAGOV, from: 2009-01-20, to: 2017-01-20}]\n"
        "    aliases: [Obama]\n",
        encoding="utf-8",
    )
    g = Gazetteer.from_yaml(tmp_path / "mine.yaml")
    assert spans(g, "Washington and American police") == [
        ("United States", "Washington"),
        ("United States police", "American police"),
    ]
    assert g.actors["United States"].source == "gazetteer" and "American" in g.actors["United States"].aliases
    assert (
        g.code("Barack Obama", "2018-01-01") != "USAGOV"
        or g.affiliation("Barack Obama", "2018-01-01") == "Barack Obama"
    )
    assert g.affiliation("Barack Obama", "2012-01-01") == "United States"
    assert g.code("Barack Obama", "2005-01-01") == "USAELI"  # Phoenix's other roles kept


def test_bad_roles_are_reported(tmp_path: Path) -> None:
    from stance.errors import InputFormatError

    path = tmp_path / "a.yaml"
    path.write_text("actors:\n  - {name: A, type: person, code: usa, roles: [{code: USAGOV, from: someday}]}\n")
    with pytest.raises(InputFormatError) as info:
        Gazetteer.from_yaml(path)
    assert "code 'usa'" in str(info.value) and "from 'someday'" in str(info.value)


def test_committed_dictionaries_load_and_know_the_basics() -> None:
    g = load_gazetteer("phoenix")
    assert "Barack Obama" in g and "China" in g and "police" in g
    assert g.code("Barack Obama", "2010-05-01") == "USAGOV"
    assert g.affiliation("Barack Obama", "2010-05-01") == "United States"
    assert g.affiliation("Barack Obama", "2018-05-01") == "Barack Obama"
    assert spans(g, "Chinese police met US officials.")[0] == ("China police", "Chinese police")
    assert load_gazetteer("default") is load_gazetteer("data/actors.yaml")
    parties = g.actor_mentions("Democrats and the GOP clashed; President Trump sided with Republicans.")
    assert [m.actor for m in parties] == ["Democratic Party", "Republican Party", "Donald Trump", "Republican Party"]


def test_one_body_is_one_actor_whichever_dictionary_names_it() -> None:
    g = load_gazetteer("phoenix")
    # Phoenix's "United States Congress" and "United States Military" fold into actors.yaml's names.
    assert "United States Congress" not in g.actors and "United States Military" not in g.actors
    said = "Both United States Congress and US Congress, the U.S. military; the Pentagon and the Group of Seven"
    assert [m.actor for m in g.find(said)] == ["US Congress", "US Congress", "Pentagon", "Pentagon", "G7"]
    assert g.get("US Congress").code == "USAGOVLEG"  # the merged actor keeps Phoenix's code
    # A later file's actor is merged only by a curated name: Phoenix's own bodies stay apart.
    assert "United States Department of Justice" in g.actors and "National Security Council" in g.actors


def test_a_body_never_rolls_up_to_another_that_shares_its_code() -> None:
    g = load_gazetteer("phoenix")
    # Phoenix codes many bodies alike (MED, MNCJPN, IMGMUSALQ): none of them is the others' parent.
    for name in ("Washington Post", "New York Times", "Honda", "Al Qa'ida", "reporter"):
        assert g.affiliation(name, "2020-01-01") == name
    assert g.affiliation("Barack Obama", "2010-05-01") == "United States"  # a state role still rolls up
    assert g.affiliation("China police") == "China"


def test_article_local_copies_of_the_phoenix_gazetteer_are_cheap() -> None:
    g = load_gazetteer("phoenix")
    began = time.perf_counter()
    for i in range(100):
        local = g.with_aliases({f"Person {i}": [f"Zork{i}"], "China": ["the mainland"]})
        g.restricted_to(["China", "United States"], {"China": ["the mainland"]})
    assert time.perf_counter() - began < 0.5
    assert spans(local, "Zork99 and the mainland") == [("Person 99", "Zork99"), ("China", "the mainland")]
    assert "Person 99" not in g


def _compact(g: Gazetteer) -> bytes:
    lines = []
    for a in g.actors.values():
        row = {"name": a.name, "type": a.type, "code": a.code, "roles": [[r.code, r.start, r.end] for r in a.roles]}
        lines.append(json.dumps({**row, "aliases": list(a.aliases), "file": "x", "line": 1}))
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_prediction_rows_carry_source_code_and_the_roll_up_at_the_article_date() -> None:
    from stance.actors.pairs import article_pairs
    from stance.schema import Article

    g = load_gazetteer("phoenix")
    sentences = ["Hu Jintao criticised Japanese police and praised Barack Obama."]
    rows = {}
    for date in ("2010-05-01", "1995-01-01"):
        for row in article_pairs(Article("a", sentences, date=date), g, 0):
            rows[(date, row["actor"], row["target"])] = row
    row = rows[("2010-05-01", "Hu Jintao", "Japan police")]
    assert (row["actor_source"], row["actor_code"], row["actor_affiliation"]) == ("phoenix", "CHNGOV", "China")
    assert (row["target_source"], row["target_code"], row["target_affiliation"]) == ("phoenix", "JPNCOP", "Japan")
    obama = rows[("2010-05-01", "Barack Obama", "Hu Jintao")]  # listed in data/phoenix.yaml, which corrects his term
    assert (obama["actor_source"], obama["actor_code"], obama["actor_affiliation"]) == (
        "gazetteer",
        "USAGOV",
        "United States",
    )
    assert (obama["actor_type"], obama["target_type"]) == ("person", "person")
    row = rows[("1995-01-01", "Hu Jintao", "Japan police")]
    assert (row["actor_code"], row["actor_affiliation"]) == ("CHNELI", "Hu Jintao")  # not yet in government


def test_a_country_dated_by_its_former_states_is_a_country_its_people_roll_up_to() -> None:
    # Phoenix dates Kazakhstan, Georgia, Kuwait and two dozen more by their states ([USRKAZ <911216]
    # [KAZ >911221]); they are countries, not persons, so that a KAZGOV minister stands for Kazakhstan.
    g = load_gazetteer("phoenix")
    for country, code in (("Kazakhstan", "KAZ"), ("Georgia", "GEO"), ("Kuwait", "KWT"), ("Estonia", "EST")):
        actor = g.get(country)
        assert actor is not None and (actor.type, actor.code, actor.roles) == ("country", code, ())
    assert g.affiliation("Nursultan Nazarbayev", "2012-01-01") == "Kazakhstan"
    assert g.affiliation("Mikheil Saakashvili", "2005-06-01") == "Georgia"
    assert g.get("Hu Jintao").type == "person"  # a person's 6-letter codes leave them a person


def test_the_summary_rolls_actors_up_as_of_each_article_date() -> None:
    from stance.predict.aggregate import summarize
    from stance.schema import PairPrediction

    def row(article: str, affiliation: str) -> PairPrediction:
        return PairPrediction(
            article, 0, "s", "Barack Obama", "China", "oppose", 0.1, 0.8, 0.1, "m",
            actor_affiliation=affiliation, target_affiliation="China",
        )  # fmt: skip

    summary = summarize([row("2010", "United States"), row("2005", "Barack Obama")], load_gazetteer("phoenix"))
    edges = {(e["actor"], e["target"]): e["n"] for e in summary["corpus_by_affiliation"]}
    assert edges == {("United States", "China"): 1, ("Barack Obama", "China"): 1}
