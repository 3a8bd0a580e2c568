"""Fast scoring of encoded inputs: length-sorted batches, and the numeric precision they run at.

`Scorer` runs a stance model over already-encoded inputs (`encode_batch`'s
output) in batches of similar length, so little time goes to padding, and
returns probabilities in the original order. It runs at one precision:

* `fp32`: the model as trained;
* `bf16`: bfloat16 (CPU: the weights cast to bf16, fast with AVX512-BF16 or AMX; CUDA: autocast,
  when supported);
* `fp16`: autocast to float16 (CUDA only);
* `int8`: dynamic int8 quantization of every `nn.Linear` (CPU only);
* `auto`: on CUDA bf16 where supported, else fp16; on CPU the fastest of
  fp32, bf16 (when the CPU has it) and int8 whose labels and probabilities
  agree with fp32 on the first inputs it is given (`AutoPolicy`), logged.
"""

from __future__ import annotations

import copy
import itertools
import logging
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stance.errors import StanceError
from stance.progress import progress

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
_HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> str:
    """`precision` if it is valid on `device`, else a StanceError saying what is."""
    if precision not in PRECISIONS:
        raise StanceError(f"precision={precision!r} is not one of {', '.join(PRECISIONS)}")
    if device.type == "cuda" and precision == "int8":
        raise StanceError("precision=int8 runs on the CPU only (use device=cpu, or precision=auto|bf16|fp16 on CUDA)")
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise StanceError("precision=bf16: this GPU does not support bfloat16 (use precision=fp16 or auto)")
    if device.type == "cpu" and precision == "fp16":
        raise StanceError("precision=fp16 is a GPU path; on the CPU use precision=auto|fp32|bf16|int8")
    return precision


def fixed_precision(precision: str, device: torch.device) -> str:
    """`precision` with `auto` settled without measuring: the half type CUDA supports, native bf16 on a CPU
    that has it, else fp32. For a model that is not checked against fp32 on its inputs (the mention finder)."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_bf16() else "fp32"


def runner_at(model: torch.nn.Module, precision: str, device: torch.device, inplace: bool) -> torch.nn.Module:
    """The module that runs `model` at `precision`: int8 dynamic quantization or bf16 weights on a CPU, else itself.

    `inplace` converts `model` itself (its fp32 weights are not needed again); otherwise a copy.
    """
    if precision == "int8":
        with warnings.catch_warnings():  # torch announces a future API move; the path works as is
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8, inplace=inplace
            )
        return quantized.eval()
    if precision == "bf16" and device.type == "cpu":
        # bf16 weights, not autocast: on a CPU autocast re-casts every weight on every call
        # (measured: 460 vs 374 pairs/s for MiniLM-L6 on 2 AMX cores).
        return (model if inplace else copy.deepcopy(model)).to(torch.bfloat16)
    return model


def logits_at(runner: torch.nn.Module, precision: str, device: torch.device, batch: Mapping[str, Any]) -> torch.Tensor:
    """`runner`'s fp32 logits on a padded batch: under autocast for a half precision on CUDA."""
    if precision in _HALF and device.type == "cuda":
        with torch.autocast(device_type=device.type, dtype=_HALF[precision]):
            return runner(**batch).logits.float()
    return runner(**batch).logits.float()


