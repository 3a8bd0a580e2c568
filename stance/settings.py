"""Structured configs: every command's keys, their types and their defaults, checked by Hydra when a config is composed.

The defaults live here only; the YAML files name the schema and hold what a
recipe or a user changes.

Each YAML file that uses one lists it first in its defaults (`- schema`, or
`- evaluate_schema` for a command's config), so a typo such as
`train.precision=bf61` or `split=tset` stops the command at start-up with
Hydra's message naming the field and the allowed values. `register()` puts
them in Hydra's ConfigStore; `stance.cli` calls it before any command runs.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from stance.errors import StanceError


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
    """`train/`: the fine-tuning recipe (transformers Trainer). Any key can be overridden: train.epochs=3."""

    epochs: float = 4
    learning_rate: float = 5.0e-5
    batch_size: int = 16
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lr_scheduler: str = "linear"
    # balanced | none: weight the loss by inverse class frequency
    class_weights: ClassWeights = ClassWeights.balanced  # type: ignore[valid-type, attr-defined]
    max_steps: int = -1  # > 0 stops after that many optimiser steps (smoke runs)
    device: Device = Device.auto  # type: ignore[valid-type, attr-defined]
    # auto: bf16 (or fp16) on CUDA, bf16 on a CPU with AVX512-BF16 or AMX, else fp32 | fp32 | bf16 | fp16
    precision: TrainPrecision = TrainPrecision.auto  # type: ignore[valid-type, attr-defined]
    logging_steps: int = 10
    num_workers: int = 0
    resume: bool = False  # true: continue from the last checkpoint in work_dir
    # random | paired: both directions of a pair side by side in a batch
    sampling: Sampling = Sampling.random  # type: ignore[valid-type, attr-defined]
    # none | balanced: polar pairs whose actor is named after the target weigh as much as the others
    order_weights: OrderWeights = OrderWeights.none  # type: ignore[valid-type, attr-defined]


@dataclass
class DataSettings:
    """`data/`: one corpus (or, with `format: mix`, several in `parts`)."""

    name: str = MISSING
    format: DataFormat = MISSING  # type: ignore[valid-type]
    gazetteer: str = "data/actors.yaml"  # who the labelled examples' mentions are matched with
    paths: list[str] | None = None  # format=articles: JSON files or folders of them
    root: str | None = None  # an external corpus's folder, read in place (resolved against the project root)
    splits: list[str] | None = None  # the source's splits to read
    context_sentences: int = 2  # preceding sentences given to the model as context
    # 0: pair the actors named in one sentence; k: also each of them with the actors named in the k sentences
    # before (at most context_sentences, so the model sees where they are named)
    context_pairs: int = 0
    neutral_pairs: bool = True  # co-mentioned pairs without a label become neutral examples
    max_neutral_fraction: float = 0.5  # cap on those co-mention neutrals' share of train (evaluation splits stay whole)
    # train/validation/test for articles with no split of their own
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    # true: training neutrals get the marked/unmarked mention pattern of labelled pairs
    balance_spans: bool = False
    dev_fraction: float = 0.0  # share of train groups carved out (by hash) as `dev`: it picks checkpoints and variants
    # labelled: the corpus's own entity pairs; found: the pairs the prediction path finds (stance.dataset.found)
    pairs: DataPairs | None = None  # type: ignore[valid-type]  # null: labelled (on a mix: each part's own)
    max_bad_fraction: float = 0.01  # external corpora: skip and report malformed records, fail above this share
    weight: float = 1.0  # a part of a mix: how often per epoch each of its training examples is drawn
    parts: dict[str, Any] | None = None


@dataclass
class _DataCommand:
    """What stance-build and stance-train share: the corpus and how its pairs are found."""

    data: DataSettings = field(default_factory=DataSettings)
    seed: int = 42
    gazetteer: str | None = None  # who the examples' mentions are matched with; null: the data's (data.gazetteer)
    references: bool = False  # data.pairs=found: pair role nouns and pronouns as stance-predict does
    # data.pairs=found: the mention finder the path pairs with (a finder folder, or a model folder with mentions/);
    # silver: the spans a finder is taught stand in for one (experiment=joint, whose finder is trained in the same run)
    finder: str | None = None
    output_dir: str = MISSING


@dataclass
class BuildSettings(_DataCommand):
    """stance-build."""


@dataclass
class DistillSettings:
    """`distill`: learning from a teacher model (`teacher=`)."""

    temperature: float = 2.0  # softmax temperature of the teacher and student in the KL term
    alpha: float = 0.5  # weight of the teacher's KL term; 1 - alpha goes to the gold labels' weighted cross entropy
    unlabelled: bool = True  # also the co-mention pairs the neutral cap leaves out, labelled by the teacher alone


@dataclass
class TrainCommandSettings(_DataCommand):
    """stance-train: `model` is free-form (a model config), `mentions` is the mention finder's (task=mentions)."""

    model: Any = None
    train: TrainSettings = field(default_factory=TrainSettings)
    task: str = "stance"  # stance | mentions (chosen by the `task` group)
    mentions: Any = None
    teacher: Any = None  # a stance model folder, or a list of them: distil from it
    distill: DistillSettings = field(default_factory=DistillSettings)
    run_name: str = MISSING
    work_dir: str = MISSING  # Trainer checkpoints (resumed from here)


