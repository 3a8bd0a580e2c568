"""Surface forms for the canonical entity names of a SEESAW entity list, by fixed rules (no lookups).

`entity_aliases` gives one entity: the name itself, the name without a leading
"The", parenthesised and initial acronyms, "United States"/"U.S."/"US"
variants and the usual short forms of US government bodies, the forms of the
Republican and Democratic parties, for lower-case noun phrases ("voter") the
other number and a capitalised form, and for people their last name, first
plus last name (around initials) and political titles with the last name
("Sen. Doe"). `article_aliases` gives an article's entities together: an alias
generated for two entities of the same article (last name "Clinton" for Bill
and Hillary Clinton) is dropped for both, as ambiguous, unless it is one
entity's own canonical name, which that entity keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stance.actors.entities import PERSON_TITLES

# The two US parties, by canonical name, with their usual forms.
PARTY_FORMS: dict[str, tuple[str, ...]] = {
    "Republican Party": ("Republican Party", "Republicans", "Republican", "GOP"),
    "Democratic Party": ("Democratic Party", "Democrats", "Democrat", "Democratic"),
}
# Tokens that mark a People entity as a group or body, not one person (no last-name forms).
_GROUP_WORDS = frozenset(
    [
        "Party",
        "Democrats",
        "Republicans",
        "Democrat",
        "Republican",
        "Committee",
        "Department",
        "House",
        "Senate",
        "Congress",
        "Administration",
        "Court",
        "Union",
        "Association",
        "Council",
        "Office",
        "Agency",
        "Board",
        "Caucus",
        "Campaign",
        "Group",
        "Groups",
        "Family",
        "Supporters",
        "Voters",
        "Members",
        "Officials",
        "Leaders",
        "Lawmakers",
        "Senators",
    ]
)
_NAME_SUFFIXES = frozenset({"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"})
_FUNCTION_WORDS = frozenset({"of", "the", "and", "for", "on", "in", "to", "a", "an", "&"})
_INITIAL = re.compile(r"^[A-Z]\.?$")
_US_FORMS = ("United States", "U.S.", "US")
# A United States government body, named without the country ("Department of Justice").
_US_BODY = re.compile(r"^(?:United States|U\.S\.|US) (.+)$")
_OF_US = re.compile(r"^(.+) of the United States$")
_DEPARTMENT = re.compile(r"^Department of (?:the )?(.+)$")
_PAREN_ACRONYM = re.compile(r"^(.*?)\s*\(([A-Z][A-Za-z.&]{1,9})\)$")


def _capitalised(token: str) -> bool:
    return token[:1].isupper()


def _person_tokens(name: str) -> list[str] | None:
    """The name's words if it reads as one person's name ("George W. Bush"), else None."""
    tokens = name.split()
    if not 2 <= len(tokens) <= 5:
        return None
    if any(t in _GROUP_WORDS for t in tokens) or not all(_capitalised(t) for t in tokens):
        return None
    return tokens


def _acronym(name: str) -> str | None:
    """The initials of a name of 3-6 capitalised words (function words skipped), e.g. FBI, ACLU."""
    words = [w for w in re.split(r"[\s-]+", name) if w]
    significant = [w for w in words if w.lower() not in _FUNCTION_WORDS]
    if not 3 <= len(significant) <= 6 or not all(_capitalised(w) and w[0].isalpha() for w in significant):
        return None
    return "".join(w[0] for w in significant)


def _number_variant(phrase: str) -> str:
    """A lower-case noun phrase in the other number: "voter" ↔ "voters" (plural by "s" only)."""
    if phrase.endswith("s") and not phrase.endswith("ss"):
        return phrase[:-1]
    return phrase + "s"


def _us_variants(name: str) -> list[str]:
    """The name with "United States", "U.S." and "US" each replaced by the others."""
    out = []
    for form in _US_FORMS:
        pattern = re.compile(rf"(?<![\w.]){re.escape(form)}(?![\w])")
        if pattern.search(name):
            for other in _US_FORMS:
                if other != form:
                    out.append(pattern.sub(other, name))
    return out


def _us_government_forms(name: str) -> list[str]:
    """Short forms of a US government body: without the country, "House", "Justice Department"."""
    out: list[str] = []
    bodies = []
    match = _US_BODY.match(name) or _OF_US.match(name)
    if match:
        bodies.append(match.group(1))
    elif name.startswith("Department of "):
        bodies.append(name)
    for body in bodies:
        out.append(body)
        department = _DEPARTMENT.match(body)
        if department:
            short = f"{department.group(1)} Department"
            out += [short, f"U.S. {short}", f"US {short}"]
        if body == "House of Representatives":
            out += ["House", "U.S. House"]
        if body in ("Senate", "Congress", "Supreme Court"):
            out += [f"U.S. {body}", f"US {body}"]
    return out


def entity_aliases(name: str, types: Iterable[str] = ()) -> list[str]:
    """Surface forms for one entity of a SEESAW entity list, the name first (deterministic, no lookups)."""
    types = set(types)
    forms: list[str] = [name]
    base = name
    if re.match(r"^[Tt]he\s", name):
        base = name.split(None, 1)[1]
        forms.append(base)
    paren = _PAREN_ACRONYM.match(base)
    if paren:
        base = paren.group(1)
        forms += [base, paren.group(2)]
    if base in PARTY_FORMS:
        forms += PARTY_FORMS[base]
    if base in ("United States", "United States of America"):
        forms += ["United States", "U.S.", "US", "USA", "U.S.A.", "America"]
    forms += _us_variants(base)
    for body in _us_government_forms(base):
        forms.append(body)
        forms += _us_variants(body)
    tokens = None
    if "People" in types and base not in PARTY_FORMS:
        person = base.title() if base == base.lower() else base
        tokens = _person_tokens(person)
    if tokens:
        forms.append(" ".join(tokens))
        while len(tokens) > 2 and tokens[-1].rstrip(",") in _NAME_SUFFIXES:
            tokens = tokens[:-1]
        last = tokens[-1].rstrip(",")
        if len(tokens) > 2 and all(_INITIAL.match(t) for t in tokens[1:-1]):
            forms.append(f"{tokens[0]} {last}")
        forms.append(last)
        forms += [f"{title} {last}" for title in PERSON_TITLES]
    else:
        acronym = _acronym(base)
        if acronym and base not in PARTY_FORMS:
            forms.append(acronym)
    if base == base.lower():  # a common noun phrase ("voter", "gun control"), or a person written in lower case
        if re.fullmatch(r"[a-z][a-z -]*[a-z]", base):
            forms.append(_number_variant(base))
        forms += [f[0].upper() + f[1:] for f in list(forms) if f[:1].islower()]
    return list(dict.fromkeys(f.strip() for f in forms if f.strip()))


def article_aliases(entities: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """Aliases for an article's entities (name, types): a form generated for two entities is dropped for both.

    A form that is one entity's own canonical name stays with that entity only.
    """
    generated = {name: entity_aliases(name, types) for name, types in entities}
    owners: dict[str, set[str]] = {}
    for name, forms in generated.items():
        for form in forms:
            owners.setdefault(form, set()).add(name)
    result: dict[str, list[str]] = {}
    for name, forms in generated.items():
        kept = []
        for form in forms:
            if form in generated and form != name:
                continue  # another entity's canonical name
            if len(owners[form]) > 1 and form not in generated:
                continue  # ambiguous within this article
            kept.append(form)
        result[name] = kept
    return result
