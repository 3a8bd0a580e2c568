"""The paired sampler (`train.sampling=paired`): both directions of a pair in the same batch."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from datasets import Dataset

from stance.errors import StanceError


def pair_groups(dataset: Dataset) -> list[int]:
    """A group id per example: the two directions of a pair in a sentence share one."""
    ids: dict[tuple[str, int, frozenset[str]], int] = {}
    return [
        ids.setdefault((a, int(i), frozenset((x, y))), len(ids))
        for a, i, x, y in zip(
            dataset["article_id"], dataset["sentence_index"], dataset["actor"], dataset["target"], strict=True
        )
    ]


class PairedSampler(torch.utils.data.Sampler[int]):
    """Shuffles pairs, not examples: both directions of a pair come one after the other, so in the same batch.

    Seeing "A criticised B" as A → B oppose and B → A neutral side by side
    teaches direction. The order is reshuffled every epoch from the seed and
    the epoch number alone. Groups of one (a pair seen in one direction only)
    are placed two by two, so that every pair starts at an even position: with
    an even batch size no pair is ever cut by the end of a batch. With
    `lengths`, pairs of similar length are brought together within megabatches
    of 50 batches, as transformers' LengthGroupedSampler does, so that less
    compute goes to padding.

    Under DDP (torchrun, accelerate launch) every process builds the same
    order, the whole epoch, from the shared seed and the epoch number that
    Trainer sets (`set_epoch`); accelerate's `BatchSamplerShard` then deals
    the batches round-robin, batch k to process k mod N. So an optimiser step
    sees the N×batch_size consecutive examples that one process with the global
    batch would, with an even batch_size a pair stays within one process's
    batch, and this class does not shard itself. `batch_size` here is that
    global batch (it sizes the megabatches).
    """

    def __init__(
        self,
        groups: list[int],
        seed: int,
        lengths: list[int] | None = None,
        batch_size: int = 32,
        draws: list[float] | None = None,
    ) -> None:
        members: dict[int, list[int]] = {}
        for index, group in enumerate(groups):
            members.setdefault(group, []).append(index)
        self.members = list(members.values())
        self.size = [max(lengths[i] for i in m) for m in self.members] if lengths is not None else None
        self.megabatch = 50 * batch_size
        self.seed = seed
        self.epoch = 0
        # With `draws` (per example; a group takes its first member's), a group is drawn floor(w) times
        # per epoch plus once more with probability frac(w): a mix's per-corpus sampling weights.
        self.draws = [float(draws[m[0]]) for m in self.members] if draws is not None else None
        self.n = (
            len(groups)
            if draws is None
            else round(sum(w * len(m) for w, m in zip(self.draws, self.members, strict=True)))
        )
        if self.n == 0 and groups:
            raise StanceError("every sampling weight is 0: nothing to train on")

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration gives (Trainer calls it before each epoch, resuming too)."""
        self.epoch = epoch

    def _drawn(self, generator: torch.Generator) -> list[int]:
        """This epoch's groups, in random order, each as often as its weight says."""
        order = torch.randperm(len(self.members), generator=generator).tolist()
        if self.draws is None:
            return order
        chance = torch.rand(len(self.members), generator=generator).tolist()
        drawn = [g for g in order for _ in range(int(self.draws[g]) + (chance[g] < self.draws[g] % 1))]
        return [drawn[i] for i in torch.randperm(len(drawn), generator=generator).tolist()]

    def _even_starts(self, order: list[int]) -> list[int]:
        """`order` with odd-sized groups two by two (each held back until the next), so every group starts even."""
        out: list[int] = []
        held: int | None = None
        for g in order:
            if len(self.members[g]) % 2 == 0:
                out.append(g)
            elif held is None:
                held = g
            else:
                out += [held, g]
                held = None
        return out if held is None else [*out, held]

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1  # iterated again without set_epoch (outside Trainer), the next epoch's order
        order = self._drawn(generator)
        if self.size is not None:
            chunks, chunk, count = [], [], 0
            for g in order:
                chunk.append(g)
                count += len(self.members[g])
                if count >= self.megabatch:
                    chunks.append(chunk)
                    chunk, count = [], 0
            chunks.append(chunk)
            order = [g for c in chunks for g in sorted(c, key=lambda g: -self.size[g])]
        if self.draws is not None and order:
            # Random draws vary a little in size: whole groups from the start again until the epoch is len(self).
            total, drawn = sum(len(self.members[g]) for g in order), len(order)
            while total < self.n:
                order.append(order[(len(order) - drawn) % drawn])
                total += len(self.members[order[-1]])
        indices = [i for g in self._even_starts(order) for i in self.members[g]]
        yield from indices[: self.n]
