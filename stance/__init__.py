"""stance: who supports or opposes whom in the news."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["PairPrediction", "StanceClassifier", "StancePrediction", "__version__"]

if TYPE_CHECKING:
    from stance.schema import PairPrediction, StanceClassifier, StancePrediction


def __getattr__(name: str) -> object:
    # Importing torch and transformers takes seconds; only pay for it when the API is used.
    if name == "StanceClassifier":
        from stance.classifier import StanceClassifier

        return StanceClassifier
    if name in ("StancePrediction", "PairPrediction"):
        from stance import schema

        return getattr(schema, name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
