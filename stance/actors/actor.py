"""An actor of the gazetteer, the CAMEO roles it held by date, and a mention of one in a text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """A CAMEO code an actor held from `start` to `end` (ISO dates, inclusive; None = open)."""

    code: str
    start: str | None = None
    end: str | None = None

    def holds(self, day: str) -> bool:
        """Whether the role is in force on `day` (ISO YYYY-MM-DD)."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Actor:
    """A canonical actor."""

    name: str
    type: str
    aliases: tuple[str, ...]
    affiliation: str | None = None
    code: str | None = None  # CAMEO code (USA, IGOUNO, COP for an agent)
    roles: tuple[Role, ...] = ()
    source: str = "gazetteer"  # "gazetteer" (a YAML file) or "phoenix"


@dataclass(frozen=True)
class Mention:
    """One mention of an actor in a text: the character span [start, end) and the canonical name."""

    actor: str
    start: int
    end: int
    text: str
    given: bool = False  # a span the source marked itself (it wins over the matcher's)