@dataclass
class _ModelCommand:
    """What evaluate, calibrate and predict share: the trained model folder and where it runs."""

    model_dir: str = MISSING  # a model folder written by stance-train (not the `model` group, which trains one)
    device: Device = Device.auto  # type: ignore[valid-type, attr-defined]  # auto | cpu | cuda
    batch_size: int = 64
    # null: the one the model carries (from training); phoenix (data/actors.yaml + Phoenix/CAMEO) for a
    # folder without one; or a gazetteer's name or file
    gazetteer: str | None = None
    # true: "the president", "the senator", "He said" are paired with who they name (stance.actors.coref);
    # the default, as it gained end to end on every model measured (bench/endtoend)
    references: bool = True
    # null: pair as the model was trained (data.context_pairs, in its config.json); k: also pair each
    # sentence's actors with those named in the k sentences before (at most the model's context window)
    context_pairs: int | None = None


def references_on(cfg: Any) -> bool:
    """Whether a model command pairs role nouns and pronouns: its `references`, else the schema's default."""
    return bool(cfg.get("references", _ModelCommand.references))


@dataclass
class _LabelledCommand(_ModelCommand):
    """What evaluate and calibrate share: labelled data to score the model on."""

    data: Any = None
    seed: int = 42
    input: str | None = None  # a labelled-article JSON file or folder to score instead of a split


@dataclass
class EvaluateSettings(_LabelledCommand):
    """stance-evaluate."""

    # which split of `data` to score: dev (model selection), validation or test (held out, score once)
    split: Split = Split.test  # type: ignore[valid-type, attr-defined]
    # labelled: the labelled pairs (classifier only) | found: the prediction path on the text | both
    pairs: Pairs = Pairs.both  # type: ignore[valid-type, attr-defined]
    # found pairs: gazetteer | found (the model's mentions/ finder) | both | auto (both when it has one)
    actors: Actors = Actors.auto  # type: ignore[valid-type, attr-defined]
    baselines: bool = True  # fit majority and TF-IDF + LR on data's train split, score them on the same examples
    bootstrap_resamples: int = 1000  # for 95% intervals, resampling whole stories / articles (0: skip)
    output_dir: str | None = None  # null: outputs/evaluate/<model name>/<data>-<split>


@dataclass
class CalibrateSettings(_LabelledCommand):
    """stance-calibrate."""

    # dev; validation only for data without a dev split (test is refused)
    split: Split = Split.dev  # type: ignore[valid-type, attr-defined]
    # labelled: the labelled pairs | found: every pair the prediction path finds, missed gold pairs as missed
    pairs: DataPairs = DataPairs.labelled  # type: ignore[valid-type, attr-defined]
    # pairs=found: who the path pairs (as stance-predict: both when the model has a finder)
    actors: Actors = Actors.auto  # type: ignore[valid-type, attr-defined]


@dataclass
class RaySettings:
    """stance-predict's `ray:` block, read with `engine=ray` (see stance.predict.ray and docs/ray.md).

    The input is a folder of .jsonl/.parquet shards or a glob; the output a folder, one <shard>.parquet each.
    """

    address: str | None = None  # null: $RAY_ADDRESS if set, else a local Ray started for the run; auto or <head>:6379
    local_cpus: int | None = None  # logical CPUs of a local Ray started here (null: the cores + 1 for light stages)
    concurrency: int = 1  # scoring actors, each loading the model once
    num_cpus: float = 1  # CPUs per scoring actor (its torch threads, unless threads= is set)
    num_gpus: float = 0  # GPUs per scoring actor (1 on a GPU cluster, with device=auto)
    pair_concurrency: int = 1  # pair-finding actors (gazetteer, and the mention finder on CPU)
    pair_num_cpus: float = 0.5  # CPUs per pair-finding actor
    articles_per_batch: int = 64  # articles per pair-finding call
    pairs_per_batch: int = 512  # pairs per scoring call (the model batches them by batch_size)


@dataclass
class PredictSettings(_ModelCommand):
    """stance-predict."""

    input: str = MISSING  # a folder of .txt files, a .jsonl file, or labelled-article JSON
    output: str = MISSING  # .jsonl, .csv or .parquet
    # who is paired: gazetteer (listed) | found (the model's mention finder) | both | auto (both when it has one);
    # or a .csv (.yaml) of your own actors, layered over the gazetteer, paired as auto (stance.actors.user_actors)
    actors: str = "auto"
    batch_size: int = 32
    overwrite: bool = False  # false: a run with the same arguments resumes an interrupted one; true: start afresh
    # an article longer than this is scored in chunks of this many sentences (bounded memory)
    chunk_sentences: int = 2000
    # auto | fp32 | bf16 | int8 (CPU) | fp16 (CUDA); auto checks faster paths against fp32 and logs its pick
    precision: PredictPrecision = PredictPrecision.auto  # type: ignore[valid-type, attr-defined]
    threads: int | None = None  # CPU threads for torch; null keeps torch's default
    # local: this process, one output file | ray: Ray Data over a folder of shards (docs/ray.md)
    engine: Engine = Engine.local  # type: ignore[valid-type, attr-defined]
    ray: RaySettings = field(default_factory=RaySettings)
    row_group_rows: int = 100_000  # .parquet output: a row group closes at the first article boundary past this


