"""stance: who supports or opposes whom in the news.

The library's surface, loaded on first use (importing torch and transformers
takes seconds, and prediction never loads training code):

- `StanceClassifier` (`stance.predict.classifier`): `from_pretrained`, `save_pretrained`, `predict`;
- `StancePrediction`, `PairPrediction` (`stance.schema`): what it returns;
- `train(cfg) -> dict` (`stance.training.train`): fine-tune a stance model from a composed config.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["PairPrediction", "StanceClassifier", "StancePrediction", "__version__", "train"]

if TYPE_CHECKING:
    from stance.predict.classifier import StanceClassifier
    from stance.schema import PairPrediction, StancePrediction
    from stance.training.train import train

_LAZY = {
    "StanceClassifier": "stance.predict.classifier",
    "StancePrediction": "stance.schema",
    "PairPrediction": "stance.schema",
    "train": "stance.training.train",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
