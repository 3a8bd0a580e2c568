"""The stance loss: cross entropy weighted by class (`train.class_weights`) and by mention order
(`train.order_weights`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch

from stance.actors.pairs import ORDERS, mention_order
from stance.decision import NEUTRAL
from stance.schema import STANCES

LOSS_WEIGHT = "loss_weight"  # the column `train.order_weights` adds: each training example's loss weight


def class_weights(labels: list[int], mode: str, draws: list[float] | None = None) -> torch.Tensor | None:
    """Inverse-frequency weights (`balanced`, as scikit-learn defines it) or None.

    `draws` gives how often each example is drawn per epoch (a mix's sampling
    weights): the classes are balanced as the model sees them, not as stored.
    """
    if mode == "none":  # the choices are checked when the config is composed (stance.settings)
        return None
    counts: Counter[int] = Counter()
    for i, label in enumerate(labels):
        counts[label] += draws[i] if draws is not None else 1.0
    n, k = sum(counts.values()), len(STANCES)
    return torch.tensor([n / (k * counts[i]) if counts[i] else 1.0 for i in range(k)], dtype=torch.float)


def order_weights(labels: Sequence[int], actor_starts: Sequence[int], target_starts: Sequence[int]) -> list[float]:
    """Per-example loss weights by mention order (`train.order_weights=balanced`).

    Within each polar class, the examples whose actor is named after the target
    weigh as much in total as those whose actor is named first, and the class
    keeps its total weight. Neutral examples and those without both ends marked
    weigh 1. Without it, "A criticised B" teaches mostly that the first-named
    entity is the one who acts.
    """
    orders = [mention_order(a, t) for a, t in zip(actor_starts, target_starts, strict=True)]
    named = ORDERS[:2]
    counts = Counter((label, order) for label, order in zip(labels, orders, strict=True) if order in named)
    weights = []
    for label, order in zip(labels, orders, strict=True):
        both = counts[(label, named[0])] + counts[(label, named[1])]
        balanced = label != NEUTRAL and order in named and all(counts[(label, o)] for o in named)
        weights.append(both / (2 * counts[(label, order)]) if balanced else 1.0)
    return weights


def stance_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor | None,
    example_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross entropy weighted by class (`train.class_weights`) and, when given, by example (`train.order_weights`).

    The weighted mean: Σ w·ce / Σ w, which is PyTorch's class-weighted cross entropy when every example weighs 1.
    """
    w = weights.to(logits.device, logits.dtype) if weights is not None else None
    if example_weights is None:
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), weight=w)
    per = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), reduction="none")
    scale = example_weights.to(logits.device, logits.dtype).view(-1)
    if w is not None:
        scale = scale * w[labels.view(-1)]
    return (per * scale).sum() / scale.sum()