def set_threads(threads: int | None) -> None:
    """Set torch's intra-op CPU threads (process-wide); None leaves torch's default."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise StanceError(f"threads={threads!r}: give a positive number of CPU threads, or leave it unset")
    torch.set_num_threads(threads)


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX); without it bf16 is emulated and slow."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def cpu_features() -> dict[str, bool]:
    """The CPU features that decide which paths are fast, as torch sees them."""
    names = {"avx2": "_is_avx2_supported", "avx512": "_is_avx512_supported", "avx512_vnni": "_is_vnni_supported"}
    names |= {"avx512_bf16": "_is_avx512_bf16_supported", "amx": "_is_amx_tile_supported"}
    return {key: bool(getattr(torch.cpu, fn, lambda: False)()) for key, fn in names.items()}


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length (shortest first); stable for equal lengths."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(
    features: Mapping[str, Sequence[Sequence[int]]],
    idx: np.ndarray,
    pad_token_id: int,
    padding_side: str,
    device: torch.device,
) -> dict[str, torch.Tensor]:
    """The examples `idx` of encoded `features` as padded tensors on `device` (attention mask from the lengths)."""
    lengths = np.fromiter((len(features["input_ids"][i]) for i in idx), dtype=np.int64, count=len(idx))
    width = int(lengths.max())
    positions = np.arange(width)[None, :]
    left = padding_side == "left"
    mask = positions >= (width - lengths)[:, None] if left else positions < lengths[:, None]
    total = int(lengths.sum())
    batch = {}
    for key, column in features.items():
        if key == "attention_mask":
            values = mask.astype(np.int64)
        else:
            fill = pad_token_id if key == "input_ids" else 0
            values = np.full(mask.shape, fill, dtype=np.int64)
            values[mask] = np.fromiter(itertools.chain.from_iterable(column[i] for i in idx), np.int64, total)
        tensor = torch.from_numpy(values)
        if device.type == "cuda":
            tensor = tensor.pin_memory().to(device, non_blocking=True)
        batch[key] = tensor
    return batch


@dataclass(frozen=True)
class AutoPolicy:
    """When a faster path counts as matching fp32, on the inputs `auto` checks it on.

    A candidate must give fp32's label on at least `min_agreement` of the
    sample, move no probability by more than `max_prob_diff`, and be at least
    `min_speedup` times as fast as fp32 on the same sample.
    """

    sample: int = 96
    min_sample: int = 16
    rounds: int = 2
    min_agreement: float = 0.98
    max_prob_diff: float = 0.1
    min_speedup: float = 1.1


class Scorer:
    """A model ready to score encoded inputs at one precision, in length-sorted batches."""

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device,
        pad_token_id: int,
        precision: str = "fp32",
        batch_size: int = 32,
        padding_side: str = "right",
        policy: AutoPolicy | None = None,
    ) -> None:
        self.model = model
        self.device = device
        self.pad_token_id = int(pad_token_id or 0)
        self.requested = check_precision(precision, device)
        self.batch_size = batch_size
        self.padding_side = padding_side
        self.policy = policy or AutoPolicy()
        self.check: dict[str, Any] = {}  # what `auto` measured, once it has chosen
        self.num_labels = int(getattr(getattr(model, "config", None), "num_labels", 3))
        self._runners: dict[str, torch.nn.Module] = {"fp32": model}
        self.precision = self._resolve(precision)

    @property
    def runners(self) -> dict[str, torch.nn.Module]:
        """The modules each precision in use runs on (`fp32` is gone once weights were converted in place)."""
        return self._runners

    def _resolve(self, precision: str) -> str:
        if precision != "auto":
            self._runner(precision)
            return precision
        if self.device.type == "cuda":
            chosen = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            log.info("precision auto: %s on %s", chosen, torch.cuda.get_device_name(self.device))
            return chosen
        return "auto"  # decided on the first inputs large enough to check against fp32

    def _runner(self, precision: str) -> torch.nn.Module:
        if precision not in self._runners:
            # Asked for outright, the fp32 weights are not needed again: converted in place.
            inplace = self.requested == precision and precision in ("int8", "bf16")
            self._runners[precision] = runner_at(self.model, precision, self.device, inplace)
            if inplace and self.device.type == "cpu":
                del self._runners["fp32"]
        return self._runners[precision]

    # -- batches -------------------------------------------------------------

    def _pad(self, features: Mapping[str, Sequence[Sequence[int]]], idx: np.ndarray) -> dict[str, torch.Tensor]:
        return pad_batch(features, idx, self.pad_token_id, self.padding_side, self.device)

    def _logits(self, precision: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return logits_at(self._runner(precision), precision, self.device, batch)

    @torch.inference_mode()
    def _score(
        self, precision: str, features: Mapping[str, Sequence[Sequence[int]]], idx: np.ndarray, show_progress=False
    ) -> torch.Tensor:
        """Probabilities of the examples `idx` (len(idx) × labels, in `idx` order), in length-sorted batches."""
        lengths = np.fromiter((len(features["input_ids"][i]) for i in idx), dtype=np.int64, count=len(idx))
        batches: Iterable[np.ndarray] = length_batches(lengths, self.batch_size)
        if show_progress:
            batches = progress(batches, desc="scoring pairs", unit="batch")
        out = torch.empty((len(idx), self.num_labels), device=self.device)
        for rows in batches:  # positions in idx
            logits = self._logits(precision, self._pad(features, idx[rows]))
            out[torch.from_numpy(rows).to(self.device, non_blocking=True)] = torch.softmax(logits, dim=-1)
        return out.cpu()  # one device-to-host copy, after every batch is queued

    def score(self, features: Mapping[str, Sequence[Sequence[int]]], show_progress: bool = False) -> torch.Tensor:
        """Probabilities (n × labels) of encoded inputs (`encode_batch`'s output), in their original order.

        `auto` is resolved on the first call with `policy.min_sample` inputs or
        more (fp32 until then); the inputs it was checked on are not scored twice.
        """
        n = len(features["input_ids"])
        idx = np.arange(n)
        if self.precision != "auto":
            return self._score(self.precision, features, idx, show_progress)
        if n < self.policy.min_sample:
            return self._score("fp32", features, idx, show_progress)
        sample, rest = idx[: self.policy.sample], idx[self.policy.sample :]
        sample_probs = self._choose(features, sample)
        if len(rest) == 0:
            return sample_probs
        return torch.cat([sample_probs, self._score(self.precision, features, rest, show_progress)])

    # -- auto ----------------------------------------------------------------

    def candidates(self) -> list[str]:
        """The CPU paths `auto` tries beside fp32."""
        # With native bf16, int8 (dynamic quantization) was both slower and less exact in
        # bench/inference/README.md, and checking it costs a model copy: only bf16 is tried there.
        return ["bf16"] if cpu_has_bf16() else ["int8"]

    def _choose(self, features: Mapping[str, Any], sample: np.ndarray) -> torch.Tensor:
        """Check each candidate against fp32 on `sample`; keep the fastest that agrees; its probabilities.

        A candidate whose labels or probabilities stray from fp32's is dropped
        after its first run; the others are timed in turn, `policy.rounds`
        times, keeping each one's best time, so a burst of load on the machine
        does not decide the choice.
        """
        policy = self.policy
        probs: dict[str, torch.Tensor] = {}
        results: dict[str, dict[str, Any]] = {}
        timed = ["fp32", *self.candidates()]
        for round_ in range(policy.rounds):
            for name in list(timed):
                try:
                    if round_ == 0:  # warm-up: one-off kernel set-up is not the path's speed
                        self._score(name, features, sample[:2])
                    started = time.perf_counter()
                    probs[name] = self._score(name, features, sample)
                    seconds = time.perf_counter() - started
                except (RuntimeError, NotImplementedError) as exc:  # a kernel this build or CPU lacks
                    log.info("precision auto: %s unavailable here (%s)", name, str(exc).splitlines()[0])
                    timed.remove(name)
                    continue
                if round_ == 0:
                    reference = probs["fp32"]
                    agreement = float((probs[name].argmax(-1) == reference.argmax(-1)).float().mean())
                    max_diff = float((probs[name] - reference).abs().max())
                    results[name] = {"seconds": seconds, "agreement": agreement, "max_diff": max_diff}
                    if agreement < policy.min_agreement or max_diff > policy.max_prob_diff:
                        results[name]["rejected"] = "disagrees with fp32"
                        timed.remove(name)
                results[name]["seconds"] = min(results[name]["seconds"], seconds)
        reference_s = results["fp32"]["seconds"]
        for name in timed:
            if name != "fp32" and reference_s / results[name]["seconds"] < policy.min_speedup:
                results[name]["rejected"] = "not faster than fp32"
        passing = [name for name in timed if "rejected" not in results[name]]
        chosen = min(passing, key=lambda name: results[name]["seconds"])
        self.precision = chosen
        self.check = {"sample": len(sample), "chosen": chosen, "paths": results}
        for name in list(self._runners):
            if name not in ("fp32", chosen):
                del self._runners[name]
        detail = "; ".join(
            f"{name} {len(sample) / r['seconds']:.0f} pairs/s, agreement {r['agreement']:.3f}, "
            f"max|Δp| {r['max_diff']:.3f}" + (f" ({r['rejected']})" if "rejected" in r else "")
            for name, r in results.items()
        )
        log.info("precision auto: chose %s on %s (checked on %d inputs: %s)", chosen, self.device, len(sample), detail)
        return probs[chosen]
