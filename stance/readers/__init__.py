"""Readers: each turns one source format into `Article` objects; nothing downstream knows the format."""

from __future__ import annotations

from typing import Any

from stance.actors.gazetteer import Gazetteer
from stance.errors import Problem, StanceError
from stance.schema import Article

FORMATS = ("articles", "seesaw", "dse")


def read_articles(data_cfg: Any, gazetteer: Gazetteer, skipped: list[Problem] | None = None) -> list[Article]:
    """Read the articles a `data/` config describes (its `format` picks the reader).

    The project's own format is strict: any problem stops the run. External
    corpora (SEESAW, DSE) skip and report a few malformed records, appended to
    `skipped` when given (see `stance.readers.common.tolerate`).
    """
    fmt = data_cfg.format
    if fmt == "articles":
        from stance.readers.articles import load_articles

        return load_articles(list(data_cfg.paths), gazetteer)
    if fmt == "seesaw":
        from stance.readers.seesaw import load_seesaw

        return load_seesaw(data_cfg, skipped)
    if fmt == "dse":
        from stance.readers.dse import load_dse

        return load_dse(data_cfg, skipped)
    if fmt == "mix":
        raise StanceError(
            f"data={data_cfg.name} mixes corpora: it trains (stance-train, stance-build), but evaluation and "
            f"prediction read one corpus at a time: data={' or data='.join(data_cfg.get('parts') or ['<corpus>'])}"
        )
    raise StanceError(f"data.format={fmt!r} is not one of {', '.join(FORMATS)}, mix")
