"""The prediction path scored against gold labels: what a user of `stance-predict` actually gets.

Classifier-only evaluation scores the pairs the annotators labelled, with the
corpus's own entity list. A user has neither: `stance-predict` re-splits the
raw text into sentences, finds actors with the gazetteer and scores every
co-mentioned pair. Here the labelled articles' text is put through exactly
that path (`StanceClassifier.predict` on `article_from_text`), and
the predictions are matched to the gold labels by (article, sentence, actor,
target):

* sentences: each predicted sentence is located in the article text (the gold
  sentences joined by spaces) and belongs to the gold sentence it overlaps most;
* actors: a predicted actor is the gold entity of the same name, else the gold
  entity whose mention (found by the article's own matcher, as the builder
  finds it) overlaps one of the predicted actor's mentions in that sentence;
  an actor that matches no gold entity keeps its own name (its pairs have no
  gold label).

Over every pair a user would see (found pairs) and every gold polar pair: a
found pair with no gold label is gold neutral; a gold polar pair that was never
found is predicted neutral (missed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from stance.actors.choice import pair_mentions
from stance.actors.gazetteer import Gazetteer
from stance.actors.pairs import ORDERS, article_gazetteer, mention_order, sentence_mentions
from stance.dataset.build import article_group
from stance.dataset.match import GoldMatcher, gold_labels, path_articles
from stance.metrics import POLAR_IDS, bootstrap_macro_f1, cluster_interval
from stance.schema import STANCES, Article, PairKey

# SEESAW's entity types for named actors; Topic, Event and Others are what is talked about.
NAMED_TYPES = frozenset({"People", "Organization", "GPE", "Religion"})


@dataclass(frozen=True)
class FoundPair:
    """One pair the prediction path scored, keyed in gold terms."""

    key: PairKey
    stance: str
    polar_probability: float
    model_input: tuple[Any, ...] = ()  # what the encoder read (see `model_input`)
    probabilities: tuple[float, ...] = ()  # P(support), P(oppose), P(neutral)
    order: str = ""  # where the path marked the actor relative to the target (`mention_order`)


INPUT_FIELDS = ("text", "context", "actor", "target", "actor_start", "actor_end", "target_start", "target_end")


def model_input(row: dict[str, Any]) -> tuple[Any, ...]:
    """The fields of an example that `encode_batch` reads: two examples equal here are encoded identically."""
    return tuple(row[f] for f in INPUT_FIELDS)


def found_pairs(classifier: Any, gold: Sequence[Article]) -> tuple[list[FoundPair], dict[str, Any]]:
    """Run the prediction path on the gold articles' text; every scored pair in gold terms, and counts and times.

    `classifier` is a `StanceClassifier`: its `pairs_of` (sentence split text, gazetteer actors) and
    `predict_proba` are what `stance-predict` runs; pairs are found once and scored in one batched call.
    """
    raw = path_articles(gold)
    started = time.perf_counter()
    per_article = classifier.pairs_of_many(raw)
    finding_s = time.perf_counter() - started
    rows = [row for article_rows in per_article for row in article_rows]
    probs = classifier.predict_proba(rows, show_progress=True).double()
    timing = {
        "seconds": time.perf_counter() - started,
        "finding_seconds": finding_s,
        "mention_finder_seconds": classifier.mention_finder.seconds if classifier.mention_finder else 0.0,
        "articles_without_pairs": sum(1 for r in per_article if not r),
    }
    calls = classifier.decision.labels(probs).tolist()  # the model folder's neutral/polar call, as predict makes it
    matcher = GoldMatcher(gold, raw, classifier.gazetteer)
    found: dict[PairKey, FoundPair] = {}
    for row, key, p, call in zip(rows, matcher.keys(rows), probs.tolist(), calls, strict=True):
        if key is None:
            continue
        stance = STANCES[call]
        polar = max(p[STANCES.index("support")], p[STANCES.index("oppose")])
        kept = found.get(key)
        # A gold sentence split in two can hold the same pair twice: keep the more confident call.
        if kept is None or (stance != "neutral", polar) > (kept.stance != "neutral", kept.polar_probability):
            order = mention_order(row["actor_start"], row["target_start"])
            found[key] = FoundPair(key, stance, polar, model_input(row), tuple(p), order)
    return list(found.values()), {"pairs_scored": len(rows), **timing}


def score_found(
    gold: Sequence[Article], found: Sequence[FoundPair], resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Support and oppose precision, recall and F1 over all pairs a user would see, and the finder's recall."""
    labels = gold_labels(gold)
    polar = {k for k, s in labels.items() if s != "neutral"}
    predicted = {f.key: f.stance for f in found}
    keys = sorted(polar | set(predicted))
    y_true = np.array([STANCES.index(labels.get(k, "neutral")) for k in keys], dtype=int)
    y_pred = np.array([STANCES.index(predicted.get(k, "neutral")) for k in keys], dtype=int)
    groups = {a.id: article_group(a) for a in gold}
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=POLAR_IDS, zero_division=0)
    reached = polar & set(predicted)
    types = {a.id: a.actor_types for a in gold}
    named = {k for k in polar if _named(types[k.article_id], k.actor) and _named(types[k.article_id], k.target)}
    reachable = _named_in_sentence(gold, named)
    macro = float(np.mean(f1)) if len(keys) else float("nan")
    # Found pairs by the path's own marks, missed ones by the corpus's surface forms in the gold sentence.
    marked = {f.key: f.order for f in found if f.order}
    orders = mention_orders(gold, [k for k in keys if k not in marked]) | marked
    low, high = (
        bootstrap_macro_f1(y_true, y_pred, resamples, seed, [groups[k.article_id] for k in keys], POLAR_IDS)
        if resamples > 0 and len(keys)
        else (float("nan"), float("nan"))
    )
    return {
        "articles": len(gold),
        "found_pairs": len(predicted),
        "found_pairs_predicted_neutral": sum(1 for s in predicted.values() if s == "neutral"),
        "gold_polar_pairs": len(polar),
        "gold_polar_found": len(reached),
        "finder_recall_polar": len(reached) / len(polar) if polar else float("nan"),
        "gold_polar_found_called_neutral": sum(1 for k in reached if predicted[k] == "neutral"),
        "gold_polar_named_pairs": len(named),
        "gold_polar_named_found": len(named & reached),
        "finder_recall_polar_named": len(named & reached) / len(named) if named else float("nan"),
        # Pairs whose two ends the corpus's own surface forms find in the sentence: what a finder that
        # resolves no pronoun or description ("he", "the senator") can reach at most.
        "gold_polar_named_both_in_sentence": len(reachable),
        "per_class": {
            STANCES[c]: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(POLAR_IDS)
        },
        "macro_f1_support_oppose": macro,
        "macro_f1_support_oppose_ci95": [low, high],
        "by_direction": {
            order: polar_scores(y_true[mask], y_pred[mask])
            for order in ORDERS
            if (mask := np.asarray([orders[k] == order for k in keys], dtype=bool)).any()
        },
        "edges": score_edges(gold, found, resamples, seed),
    }


