"""What the corpus readers share: config lookups, checking the corpus root, and tolerating a few bad records."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stance.errors import InputFormatError, Problem, StanceError, display_path
from stance.paths import resolve_path

log = logging.getLogger(__name__)
DEFAULT_MAX_BAD_FRACTION = 0.01
SHOWN_IN_LOG = 10


def config_value(data_cfg: Any, key: str, default: Any = None) -> Any:
    """`data_cfg[key]` for a DictConfig, dict or attribute object, or `default` when unset."""
    if isinstance(data_cfg, Mapping) or hasattr(data_cfg, "get"):
        value = data_cfg.get(key, default)
    else:
        value = getattr(data_cfg, key, default)
    return default if value is None else value


def corpus_root(data_cfg: Any, corpus: str, holding: str, subdirs: Sequence[str] = ()) -> Path:
    """`data.root`, resolved and checked to be a directory (with `subdirs`); the error says how to fix it."""
    fix = f"set data.root=/path/to/{corpus.lower()}, the directory holding {holding}"
    raw = config_value(data_cfg, "root")
    if raw is None or str(raw).strip() == "":
        raise StanceError(f"the {corpus} reader needs data.root: {fix}")
    root = resolve_path(str(raw))
    if not root.is_dir():
        state = "is not a directory" if root.exists() else "does not exist"
        raise StanceError(f"{corpus} data root {display_path(root)} {state} (data.root={raw}); {fix}")
    for sub in subdirs:
        if not (root / sub).is_dir():
            raise StanceError(f"{corpus} data root {display_path(root)} has no {sub}/ directory; {fix}")
    return root


def tolerate(
    corpus: str, problems: Sequence[Problem], records: int, data_cfg: Any, skipped: list[Problem] | None = None
) -> None:
    """Skip and report the malformed records of an external corpus; fail only when there are too many.

    A published corpus is read as published: a few broken records are skipped,
    counted and named (`file:line`, the first ones in the log, every one in
    `skipped` for the caller to save), and the run goes on. More than
    `data.max_bad_fraction` of the records bad means the wrong files or the
    wrong reader, and stops the run with every problem listed.
    """
    if not problems:
        return
    bad = len({(p.file, p.line, p.article) for p in problems})
    limit = float(config_value(data_cfg, "max_bad_fraction", DEFAULT_MAX_BAD_FRACTION))
    share = bad / max(records, 1)
    if share > limit:
        raise InputFormatError(
            list(problems),
            f"{corpus}: {bad} of {records} records are malformed ({share:.1%}), more than "
            f"data.max_bad_fraction={limit:g}; check data.root and the files, or raise data.max_bad_fraction",
        )
    shown = "\n".join(f"  {p}" for p in problems[:SHOWN_IN_LOG])
    more = f"\n  ... and {len(problems) - SHOWN_IN_LOG} more" if len(problems) > SHOWN_IN_LOG else ""
    log.warning(
        "%s: skipped %d malformed records of %d (%.2f%%, within data.max_bad_fraction=%g):\n%s%s",
        corpus,
        bad,
        records,
        100 * share,
        limit,
        shown,
        more,
    )
    if skipped is not None:
        skipped.extend(problems)
