"""References to actors not named in their sentence: role nouns by date, descriptions, pronouns."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from stance.actors.actor import Mention
from stance.actors.coref import resolve_references, settle_office_actors
from stance.actors.gazetteer import Gazetteer
from stance.actors.offices import RoleTable
from stance.actors.roles import DEFAULT_ROLES, load_roles, roles_from_dict
from stance.errors import InputFormatError
from stance.schema import Article

ACTORS = [
    {"name": "United States", "type": "country", "code": "USA", "aliases": ["United States", "US", "Washington"]},
    {"name": "China", "type": "country", "code": "CHN", "aliases": ["China", "Beijing"]},
    {"name": "Russia", "type": "country", "code": "RUS", "aliases": ["Russia", "Moscow"]},
    {"name": "France", "type": "country", "code": "FRA", "aliases": ["France"]},
    {"name": "Iran", "type": "country", "code": "IRN", "aliases": ["Iran", "Tehran"]},
    {"name": "Joseph R. Biden", "type": "person", "affiliation": "United States", "aliases": ["Joe Biden", "Biden"]},
    {"name": "Xi Jinping", "type": "person", "affiliation": "China", "aliases": ["Xi Jinping", "Xi"]},
    {"name": "Mitch McConnell", "type": "person", "aliases": ["Mitch McConnell", "McConnell"]},
    {"name": "Susan Collins", "type": "person", "aliases": ["Susan Collins", "Collins"]},
    {"name": "Chuck Schumer", "type": "person", "aliases": ["Chuck Schumer", "Schumer"]},
    {"name": "Mark Milley", "type": "person", "aliases": ["Mark Milley", "Milley"]},
    {"name": "John Kirby", "type": "person", "aliases": ["John Kirby", "Kirby"]},
    {
        "name": "Lindsey Graham",
        "type": "person",
        "roles": [{"code": "USALEG", "from": "2003-01-03"}],
        "aliases": ["Lindsey Graham", "Graham"],
    },
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    # Knows no institution ("the Kremlin", "the White House"), so the metonyms are not mentions already.
    return Gazetteer.from_dict({"actors": ACTORS})


@pytest.fixture(scope="module")
def roles() -> RoleTable:
    return load_roles()


def resolve(
    gazetteer: Gazetteer, roles: RoleTable, sentences: list[str], date: str = ""
) -> tuple[list[list[tuple[str, str]]], Counter[str]]:
    """(actor, text) per sentence after resolution, and the counts per rule."""
    article = Article(id="a", sentences=sentences, date=date)
    rows, counts = resolve_references(article, [gazetteer.actor_mentions(s) for s in sentences], gazetteer, roles)
    for text, row in zip(sentences, rows, strict=True):
        assert all(text[m.start : m.end] == m.text for m in row)
    return [[(m.actor, m.text) for m in row] for row in rows], counts


def test_the_same_role_noun_resolves_to_the_holder_on_each_date(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["The United States criticised China.", "The president said the talks failed."]
    in_2019, counts = resolve(gazetteer, roles, sentences, "2019-05-01")
    in_2023, _ = resolve(gazetteer, roles, sentences, "2023-05-01T10:00:00Z")  # a timestamp counts by its day
    assert in_2019[1] == [("Donald Trump", "The president")]
    assert in_2023[1] == [("Joseph R. Biden", "The president")]  # the gazetteer's name for Joe Biden
    assert counts == Counter(role=1)


def test_a_handover_day_goes_to_the_successor_and_a_vacancy_to_no_one(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Washington spoke.", "The president and the secretary of state met."]
    rows, _ = resolve(gazetteer, roles, sentences, "2021-01-20")
    assert ("Joseph R. Biden", "The president") in rows[1]
    # Blinken was sworn in on 2021-01-26; an acting secretary in between is not guessed.
    rows, _ = resolve(gazetteer, roles, sentences, "2021-01-22")
    assert [a for a, _ in rows[1]] == ["Joseph R. Biden"]


def test_the_kremlin_is_the_russian_president(gazetteer: Gazetteer, roles: RoleTable) -> None:
    rows, counts = resolve(gazetteer, roles, ["The Kremlin said Washington was to blame."], "2023-03-01")
    assert rows[0] == [("Vladimir Putin", "The Kremlin"), ("United States", "Washington")]
    rows, _ = resolve(gazetteer, roles, ["Downing Street denied it, and the Elysée agreed."], "2023-03-01")
    assert rows[0] == [("Rishi Sunak", "Downing Street"), ("Emmanuel Macron", "the Elysée")]
    # "a Downing Street spokesman" is a spokesman, not the prime minister.
    assert resolve(gazetteer, roles, ["A Downing Street spokesman denied it."], "2023-03-01")[0] == [[]]
    assert counts == Counter(role=1)


def test_a_role_noun_stays_unresolved_without_a_date(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["The United States criticised China.", "The president said so.", "The Kremlin agreed."]
    rows, counts = resolve(gazetteer, roles, sentences, "")
    assert rows[1:] == [[], []] and counts == Counter()
    assert resolve(gazetteer, roles, sentences, "not a date")[1] == Counter()


def test_the_holder_is_named_as_the_article_names_them(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Biden met McConnell.", "The president said so."]
    article = Article(id="a", sentences=sentences, date="2023-05-01")
    # The mention finder's entity "Biden", a name the gazetteer does not know.
    mentions = [[Mention("Biden", 0, 5, "Biden"), Mention("Mitch McConnell", 10, 19, "McConnell")], []]
    rows, _ = resolve_references(article, mentions, gazetteer, roles)
    assert [(m.actor, m.text) for m in rows[1]] == [("Biden", "The president")]
    # Another person of the same last name is not the holder.
    mentions = [[Mention("Hunter Biden", 0, 5, "Biden")], []]
    rows, _ = resolve_references(article, mentions, gazetteer, roles)
    assert [m.actor for m in rows[1]] == ["Joseph R. Biden"]


def test_a_titled_person_earlier_is_the_role_nouns_referent(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["President Xi Jinping met US envoys in Beijing.", "The president said China would not yield."]
    for date in ("", "2023-05-01"):
        rows, counts = resolve(gazetteer, roles, sentences, date)
        assert rows[1] == [("Xi Jinping", "The president"), ("China", "China")]
        assert counts == Counter(role=1)


def test_a_holder_named_nearby_beats_the_country_context(gazetteer: Gazetteer, roles: RoleTable) -> None:
    # China is the most mentioned country, but Joe Biden, the US president that day, was just named.
    sentences = ["Joe Biden criticised China and Beijing's allies.", "The president said China must act."]
    rows, _ = resolve(gazetteer, roles, sentences, "2023-05-01")
    assert rows[1][0] == ("Joseph R. Biden", "The president")


def test_the_country_context_picks_the_office(gazetteer: Gazetteer, roles: RoleTable) -> None:
    rows, _ = resolve(
        gazetteer, roles, ["Russia and Moscow's allies met the US.", "The president spoke."], "2023-05-01"
    )
    assert rows[1] == [("Vladimir Putin", "The president")]
    rows, _ = resolve(gazetteer, roles, ["The president of France spoke to Russia."], "2023-05-01")
    assert rows[0] == [("Emmanuel Macron", "The president"), ("France", "France"), ("Russia", "Russia")]
    us = gazetteer.with_aliases({"United States": ["the United States"]})
    text = ["China spoke.", "China asked the president of the United States to act."]
    article = Article(id="a", sentences=text, date="2023-05-01")
    rows, _ = resolve_references(article, [us.actor_mentions(x) for x in text], us, roles)
    assert ("Joseph R. Biden", "the president") in [(m.actor, m.text) for m in rows[1]]
    assert resolve(gazetteer, roles, ["The president of the company spoke to Russia."], "2023-05-01")[0][0] == [
        ("Russia", "Russia")
    ]
    # No country at all: the USA. A country without that office in the table: no one, even with the US mentioned.
    assert resolve(gazetteer, roles, ["The president spoke."], "2023-05-01")[0] == [
        [("Joseph R. Biden", "The president")]
    ]
    iran = ["Iran and Tehran's allies rejected the US plan.", "The president spoke."]
    assert resolve(gazetteer, roles, iran, "2023-05-01")[0][1] == []
    # An office only the USA has, in a story led by another country that mentions the USA.
    china = ["China and Beijing's allies rejected the US plan.", "The secretary of state spoke."]
    assert resolve(gazetteer, roles, china, "2023-05-01")[0][1] == [("Antony Blinken", "The secretary of state")]


def test_the_senator_is_the_most_recent_named_senator(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = [
        "Sen. Mitch McConnell spoke first.",
        "Senator Collins voted no, after Chuck Schumer.",
        "The senator said so.",
    ]
    rows, counts = resolve(gazetteer, roles, sentences, "2023-05-01")
    assert rows[2] == [("Susan Collins", "The senator")]  # Schumer is more recent but was not named a senator
    assert counts == Counter(description=1)
    # Without a title, a person whose CAMEO code is a legislator's (LEG).
    rows, _ = resolve(
        gazetteer, roles, ["Lindsey Graham and Chuck Schumer met.", "The lawmaker said no."], "2023-05-01"
    )
    assert rows[1] == [("Lindsey Graham", "The lawmaker")]
    # More than two sentences back is too far.
    far = ["Sen. Mitch McConnell spoke.", "It rained.", "It snowed.", "The senator said so."]
    assert resolve(gazetteer, roles, far, "2023-05-01")[0][3] == []


def test_descriptions_that_are_modifiers_are_not_references(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Gen. Mark Milley and US official John Kirby spoke.", "The general election and the official visit."]
    rows, counts = resolve(gazetteer, roles, sentences, "2023-05-01")
    assert rows[1] == [] and counts == Counter()
    rows, _ = resolve(gazetteer, roles, [sentences[0], "The general said no, and the official agreed."], "2023-05-01")
    assert rows[1] == [("Mark Milley", "The general"), ("John Kirby", "the official")]


def test_he_said_is_the_most_recent_person_not_a_country(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Joe Biden spoke with China.", "He said Russia was wrong.", "“We will see,” she added."]
    rows, counts = resolve(gazetteer, roles, sentences)
    assert rows[1] == [("Joseph R. Biden", "He"), ("Russia", "Russia")]
    assert rows[2] == [("Joseph R. Biden", "she")]  # gender is not checked
    assert counts == Counter(pronoun=2)
    # "It" and "They" are never resolved; a pronoun with no person before it neither.
    rows, counts = resolve(gazetteer, roles, ["China spoke.", "It said no.", "They said no.", "He said no."])
    assert rows[1:] == [[], [], []] and counts == Counter()


def test_a_bare_title_names_the_holder_only_when_it_is_not_generic(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Washington spoke.", "“Thank you, Mr. President,” Xi Jinping said of this President."]
    rows, _ = resolve(gazetteer, roles, sentences, "2023-05-01")
    assert rows[1] == [("Joseph R. Biden", "President"), ("Xi Jinping", "Xi Jinping")]
    for text in [
        "Washington said a sitting President may not be charged.",
        "The former President spoke.",
        "Vice President said",
    ]:
        assert resolve(gazetteer, roles, [text], "2023-05-01")[1] == Counter()


def test_objects_possessives_and_quoted_pronouns_resolve_too(gazetteer: Gazetteer, roles: RoleTable) -> None:
    rows, counts = resolve(gazetteer, roles, ["Joe Biden spoke.", "“He is wrong,” a reporter shouted."])
    assert rows[1] == [("Joseph R. Biden", "He")] and counts == Counter(pronoun=1)
    sentences = ["Xi Jinping spoke.", "Russia praised him.", "China backed her plan and his."]
    rows, counts = resolve(gazetteer, roles, sentences)
    assert rows[1] == [("Russia", "Russia"), ("Xi Jinping", "him")]
    # Gender is not checked; "his" names Xi again, whom the sentence already has.
    assert rows[2] == [("China", "China"), ("Xi Jinping", "her")]
    assert counts == Counter(pronoun=2)
    # "his" of the person the sentence names adds nothing; words that only contain a pronoun are not one.
    rows, counts = resolve(gazetteer, roles, ["Xi Jinping said his theme, the hero's shell, was here."])
    assert rows[0] == [("Xi Jinping", "Xi Jinping")] and counts == Counter()


def test_a_pronoun_reaches_back_two_named_sentences_only(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Xi Jinping spoke.", "He said no.", "He said no again.", "He said no once more."]
    rows, counts = resolve(gazetteer, roles, sentences)
    assert [r[0][0] if r else None for r in rows] == ["Xi Jinping", "Xi Jinping", "Xi Jinping", None]
    assert counts == Counter(pronoun=2)


def test_never_the_same_entity_twice_in_a_sentence(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["Joe Biden spoke.", "Biden said the president would veto it, he said."]
    rows, counts = resolve(gazetteer, roles, sentences, "2023-05-01")
    assert rows[1] == [("Joseph R. Biden", "Biden")] and counts == Counter()
    actors = [a for a, _ in rows[1]]
    assert len(actors) == len(set(actors))


def test_no_mention_overlaps_one_already_there(gazetteer: Gazetteer, roles: RoleTable) -> None:
    sentences = ["The US spoke.", "The president and the Kremlin disagreed."]
    article = Article(id="a", sentences=sentences, date="2023-05-01")
    # A mention finder's span over "The president" (named "president"), and a gazetteer that knows the Kremlin.
    mentions = [gazetteer.actor_mentions(sentences[0]), [Mention("president", 0, 13, "The president")]]
    kremlin = gazetteer.with_aliases({"Russia": ["the Kremlin"]})
    mentions[1].append(kremlin.actor_mentions(sentences[1])[0])
    rows, counts = resolve_references(article, mentions, kremlin, roles)
    # The finder's "The president" names the office itself: its holder takes the span. The Kremlin stays.
    assert [(m.actor, m.text) for m in rows[1]] == [("Joseph R. Biden", "The president"), ("Russia", "the Kremlin")]
    assert counts == Counter(role=1)
    for row in rows:
        spans = sorted((m.start, m.end) for m in row)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_an_office_actor_is_its_holder_or_the_title_of_a_name(roles: RoleTable) -> None:
    office = {"name": "The US Secretary of State", "type": "person", "code": "USAGOV"}
    blinken = {"name": "Antony Blinken", "type": "person", "aliases": ["Antony Blinken", "Blinken"]}
    g = Gazetteer.from_dict({"actors": [*ACTORS, {**office, "aliases": ["Secretary of State"]}, blinken]})
    sentences = [
        "Secretary of State Antony Blinken met Xi Jinping.",
        "The Secretary of State criticised China.",
        "China answered the secretary of state.",
    ]
    rows, counts = resolve(g, roles, sentences, "2023-05-01")
    # One person, one actor: the title before his name is not a second one, and the role noun is him.
    assert rows[0] == [("Antony Blinken", "Antony Blinken"), ("Xi Jinping", "Xi Jinping")]
    assert rows[1] == [("Antony Blinken", "The Secretary of State"), ("China", "China")]
    assert ("Antony Blinken", "the secretary of state") in rows[2] and counts == Counter(role=2)
    # Without references=true the title is still not a second actor, and the office's actor is its holder;
    # the bare role noun with no actor matched ("the secretary of state") is left to references.
    article = Article(id="a", sentences=sentences, date="2023-05-01")
    kept = settle_office_actors(article, [g.actor_mentions(s) for s in sentences], g, roles)
    assert [[m.actor for m in row] for row in kept] == [
        ["Antony Blinken", "Xi Jinping"],
        ["Antony Blinken", "China"],
        ["China"],
    ]
    # Where no holder is known (no date), the dictionary's office actor stays.
    rows, _ = resolve(g, roles, sentences[1:2])
    assert ("The US Secretary of State", "Secretary of State") in rows[0]


def test_an_office_named_with_its_country_is_that_countrys_holder(roles: RoleTable) -> None:
    office = {"name": "The US Secretary of State", "type": "person", "code": "USAGOV"}
    president = {"name": "France president", "type": "person", "code": "FRAGOV", "aliases": ["France's president"]}
    blinken = {"name": "Antony Blinken", "type": "person", "aliases": ["Antony Blinken", "Blinken"]}
    aliases = ["Secretary of State", "US Secretary of State", "The US Secretary of State"]
    g = Gazetteer.from_dict({"actors": [*ACTORS, {**office, "aliases": aliases}, president, blinken]})
    sentences = [
        "The US Secretary of State criticised China.",
        "US Secretary of State Antony Blinken met Xi Jinping.",
        "France's president answered Blinken.",
    ]

    def settled(date: str) -> list[list[tuple[str, str]]]:
        article = Article(id="a", sentences=sentences, date=date)
        rows = settle_office_actors(article, [g.actor_mentions(s) for s in sentences], g, roles)
        return [[(m.actor, m.text) for m in row] for row in rows]

    # The country's office on the date, its words kept; before the holder's name the title is no second actor.
    assert settled("2023-05-01") == [
        [("Antony Blinken", "The US Secretary of State"), ("China", "China")],
        [("Antony Blinken", "Antony Blinken"), ("Xi Jinping", "Xi Jinping")],
        [("Emmanuel Macron", "France's president"), ("Antony Blinken", "Blinken")],
    ]
    # Another date, another holder.
    assert settled("2019-06-01")[0][0] == ("Mike Pompeo", "The US Secretary of State")
    assert settled("2010-01-01")[2][0] == ("Nicolas Sarkozy", "France's president")
    # A sentence that names the holder already keeps one mention of him, not two.
    article = Article(id="a", sentences=["Blinken, the US Secretary of State, criticised China."], date="2023-05-01")
    rows = settle_office_actors(article, [g.actor_mentions(s) for s in article.sentences], g, roles)
    assert [m.actor for m in rows[0]] == ["Antony Blinken", "China"]
    # With no date the office's own actor stays, as for a bare role noun.
    assert settled("")[0][0] == ("The US Secretary of State", "The US Secretary of State")
    # The references path settles it the same way.
    rows, _ = resolve(g, roles, sentences, "2023-05-01")
    assert rows[0][0] == ("Antony Blinken", "The US Secretary of State")


def test_given_mentions_stay_first_and_the_rest_by_start(gazetteer: Gazetteer, roles: RoleTable) -> None:
    text = "China said the president erred, and Russia agreed."
    article = Article(id="a", sentences=[text], date="2023-05-01")
    given = Mention("Russia", 36, 42, "Russia", given=True)
    mentions = [[given, Mention("China", 0, 5, "China")]]
    rows, _ = resolve_references(article, mentions, gazetteer, roles)
    assert [(m.actor, m.given) for m in rows[0]] == [("Russia", True), ("China", False), ("Xi Jinping", False)]


def test_the_shipped_table_covers_the_offices_and_metonyms(roles: RoleTable) -> None:
    offices = {name: set(office.holders) for name, office in roles.offices.items()}
    assert offices["president"] >= {"USA", "RUS", "CHN", "FRA"}
    assert offices["prime minister"] >= {"GBR", "JPN", "IND"} and offices["chancellor"] == {"DEU"}
    assert offices["secretary general"] == {"IGOWSTNAT", "IGOUNO"}
    for name in ("vice president", "secretary of state", "secretary of defense", "attorney general"):
        assert offices[name] == {"USA"}
    assert {"speaker of the house", "senate majority leader", "chief justice"} <= set(offices)
    assert {m.form for m in roles.metonyms} >= {"the White House", "the Kremlin", "Downing Street", "the Elysee"}
    assert {"senator", "governor", "minister", "general", "spokesman"} <= set(roles.descriptions)
    assert roles.offices["president"].holder("USA", "2009-01-19") == "George W. Bush"
    assert roles.offices["prime minister"].holder("GBR", "2022-10-01") == "Liz Truss"
    assert load_roles(DEFAULT_ROLES) is not roles  # load_roles reads anew; resolve_references caches its default


def test_the_default_table_is_used_when_none_is_given(gazetteer: Gazetteer) -> None:
    article = Article(id="a", sentences=["The Kremlin spoke."], date="2023-05-01")
    rows, counts = resolve_references(article, [[]], gazetteer)
    assert [m.actor for m in rows[0]] == ["Vladimir Putin"] and counts == Counter(role=1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_OFFICE = """
