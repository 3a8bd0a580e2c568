"""The one-pass pair model (model.head=pairs): window encoding, scoring, training, and its model folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from stance.actors.pairs import co_mentioned_pairs, pair_examples
from stance.encoding import EncodingConfig
from stance.windows import ENTITY_CLOSE, ENTITY_OPEN, SENT, encode_windows, group_windows

SENTENCES = [
    "Leaders met in Beijing on Thursday.",
    "China and Russia called on the United States to stop threatening North Korea.",
]
PAIRS_ENCODING = EncodingConfig(version=2, max_length=64, context_sentences=1, head="pairs")


def _rows(gazetteer, sentences=SENTENCES, index=1, context=1):
    mentions = gazetteer.actor_mentions(sentences[index])
    return pair_examples("a1", sentences, index, mentions, co_mentioned_pairs(mentions), context)


def _columns(rows):
    return {key: [r[key] for r in rows] for key in rows[0]}


@pytest.fixture(scope="module")
def pair_tokenizer():
    from helpers import apply_config

    from stance.model import build_tokenizer

    cfg = apply_config("train", "model=tiny", "model.head=pairs")
    return build_tokenizer(cfg.model)


@pytest.fixture(scope="module")
def pair_model(pair_tokenizer):
    from helpers import apply_config

    from stance.model import build_model

    torch.manual_seed(0)
    cfg = apply_config("train", "model=tiny", "model.head=pairs")
    return build_model(cfg.model, pair_tokenizer, PAIRS_ENCODING).eval()


def test_a_sentence_is_one_window_with_every_actor_marked_and_listed(gazetteer, pair_tokenizer) -> None:
    rows = _rows(gazetteer)
    actors = {r["actor"] for r in rows}
    assert len(actors) >= 3 and len(rows) == len(actors) * (len(actors) - 1)
    out = encode_windows(_columns(rows), pair_tokenizer, PAIRS_ENCODING)
    assert len(out["input_ids"]) == 1  # one encoder pass scores all the sentence's pairs
    ids = out["input_ids"][0]
    vocab = pair_tokenizer.get_vocab()
    assert ids.count(vocab[SENT]) == 1 and len(ids) <= PAIRS_ENCODING.max_length
    positions = out["entity_positions"][0]
    assert len(positions) == len(actors)
    for places in positions:  # each actor: its mention in the sentence and its listed name
        assert len(places) == 2 and all(ids[p] == vocab[ENTITY_OPEN] for p in places)
    assert ids.count(vocab[ENTITY_OPEN]) == ids.count(vocab[ENTITY_CLOSE]) == 2 * len(actors)
    pairs = list(zip(out["pair_actor"][0], out["pair_target"][0], strict=True))
    assert len(set(pairs)) == len(rows) and all((t, a) in pairs for a, t in pairs)  # both directions, apart
    assert sorted(out["row_index"][0]) == list(range(len(rows)))
    text = pair_tokenizer.decode(ids)
    assert "beijing" in text.lower()  # the sentence before, as context


def test_an_actor_named_only_in_the_sentence_before_is_placed_by_its_listed_name(gazetteer, pair_tokenizer) -> None:
    from stance.actors.pairs import sentence_pairs

    # data.context_pairs=1: China is named a sentence before the one that states its stance.
    sentences = ["China condemned the sanctions.", "It called them a provocation by the United States."]
    listed = [gazetteer.actor_mentions(s) for s in sentences]
    pairs = sentence_pairs(listed, 1, context_pairs=1)
    assert set(pairs) == {("United States", "China"), ("China", "United States")}
    rows = pair_examples("a1", sentences, 1, listed[1], pairs, 1)
    out = encode_windows(_columns(rows), pair_tokenizer, PAIRS_ENCODING)
    assert len(out["input_ids"]) == 1  # still one pass for the sentence
    ids, vocab = out["input_ids"][0], pair_tokenizer.get_vocab()
    places = dict(zip(group_windows(_columns(rows))[0].entities, out["entity_positions"][0], strict=True))
    assert len(places["United States"]) == 2  # marked in the sentence and listed
    assert len(places["China"]) == 1  # named only in the context: its listed name is its one place
    assert all(ids[p] == vocab[ENTITY_OPEN] for p in places["China"] + places["United States"])
    assert sorted(zip(out["pair_actor"][0], out["pair_target"][0], strict=True)) == [(0, 1), (1, 0)]


def test_a_long_sentence_is_cut_around_its_mentions(gazetteer, pair_tokenizer) -> None:
    filler = " ".join(["the talks went on"] * 40)
    sentences = [f"{filler}. China criticised Russia. {filler}."]
    rows = _rows(gazetteer, sentences, index=0, context=0)
    out = encode_windows(_columns(rows), pair_tokenizer, PAIRS_ENCODING)
    ids = out["input_ids"][0]
    vocab = pair_tokenizer.get_vocab()
    assert len(ids) <= PAIRS_ENCODING.max_length
    for places in out["entity_positions"][0]:
        assert len(places) == 2 and all(ids[p] == vocab[ENTITY_OPEN] for p in places)


def test_an_unmarked_window_is_the_plain_text_and_pools_each_actor_from_its_mention_tokens(
    gazetteer, pair_tokenizer
) -> None:
    import dataclasses

    from stance.pairhead import WindowScorer

    plain = dataclasses.replace(PAIRS_ENCODING, markers=False)
    rows = _rows(gazetteer)
    out = encode_windows(_columns(rows), pair_tokenizer, plain)
    ids, vocab = out["input_ids"][0], pair_tokenizer.get_vocab()
    assert vocab[ENTITY_OPEN] not in ids and vocab[ENTITY_CLOSE] not in ids  # nothing inserted, no names listed
    assert ids.count(pair_tokenizer.sep_token_id) == 1 and ids.count(vocab[SENT]) == 1
    sentence = pair_tokenizer(SENTENCES[1], add_special_tokens=False)["input_ids"]
    assert ids[ids.index(vocab[SENT]) + 1 : -1] == sentence  # the sentence exactly as the tokenizer reads it
    names = group_windows(_columns(rows))[0].entities
    for name, places in zip(names, out["entity_positions"][0], strict=True):
        # every token of the actor's mention, and only those
        assert pair_tokenizer.decode([ids[p] for p in places]).lower() in SENTENCES[1].lower()
        assert len(places) == len(pair_tokenizer(_mention(rows, name), add_special_tokens=False)["input_ids"])
    from stance.actors.pairs import sentence_pairs

    # A labelled pair's end named only in the sentence before: listed, unmarked, after the [SEP].
    before = ["China condemned the sanctions.", "It called them a provocation by the United States."]
    listed = [gazetteer.actor_mentions(s) for s in before]
    rows_before = pair_examples("a1", before, 1, listed[1], sentence_pairs(listed, 1, context_pairs=1), 1)
    out = encode_windows(_columns(rows_before), pair_tokenizer, plain)
    ids = out["input_ids"][0]
    places = dict(zip(group_windows(_columns(rows_before))[0].entities, out["entity_positions"][0], strict=True))
    assert vocab[ENTITY_OPEN] not in ids and ids.count(pair_tokenizer.sep_token_id) == 2
    assert pair_tokenizer.decode([ids[p] for p in places["China"]]).lower() == "china"
    assert min(places["China"]) > ids.index(pair_tokenizer.sep_token_id)  # the listed name, not the context
    assert pair_tokenizer.decode([ids[p] for p in places["United States"]]).lower() == "united states"
    assert max(places["United States"]) < ids.index(pair_tokenizer.sep_token_id)  # its mention only

    filler = " ".join(["the talks went on"] * 40)
    long_rows = _rows(gazetteer, [f"{filler}. China criticised Russia. {filler}."], index=0, context=0)
    cut = encode_windows(_columns(long_rows), pair_tokenizer, plain)
    assert len(cut["input_ids"][0]) <= plain.max_length
    assert all(places != [0] for places in cut["entity_positions"][0])  # the cut keeps the mentions

    torch.manual_seed(0)
    from helpers import apply_config

    from stance.model import build_model

    model = build_model(apply_config("train", "model=tiny", "model.head=pairs").model, pair_tokenizer, plain).eval()
    scorer = WindowScorer(model, torch.device("cpu"), pair_tokenizer, plain, batch_size=8)
    scores = scorer.score_rows(_columns(rows))
    assert scores.shape == (len(rows), 3) and torch.allclose(scores.sum(-1), torch.ones(len(rows)), atol=1e-5)
    a_b = {(r["actor"], r["target"]): p for r, p in zip(rows, scores, strict=True)}
    assert any(not torch.allclose(p, a_b[(t, a)], atol=1e-6) for (a, t), p in a_b.items())


def _mention(rows, name):
    row = next(r for r in rows if name in (r["actor"], r["target"]))
    role = "actor" if row["actor"] == name else "target"
    return row["text"][row[f"{role}_start"] : row[f"{role}_end"]]


def test_scores_do_not_depend_on_batching_and_direction_is_scored_apart(gazetteer, pair_tokenizer, pair_model):
    from stance.pairhead import WindowScorer

    rows = _rows(gazetteer) + _rows(gazetteer, SENTENCES[::-1], index=0)
    scorer = WindowScorer(pair_model, torch.device("cpu"), pair_tokenizer, PAIRS_ENCODING, batch_size=8)
    together = scorer.score_rows(_columns(rows))
    alone = torch.cat([scorer.score_rows(_columns([r])) for r in rows])
    assert together.shape == (len(rows), 3)
    assert torch.allclose(together.sum(-1), torch.ones(len(rows)), atol=1e-5)
    # Alone, a pair's window lists only its own two actors: a different input, so only batching is compared.
    by_window = torch.cat([scorer.score_rows(_columns(_rows(gazetteer))), scorer.score_rows(_columns(rows[-2:]))])
    assert torch.allclose(together[: len(by_window) - 2], by_window[:-2], atol=1e-5)
    assert not torch.allclose(together, alone, atol=1e-6)
    a_b = {(r["actor"], r["target"]): p for r, p in zip(rows, together, strict=True)}
    assert any(not torch.allclose(p, a_b[(t, a)], atol=1e-6) for (a, t), p in a_b.items())


def test_pair_recipe_refuses_what_it_does_not_support(tmp_path: Path) -> None:
    from helpers import train_config

    from stance.errors import StanceError
    from stance.training.pairs import check_pairs_recipe

    with pytest.raises(StanceError, match="order_weights"):
        check_pairs_recipe(train_config(tmp_path, "model.head=pairs", "train.order_weights=balanced"))
    with pytest.raises(StanceError, match=re.escape("model.head='windows'")):
        from stance.model import model_head

        model_head({"head": "windows"})


def test_trained_on_the_path_pairs_it_chooses_on_dev_saves_loads_and_predicts(tmp_path: Path, tiny_finder) -> None:
    from datasets import Dataset
    from helpers import train_config
    from transformers import AutoModel

    from stance.actors.gazetteer import load_gazetteer
    from stance.dataset.build import FEATURES, BuildOptions, dataset_from_config
    from stance.dataset.found import found_rows, load_finder, training_builder
    from stance.errors import StanceError
    from stance.model import weights_sha256
    from stance.paths import file_sha256
    from stance.predict.classifier import StanceClassifier
    from stance.readers import read_articles
    from stance.training.train import train

    finder_dir = tiny_finder[0]
    cfg = train_config(tmp_path, "model.head=pairs", "data.pairs=found", f"finder={finder_dir}", "train.epochs=4")
    dataset = dataset_from_config(cfg, builder=training_builder(cfg))
    gazetteer = load_gazetteer(cfg.data.gazetteer)
    articles = [a for a in read_articles(cfg.data, gazetteer) if a.split == "train"]
    dev = found_rows(articles, gazetteer, load_finder(finder_dir), BuildOptions(context_sentences=2), "dev")
    dataset["dev"] = Dataset.from_list(dev, features=FEATURES)
    metrics = train(cfg, dataset)
    folder = Path(cfg.output_dir)
    assert metrics["selected_on"] == "dev" and metrics["decision"]["n"] == len(dev)  # every dev pair, scored once
    assert metrics["loss_history"][-1] < metrics["loss_history"][0]
    assert (folder / "pair_head.safetensors").is_file() and (folder / "mentions").is_dir()
    AutoModel.from_pretrained(str(folder))  # the encoder loads with plain transformers
    assert weights_sha256(folder) != file_sha256(folder / "model.safetensors")  # the head is part of the name

    classifier = StanceClassifier.from_pretrained(folder, actors="auto")
    assert classifier.encoding.head == "pairs" and classifier.mention_finder is not None
    rows = list(classifier.predict(articles))
    assert rows and {r.stance for r in rows} <= {"support", "oppose", "neutral"}
    sentence = "China criticised Russia over the talks."
    first = classifier.predict(sentence, "China", "Russia")
    again = StanceClassifier.from_pretrained(classifier.save_pretrained(tmp_path / "copy"))
    assert again.predict(sentence, "China", "Russia").probabilities == pytest.approx(first.probabilities, abs=1e-6)

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "pair_head.safetensors").unlink()
    with pytest.raises(StanceError, match=re.escape("pair_head.safetensors")):
        StanceClassifier.from_pretrained(broken)


FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A joint model (both heads) on the fixture corpora, as experiment=joint trains one.
JOINT = (
    "model.head=pairs",
    "model.mention_head=true",
    "data.pairs=found",
    "finder=silver",
    "+mentions=default",
    f"mentions.corpora.seesaw.root={FIXTURES / 'seesaw'}",
    f"mentions.corpora.dse.root={FIXTURES / 'dse'}",
    "mentions.corpora.seesaw.max_bad_fraction=0.5",
    "mentions.dev_split=validation",
)


def test_a_joint_model_trains_both_heads_and_finds_its_own_mentions(tmp_path: Path) -> None:
    from helpers import train_config
    from safetensors.torch import load_file, save_file

    from stance.errors import StanceError
    from stance.model import weights_sha256
    from stance.predict.classifier import StanceClassifier
    from stance.training.train import train

    cfg = train_config(tmp_path, *JOINT, "train.epochs=6")
    metrics = train(cfg)
    folder = Path(cfg.output_dir)
    learnt = metrics["mentions"]
    assert learnt["steps"] > 0 and learnt["train_loss_first_last"][1] < learnt["train_loss_first_last"][0]
    assert learnt["dev"]["gold_spans"] > 0
    assert metrics["examples"]["train"]["total"] > 0  # the pairs were found with the silver spans, no finder
    assert (folder / "mention_head.safetensors").is_file() and not (folder / "mentions").exists()

    classifier = StanceClassifier.from_pretrained(folder, actors="auto")
    finder = classifier.mention_finder
    assert classifier.actors == "both" and finder is not None
    assert finder.model.model is classifier.model  # one encoder, one set of weights
    assert finder.weights_sha256 == weights_sha256(folder)
    texts = ["China and Russia called on the United States to stop threatening North Korea."]
    spans = finder.find(texts)
    again = StanceClassifier.from_pretrained(classifier.save_pretrained(tmp_path / "copy"), actors="auto")
    assert again.mention_finder is not None and again.mention_finder.find(texts) == spans
    assert list(classifier.predict(texts[0], "China", "Russia").probabilities)

    without = tmp_path / "without"
    shutil.copytree(folder, without)
    (without / "mention_head.safetensors").unlink()
    assert StanceClassifier.from_pretrained(without, actors="auto").mention_finder is None
    assert weights_sha256(without) != weights_sha256(folder)  # the mention head is part of the model's name

    foreign = tmp_path / "foreign"
    shutil.copytree(folder, foreign)
    head = foreign / "mention_head.safetensors"
    save_file(load_file(str(head)), str(head), metadata={"format": "something-else"})
    with pytest.raises(StanceError, match=re.escape(str(head))):
        StanceClassifier.from_pretrained(foreign)
    with pytest.raises(StanceError, match=re.escape("model.head=pairs")):
        train(train_config(tmp_path, "model.mention_head=true"))


def test_windows_are_drawn_whole_and_grouped_by_length(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from datasets import Dataset
    from helpers import train_config

    from stance.training.train import _sampling
    from stance.training.trainer import StanceTrainer

    cfg = train_config(tmp_path, "model.head=pairs")
    rows = Dataset.from_dict({"label": [0, 1, 2, 2, 1]})  # the windows' pairs: only their class weights apply
    lengths = [(7 * k) % 23 + 3 for k in range(40)]
    windows = Dataset.from_dict({"input_ids": [[1] * n for n in lengths]})
    sampling = _sampling(cfg, rows, [], windows=len(windows))
    assert sampling["draws"] is None and sampling["class_weight"] is not None
    # Trainer's own pieces stand in: the sampler reads only these attributes.
    trainer = SimpleNamespace(
        **{k: sampling[k] for k in ("groups", "draws", "length_grouped")},
        train_dataset=windows,
        args=SimpleNamespace(train_batch_size=2, world_size=1, seed=0),
    )
    order = list(StanceTrainer._get_train_sampler(trainer))
    assert sorted(order) == list(range(40))  # every window once an epoch
    # batch_size 2 → megabatches of 100 windows: the whole epoch here, longest first, so batches pad little.
    assert [lengths[i] for i in order] == sorted(lengths, reverse=True)


def test_the_mention_stream_skipped_by_a_resumed_run_goes_on_where_it_stopped(pair_tokenizer) -> None:
    from datasets import Dataset

    from stance.training.pairs import MentionBatches

    texts = [f"Leader {i} met Minister {i} in Beijing." for i in range(7)]
    rows = [dict(pair_tokenizer(t), labels=[0] * len(pair_tokenizer(t)["input_ids"])) for t in texts]
    sentences = Dataset.from_list(rows)
    device = torch.device("cpu")
    first = MentionBatches(sentences, pair_tokenizer, batch_size=3, seed=5)
    stream = [first.next(device)["input_ids"].tolist() for _ in range(6)]  # past one permutation of 7
    resumed = MentionBatches(sentences, pair_tokenizer, batch_size=3, seed=5)
    resumed.skip(4)
    assert [resumed.next(device)["input_ids"].tolist() for _ in range(2)] == stream[4:]
    assert stream[4] != stream[0]


def test_a_resumed_joint_run_skips_the_silver_batches_its_checkpoint_tagged(tmp_path: Path, monkeypatch) -> None:
    from helpers import train_config

    from stance.training.pairs import MentionBatches
    from stance.training.train import train

    train(train_config(tmp_path, *JOINT, "train.max_steps=3", "train.epochs=50"))
    skipped = []
    real_skip = MentionBatches.skip
    monkeypatch.setattr(MentionBatches, "skip", lambda self, n: skipped.append(n) or real_skip(self, n))
    metrics = train(train_config(tmp_path, *JOINT, "train.max_steps=5", "train.epochs=50", "train.resume=true"))
    assert skipped == [3]  # one silver batch per optimiser step, no gradient accumulation
    assert metrics["mentions"]["steps"] == 2  # the two steps after the checkpoint tagged a batch each