class _SurfaceMentions:
    """Gold sentences' mentions by the corpus's own surface forms (as the labelled builder finds them), cached."""

    def __init__(self, gold: Sequence[Article]) -> None:
        self.by_id = {a.id: a for a in gold}
        self.local: dict[str, Gazetteer] = {}
        self.cache: dict[tuple[str, int], list[Any]] = {}

    def __call__(self, article_id: str, sentence: int) -> list[Any]:
        where = (article_id, sentence)
        if where not in self.cache:
            article = self.by_id[article_id]
            if article_id not in self.local:
                self.local[article_id] = article_gazetteer(article, Gazetteer(actors={}))
            self.cache[where] = sentence_mentions(article, sentence, self.local[article_id])
        return self.cache[where]


def mention_orders(gold: Sequence[Article], keys: Sequence[PairKey]) -> dict[PairKey, str]:
    """The mention order of each key in its gold sentence, by the corpus's own surface forms (as the builder marks)."""
    mentions = _SurfaceMentions(gold)
    out = {}
    for key in keys:
        a, t = pair_mentions(mentions(key.article_id, key.sentence), key.actor, key.target)
        out[key] = mention_order(a.start if a else -1, t.start if t else -1)
    return out


def polar_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Support and oppose F1 and their macro mean, with the number of gold polar pairs."""
    _, _, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=POLAR_IDS, zero_division=0)
    return {
        "n": len(y_true),
        "gold_polar": int(support.sum()),
        "f1_support": float(f1[0]),
        "f1_oppose": float(f1[1]),
        "macro_f1_support_oppose": float(np.mean(f1)),
    }


Edge = tuple[str, str, str]  # (actor, target, support | oppose)
EDGE_RULES = ("any sentence", "net stance")
NET_MARGIN = 0.2  # |mean P(support) - mean P(oppose)| an edge needs under the net-stance rule


def gold_edges(article: Article) -> set[Edge]:
    """The article's gold edges: the union of its sentence-level support and oppose labels."""
    return {(x.actor, x.target, x.stance) for x in article.labels if x.stance != "neutral"}