@dataclass
class ReportOptions:
    """stance-report's `report:` block."""

    freq: Freq = Freq.month  # type: ignore[valid-type, attr-defined]  # week | month | year: the time series' periods
    top_edges: int = 40  # edges drawn in network.png (by n)
    graph_edges: int | None = 5000  # edges written to network.graphml / .gexf (by n); null: all
    top_pairs: int = 6  # pairs given a time series (by n), besides report.pairs
    # pairs always given a time series: ["United States>China", …] or [[actor, target], …]
    pairs: list[Any] = field(default_factory=list)
    evidence: int = 3  # the most confident support and oppose sentences kept per edge
    table_edges: int = 300  # rows of the edge table in index.html (by n); the files hold every edge
    bootstrap: int = 200  # resamples of articles for the 95% intervals (Poisson bootstrap)
    # the page shows an edge's interval only when at least this many articles stand behind it ("1 article"
    # otherwise: resampling one article gives an interval as narrow as its sentences, not a real one)
    interval_articles: int = 3
    seed: int = 0
    # a CSV (source,group), JSON or YAML file naming each outlet's group (left, centre, right…)
    source_groups: str | None = None
    threads: int | None = None  # DuckDB threads; null: all cores
    memory_limit: str = "1GB"  # DuckDB's limit; it spills to disk beyond it (the report's own arrays come on top)
    title: str | None = None  # the page's title; null: from the input's name


@dataclass
class ReportSettings:
    """stance-report."""

    predictions: str = MISSING  # a .jsonl, .csv or .parquet file written by stance-predict, a folder, or a glob
    output: str = MISSING
    report: ReportOptions = field(default_factory=ReportOptions)


def data_config(part: Any, where: str = "data") -> DictConfig:
    """A `data/` config with every key of DataSettings: `part` (a YAML file's content, a dict or a node) over
    the defaults, so a corpus file or a mix's part holds only what it changes. An unknown key is refused."""
    own = OmegaConf.create(part) if not isinstance(part, DictConfig) else part
    given = OmegaConf.masked_copy(own, [str(k) for k in own if k != "defaults"])
    names = {f.name for f in dataclasses.fields(DataSettings)}
    wrong = sorted(set(given) - names)
    if wrong:
        hints = [
            f"{where}.{k}"
            + (f" (did you mean {c[0]}?)" if (c := difflib.get_close_matches(k, sorted(names), 1)) else "")
            for k in wrong
        ]
        raise StanceError(f"not data config keys: {', '.join(hints)}")
    return OmegaConf.merge(OmegaConf.structured(DataSettings), given)


def load_data_config(name: str) -> DictConfig:
    """`configs/data/<name>.yaml` as the commands compose it (with its defaults), for code that reads one corpus."""
    from stance.paths import project_dir

    return data_config(OmegaConf.load(project_dir("configs") / "data" / f"{name}.yaml"), f"data={name}")


def unknown_keys(cfg: DictConfig) -> list[str]:
    """What a composed config holds that its schema does not define, each with the closest name it does.

    Hydra refuses an unknown `key=value` but lets `+key=value` add one, so a
    typo such as `+precison=bf16` would run with the typo ignored. Every node
    typed by a schema here (a command's root, `train`, `data`, `ray`,
    `report`) is checked; a mix's `parts` are checked as they are built
    (`data_config`); `model` is free-form.
    """
    problems: list[str] = []

    def walk(node: DictConfig, path: str) -> None:
        kind = OmegaConf.get_type(node)
        names = {f.name for f in dataclasses.fields(kind)} if dataclasses.is_dataclass(kind) else None
        for name in node:
            key = str(name)
            if names is not None and key not in names:
                close = difflib.get_close_matches(key, sorted(names), n=1)
                hint = (
                    f"; did you mean {path}{close[0]}?" if close else f"; the keys here are {', '.join(sorted(names))}"
                )
                problems.append(f"{path}{key} is not a config key{hint}")
                continue
            child = node._get_node(key)
            if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
                walk(child, f"{path}{key}.")

    walk(cfg, "")
    return problems


def register() -> None:
    """Put the schemas in Hydra's ConfigStore, where the YAML files' defaults lists find them."""
    store = ConfigStore.instance()
    store.store(group="train", name="schema", node=TrainSettings)
    store.store(group="data", name="schema", node=DataSettings)
    store.store(name="build_schema", node=BuildSettings)
    store.store(name="train_schema", node=TrainCommandSettings)
    store.store(name="evaluate_schema", node=EvaluateSettings)
    store.store(name="calibrate_schema", node=CalibrateSettings)
    store.store(name="predict_schema", node=PredictSettings)
    store.store(name="report_schema", node=ReportSettings)


register()
