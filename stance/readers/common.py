"""What the corpus readers share: config lookups and checking the corpus root."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stance.errors import StanceError, display_path
from stance.paths import resolve_path


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
