"""Training on several processes (DDP): how the paired sampler's batches are dealt, and `stance-train` under torchrun."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from accelerate.data_loader import prepare_data_loader
from helpers import TINY, train_config
from safetensors.torch import load_file
from transformers import TrainingArguments

from stance.training.sampler import PairedSampler

ROOT = Path(__file__).resolve().parent.parent


def _scattered_groups(pairs: int, singles: int, seed: int = 0) -> list[int]:
    """Group ids of a dataset: `pairs` groups of two directions and `singles` of one, rows in random order."""
    groups = [g for g in range(pairs) for _ in range(2)] + list(range(pairs, pairs + singles))
    random.Random(seed).shuffle(groups)
    return groups


def _ranks(sampler_args: dict, n_proc: int, batch_size: int, epoch: int, tmp_path: Path) -> list[list[list[int]]]:
    """Each process's batches of one epoch, dealt as Trainer has accelerate deal them (its own default config)."""
    config = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[]).accelerator_config
    # The dealing this test relies on: whole batches round-robin, topped up at the end, each process iterating.
    assert (config.split_batches, config.even_batches, config.dispatch_batches) == (False, True, None)
    out = []
    for rank in range(n_proc):
        # Each process builds its own sampler, with the global batch, as StanceTrainer._get_train_sampler does.
        sampler = PairedSampler(**sampler_args, batch_size=batch_size * n_proc)
        loader = torch.utils.data.DataLoader(
            list(range(len(sampler_args["groups"]))), batch_size=batch_size, sampler=sampler, collate_fn=list
        )
        loader = prepare_data_loader(
            loader,
            num_processes=n_proc,
            process_index=rank,
            put_on_device=False,
            split_batches=config.split_batches,
            even_batches=config.even_batches,
            dispatch_batches=config.dispatch_batches,
            use_seedable_sampler=config.use_seedable_sampler,
        )
        loader.set_epoch(epoch)  # what Trainer calls before each epoch; it reaches the sampler through accelerate
        out.append(list(loader))
    return out


