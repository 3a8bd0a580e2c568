"""Actors an analyst recognises: US states and cities as their own actors, ambiguous names read by context,
office holders after Phoenix's coverage, and one actor per body however the country is spelt."""

from __future__ import annotations

from pathlib import Path

import pytest

from stance.actors.entities import merge_mentions
from stance.actors.gazetteer import load_gazetteer
from stance.actors.pairs import article_gazetteer, co_mentioned_pairs
from stance.readers.raw import article_from_text


@pytest.fixture(scope="module")
def phoenix():
    return load_gazetteer("phoenix")


def _actors(text: str, gazetteer) -> list[list[str]]:
    article = article_from_text("a", text)
    local = article_gazetteer(article, gazetteer)
    return [[m.actor for m in local.actor_mentions(s)] for s in article.sentences]


def test_us_states_and_cities_are_their_own_actors_affiliated_with_the_country(phoenix) -> None:
    assert _actors("Trump held rallies in Utah and Maine.", phoenix) == [["Donald Trump", "Utah", "Maine"]]
    mentions = phoenix.actor_mentions("Trump held rallies in Utah and Maine.")
    pairs = co_mentioned_pairs(mentions)
    assert ("Donald Trump", "United States") not in pairs and ("Donald Trump", "Utah") in pairs
    assert phoenix.affiliation("Utah") == phoenix.affiliation("Chicago") == "United States"
    # Other countries' regions too; a contested one belongs to no country, so no roll-up takes a side.
    assert _actors("Xi Jinping visited Xinjiang.", phoenix) == [["Xi Jinping", "Xinjiang"]]
    assert phoenix.affiliation("Xinjiang") == "China" and phoenix.affiliation("Quebec") == "Canada"
    assert phoenix.affiliation("Crimea") == "Crimea"
    assert _actors("Washington warned Beijing.", phoenix) == [["United States", "China"]]  # the capital's metonym


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("Trump won Georgia and Arizona. Georgia voters were split.", "Georgia (US state)"),
        ("Georgia's election board met in Atlanta.", "Georgia (US state)"),
        ("Russia warned Georgia. Tbilisi protested.", "Georgia"),
        ("Georgia was mentioned once.", None),  # no cue: unresolved, never guessed
        ("Russia warned Georgia, and Tbilisi answered before the Atlanta summit.", None),  # cues of both
        ("Brussels said the EU deal was off.", "European Union"),
        ("Brussels welcomed De Croo's plan.", "Belgium"),
        ("The Supreme Court ruled, and Justice Sonia Sotomayor dissented.", "US Supreme Court"),
        ("The Supreme Court heard the Ohio case.", "US Supreme Court"),  # a US state is a cue
        # another country's court is not the US one (and a court with no country is no actor)
        ("The Supreme Court ruled. Pakistan's Supreme Court has ruled before.", None),
        ("The Supreme Court ruled on the election.", None),  # no country said: unresolved
    ],
)
def test_ambiguous_names_are_read_by_the_articles_context_or_left_unresolved(phoenix, text, reading) -> None:
    article = article_from_text("a", text)
    local = article_gazetteer(article, phoenix)
    form = next(f for f in ("Georgia", "Brussels", "Supreme Court") if f in text)
    read = {
        m.actor for m in local.actor_mentions(article.sentences[0]) if article.sentences[0][m.start : m.end] == form
    }
    assert read == ({reading} if reading else set())


def test_office_holders_after_phoenix_are_actors_with_dated_roles(phoenix) -> None:
    text = "McConnell and Pelosi criticised Sotomayor and Lloyd Austin."
    assert _actors(text, phoenix) == [["Mitch McConnell", "Nancy Pelosi", "Sonia Sotomayor", "Lloyd Austin"]]
    assert phoenix.affiliation("Nancy Pelosi", "2020-02-01") == "United States"
    assert (
        phoenix.code("Lloyd Austin", "2022-03-01") == "USAGOV"
        and phoenix.code("Lloyd Austin", "2010-03-01") == "USAMIL"
    )
    assert phoenix.affiliation("Mitt Romney", "2010-01-01") == "Mitt Romney"  # no state office then
    assert phoenix.affiliation("US Supreme Court") == "United States"
    # The holders of 2025: "Kash Patel" is not the State Department's Vedant Patel.
    text = "Kash Patel and Pam Bondi briefed Scott Bessent, Tulsi Gabbard and Pedro Sánchez."
    assert _actors(text, phoenix) == [["Kash Patel", "Pam Bondi", "Scott Bessent", "Tulsi Gabbard", "Pedro Sanchez"]]
    assert phoenix.affiliation("Kash Patel", "2025-06-01") == "United States"
    assert phoenix.affiliation("Tulsi Gabbard", "2023-06-01") == "Tulsi Gabbard"  # out of office then
    assert phoenix.affiliation("Sanae Takaichi", "2025-11-01") == "Japan"
    # A secretary general stands for NATO only while in office, for his country's government before.
    assert phoenix.affiliation("Mark Rutte", "2024-05-17") == "Netherlands"
    assert phoenix.affiliation("Mark Rutte", "2025-06-01") == phoenix.affiliation("Jens Stoltenberg", "2020-01-01")
    assert phoenix.affiliation("Jens Stoltenberg", "2020-01-01") == "NATO"