offices:
  president:
    forms: [the president]
    holders:
      USA:
        - {name: A, from: 2001-01-20, to: 2009-01-20}
        - {name: B, from: 2009-01-20, to: null}
"""


def test_a_bad_entry_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_OFFICE.replace("from: 2009-01-20", "from: 2009-13-40"))
    with pytest.raises(InputFormatError) as err:
        load_roles(path)
    assert "roles.yaml" in str(err.value)
    assert [p.field for p in err.value.problems] == ["offices.president.holders.USA[1].from"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("from: 2009-01-20", "from: 2008-01-20"), "offices.president.holders.USA[1].from"),  # overlapping terms
        (("to: 2009-01-20", "to: 2000-01-20"), "offices.president.holders.USA[0].to"),  # ends before it starts
        (("{name: A,", "{who: A,"), "offices.president.holders.USA[0]"),  # unknown key
        (("USA:", "usa:"), "offices.president.holders.usa"),  # not a CAMEO code
        (("forms: [the president]", "forms: []"), "offices.president.forms"),
    ],
)
def test_each_kind_of_bad_entry_is_reported(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    with pytest.raises(InputFormatError) as err:
        load_roles(write(tmp_path, GOOD_OFFICE.replace(*change, 1)))
    assert field in [p.field for p in err.value.problems]


def test_bad_metonyms_and_descriptions_are_reported() -> None:
    raw = {
        "offices": {
            "president": {"forms": ["the president"], "holders": {"USA": [{"name": "A", "from": "2001-01-20"}]}}
        },
        "metonyms": {"the Kremlin": {"office": "president", "jurisdiction": "RUS"}, "No. 10": {"office": "pm"}},
        "descriptions": {"senator": {"forms": ["the senator"], "agents": ["legislature"]}},
    }
    with pytest.raises(InputFormatError) as err:
        roles_from_dict(raw, "roles.yaml")
    fields = {p.field for p in err.value.problems}
    assert fields == {"metonyms.the Kremlin.jurisdiction", "metonyms.No. 10.office", "descriptions.senator.agents"}
    assert all(p.file == "roles.yaml" for p in err.value.problems)


def test_unreadable_and_invalid_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="cannot read"):
        load_roles(tmp_path / "missing.yaml")
    with pytest.raises(InputFormatError, match="invalid YAML"):
        load_roles(write(tmp_path, "offices: [unclosed"))
    with pytest.raises(InputFormatError, match="offices"):
        load_roles(write(tmp_path, "holders: {}"))