def predicted_edges(found: Sequence[FoundPair], rule: str, margin: float = NET_MARGIN) -> dict[str, set[Edge]]:
    """Each article's predicted edges, by `rule`.

    "any sentence": an edge holds when any sentence calls it. "net stance": the
    report's own reading, mean P(support) − mean P(oppose) over the pair's
    sentences in the article; support above `margin`, oppose below −`margin`.
    """
    out: dict[str, set[Edge]] = {}
    if rule == EDGE_RULES[0]:
        for f in found:
            if f.stance != "neutral":
                out.setdefault(f.key.article_id, set()).add((f.key.actor, f.key.target, f.stance))
        return out
    sums: dict[tuple[str, str, str], list[float]] = {}
    for f in found:
        t = sums.setdefault((f.key.article_id, f.key.actor, f.key.target), [0.0, 0.0])
        p = f.probabilities or tuple(float(f.stance == s) for s in STANCES)
        t[0] += p[0] - p[1]
        t[1] += 1
    for (article_id, actor, target), (total, n) in sums.items():
        net = total / n
        if abs(net) > margin:
            out.setdefault(article_id, set()).add((actor, target, "support" if net > 0 else "oppose"))
    return out


def score_edges(gold: Sequence[Article], found: Sequence[FoundPair], resamples: int, seed: int) -> dict[str, Any]:
    """Article-level edge precision, recall and F1 (micro over articles) for each rule, with a story-level interval."""
    truth = {a.id: gold_edges(a) for a in gold}
    groups = [article_group(a) for a in gold]
    out: dict[str, Any] = {"gold_edges": sum(len(e) for e in truth.values()), "net_margin": NET_MARGIN}
    for rule in EDGE_RULES:
        predicted = predicted_edges(found, rule)
        counts = np.array(
            [
                (len(predicted.get(a.id, set()) & truth[a.id]), len(predicted.get(a.id, set())), len(truth[a.id]))
                for a in gold
            ],
            dtype=float,
        ).reshape(-1, 3)

        def f1(idx: np.ndarray, counts: np.ndarray = counts) -> float:
            tp, n_pred, n_gold = counts[idx].sum(0)
            return 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 0.0

        tp, n_pred, n_gold = counts.sum(0)
        everything = np.arange(len(gold))
        low, high = (
            cluster_interval(f1, groups, resamples, seed) if resamples > 0 and len(gold) else (float("nan"),) * 2
        )
        out[rule] = {
            "predicted_edges": int(n_pred),
            "correct": int(tp),
            "precision": float(tp / n_pred) if n_pred else 0.0,
            "recall": float(tp / n_gold) if n_gold else float("nan"),
            "f1": f1(everything) if len(gold) else float("nan"),
            "f1_ci95": [low, high],
        }
    return out


def _named_in_sentence(gold: Sequence[Article], keys: set[PairKey]) -> set[PairKey]:
    """The pairs of `keys` whose actor and target are both mentioned (by the source's surface forms) in their sentence."""
    mentions = _SurfaceMentions(gold)
    out = set()
    for key in keys:
        names = {m.actor for m in mentions(key.article_id, key.sentence)}
        if key.actor in names and key.target in names:
            out.add(key)
    return out


def _named(types: dict[str, list[str]], name: str) -> bool:
    """Whether the corpus types `name` as a named entity that acts (People, Organization, GPE, Religion).

    A corpus without types counts every actor as named.
    """
    return not types or bool(set(types.get(name, ())) & NAMED_TYPES)


def score_mentions(finder: Any, gold: Sequence[Article]) -> dict[str, Any]:
    """The mention finder's spans against the corpus's entity lists (topics, events, others excluded).

    Precision counts every span the lists do not hold as wrong, though many are
    real actors the annotators did not list, so it is a lower bound.
    """
    from stance.actors.finder import span_scores
    from stance.dataset.silver import silver_spans

    empty = Gazetteer(actors={})
    texts, spans = [], []
    for article in gold:
        local = article_gazetteer(article, empty)
        for i, sentence in enumerate(article.sentences):
            texts.append(sentence)
            spans.append(silver_spans(article, i, local, None))
    predicted = finder.find(texts, show_progress=True)
    return {"sentences": len(texts), **span_scores(spans, predicted)}


def agreement(found: Sequence[FoundPair], labelled: dict[PairKey, tuple[str, tuple[Any, ...]]]) -> dict[str, int]:
    """How often the prediction path and classifier-only scoring give the same label to the pairs they share.

    `labelled` maps a pair to its classifier-only label and `model_input`.
    `same_input_*` counts only pairs the model read identically on both paths
    (same sentence, context, names and marked spans): there they must agree, or
    training and prediction encode differently. Elsewhere the splitter, the
    actor names (gazetteer vs the corpus's entity list) or the marked mention differ.
    """
    shared = [f for f in found if f.key in labelled]
    same = [f for f in shared if f.model_input == labelled[f.key][1]]
    return {
        "shared_pairs": len(shared),
        "same_label": sum(1 for f in shared if f.stance == labelled[f.key][0]),
        "same_input_pairs": len(same),
        "same_input_same_label": sum(1 for f in same if f.stance == labelled[f.key][0]),
    }
