"""Structured configs: the fields that take fixed choices or types, checked by Hydra when a config is composed.

Each YAML file that uses one lists it first in its defaults (`- schema`, or
`- evaluate_schema` for a command's config), so a typo such as
`train.precision=bf61` or `split=tset` stops the command at start-up with
Hydra's message naming the field and the allowed values. `register()` puts
them in Hydra's ConfigStore; `stance.cli` calls it before any command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Choice(str, Enum):
    """A fixed choice that reads as its plain value (`str(Precision.bf16) == "bf16"`)."""

    def __str__(self) -> str:
        return str(self.value)


Freq = Choice("Freq", {n: n for n in ("week", "month", "year")})
Device = Choice("Device", {n: n for n in ("auto", "cpu", "cuda")})
TrainPrecision = Choice("TrainPrecision", {n: n for n in ("auto", "fp32", "bf16", "fp16")})
PredictPrecision = Choice("PredictPrecision", {n: n for n in ("auto", "fp32", "bf16", "int8", "fp16")})
ClassWeights = Choice("ClassWeights", {n: n for n in ("balanced", "none")})
OrderWeights = Choice("OrderWeights", {n: n for n in ("balanced", "none")})
Sampling = Choice("Sampling", {n: n for n in ("random", "paired")})
Split = Choice("Split", {n: n for n in ("train", "dev", "validation", "test")})
Pairs = Choice("Pairs", {n: n for n in ("labelled", "found", "both")})
Actors = Choice("Actors", {n: n for n in ("auto", "gazetteer", "found", "both")})
DataPairs = Choice("DataPairs", {n: n for n in ("labelled", "found")})
DataFormat = Choice("DataFormat", {n: n for n in ("articles", "seesaw", "dse", "mix")})
Engine = Choice("Engine", {n: n for n in ("local", "ray")})


@dataclass
class TrainSettings:
    """`train/`: the fine-tuning recipe."""

    epochs: float = 4
    learning_rate: float = 5.0e-5
    batch_size: int = 16
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lr_scheduler: str = "linear"
    class_weights: ClassWeights = ClassWeights.balanced  # type: ignore[valid-type, attr-defined]
    max_steps: int = -1
    device: Device = Device.auto  # type: ignore[valid-type, attr-defined]
    precision: TrainPrecision = TrainPrecision.auto  # type: ignore[valid-type, attr-defined]
    logging_steps: int = 10
    num_workers: int = 0
    resume: bool = False
    sampling: Sampling = Sampling.random  # type: ignore[valid-type, attr-defined]
    order_weights: OrderWeights = OrderWeights.none  # type: ignore[valid-type, attr-defined]


@dataclass
class DataSettings:
    """`data/`: one corpus (or, with `format: mix`, several in `parts`)."""

    name: str = MISSING
    format: DataFormat = MISSING  # type: ignore[valid-type]
    gazetteer: str = "data/actors.yaml"
    paths: list[str] | None = None
    root: str | None = None
    splits: list[str] | None = None
    context_sentences: int = 2
    neutral_pairs: bool = True
    max_neutral_fraction: float = 0.5
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    balance_spans: bool = False
    dev_fraction: float = 0.0
    # labelled: the corpus's own entity pairs; found: the pairs the prediction path finds (stance.dataset.found)
    pairs: DataPairs | None = None  # type: ignore[valid-type]  # null: labelled (on a mix: each part's own)
    max_bad_fraction: float = 0.01
    weight: float = 1.0  # a part of a mix: how often per epoch each of its training examples is drawn
    parts: dict[str, Any] | None = None


@dataclass
class _ModelCommand:
    """What evaluate, calibrate and predict share: the trained model folder and where it runs."""

    model_dir: str = MISSING  # a model folder written by stance-train (not the `model` group, which trains one)
    device: Device = Device.auto  # type: ignore[valid-type, attr-defined]
    batch_size: int = 64
    gazetteer: str | None = None
    references: bool = (
        False  # pair role nouns, descriptions and pronoun subjects with who they name (stance.actors.coref)
    )


@dataclass
class _LabelledCommand(_ModelCommand):
    """What evaluate and calibrate share: labelled data to score the model on."""

    data: Any = None
    seed: int = 42
    input: str | None = None


@dataclass
class EvaluateSettings(_LabelledCommand):
    """stance-evaluate."""

    split: Split = Split.test  # type: ignore[valid-type, attr-defined]
    pairs: Pairs = Pairs.both  # type: ignore[valid-type, attr-defined]
    actors: Actors = Actors.auto  # type: ignore[valid-type, attr-defined]
    baselines: bool = True
    bootstrap_resamples: int = 1000
    output_dir: str | None = None


@dataclass
class CalibrateSettings(_LabelledCommand):
    """stance-calibrate."""

    split: Split = Split.dev  # type: ignore[valid-type, attr-defined]
    pairs: DataPairs = DataPairs.labelled  # type: ignore[valid-type, attr-defined]
    actors: Actors = Actors.auto  # type: ignore[valid-type, attr-defined]


@dataclass
class RaySettings:
    """stance-predict's `ray:` block, read with `engine=ray` (see stance.predict.ray)."""

    address: str | None = None  # null: $RAY_ADDRESS if set, else a local Ray started for the run
    local_cpus: int | None = None  # logical CPUs of a local Ray started here (null: the cores + 1 for light stages)
    concurrency: int = 1  # scoring actors, each loading the model once
    num_cpus: float = 1  # CPUs per scoring actor (its torch threads, unless threads= is set)
    num_gpus: float = 0  # GPUs per scoring actor
    pair_concurrency: int = 1  # pair-finding actors (gazetteer, and the mention finder on CPU)
    pair_num_cpus: float = 0.5  # CPUs per pair-finding actor
    articles_per_batch: int = 64  # articles per pair-finding call
    pairs_per_batch: int = 512  # pairs per scoring call (the model batches them by batch_size)


