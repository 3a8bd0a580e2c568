"""Choosing among mentions: the distinct actors they name, and the two mentions to mark for an actor pair."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stance.actors.actor import Mention


def mentioned_actors(mentions: Iterable[Mention]) -> list[str]:
    """The distinct actors of `mentions`, in order of first mention."""
    return list(dict.fromkeys(m.actor for m in mentions))


def pair_mentions(mentions: Sequence[Mention], actor: str, target: str) -> tuple[Mention | None, Mention | None]:
    """The mentions to mark for the pair (actor, target): the closest two, one of each.

    A stance is usually expressed between nearby mentions ("Chinese cars …, a
    move Beijing condemned": Beijing, not "Chinese", is the one that acts), so
    when an actor is named more than once the mention nearest the other actor
    is marked. An actor with a span the source marked itself keeps it. Ties go
    to the earlier mention; an actor with no mention gets None.
    """
    a_all, t_all = _candidates(mentions, actor), _candidates(mentions, target)
    if not a_all or not t_all:
        return (a_all[0] if a_all else None), (t_all[0] if t_all else None)
    return min(((a, t) for a in a_all for t in t_all), key=_apart)


def _apart(pair: tuple[Mention, Mention]) -> tuple[bool, int, int, int]:
    """Sort key of a candidate pair of mentions: overlapping last, then nearest first, then earliest."""
    a, t = pair
    gap = max(a.start, t.start) - min(a.end, t.end)
    return gap < 0, max(gap, 0), a.start, t.start


def _candidates(mentions: Sequence[Mention], actor: str) -> list[Mention]:
    """The actor's mentions to choose from: the source's own span if it has one, else all."""
    own = [m for m in mentions if m.actor == actor]
    given = [m for m in own if m.given]
    return given[:1] or own
