"""Fast scoring: length-sorted batches, the precision paths, `auto`, threads (tiny trained model, seconds)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from stance.encoding import EncodingConfig, encode_batch, format_inputs, tokenize_inputs
from stance.errors import StanceError
from stance.inference import AutoPolicy, length_batches
from stance.predict.classifier import StanceClassifier
from stance.readers.articles import load_articles

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rows(tiny_model, gazetteer) -> list[dict]:
    """Pairs of every seed article, mixed so neighbouring rows differ in length."""
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    articles = load_articles([ROOT / "data" / "articles"], gazetteer)
    pairs = [row for article in articles for row in clf.pairs_of(article)]
    rng = np.random.default_rng(0)
    return [pairs[i] for i in rng.permutation(len(pairs))[:120]]


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_length_batches_sort_by_length_and_cover_every_index() -> None:
    lengths = [5, 2, 9, 2, 7, 1, 5]
    batches = length_batches(lengths, 3)
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert flat.tolist()[:3] == [5, 1, 3]  # equal lengths keep their order


@pytest.mark.slow  # scores every seed pair one at a time (~20 s)
def test_sorted_batches_return_rows_in_order_equal_to_one_at_a_time(tiny_model, rows) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu", batch_size=8)
    lengths = [len(ids) for ids in clf.encode(rows)["input_ids"]]
    assert len(set(lengths)) > 10  # the batches really are reordered
    batched = clf.predict_proba(rows)
    one_by_one = torch.cat([clf.predict_proba([row]) for row in rows])
    assert batched.shape == (len(rows), 3)
    torch.testing.assert_close(batched, one_by_one, atol=1e-5, rtol=0)
    assert clf.predict_proba([]).shape == (0, 3)


def test_articles_scored_together_give_the_rows_of_articles_scored_alone(tiny_model, gazetteer) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    articles = load_articles([ROOT / "data" / "articles"], gazetteer)
    together = list(clf.predict(articles))
    alone = list(clf.predict(articles, chunk_pairs=1))
    assert [(p.article_id, p.sentence_index, p.actor, p.target) for p in together] == [
        (p.article_id, p.sentence_index, p.actor, p.target) for p in alone
    ]
    assert [p.article_id for p in together] == sorted(
        (p.article_id for p in together), key=[a.id for a in articles].index
    )
    assert max(abs(a.p_support - b.p_support) for a, b in zip(together, alone, strict=True)) < 1e-5


def test_formatted_text_pairs_tokenize_to_the_encoding(tiny_model, rows) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    heads, bodies = format_inputs(columns, clf.tokenizer, clf.encoding)
    assert tokenize_inputs(heads, bodies, clf.tokenizer, clf.encoding) == encode_batch(
        columns, clf.tokenizer, clf.encoding
    )
    # A plain tokenizer call on the pair, as transformers' pipeline makes it, gives the same ids.
    plain = clf.tokenizer(heads[0], bodies[0], truncation="only_second", max_length=clf.encoding.max_length)
    assert plain["input_ids"] == encode_batch(columns, clf.tokenizer, clf.encoding)["input_ids"][0]


def test_int8_runs_and_agrees_with_fp32_on_most_labels(tiny_model, rows) -> None:
    fp32 = StanceClassifier.from_pretrained(tiny_model, device="cpu").predict_proba(rows)
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu", precision="int8")
    int8 = clf.predict_proba(rows)
    assert clf.precision == "int8"
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in clf.model.modules())
    assert torch.allclose(int8.sum(-1), torch.ones(len(rows)), atol=1e-4)
    assert (int8.argmax(-1) == fp32.argmax(-1)).float().mean() >= 0.9


def test_bf16_path_runs_close_to_fp32(tiny_model, rows) -> None:
    fp32 = StanceClassifier.from_pretrained(tiny_model, device="cpu").predict_proba(rows[:24])
    bf16 = StanceClassifier.from_pretrained(tiny_model, device="cpu", precision="bf16").predict_proba(rows[:24])
    assert (bf16 - fp32).abs().max() < 0.05


def test_auto_checks_paths_against_fp32_and_logs_its_choice(tiny_model, rows, caplog) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu", precision="auto")
    assert clf.precision == "auto"
    few = clf.predict_proba(rows[:3])  # too few to check on: fp32, still undecided
    assert clf.precision == "auto" and few.shape == (3, 3)
    with caplog.at_level(logging.INFO, logger="stance.inference"):
        probs = clf.predict_proba(rows)
    assert "precision auto: chose" in caplog.text
    assert clf.precision in ("fp32", "bf16", "int8")
    check = clf.scorer.check
    assert check["chosen"] == clf.precision and check["sample"] == AutoPolicy().sample
    assert {"fp32", *clf.scorer.candidates()} == set(check["paths"])
    reference = StanceClassifier.from_pretrained(tiny_model, device="cpu").predict_proba(rows)
    assert (probs.argmax(-1) == reference.argmax(-1)).float().mean() >= 0.95


def test_auto_keeps_fp32_when_no_path_agrees_closely_enough(tiny_model, rows) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu", precision="auto")
    clf.scorer.policy = AutoPolicy(sample=32, max_prob_diff=0.0)
    clf.predict_proba(rows[:40])
    assert clf.precision == "fp32"
    assert all(r.get("rejected") for name, r in clf.scorer.check["paths"].items() if name != "fp32")


@pytest.mark.parametrize(
    ("precision", "message"),
    [("fp8", "not one of auto, fp32, bf16, fp16, int8"), ("fp16", "GPU path"), ("FP32", "not one of")],
)
def test_precision_is_validated(tiny_model, precision: str, message: str) -> None:
    with pytest.raises(StanceError, match=message):
        StanceClassifier.from_pretrained(tiny_model, device="cpu", precision=precision)


def test_threads_sets_torch_threads(tiny_model, keep_threads) -> None:
    StanceClassifier.from_pretrained(tiny_model, device="cpu", threads=1)
    assert torch.get_num_threads() == 1
    for bad in (0, -2, "two"):
        with pytest.raises(StanceError, match="threads="):
            StanceClassifier.from_pretrained(tiny_model, device="cpu", threads=bad)


def test_predict_config_takes_precision_and_threads(tiny_model, tmp_path: Path, keep_threads) -> None:
    from omegaconf import OmegaConf

    from stance.predict.batch import predict_files

    (tmp_path / "a1.txt").write_text("China criticised the United States on Monday. Russia agreed with Beijing.\n")
    base = {"model_dir": str(tiny_model), "input": str(tmp_path / "a1.txt"), "device": "cpu", "batch_size": 4}
    base |= {"gazetteer": "data/actors.yaml"}
    cfg = OmegaConf.create(base | {"output": str(tmp_path / "out.jsonl"), "precision": "int8", "threads": 1})
    assert predict_files(cfg)["pairs"] == 4 and torch.get_num_threads() == 1
    with pytest.raises(StanceError, match="precision="):
        predict_files(OmegaConf.create(base | {"output": str(tmp_path / "b.jsonl"), "precision": "half"}))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_half_paths_agree_with_fp32(tiny_model, rows) -> None:
    fp32 = StanceClassifier.from_pretrained(tiny_model, device="cuda", precision="fp32").predict_proba(rows)
    clf = StanceClassifier.from_pretrained(tiny_model, device="cuda", precision="auto")
    assert clf.precision in ("bf16", "fp16")
    half = clf.predict_proba(rows)
    assert half.device.type == "cpu" and (half.argmax(-1) == fp32.argmax(-1)).float().mean() >= 0.95
    with pytest.raises(StanceError, match="CPU only"):
        StanceClassifier.from_pretrained(tiny_model, device="cuda", precision="int8")


@pytest.mark.parametrize("max_length", [160, 48, 24])
def test_joined_ids_equal_a_full_tokenizer_pass(tiny_model, rows, max_length: int) -> None:
    clf = StanceClassifier.from_pretrained(tiny_model, device="cpu")
    config = EncodingConfig(max_length=max_length, context_sentences=2)
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    heads, bodies = format_inputs(columns, clf.tokenizer, config)
    assert encode_batch(columns, clf.tokenizer, config) == tokenize_inputs(heads, bodies, clf.tokenizer, config)