@dataclass
class PredictSettings(_ModelCommand):
    """stance-predict."""

    input: str = MISSING
    output: str = MISSING
    actors: Actors = Actors.auto  # type: ignore[valid-type, attr-defined]
    batch_size: int = 32
    overwrite: bool = False
    chunk_sentences: int = 2000
    precision: PredictPrecision = PredictPrecision.auto  # type: ignore[valid-type, attr-defined]
    threads: int | None = None
    engine: Engine = Engine.local  # type: ignore[valid-type, attr-defined]
    ray: RaySettings = field(default_factory=RaySettings)
    row_group_rows: int = 100_000


@dataclass
class ReportOptions:
    """stance-report's `report:` block (see configs/report.yaml)."""

    freq: Freq = Freq.month  # type: ignore[valid-type, attr-defined]
    top_edges: int = 40
    graph_edges: int | None = 5000
    top_pairs: int = 6
    pairs: list[Any] = field(default_factory=list)
    evidence: int = 3
    table_edges: int = 300
    bootstrap: int = 200
    seed: int = 0
    source_groups: str | None = None
    threads: int | None = None
    memory_limit: str = "1GB"
    title: str | None = None


@dataclass
class ReportSettings:
    """stance-report."""

    predictions: str = MISSING
    output: str = MISSING
    report: ReportOptions = field(default_factory=ReportOptions)


def register() -> None:
    """Put the schemas in Hydra's ConfigStore, where the YAML files' defaults lists find them."""
    store = ConfigStore.instance()
    store.store(group="train", name="schema", node=TrainSettings)
    store.store(group="data", name="schema", node=DataSettings)
    store.store(name="evaluate_schema", node=EvaluateSettings)
    store.store(name="calibrate_schema", node=CalibrateSettings)
    store.store(name="predict_schema", node=PredictSettings)
    store.store(name="report_schema", node=ReportSettings)


register()