@pytest.mark.parametrize("weighted", [False, True], ids=["paired", "paired-with-draws"])
def test_ranks_share_the_one_process_order_with_pairs_whole(weighted: bool, tmp_path: Path) -> None:
    groups = _scattered_groups(pairs=30, singles=7)
    rng = random.Random(1)
    lengths = [rng.randint(5, 60) for _ in groups]
    draws = [rng.choice([0.5, 1.0, 2.0]) for _ in groups] if weighted else None
    # `draws` are read from a group's first member: give both directions the same weight.
    if draws is not None:
        first = {}
        draws = [first.setdefault(g, w) for g, w in zip(groups, draws, strict=True)]
    args = {"groups": groups, "seed": 7, "lengths": lengths, "draws": draws}
    size = {g: groups.count(g) for g in groups}
    n_proc, batch = 2, 4
    global_batch = n_proc * batch
    orders = []
    for epoch in (0, 1):
        ranks = _ranks(args, n_proc, batch, epoch, tmp_path)
        one = PairedSampler(**args, batch_size=global_batch)
        one.set_epoch(epoch)
        order = list(one)
        orders.append(order)
        n = len(order)
        # Equal, full batches on every process (else DDP waits forever on the process with one batch more).
        assert len(ranks[0]) == len(ranks[1]) == -(-n // global_batch)
        assert all(len(b) == batch for r in ranks for b in r)
        # Step s takes batch s of each process: together, the one-process order's next global batch.
        dealt = [i for step in zip(*ranks, strict=True) for b in step for i in b]
        assert dealt[:n] == order
        # The padding: the last step is topped up with the epoch's first examples (accelerate's even_batches).
        assert dealt[n:] == order[: len(dealt) - n] and len(dealt) - n < global_batch
        if not weighted:  # each example once an epoch, on one process (padding aside)
            shares = [{dealt[p] for p in range(n) if p % global_batch // batch == r} for r in range(n_proc)]
            assert not shares[0] & shares[1] and shares[0] | shares[1] == set(range(len(groups)))
        # A pair starts at an even position of a batch, its other direction right after it: same process, adjacent.
        # (The epoch's last step is left out: it can hold padding, or with draws the end of a cut group.)
        for r in ranks:
            for b in r[:-1]:
                for k in range(0, batch, 2):
                    if size[groups[b[k]]] == 2:
                        assert groups[b[k + 1]] == groups[b[k]] and b[k + 1] != b[k], (b, k)
                    else:
                        assert size[groups[b[k + 1]]] == 1, (b, k)  # groups of one come two by two
    assert orders[0] != orders[1]  # reshuffled each epoch, the same way on every process


def test_the_order_is_a_function_of_seed_and_epoch_alone() -> None:
    groups = _scattered_groups(pairs=20, singles=5)
    walked = PairedSampler(groups, seed=3, batch_size=8)
    epochs = [list(walked) for _ in range(3)]  # outside Trainer, each iteration is the next epoch
    resumed = PairedSampler(groups, seed=3, batch_size=8)
    resumed.set_epoch(2)  # what Trainer does when it resumes in epoch 2
    assert list(resumed) == epochs[2]
    assert len({tuple(e) for e in epochs}) == 3


def test_the_trainer_sizes_megabatches_by_the_global_batch() -> None:
    from stance.training.trainer import StanceTrainer

    # Every process lays out the whole epoch, so 50 batches of it are 50 global batches (3 processes × 4).
    stub = SimpleNamespace(
        groups=[0, 0, 1],
        draws=None,
        length_grouped=True,
        train_dataset={"input_ids": [[1], [1, 2], [3]]},
        args=SimpleNamespace(seed=1, train_batch_size=4, world_size=3),
    )
    assert StanceTrainer._get_train_sampler(stub).megabatch == 50 * 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _numbers(tree: object, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a metrics tree, by path."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _numbers(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree) for k, v in _numbers(sub, f"{prefix}/{i}").items()}
    return {prefix: float(tree)} if isinstance(tree, int | float) and not isinstance(tree, bool) else {}


def test_torchrun_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    from stance.training.train import train

    # The seed articles, one of them as validation: the split that is scored and chooses the checkpoint.
    data = tmp_path / "data"
    data.mkdir()
    article = json.loads((ROOT / "data" / "articles" / "seed_000.json").read_text(encoding="utf-8"))
    (data / "validation.json").write_text(json.dumps({**article, "split": "validation"}), encoding="utf-8")
    (data / "train.json").write_text((ROOT / "data" / "articles" / "seed_004.json").read_text(encoding="utf-8"))
    # Paired sampling and balanced class weights (the default): the two things DDP could get wrong here.
    # Dropout off: each process draws its masks from the same seed, so masks differ from one process's.
    same = [
        "train.epochs=2",
        "train.sampling=paired",
        "train.logging_steps=1",
        "train.precision=fp32",  # bf16 (auto on a bf16 CPU) rounds the two paths apart
        "model.max_length=64",
        f"data.paths=[{data}]",
        "+model.init.hidden_dropout_prob=0",
        "+model.init.attention_probs_dropout_prob=0",
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each torchrun process (OMP_NUM_THREADS=1); and 2 threads crawl on busy cores
    try:
        one = train(train_config(tmp_path / "one", *same, "train.batch_size=108"))
    finally:
        torch.set_num_threads(threads)
    # 324 training examples = 3 global batches of 108 an epoch: no step is topped up with repeats.
    assert one["examples"]["train"]["total"] % 108 == 0, "the seed data changed: pick a batch that divides it"

    two = tmp_path / "two"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "--no-python",
        str(Path(sys.executable).parent / "stance-train"),
        *TINY,
        *same,
        "train.batch_size=54",
        f"output_dir={two / 'model'}",
        f"work_dir={two / 'checkpoints'}",
        f"hydra.run.dir={two / 'hydra'}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]

    # One process wrote the folder, whole; the other waited for it (both exited 0 after the barrier).
    assert log.count("[stance.training.saving][INFO] - model saved to") == 1, log[-3000:]
    assert log.count("trained on cpu") == 2  # two processes trained
    assert sorted(p.name for p in two.iterdir()) == ["checkpoints", "hydra", "model"]  # no staging left behind
    folder = two / "model"
    assert {"model.safetensors", "metrics.json", "config.json"} <= {p.name for p in folder.iterdir()}
    assert not (folder / ".incomplete").exists()
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))

    # Tolerance: the two runs differ only in the order of float32 sums (DDP's all-reduce of two gradients
    # against one backward over the global batch; thread counts), about 1e-7 per step; 6 Adam steps here left
    # the weights within 2e-7. A wrong split of the data or of the loss moves them by 1e-3 (measured when the
    # per-process class-weighted means were averaged as they are, and when a step was topped up with repeats).
    assert len(metrics["loss_history"]) == len(one["loss_history"]) == 6  # 6 global steps, not 12 half ones
    assert metrics["loss_history"] == pytest.approx(one["loss_history"], rel=1e-5)
    for key in ("validation", "decision", "epoch_scores"):
        assert _numbers(metrics[key]) == pytest.approx(_numbers(one[key]), rel=1e-5, abs=1e-6), key
    ours, theirs = load_file(folder / "model.safetensors"), load_file(tmp_path / "one" / "model" / "model.safetensors")
    assert max((ours[k] - theirs[k]).abs().max().item() for k in theirs) < 1e-5