def test_us_cities_phoenix_gives_the_country_are_cities_or_no_actor(phoenix) -> None:
    # Phoenix lists US cities, state nicknames and rivers among the United States' aliases.
    assert _actors("Trump flew to Tampa and St. Louis.", phoenix) == [["Donald Trump", "Tampa", "St. Louis"]]
    assert phoenix.affiliation("Tampa") == "United States"
    # A name that is a person's or another place's as often is no actor; a longer alias still is.
    assert _actors("Austin said Portland and the Garden State agreed.", phoenix) == [[]]
    assert _actors("Lloyd Austin spoke in Austin, Texas.", phoenix) == [["Lloyd Austin", "Austin (Texas)"]]


def test_other_countries_cities_phoenix_gives_the_country_are_cities_and_capitals_stay_metonyms(phoenix) -> None:
    text = "Assad's forces shelled Aleppo, and Damascus denied it. Kharkiv and Sevastopol were hit, Kiev said."
    assert _actors(text, phoenix) == [["Bashar Al-Assad", "Aleppo", "Syria"], ["Kharkiv", "Sevastopol", "Ukraine"]]
    assert phoenix.get("Aleppo").type == "region" and phoenix.affiliation("Aleppo") == "Syria"
    assert phoenix.canonical("Halab") == "Aleppo"  # one actor per city, however Phoenix spells it
    assert phoenix.canonical("Damascus") == "Syria"  # the capital stays the government's metonym
    assert phoenix.canonical("Kharkov") == "Kharkiv" and phoenix.affiliation("Kharkiv") == "Ukraine"
    assert phoenix.canonical("Kiev") == "Ukraine"
    # Contested: a place of its own that rolls up to no country.
    assert phoenix.canonical("Sevastopol") == "Sevastopol" and phoenix.affiliation("Sevastopol") == "Sevastopol"


def test_every_generated_city_is_an_alias_phoenix_gives_its_country() -> None:
    import gzip
    import json

    import yaml

    data = Path(__file__).resolve().parent.parent / "data"
    cities = yaml.safe_load((data / "cities.yaml").read_text(encoding="utf-8"))["actors"]
    with gzip.open(data / "phoenix" / "phoenix.jsonl.gz", "rt", encoding="utf-8") as f:
        countries = [r for r in map(json.loads, f) if r["type"] == "country"]
    aliases_of: dict[str, set[str]] = {}
    for r in countries:
        aliases_of.setdefault(r["code"], set()).update(r["aliases"])
    gazetteer = load_gazetteer("phoenix")
    assert len(cities) > 500
    for city in cities:
        code = gazetteer.get(city["affiliation"]).code
        assert gazetteer.get(city["affiliation"]).type == "country", city
        for name in [city["name"], *city.get("aliases", [])]:
            assert name in aliases_of[code], (name, city["affiliation"])
            assert gazetteer.canonical(name) == city["name"]


def test_one_body_is_one_actor_however_the_country_is_spelt(phoenix) -> None:
    sentences = ["The United States Congress passed it.", "US Congress members cheered."]
    listed = [phoenix.actor_mentions(s) for s in sentences]
    spans = [[(4, 26)], []]  # the finder's span for "United States Congress"
    merged, _ = merge_mentions(sentences, listed, spans, phoenix)
    names = {m.actor for row in merged for m in row}
    assert len(names) == 1, names


def test_an_unresolved_name_the_finder_found_is_not_the_dictionary_actor_of_that_name(phoenix) -> None:
    from stance.actors.pairs import article_pairs
    from stance.schema import Article

    sentence = "Trump criticised Georgia."
    article = Article("a", [sentence], date="2024-05-01")
    rows = article_pairs(article, phoenix, 0, [[(17, 24)]], "both")  # the finder's span: "Georgia"
    row = next(r for r in rows if r["target"] == "Georgia")
    # No cue says which Georgia: a found actor of that name, not the country's code, type or roll-up.
    assert (row["target_source"], row["target_code"], row["target_type"]) == ("found", "", "")
    cued = Article("b", [sentence + " Tbilisi protested."], date="2024-05-01")
    row = next(r for r in article_pairs(cued, phoenix, 0, [[(17, 24)]], "both") if r["target"] == "Georgia")
    assert (row["target_code"], row["target_type"]) == ("GEO", "country")
