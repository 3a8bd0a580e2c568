"""Gazetteer detection: aliases, possessives, word boundaries, overlaps, Unicode, and file checks."""

from __future__ import annotations

import itertools

import pytest

from stance.actors.actor import Mention
from stance.actors.choice import pair_mentions
from stance.actors.gazetteer import Gazetteer
from stance.errors import InputFormatError


def spans(g: Gazetteer, text: str) -> list[tuple[str, str]]:
    return [(m.actor, text[m.start : m.end]) for m in g.find(text)]


@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("The U.S. said so.", "United States"),
        ("US officials said so.", "United States"),
        ("Washington said so.", "United States"),
        ("An American official said so.", "United States"),
        ("Pyongyang said so.", "North Korea"),
        ("A North Korean envoy said so.", "North Korea"),
        ("Beijing said so.", "China"),
        ("The Chinese side said so.", "China"),
        ("Patal said so.", "Vedant Patel"),
        ("The State Department said so.", "US State Department"),
    ],
)
def test_aliases_and_demonyms_map_to_canonical_actor(gazetteer: Gazetteer, text: str, actor: str) -> None:
    assert [a for a, _ in spans(gazetteer, text)] == [actor]


def test_possessives_keep_span_on_the_name(gazetteer: Gazetteer) -> None:
    text = "China's envoy, the US' plan and the U.S.’s allies"
    assert spans(gazetteer, text) == [("China", "China"), ("United States", "US"), ("United States", "U.S.")]


@pytest.mark.parametrize(
    "text", ["Plug in the USB cable.", "UNESCO met.", "Unity matters.", "The Xi'an museum.", "Chinatown"]
)
def test_no_hits_inside_other_words(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.find(text) == []


def test_longest_match_wins_and_mentions_do_not_overlap(gazetteer: Gazetteer) -> None:
    text = "The UN Security Council and the UN met; North Korea and South Korea too."
    assert spans(gazetteer, text) == [
        ("UN Security Council", "UN Security Council"),
        ("United Nations", "UN"),
        ("North Korea", "North Korea"),
        ("South Korea", "South Korea"),
    ]
    found = gazetteer.find(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_spans_index_the_original_text(gazetteer: Gazetteer) -> None:
    text = "Yesterday, Putin met Kim Jong-un in Pyongyang."
    for m in gazetteer.find(text):
        assert text[m.start : m.end] == m.text
    assert [m.actor for m in gazetteer.find(text)] == ["Vladimir Putin", "Kim Jong-un", "North Korea"]


def test_unicode_aliases_and_curly_apostrophes(gazetteer: Gazetteer) -> None:
    text = "Erdoğan spoke for Türkiye; Russia’s reply came from Moscow."
    assert [a for a, _ in spans(gazetteer, text)] == ["Recep Tayyip Erdogan", "Turkey", "Russia", "Russia"]


def test_ignored_phrases_are_not_actors(gazetteer: Gazetteer) -> None:
    assert spans(gazetteer, "The Washington Post reported it.") == []
    assert spans(gazetteer, "Washington reported it.") == [("United States", "Washington")]


def test_affiliation_rolls_persons_and_bodies_up_to_their_country(gazetteer: Gazetteer) -> None:
    assert gazetteer.affiliation("Vedant Patel") == "United States"
    assert gazetteer.affiliation("Xi Jinping") == "China"
    assert gazetteer.affiliation("US State Department") == "United States"
    assert gazetteer.affiliation("China") == "China"


def test_an_actor_is_added_by_editing_the_file(tmp_path) -> None:
    path = tmp_path / "actors.yaml"
    path.write_text(
        "actors:\n"
        "  - {name: Freedonia, type: country, aliases: [Freedonia, Freedonian]}\n"
        "  - {name: Rufus T. Firefly, type: person, affiliation: Freedonia, aliases: [Firefly]}\n",
        encoding="utf-8",
    )
    g = Gazetteer.from_yaml(path)
    assert [m.actor for m in g.find("Firefly spoke for the Freedonian people.")] == ["Rufus T. Firefly", "Freedonia"]
    assert g.affiliation("Rufus T. Firefly") == "Freedonia"


def test_broken_gazetteer_names_every_problem(tmp_path) -> None:
    path = tmp_path / "actors.yaml"
    path.write_text(
        "actors:\n"
        "  - {name: A, type: planet, aliases: [A]}\n"
        "  - {name: B, type: country, affiliation: Nowhere, aliases: [A]}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFormatError) as info:
        Gazetteer.from_yaml(path)
    text = str(info.value)
    assert "type 'planet'" in text
    assert "alias 'A' belongs to both 'A' and 'B'" in text
    assert "affiliation 'Nowhere'" in text
    assert str(path.name) in text


def test_article_local_aliases_extend_detection(gazetteer: Gazetteer) -> None:
    local = gazetteer.with_aliases({"Barack Obama": ["Mr. Obama", "Obama"], "China": ["the mainland"]})
    text = "Mr. Obama said the mainland and China agreed."
    assert [m.actor for m in local.find(text)] == ["Barack Obama", "China", "China"]
    assert "Barack Obama" not in gazetteer


def test_the_nearest_mentions_of_a_pair_are_the_ones_marked(gazetteer: Gazetteer) -> None:
    text = "Chinese carmakers face new tariffs from Washington, a move Beijing condemned."
    actor, target = pair_mentions(gazetteer.find(text), "China", "United States")
    assert (actor.text, target.text) == ("Beijing", "Washington")
    # The reverse direction marks the same two mentions.
    actor, target = pair_mentions(gazetteer.find(text), "United States", "China")
    assert (actor.text, target.text) == ("Washington", "Beijing")


def test_pair_mentions_ties_absent_actors_and_source_spans(gazetteer: Gazetteer) -> None:
    text = "China and Russia met; Russia and China agreed."
    mentions = gazetteer.find(text)
    # Two pairs equally close: the earlier one.
    actor, target = pair_mentions(mentions, "China", "Russia")
    assert (actor.start, target.start) == (0, text.index("Russia"))
    # An actor not in the sentence: the other's first mention, and None.
    actor, target = pair_mentions(mentions, "China", "Japan")
    assert actor.start == 0 and target is None
    # A span the source marked itself wins over nearer matches.
    own = Mention("China", text.rindex("China"), text.rindex("China") + 5, "China", given=True)
    actor, target = pair_mentions([own, *mentions], "China", "Russia")
    assert actor is own and target.start == text.rindex("Russia")
