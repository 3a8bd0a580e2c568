"""The prediction path scored against gold labels: what a user of `stance-predict` actually gets.

Classifier-only evaluation scores the pairs the annotators labelled, with the
corpus's own entity list. A user has neither: `stance-predict` re-splits the
raw text into sentences, finds actors with the gazetteer and scores every
co-mentioned pair. Here the labelled articles' text is put through exactly
that path (`StanceClassifier.predict_articles` on `article_from_text`), and
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

from stance.actors import Gazetteer, pair_mentions
from stance.build import article_gazetteer, article_group, sentence_mentions
from stance.metrics import POLAR_IDS, bootstrap_macro_f1, cluster_interval
from stance.readers.raw import article_from_text
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


def article_text(article: Article) -> tuple[str, list[int]]:
    """The text a user would hand in (the sentences joined by spaces) and where each sentence starts in it."""
    starts, pieces, at = [], [], 0
    for sentence in article.sentences:
        starts.append(at)
        pieces.append(sentence)
        at += len(sentence) + 1
    return " ".join(pieces), starts


def _locate(text: str, sentences: Sequence[str]) -> list[int | None]:
    """The start of each split sentence in `text`, searching forward (the splitter keeps text verbatim)."""
    cursor, starts = 0, []
    for sentence in sentences:
        at = text.find(sentence, cursor)
        starts.append(None if at < 0 else at)
        if at >= 0:
            cursor = at + len(sentence)
    return starts


def _gold_sentence(start: int, end: int, gold_starts: Sequence[int], gold: Sequence[str]) -> int:
    """The gold sentence that [start, end) overlaps most."""
    best, best_overlap = 0, -1
    for i, (s, sentence) in enumerate(zip(gold_starts, gold, strict=True)):
        overlap = min(end, s + len(sentence)) - max(start, s)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
        if s > end:
            break
    return best


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


class _EntityMap:
    """Predicted actor → gold entity, sentence by sentence, for one gold article."""

    def __init__(self, gold: Article, gazetteer: Gazetteer, starts: Sequence[int]) -> None:
        self.gold = gold
        self.local = article_gazetteer(gold, gazetteer)
        self.starts = starts
        self.names = {name.casefold(): name for name in gold.actors}
        self._mentions: dict[int, list[tuple[str, tuple[int, int]]]] = {}

    def gold_mentions(self, index: int) -> list[tuple[str, tuple[int, int]]]:
        if index not in self._mentions:
            offset = self.starts[index]
            self._mentions[index] = [
                (m.actor, (offset + m.start, offset + m.end)) for m in sentence_mentions(self.gold, index, self.local)
            ]
        return self._mentions[index]

    def entity(self, actor: str, spans: Sequence[tuple[int, int]], index: int) -> str:
        if not self.gold.actors or actor in self.gold.actors:
            return actor
        if actor.casefold() in self.names:
            return self.names[actor.casefold()]
        best, best_overlap = actor, 0
        for entity, span in self.gold_mentions(index):
            overlap = max((_overlap(span, s) for s in spans), default=0)
            if overlap > best_overlap:
                best, best_overlap = entity, overlap
        return best


def path_articles(gold: Sequence[Article]) -> list[Article]:
    """The gold articles as a user hands them in: their text re-split by the project's splitter, with their date."""
    raw = [article_from_text(a.id, article_text(a)[0]) for a in gold]
    for article, original in zip(raw, gold, strict=True):
        article.date = original.date  # roles and roll-ups follow the article's date, as in stance-predict
    return raw


class GoldMatcher:
    """Puts the prediction path's rows in gold terms: (gold article, gold sentence, gold actor, gold target).

    The one matcher for scoring the path (`found_pairs`) and for training on what it finds
    (`stance.found`): sentences by overlap, actors by name or by overlapping the gold entity's mention.
    """

    def __init__(self, gold: Sequence[Article], raw: Sequence[Article], gazetteer: Gazetteer) -> None:
        self.texts = {a.id: article_text(a) for a in gold}
        self.gold = {a.id: a for a in gold}
        self.raw = {a.id: a for a in raw}
        self.maps = {a.id: _EntityMap(a, gazetteer, self.texts[a.id][1]) for a in gold}
        self.located = {a.id: _locate(self.texts[a.id][0], a.sentences) for a in raw}

    def key(self, row: dict[str, Any]) -> PairKey | None:
        """The gold key of one path row; None when it cannot be placed or names one entity at both ends."""
        article_id, i = row["article_id"], row["sentence_index"]
        start = self.located[article_id][i]
        if start is None:  # the splitter changed the text: cannot place it, so it matches no gold label
            return None
        sentence = self.raw[article_id].sentences[i]
        starts = self.texts[article_id][1]
        index = _gold_sentence(start, start + len(sentence), starts, self.gold[article_id].sentences)
        entities = []
        for role in ("actor", "target"):
            # The mention the model marked for this actor (the path's own finding, gazetteer or found).
            spans = [(start + row[f"{role}_start"], start + row[f"{role}_end"])] if row[f"{role}_start"] >= 0 else []
            entities.append(self.maps[article_id].entity(row[role], spans, index))
        if entities[0] == entities[1]:
            return None
        return PairKey(article_id, index, entities[0], entities[1])


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
    for row, p, call in zip(rows, probs.tolist(), calls, strict=True):
        key = matcher.key(row)
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


def gold_labels(articles: Sequence[Article]) -> dict[PairKey, str]:
    """Every gold label, keyed by (article, sentence, actor, target)."""
    return {PairKey(a.id, x.sentence, x.actor, x.target): x.stance for a in articles for x in a.labels}


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


# Where the actor is named in the sentence relative to the target: direction is read, not guessed from order.
ORDERS = ("actor first", "target first", "not both named")


def mention_order(actor_start: int, target_start: int) -> str:
    """Whether the actor's mention comes before the target's; "not both named" when one is not marked."""
    if actor_start < 0 or target_start < 0:
        return ORDERS[2]
    return ORDERS[0] if actor_start < target_start else ORDERS[1]


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
    from stance.mentions import silver_spans, span_scores

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
