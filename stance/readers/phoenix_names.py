"""Phoenix dictionary phrases in natural text: display case, acronyms in names, and PETRARCH's plurals.

The dictionaries write phrases in capitals with underscores ("MR._OBAMA_");
these rules turn them into the names and aliases the gazetteer shows and
matches, without reading any file.
"""

from __future__ import annotations

import re

# Words kept in lower case inside a display name ("United States of America").
_PARTICLES = frozenset(
    [
        "of",
        "the",
        "and",
        "for",
        "in",
        "on",
        "at",
        "to",
        "de",
        "du",
        "da",
        "del",
        "la",
        "le",
        "von",
        "van",
        "der",
        "den",
        "bin",
        "al",
        "y",
    ]
)
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?\.?$")  # U.S., U.N., U.S.A.


def display_phrase(phrase: str, acronyms: bool = False) -> str:
    """A dictionary phrase in natural text and display case: "MR._OBAMA_" → "Mr. Obama".

    With `acronyms`, a one-word phrase of up to four letters stays in capitals
    (organisation names such as NATO, IAEA).
    """
    words = [w for w in re.split(r"[_ ]+", phrase.strip().strip("_")) if w]
    if acronyms and len(words) == 1 and words[0].isalpha() and len(words[0]) <= 4:
        return words[0].upper()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if _DOTTED.match(word):
            out.append(word.upper())
        elif i > 0 and lower in _PARTICLES:
            out.append(lower)
        else:
            # Capitals after a hyphen, slash or bracket, not after an apostrophe ("People's").
            out.append(re.sub(r"(^|[-/(])([a-z])", lambda m: m.group(1) + m.group(2).upper(), lower))
    return " ".join(out)


# Words that are acronyms inside a multi-word Phoenix name, shown in capitals (not "Us Secretary of State").
NAME_ACRONYMS = frozenset(
    [
        "us",
        "usa",
        "uk",
        "un",
        "eu",
        "nato",
        "fbi",
        "cia",
        "nsa",
        "dhs",
        "doj",
        "epa",
        "imf",
        "wto",
        "opec",
        "asean",
        "iaea",
        "gop",
        "ussr",
        "prc",
        "dprk",
        "idf",
        "plo",
    ]
)


# Nouns that follow an acronym in an institution's name ("UN Envoy", "US Army"), never a person's second name.
_OFFICE_NOUNS = frozenset(
    [
        "envoy",
        "ambassador",
        "secretary",
        "army",
        "navy",
        "military",
        "government",
        "president",
        "senate",
        "congress",
        "troops",
        "forces",
        "mission",
        "bodies",
        "council",
        "official",
        "officials",
        "embassy",
        "delegation",
        "diplomat",
        "diplomats",
        "representative",
        "court",
    ]
)


def name_case(name: str) -> str:
    """A display name with its acronym words in capitals: "The Us Secretary of State" → "The US Secretary of State".

    Only where the word cannot be part of a person's name ("Kang Chang Uk", "Chi Un Hui" stay): after "the" or
    "of", or first in a name of three or more words, or first before an office noun ("UN Envoy").
    """
    words = name.split(" ")
    out = []
    for i, word in enumerate(words):
        institution = (
            (i > 0 and words[i - 1].lower() in ("the", "of"))
            or (i == 0 and len(words) >= 3)
            or (i == 0 and len(words) == 2 and words[1].lower() in _OFFICE_NOUNS)
        )
        out.append(word.upper() if institution and word.lower() in NAME_ACRONYMS else word)
    return " ".join(out)


def plural(phrase: str) -> str:
    """The regular plural of a phrase's last word, as PETRARCH forms it (protester → protesters)."""
    head, _, last = phrase.rpartition(" ")
    low = last.lower()
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif low.endswith(("s", "x", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}" if head else last
