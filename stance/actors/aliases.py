"""Alias tables: aliases indexed by their first token, each with the case rule it must match under.

`Gazetteer.find` walks a text token by token and tries the alias lengths
indexed under each token, longest first, on word boundaries.
"""

from __future__ import annotations

import re

# An alias ends where a word ends. An apostrophe may follow only as a possessive
# ("China's", "US'"), so "Xi'an" is not Xi Jinping.
WORD_END = r"(?=['’]s(?!\w)|['’](?!\w)|[^\w'’]|$)"
END = re.compile(r"['’]s(?!\w)|['’](?!\w)|[^\w'’]|$")
TOKEN = re.compile(r"\w+|[^\w\s]")
_US_LEAD = re.compile(r"^(?:the\s+)?(?:u\.?\s?s\.?(?:\s?a\.?)?|united\s+states(?:\s+of\s+america)?)\s+(?=\w)", re.I)


def same_name_key(form: str) -> str:
    """What two names of one body share: the form up to case, the country's name before it spelt one way."""
    return _US_LEAD.sub("united states ", form.casefold())


# How an alias's case must look in the text. YAML aliases match exactly.
EXACT, ANY_CASE, NOT_LOWER, UPPER = -1, 0, 1, 2


class Layer:
    """One table of aliases: exact (case-sensitive) and folded (with a case rule), indexed by first token."""

    __slots__ = ("exact", "folded", "lengths")

    def __init__(self) -> None:
        self.exact: dict[str, str | None] = {}
        self.folded: dict[str, tuple[str | None, int]] = {}
        self.lengths: dict[str, tuple[int, ...]] = {}

    def add(self, alias: str, actor: str | None, rule: int = EXACT, override: bool = False) -> None:
        """Index `alias` for `actor` (None: a phrase to ignore); the first owner wins unless `override`."""
        alias = " ".join(alias.split())
        tokens = TOKEN.findall(alias)
        if not tokens:
            return
        if rule == EXACT:
            if override or alias not in self.exact:
                self.exact[alias] = actor
        else:
            key = alias.casefold()
            if override or key not in self.folded:
                self.folded[key] = (actor, rule)
        first, n = tokens[0].casefold(), len(tokens)
        have = self.lengths.get(first, ())
        if n not in have:
            self.lengths[first] = tuple(sorted((*have, n), reverse=True))

    def lookup(self, span: str) -> tuple[bool, str | None]:
        """(found, actor) for a text span, applying the case rule of a folded alias."""
        if span in self.exact:
            return True, self.exact[span]
        hit = self.folded.get(span.casefold())
        if hit is None:
            return False, None
        actor, rule = hit
        if rule == NOT_LOWER and span.islower():
            return False, None
        if rule == UPPER and not span.isupper():
            return False, None
        return True, actor


def is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"
