"""Inference: the `StanceClassifier` API, and batch prediction over files of articles."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from stance.actors import Gazetteer, load_gazetteer
from stance.build import article_gazetteer, ordered_pairs, pair_examples, sentence_mentions
from stance.encoding import EncodingConfig, encode_batch
from stance.errors import Problem, StanceError, display_path
from stance.model import load_stance_model
from stance.paths import resolve_path
from stance.progress import progress
from stance.schema import STANCES, Article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StancePrediction:
    """The predicted stance and the probability of each stance."""

    stance: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class PairPrediction:
    """One scored (sentence, actor, target) of an article: a row of the output file."""

    article_id: str
    sentence_index: int
    sentence: str
    actor: str
    target: str
    stance: str
    p_support: float
    p_oppose: float
    p_neutral: float
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StanceClassifier:
    """A trained stance model with its tokenizer, input format and gazetteer, ready to score text."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        encoding: EncodingConfig,
        device: torch.device,
        gazetteer: Gazetteer,
        name: str = "",
        batch_size: int = 32,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.encoding = encoding
        self.device = device
        self.gazetteer = gazetteer
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str = "auto",
        gazetteer: Gazetteer | str | Path | None = None,
        batch_size: int = 32,
    ) -> StanceClassifier:
        """Load a model folder written by `stance-train` (checked before use)."""
        model, tokenizer, encoding, dev = load_stance_model(path, device)
        if not isinstance(gazetteer, Gazetteer):
            gazetteer = load_gazetteer(gazetteer or "data/actors.yaml")
        return cls(model, tokenizer, encoding, dev, gazetteer, name=Path(path).name, batch_size=batch_size)

    # -- scoring -------------------------------------------------------------

    @torch.inference_mode()
    def predict_proba(self, rows: Sequence[dict[str, Any]], show_progress: bool = False) -> torch.Tensor:
        """Probabilities (n × 3, in `STANCES` order) for examples shaped like the builder's rows."""
        out = torch.empty((len(rows), len(STANCES)))
        batches = range(0, len(rows), self.batch_size)
        if show_progress:
            batches = progress(batches, desc="scoring pairs", unit="batch")
        for start in batches:
            chunk = rows[start : start + self.batch_size]
            columns = {key: [r.get(key) for r in chunk] for key in chunk[0]}
            columns.setdefault("context", [""] * len(chunk))
            features = encode_batch(columns, self.tokenizer, self.encoding)
            batch = self.tokenizer.pad(features, return_tensors="pt")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            logits = self.model(**batch).logits
            out[start : start + len(chunk)] = torch.softmax(logits.float(), dim=-1).cpu()
        return out

    def _row(self, text: str, actor: str, target: str, context: str) -> dict[str, Any]:
        # A name the gazetteer does not know is looked for verbatim; an unfound mention is left unmarked.
        local = self.gazetteer.with_aliases({name: [name] for name in (actor, target) if name not in self.gazetteer})
        row = pair_examples("", [text], 0, local.find(text), [(actor, target)], 0)[0]
        row["context"] = context
        return row

    def predict(self, text: str, actor: str, target: str, context: str = "") -> StancePrediction:
        """The stance of `actor` toward `target` in one sentence, with optional preceding `context`."""
        return self.predict_many([(text, actor, target)], [context])[0]

    def predict_many(
        self, items: Sequence[tuple[str, str, str]], contexts: Sequence[str] | None = None
    ) -> list[StancePrediction]:
        """`predict` for many (text, actor, target) triples, scored in batches."""
        contexts = contexts or [""] * len(items)
        rows = [self._row(text, a, t, c) for (text, a, t), c in zip(items, contexts, strict=True)]
        return [_prediction(p) for p in self.predict_proba(rows)] if rows else []

    def pairs_of(self, article: Article) -> list[dict[str, Any]]:
        """Every ordered pair of actors mentioned together in a sentence of `article`, as model inputs."""
        local = article_gazetteer(article, self.gazetteer)
        rows: list[dict[str, Any]] = []
        for i in range(len(article.sentences)):
            mentions = sentence_mentions(article, i, local)
            actors = list(dict.fromkeys(m.actor for m in mentions))
            if len(actors) >= 2:
                rows.extend(
                    pair_examples(
                        article.id,
                        article.sentences,
                        i,
                        mentions,
                        ordered_pairs(actors),
                        self.encoding.context_sentences,
                    )
                )
        return rows

    def predict_articles(self, articles: Iterable[Article], show_progress: bool = False) -> Iterator[PairPrediction]:
        """Score every co-mentioned ordered pair in each article, article by article."""
        for article in articles:
            rows = self.pairs_of(article)
            if not rows:
                continue
            probs = self.predict_proba(rows, show_progress=show_progress and len(rows) > 10 * self.batch_size)
            for row, p in zip(rows, probs, strict=True):
                yield PairPrediction(
                    article_id=article.id,
                    sentence_index=row["sentence_index"],
                    sentence=row["text"],
                    actor=row["actor"],
                    target=row["target"],
                    stance=STANCES[int(p.argmax())],
                    p_support=round(float(p[0]), 6),
                    p_oppose=round(float(p[1]), 6),
                    p_neutral=round(float(p[2]), 6),
                    model=self.name,
                )


