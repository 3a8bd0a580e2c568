"""Bad input, crashes and restarts: nothing lost, every problem named.

Hostile inputs to the readers and to `stance-predict`, a `stance-predict` killed
mid-run and started again, broken model folders, resumed and repeated training.
All with the tiny random model: seconds, no downloads.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from helpers import train_config as tiny_train_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from stance.errors import Problem, StanceError
from stance.model import ModelFolderError, check_model_folder
from stance.predict.batch import predict_files
from stance.predict.classifier import StanceClassifier
from stance.predict.commitlog import progress_path
from stance.predict.outputs import read_predictions
from stance.readers.raw import article_from_text, iter_inputs
from stance.schema import STANCES, Article, PairPrediction

ROOT = Path(__file__).resolve().parent.parent
PREDICT_CLI = [sys.executable, "-c", "from stance.cli import predict_main; predict_main()"]
ENV = {**os.environ, "STANCE_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = "China criticised the United States on Monday. Russia agreed with Beijing.\n"


def train_config(tmp: Path, *overrides: str):
    return tiny_train_config(tmp, "train.epochs=2", *overrides)


def predict_config(model: Path, source: Path, output: Path, **extra):
    return OmegaConf.create(
        {"model_dir": str(model), "input": str(source), "output": str(output), "device": "cpu"}
        | {"gazetteer": "data/actors.yaml", "batch_size": 8, "overwrite": False, "chunk_sentences": 2000}
        | extra
    )


def run_predict(model: Path, source: Path, output: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [f"model_dir={model}", f"input={source}", f"output={output}", "device=cpu", f"hydra.run.dir={tmp}/h", *extra]
    return subprocess.run([*PREDICT_CLI, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pair_keys(rows: list[dict]) -> list[tuple]:
    return [(r["article_id"], int(r["sentence_index"]), r["actor"], r["target"]) for r in rows]


# -- readers: arbitrary text and bytes ------------------------------------------


@FUZZ
@given(st.text())
def test_article_from_arbitrary_text_never_raises(text: str) -> None:
    article = article_from_text("a", text)
    assert all(s and s == s.strip() for s in article.sentences)


@FUZZ
@given(st.binary(max_size=2000))
def test_a_text_file_of_arbitrary_bytes_is_an_article_or_a_named_problem(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "x.txt").write_bytes(data)
        items = list(iter_inputs(Path(tmp), gazetteer=None))
    assert len(items) == 1
    item = items[0]
    if isinstance(item, Problem):
        assert item.file.endswith("x.txt") and item.message
    else:
        assert item.id == "x" and item.sentences


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_record = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=10), st.integers(), _json),
        "text": st.one_of(st.text(max_size=200), st.just("China criticised the United States."), _json),
        "title": st.one_of(st.text(max_size=10), _json),
        "date": st.one_of(st.text(max_size=10), _json),
    },
)
_line = st.one_of(
    _record.map(json.dumps),
    _json.map(json.dumps),
    st.text(max_size=50).filter(lambda s: "\n" not in s and "\r" not in s),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
)


@FUZZ
@given(st.lists(_line, min_size=1, max_size=8), st.booleans(), st.booleans())
def test_every_jsonl_line_is_an_article_or_a_problem_with_its_line(lines: list, bom: bool, crlf: bool) -> None:
    raw = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    data = (b"\r\n" if crlf else b"\n").join(raw) + b"\n"
    if bom:
        data = b"\xef\xbb\xbf" + data
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "x.jsonl").write_bytes(data)
        items = list(iter_inputs(Path(tmp) / "x.jsonl", gazetteer=None))

    def blank(number: int, line: bytes) -> bool:
        try:
            return not line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            return False

    physical = data.split(b"\n")[:-1]
    binary_at = next((i for i, b in enumerate(physical, start=1) if b"\0" in b), None)
    if binary_at is not None:  # binary data: named once, at its line, and not read past (nor line by line)
        assert isinstance(items[-1], Problem) and "binary data" in items[-1].message
        assert items[-1].line == binary_at
        physical, items = physical[: binary_at - 1], items[:-1]
    nonblank = [i for i, b in enumerate(physical, start=1) if not blank(i, b)]
    if not nonblank and binary_at is not None:
        assert items == []
        return
    if not nonblank:
        assert len(items) == 1 and isinstance(items[0], Problem) and "empty" in items[0].message
        return
    assert len(items) == len(nonblank)  # one result per record, in order
    for number, item in zip(nonblank, items, strict=True):
        if isinstance(item, Problem):
            assert item.line == number and item.file.endswith("x.jsonl") and item.message
        else:
            assert isinstance(item, Article) and item.origin.endswith(f"x.jsonl:{number}")
            json.dumps(item.id, ensure_ascii=False).encode("utf-8")  # writable as output


def test_a_binary_file_named_jsonl_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_bytes(bytes(range(256)) * 40)
    items = list(iter_inputs(tmp_path / "x.jsonl", gazetteer=None))
    assert len(items) == 1 and "binary data, not JSONL text (NUL byte at offset 0)" in items[0].message
    assert items[0].line == 1


def test_binary_data_after_good_lines_is_named_once_by_either_engine(tmp_path: Path) -> None:
    from stance.predict.ray_stages import shard_records

    good = "".join(json.dumps({"id": f"a{i}", "text": "China praised Russia. " * 20}) + "\n" for i in range(30))
    data = good.encode("utf-8") + bytes(range(256)) * 40  # past the first 8 KB, as a truncated download leaves it
    assert len(good) > 8192
    (tmp_path / "x.jsonl").write_bytes(data)
    for items in (list(iter_inputs(tmp_path / "x.jsonl", gazetteer=None)), list(shard_records(data, ".jsonl", "x"))):
        assert [a.id for a in items[:-1]] == [f"a{i}" for i in range(30)]  # the records before it are kept
        assert isinstance(items[-1], Problem) and items[-1].line == 31
        assert f"binary data, not JSONL text (NUL byte at offset {len(good)})" in items[-1].message


def test_a_date_that_does_not_parse_is_named_and_the_article_kept(tmp_path: Path, caplog) -> None:
    lines = [
        {"id": "a", "text": "Russia praised China.", "date": "not-a-date"},
        {"id": "b", "text": "x", "date": "2024-05-16T08:00Z"},
    ]
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="stance.readers.raw"):
        items = list(iter_inputs(tmp_path / "x.jsonl", gazetteer=None))
    assert [a.id for a in items] == ["a", "b"] and items[0].date == "not-a-date"  # kept as given, read undated
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "x.jsonl:1: article a: field 'date': 'not-a-date' is not a date" in warned[0]


# -- the gazetteer on arbitrary text --------------------------------------------


@FUZZ
@given(data=st.data())
def test_gazetteer_spans_are_ordered_disjoint_and_known(gazetteer, data) -> None:
    aliases = sorted(a for a in gazetteer._alias_to_actor if a)
    pieces = data.draw(st.lists(st.one_of(st.sampled_from(aliases), st.text(max_size=12)), max_size=12))
    separators = data.draw(st.lists(st.sampled_from(["", " ", "'s ", ", ", "-", "’"]), min_size=len(pieces)))
    text = "".join(p + s for p, s in zip(pieces, separators, strict=False))
    mentions = gazetteer.find(text)
    end = 0
    for m in mentions:
        assert end <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.text
        assert m.actor in gazetteer.actors and gazetteer.canonical(m.text) == m.actor
        end = m.end


# -- hostile input to stance-predict --------------------------------------------


def test_hostile_folder_good_articles_land_bad_ones_are_named(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.txt").write_text(GOOD, encoding="utf-8")
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "blank.txt").write_bytes(b"  \r\n\n ")
    (inputs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (inputs / "latin1.txt").write_bytes("Chine critiquée par la Russie, dit Pékin.".encode("latin-1"))
    (inputs / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    (inputs / "crlf.txt").write_bytes(b"NATO warned Russia.\r\nUkraine thanked NATO.\r\n")
    (inputs / "no_actors.txt").write_text("It rained all day in the valley.\n", encoding="utf-8")
    filler = "The committee met again and discussed the budget at length."
    huge = [filler] * 12_000
    huge[5], huge[999], huge[1000], huge[11_999] = (
        "Japan thanked South Korea.",
        "Iran warned Israel.",
        "Israel answered Iran.",  # the first sentence of a chunk: its context comes from the chunk before
        "India criticised Pakistan.",
    )
    (inputs / "huge.txt").write_text("\n".join(huge), encoding="utf-8")
    words = " ".join(["and then the delegates talked about tariffs"] * 625)  # 5,000 words
    (inputs / "long.txt").write_text(f"China said {words} that the United States had lied.\n", encoding="utf-8")
    (inputs / "notes.md").write_text("not an article")

    out = tmp_path / "out" / "rows.jsonl"
    done = run_predict(folder, inputs, out, tmp_path, "chunk_sentences=1000")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "4 inputs could not be read" in done.stderr
    assert "1 files that are not .txt are ignored" in done.stdout + done.stderr  # notes.md: not silently
    rows = jsonl(out)
    by_article: dict[str, set] = {}
    for r in rows:
        by_article.setdefault(r["article_id"], set()).add((r["sentence_index"], r["actor"], r["target"]))
    assert set(by_article) == {"good", "bom", "crlf", "huge", "long"}
    assert by_article["bom"] == by_article["good"]
    assert by_article["crlf"] == {
        (0, "NATO", "Russia"),
        (0, "Russia", "NATO"),
        (1, "Ukraine", "NATO"),
        (1, "NATO", "Ukraine"),
    }
    assert {(i, a) for i, a, _ in by_article["huge"]} == {
        (5, "Japan"),
        (5, "South Korea"),
        (999, "Iran"),
        (999, "Israel"),
        (1000, "Israel"),
        (1000, "Iran"),
        (11_999, "India"),
        (11_999, "Pakistan"),
    }
    assert {(a, t) for _, a, t in by_article["long"]} == {("China", "United States"), ("United States", "China")}
    assert len(pair_keys(rows)) == len(set(pair_keys(rows)))
    errors = {Path(e["file"]).name: e for e in jsonl(out.with_name("rows.errors.jsonl"))}
    assert set(errors) == {"empty.txt", "blank.txt", "binary.txt", "latin1.txt"}
    assert "binary" in errors["binary.txt"]["message"] and "UTF-8" in errors["latin1.txt"]["message"]
    summary = json.loads(out.with_name("rows.summary.json").read_text())
    assert summary["run"] == {
        "articles": 6,
        "articles_without_pairs": 1,
        "articles_without_pairs_ids": ["no_actors"],  # named, not only counted
        "pairs": len(rows),
        "failed_inputs": 4,
    }
    assert sum(e["n"] for e in summary["articles"]["huge"]) == 8


def test_a_5000_word_sentence_keeps_both_mentions_in_the_model_window(trained) -> None:
    folder, _ = trained
    clf = StanceClassifier.from_pretrained(folder, device="cpu")
    words = " ".join(["and then the delegates talked about tariffs"] * 625)
    article = article_from_text("long", f"China said {words} that the United States had lied.")
    rows = clf.pairs_of(article)
    assert len(rows) == 2
    encoded = clf.encode(rows)
    for ids in encoded["input_ids"]:
        assert len(ids) <= clf.encoding.max_length
        text = clf.tokenizer.decode(ids)
        for marker in ("[ACTOR]", "[/ACTOR]", "[TARGET]", "[/TARGET]"):
            assert marker in text
        assert "china" in text.lower() and "united states" in text.lower()


def test_hostile_jsonl_lines_are_named_with_their_line(trained, tmp_path: Path) -> None:
    folder, _ = trained
    lines = [
        b'\xef\xbb\xbf{"id": "a", "text": "China criticised the United States."}',
        b"{not json",
        b"[1, 2]",
        b'{"text": "no id"}',
        b'{"id": "b", "text": 5}',
        b'{"id": "c", "text": "NATO warned Russia.", "date": 2024}',
        b'{"id": "d", "text": "bad \\ud800 surrogate"}',
        b"[" * 100_000,
        b'{"id": "e", "text": "caf\xe9"}',
        b"",
        b'{"id": "a", "text": "A duplicate of a."}',
        b'{"id": "f", "text": "   "}',
        b'{"id": 7, "text": "Japan and South Korea held talks."}',
    ]
    source = tmp_path / "news.jsonl"
    source.write_bytes(b"\r\n".join(lines) + b"\r\n")
    out = tmp_path / "out.csv"
    result = predict_files(predict_config(folder, source, out))
    assert (result["articles"], result["failed_inputs"]) == (2, 10)
    errors = jsonl(tmp_path / "out.errors.jsonl")
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
    assert "duplicate article id" in errors[8]["message"] and errors[8]["article"] == "a"
    assert {r.article_id for r in read_predictions(out)} == {"a", "7"}
    assert out.read_text().count("article_id,") == 1  # one CSV header


# -- kill and resume ------------------------------------------------------------


def _many_articles(folder: Path, n: int) -> None:
    folder.mkdir()
    actors = ["China", "Russia", "Japan", "India", "Iran", "Israel", "France", "Germany"]
    for i in range(n):
        a, b, c = actors[i % 8], actors[(i + 3) % 8], actors[(i + 5) % 8]
        text = f"{a} criticised {b} over trade on day {i}. {c} sided with {a}. Nothing else happened."
        (folder / f"a{i:04d}.txt").write_text(text, encoding="utf-8")


@pytest.mark.slow  # starts and kills CLI processes (~30 s); the in-process resume tests cover the logic
def test_killed_predict_resumes_to_the_same_rows_exactly_once(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 300)
    reference = tmp_path / "ref" / "rows.jsonl"
    predict_files(predict_config(folder, inputs, reference, batch_size=64))

    out = tmp_path / "run" / "rows.jsonl"
    # fp32 throughout: the rows are compared with the in-process reference's.
    args = [f"model_dir={folder}", f"input={inputs}", f"output={out}", "device=cpu", "batch_size=4", "precision=fp32"]
    proc = subprocess.Popen(
        [*PREDICT_CLI, *args, f"hydra.run.dir={tmp_path}/h"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.stat().st_size > 2000:
            break
        time.sleep(0.005)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert running, proc.stderr.read().decode()  # killed mid-run, not after it ended
    partial = out.read_bytes().count(b"\n")
    assert 0 < partial < len(jsonl(reference))
    # A torn line, as a kill in the middle of a write leaves it.
    with out.open("ab") as handle:
        handle.write(b'{"article_id": "a00')

    done = run_predict(folder, inputs, out, tmp_path, "batch_size=64", "precision=fp32")
    assert done.returncode == 0, done.stderr
    rows, expected = jsonl(out), jsonl(reference)
    assert len(pair_keys(rows)) == len(set(pair_keys(rows)))
    assert sorted(pair_keys(rows)) == sorted(pair_keys(expected))
    probs = {k: (r["p_support"], r["p_oppose"], r["p_neutral"]) for k, r in zip(pair_keys(rows), rows, strict=True)}
    for k, r in zip(pair_keys(expected), expected, strict=True):
        assert probs[k] == pytest.approx((r["p_support"], r["p_oppose"], r["p_neutral"]), abs=1e-5)
    summary = json.loads(out.with_name("rows.summary.json").read_text())
    ref_summary = json.loads(reference.with_name("rows.summary.json").read_text())
    assert (
        summary["run"]
        == ref_summary["run"]
        == {
            "articles": 300,
            "articles_without_pairs": 0,
            "articles_without_pairs_ids": [],
            "pairs": len(expected),
            "failed_inputs": 0,
        }
    )
    assert [(e["actor"], e["target"], e["n"]) for e in summary["corpus"]] == [
        (e["actor"], e["target"], e["n"]) for e in ref_summary["corpus"]
    ]
    # Running the finished job again adds nothing.
    again = predict_files(predict_config(folder, inputs, out))
    assert again["pairs"] == len(expected) and jsonl(out) == rows


def test_resume_cuts_a_half_written_article_and_restores_the_summary(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 12)
    out = tmp_path / "rows.csv"
    cfg = predict_config(folder, inputs, out)
    predict_files(cfg)
    whole = out.read_bytes()
    full_summary = json.loads((tmp_path / "rows.summary.json").read_text())
    log = progress_path(out)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    # As if killed while writing article 6: its rows half written, its commit line torn.
    keep = entries[:7]
    cut = keep[-1]["offset"] + 150
    out.write_bytes(whole[:cut])
    log.write_text("".join(json.dumps(e) + "\n" for e in keep) + '{"article_id": "a00', encoding="utf-8")
    (tmp_path / "rows.summary.json").unlink()
    result = predict_files(cfg)
    assert out.read_bytes() == whole
    assert json.loads((tmp_path / "rows.summary.json").read_text()) == full_summary
    assert result["articles"] == 12
    # Another job may not resume into this output; overwrite=true starts afresh.
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # unfinished again
    other = tmp_path / "other"
    _many_articles(other, 3)
    with pytest.raises(StanceError, match=r"unfinished run of another job.*input"):
        predict_files(predict_config(folder, other, out))
    result = predict_files(predict_config(folder, other, out, overwrite=True))
    assert result["articles"] == 3 and {r.article_id for r in read_predictions(out)} == {"a0000", "a0001", "a0002"}


def test_a_batch_that_fails_is_scored_article_by_article(trained, tmp_path: Path, monkeypatch) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 10)
    real = StanceClassifier.pairs_of_many

    def pairs_of_many(self, articles: list[Article]):
        if any(article.id == "a0004" for article in articles):
            raise RuntimeError("boom")
        return real(self, articles)

    monkeypatch.setattr(StanceClassifier, "pairs_of_many", pairs_of_many)
    out = tmp_path / "rows.jsonl"
    result = predict_files(predict_config(folder, inputs, out))
    assert (result["articles"], result["failed_inputs"]) == (9, 1)
    assert {r["article_id"] for r in jsonl(out)} == {f"a{i:04d}" for i in range(10)} - {"a0004"}
    (error,) = jsonl(tmp_path / "rows.errors.jsonl")
    assert error["article"] == "a0004" and error["file"].endswith("a0004.txt") and "boom" in error["message"]


# -- model folders ---------------------------------------------------------------


def _fake_folder(path: Path, config: dict | None) -> Path:
    path.mkdir()
    for name in ("model.safetensors", "tokenizer_config.json"):
        (path / name).write_text("{}")
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "is missing config.json"),
        ({"model_type": "bert"}, "is not a stance model"),
        ({"stance_encoding": {"version": 99}, "label2id": dict.fromkeys(STANCES, 0)}, "input format version 99"),
        ({"stance_encoding": {"version": 1}, "label2id": {"pos": 0, "neg": 1}}, "predicts \\['neg', 'pos'\\]"),
        ({"stance_encoding": {"version": 1}, "label2id": {"oppose": 0, "support": 1, "neutral": 2}}, "numbers its"),
    ],
)
def test_a_broken_model_folder_says_what_is_wrong(tmp_path: Path, config, message) -> None:
    with pytest.raises(ModelFolderError, match=message):
        check_model_folder(_fake_folder(tmp_path / "m", config))


def test_an_interrupted_model_folder_cannot_be_loaded(trained, tmp_path: Path) -> None:
    folder, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    StanceClassifier.from_pretrained(copy, device="cpu")
    (copy / ".incomplete").touch()
    with pytest.raises(ModelFolderError, match="was not finished"):
        StanceClassifier.from_pretrained(copy, device="cpu")


def test_predict_cli_names_a_foreign_model_folder_without_a_traceback(tmp_path: Path) -> None:
    model = _fake_folder(tmp_path / "m", {"model_type": "bert", "label2id": {"a": 0}})
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "x"}\n')
    done = run_predict(model, source, tmp_path / "out.jsonl", tmp_path)
    assert done.returncode == 2
    assert "is not a stance model" in done.stderr and "Traceback" not in done.stderr


# -- training: resume and determinism -------------------------------------------


def test_training_resumes_from_the_last_checkpoint(tmp_path: Path, caplog, monkeypatch) -> None:
    from stance.training.train import train
    from stance.training.trainer import StanceTrainer

    train(train_config(tmp_path, "train.max_steps=3", "train.epochs=50"))
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*")) == ["checkpoint-3"]
    steps = []
    real_step = StanceTrainer.training_step

    def counted(self, *args, **kwargs):
        steps.append(self.state.global_step)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(StanceTrainer, "training_step", counted)
    with caplog.at_level(logging.INFO, logger="stance.training.train"):
        train(train_config(tmp_path, "train.max_steps=5", "train.epochs=50", "train.resume=true"))
    assert "resuming from" in caplog.text and "checkpoint-3" in caplog.text
    assert steps == [3, 4]  # it went on from step 3: two more optimiser steps, not five
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-5" / "trainer_state.json").read_text())
    assert state["global_step"] == 5


@pytest.mark.slow  # trains two models (~10 s)
def test_same_seed_and_data_give_the_same_model(tmp_path: Path, gazetteer) -> None:
    from datasets import DatasetDict

    from stance.dataset.build import dataset_from_config
    from stance.readers.articles import load_articles
    from stance.training.train import train

    runs = [tmp_path / "one", tmp_path / "two"]
    configs = [train_config(run, "train.max_steps=8", "train.logging_steps=1") for run in runs]
    full = dataset_from_config(configs[0])
    data = DatasetDict(train=full["train"].select(range(96)), dev=full["test"].select(range(64)))
    metrics = [train(cfg, data) for cfg in configs]

    def numbers(m: dict) -> dict:
        return {k: v for k, v in m.items() if not k.endswith(("runtime_s", "wall_time_s"))}

    assert len(metrics[0]["loss_history"]) == 8 and metrics[0]["dev"]["n"] == 64
    assert numbers(metrics[0]) == numbers(metrics[1])
    saved = [json.loads((run / "model" / "metrics.json").read_text()) for run in runs]
    assert numbers(saved[0]) == numbers(saved[1])
    article = load_articles([ROOT / "data" / "articles"], gazetteer)[0]
    first, second = (StanceClassifier.from_pretrained(run / "model", device="cpu") for run in runs)
    rows = first.pairs_of(article)[:64]
    assert torch.equal(first.predict_proba(rows), second.predict_proba(rows))


# -- readers report what they skip ----------------------------------------------


def test_seesaw_logs_what_it_skipped_with_counts(fixtures, caplog) -> None:
    from stance.readers.seesaw import load_seesaw

    cfg = OmegaConf.create({"name": "seesaw", "format": "seesaw", "root": str(fixtures / "seesaw")})
    with caplog.at_level(logging.INFO, logger="stance.readers.seesaw"):
        load_seesaw(cfg)
    (line,) = [r for r in caplog.records if r.getMessage().startswith("SEESAW:")]
    assert line.levelno >= logging.INFO
    message = line.getMessage()
    assert "skipped: " in message and "skipped: none" not in message
    assert any(f"{n} 'Not in the list' entity" in message for n in range(1, 10))


def test_dse_logs_what_it_read(fixtures, caplog) -> None:
    from stance.readers.dse import load_dse

    cfg = OmegaConf.create({"name": "dse", "format": "dse", "root": str(fixtures / "dse")})
    with caplog.at_level(logging.INFO, logger="stance.readers.dse"):
        articles = load_dse(cfg)
    assert f"DSE: {len(articles)} lines read (train " in caplog.text


def test_aggregator_equals_summarize_and_ignores_self_edges(gazetteer) -> None:
    from stance.predict.aggregate import StanceAggregator, summarize

    rows = [
        PairPrediction("a", 0, "s", "China", "Russia", "oppose", 0.1, 0.7, 0.2, "m"),
        PairPrediction("a", 1, "s", "Russia", "China", "support", 0.6, 0.3, 0.1, "m"),
        PairPrediction("b", 0, "s", "China", "Russia", "neutral", 0.2, 0.2, 0.6, "m"),
        PairPrediction("b", 0, "s", "Xi Jinping", "China", "support", 0.9, 0.05, 0.05, "m"),
    ]
    summary = summarize(rows, gazetteer)
    assert StanceAggregator(gazetteer).update_by_article(rows).summary() == summary
    edge = summary["corpus"][0]
    assert (edge["actor"], edge["target"], edge["n"], edge["counts"]) == (
        "China",
        "Russia",
        2,
        {"support": 0, "oppose": 1, "neutral": 1},
    )
    assert edge["mean_probability"]["oppose"] == pytest.approx(0.45)
    # Xi Jinping rolls up to China: a self-edge, left out of the affiliation picture.
    assert ("China", "China") not in {(e["actor"], e["target"]) for e in summary["corpus_by_affiliation"]}


def test_a_resumed_auto_job_keeps_the_precision_it_chose(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 6)
    out = tmp_path / "rows.jsonl"
    predict_files(predict_config(folder, inputs, out, precision="int8"))
    log_path = out.with_name("rows.jsonl.progress.jsonl")
    lines = jsonl(log_path)
    assert [line["precision"] for line in lines[1:-1]] == ["int8"] * 6
    first_rows = jsonl(out)
    # Undo the last two articles and the end mark, as a run killed there leaves the log.
    log_path.write_text("".join(json.dumps(line) + "\n" for line in lines[:-3]), encoding="utf-8")

    predict_files(predict_config(folder, inputs, out, precision="auto"))
    lines = jsonl(log_path)
    assert lines[-1]["complete"] and [line["precision"] for line in lines[1:-1]] == ["int8"] * 6
    # The two articles scored again come out as the first time, up to int8's dynamic activation scales,
    # which are computed per batch and so move a little when the articles are batched differently.
    rows = jsonl(out)
    assert [r["stance"] for r in rows] == [r["stance"] for r in first_rows]
    for again, first in zip(rows, first_rows, strict=True):
        assert again["p_oppose"] == pytest.approx(first["p_oppose"], abs=0.01)


def test_the_model_carries_its_gazetteer_and_an_edited_one_is_another_job(trained, tmp_path: Path, caplog) -> None:
    from stance.actors.dictionaries import gazetteer_sha256
    from stance.actors.resolve import model_gazetteer

    folder, _ = trained
    card = json.loads((folder / "gazetteer.json").read_text(encoding="utf-8"))
    assert card["sha256"] == gazetteer_sha256("data/actors.yaml")
    assert model_gazetteer(folder).read_bytes() == (ROOT / "data" / "actors.yaml").read_bytes()
    # stance-predict finds actors with the model's own list unless told otherwise, and says which
    inputs, out = tmp_path / "in", tmp_path / "rows.jsonl"
    _many_articles(inputs, 6)
    with caplog.at_level("INFO", logger="stance"):
        predict_files(predict_config(folder, inputs, out, gazetteer=None))
    assert f"gazetteer {model_gazetteer(folder)} (the model's own)" in caplog.text
    # A job whose gazetteer file was edited between runs is another job, though its path is the same.
    mine = tmp_path / "actors.yaml"
    mine.write_bytes((ROOT / "data" / "actors.yaml").read_bytes())
    out = tmp_path / "mine.jsonl"
    predict_files(predict_config(folder, inputs, out, gazetteer=str(mine)))
    log = progress_path(out)
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")  # as if killed after two articles
    with mine.open("a", encoding="utf-8") as handle:
        handle.write("  - name: Day\n    type: other\n    aliases: [day]\n")
    with pytest.raises(StanceError, match=r"unfinished run of another job.*gazetteer_sha256"):
        predict_files(predict_config(folder, inputs, out, gazetteer=str(mine)))


def test_a_gazetteer_hash_follows_its_included_files(tmp_path: Path) -> None:
    import shutil

    from stance.actors.dictionaries import gazetteer_files, gazetteer_sha256

    copy = tmp_path / "a"
    (copy / "phoenix").mkdir(parents=True)
    names = (
        "phoenix.yaml",
        "actors.yaml",
        "officeholders.yaml",
        "regions.yaml",
        "cities.yaml",
        "phoenix/phoenix.jsonl.gz",
    )
    for name in names:
        shutil.copyfile(ROOT / "data" / name, copy / name)
    assert [f.name for f in gazetteer_files(copy / "phoenix.yaml")] == [Path(n).name for n in names]
    before = gazetteer_sha256(copy / "phoenix.yaml")
    assert before == gazetteer_sha256("phoenix")  # the same files elsewhere: the same hash
    with (copy / "actors.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# an edit in an included file\n")
    assert gazetteer_sha256(copy / "phoenix.yaml") != before


def test_rows_carry_the_articles_date_source_and_url(trained, tmp_path: Path) -> None:
    folder, _ = trained
    source = tmp_path / "news.jsonl"
    records = [
        {
            "id": "n1",
            "text": "China criticised Russia.",
            "date": "2024-05-17",
            "source": "Hankyoreh",
            "url": "https://x/1",
        },
        {"id": "n2", "text": "Japan praised India."},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for out in (tmp_path / "rows.jsonl", tmp_path / "rows.csv"):
        predict_files(predict_config(folder, source, out))
        rows = {r.article_id: r for r in read_predictions(out)}
        assert (rows["n1"].date, rows["n1"].source, rows["n1"].url) == ("2024-05-17", "Hankyoreh", "https://x/1")
        assert (rows["n2"].date, rows["n2"].source, rows["n2"].url) == ("", "", "")
    # An unfinished output written with the columns of before is another job's: never mixed with these rows.
    log = progress_path(tmp_path / "rows.jsonl")
    head, *rest = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    head["job"]["fields"] = [f for f in head["job"]["fields"] if f not in ("date", "source", "url")]
    log.write_text("".join(json.dumps(e) + "\n" for e in [head, *rest[:1]]), encoding="utf-8")
    with pytest.raises(StanceError, match=r"unfinished run of another job.*fields"):
        predict_files(predict_config(folder, source, tmp_path / "rows.jsonl"))