def _prediction(probs: torch.Tensor) -> StancePrediction:
    return StancePrediction(
        stance=STANCES[int(probs.argmax())],
        probabilities={name: float(probs[i]) for i, name in enumerate(STANCES)},
    )


# -- the batch job ------------------------------------------------------------

OUTPUT_FIELDS = [f.name for f in PairPrediction.__dataclass_fields__.values()]


class PredictionWriter:
    """Writes prediction rows as JSONL or CSV, chosen by the output file's extension."""

    def __init__(self, path: Path) -> None:
        self.path = path
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise StanceError(f"output {display_path(path)}: use a .jsonl or .csv file name")
        self.kind = suffix[1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.csv = csv.DictWriter(self.handle, fieldnames=OUTPUT_FIELDS) if self.kind == "csv" else None
        if self.csv is not None:
            self.csv.writeheader()

    def write(self, prediction: PairPrediction) -> None:
        if self.csv is not None:
            self.csv.writerow(prediction.to_dict())
        else:
            self.handle.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


def predict_files(cfg: Any) -> dict[str, Any]:
    """stance-predict: read articles from `cfg.input`, score every pair, write rows, summary and errors."""
    from stance.aggregate import summarize, write_summary
    from stance.readers.raw import iter_inputs

    classifier = StanceClassifier.from_pretrained(
        resolve_path(cfg.model), device=str(cfg.device), gazetteer=cfg.gazetteer, batch_size=int(cfg.batch_size)
    )
    log.info("model %s on %s", classifier.name, classifier.device)
    output = Path(cfg.output)
    writer = PredictionWriter(output)
    problems: list[Problem] = []
    predictions: list[PairPrediction] = []
    n_articles = 0

    def articles() -> Iterator[Article]:
        nonlocal n_articles
        for item in progress(iter_inputs(cfg.input, classifier.gazetteer), desc="articles", unit="article"):
            if isinstance(item, Problem):
                log.error("%s", item)
                problems.append(item)
                continue
            n_articles += 1
            yield item

    try:
        for prediction in classifier.predict_articles(articles()):
            writer.write(prediction)
            predictions.append(prediction)
    finally:
        writer.close()
    summary_path = output.with_name(output.stem + ".summary.json")
    summary = summarize(predictions, classifier.gazetteer)
    write_summary(summary, summary_path)
    errors_path = output.with_name(output.stem + ".errors.jsonl")
    with errors_path.open("w", encoding="utf-8") as handle:
        for p in problems:
            handle.write(json.dumps({**asdict(p), "message": p.message}, ensure_ascii=False) + "\n")
    return {
        "articles": n_articles,
        "pairs": len(predictions),
        "failed_inputs": len(problems),
        "output": str(output),
        "summary": str(summary_path),
        "errors": str(errors_path),
    }
