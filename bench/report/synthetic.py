"""The report benchmark's synthetic predictions: articles of skewed actors, written in chunks of whole
articles so that memory stays bounded whatever the row count (the shape is described in `bench.report.run`)."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import peak_rss_bytes, timestamp
from stance.schema import OUTPUT_FIELDS, SPAN_FIELDS

GENERATOR_VERSION = 1  # bump when the generated data changes, so stale data sets are not reused
CHUNK_ROWS = 500_000
AFFILIATIONS = 300
OUTLETS = 200
FIRST_DAY = dt.date(2015, 1, 1)
LAST_DAY = dt.date(2024, 12, 31)
MODEL = "models/recipe-seesaw-s44"

# The head of the skew: real names, so the biggest edges read like news. Affiliation codes for these.
HEAD = [
    ("United States", "USA"),
    ("China", "CHN"),
    ("Russia", "RUS"),
    ("Ukraine", "UKR"),
    ("Israel", "ISR"),
    ("Iran", "IRN"),
    ("European Union", "EUR"),
    ("United Kingdom", "GBR"),
    ("Germany", "DEU"),
    ("France", "FRA"),
    ("India", "IND"),
    ("Japan", "JPN"),
    ("North Korea", "PRK"),
    ("South Korea", "KOR"),
    ("Turkey", "TUR"),
    ("Saudi Arabia", "SAU"),
    ("Syria", "SYR"),
    ("Pakistan", "PAK"),
    ("Afghanistan", "AFG"),
    ("Iraq", "IRQ"),
    ("NATO", "NAT"),
    ("United Nations", "UNO"),
    ("Palestinian Authority", "PSE"),
    ("Hamas", "HMS"),
    ("Egypt", "EGY"),
    ("Canada", "CAN"),
    ("Mexico", "MEX"),
    ("Brazil", "BRA"),
    ("Venezuela", "VEN"),
    ("Taiwan", "TWN"),
    ("Australia", "AUS"),
    ("Italy", "ITA"),
    ("Poland", "POL"),
    ("Qatar", "QAT"),
    ("Lebanon", "LBN"),
    ("Hezbollah", "HEZ"),
    ("Yemen", "YEM"),
    ("Libya", "LBY"),
    ("Nigeria", "NGA"),
    ("South Africa", "ZAF"),
    ("Ethiopia", "ETH"),
    ("Sudan", "SDN"),
    ("Cuba", "CUB"),
    ("Belarus", "BLR"),
    ("Hungary", "HUN"),
    ("Greece", "GRC"),
    ("Spain", "ESP"),
    ("Indonesia", "IDN"),
    ("Philippines", "PHL"),
    ("Vietnam", "VNM"),
    ("World Health Organization", "WHO"),
    ("International Monetary Fund", "IMF"),
]
ROLES = ("GOV", "MIL", "OPP", "BUS", "MED", "")
# fmt: off
SYLLABLES = [
    "ka", "la", "mi", "ro", "sa", "te", "vo", "na", "di", "ren", "tal", "mar", "bel", "cor", "dan", "fen",
    "gil", "hor", "jas", "kel", "lom", "mun", "nor", "pel", "quin", "ras", "sol", "tor", "ul", "vin", "wes",
    "yar", "zed", "an", "el", "is", "os", "ur", "ber", "cas", "dor", "ev", "fal", "gar", "han",
]
WORDS = [
    "the", "minister", "said", "on", "talks", "with", "over", "a", "new", "deal", "trade", "security", "border",
    "sanctions", "aid", "government", "officials", "warned", "against", "support", "for", "plan", "peace",
    "agreement", "military", "forces", "election", "president", "leaders", "meeting", "week", "after", "policy",
    "called", "urged", "criticised", "praised", "rejected", "backed", "statement", "spokesman", "told",
    "reporters", "crisis", "economic", "cooperation", "would", "could", "not", "yet", "still", "also", "from",
    "its", "their", "country", "region", "international", "pressure", "vote", "council", "summit", "energy",
    "oil", "gas", "deal", "visit", "foreign",
]
# fmt: on


# ---------------------------------------------------------------- generation


def _zipf(n: int, s: float, offset: float) -> np.ndarray:
    """Zipf–Mandelbrot weights over ranks 0..n-1, normalised."""
    w = 1.0 / (np.arange(n, dtype=np.float64) + offset) ** s
    return w / w.sum()


def _name(rng: np.random.Generator, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES, size=parts)).capitalize()


def _universe(actors: int, seed: int) -> dict[str, Any]:
    """What every chunk draws from: actors with their affiliation, code and source; outlets; fragments."""
    rng = np.random.default_rng([seed, 0])
    n_aff = min(AFFILIATIONS, actors)
    # Affiliations: the head's countries and organisations, then made-up ones, each with a 3-letter code.
    aff_names, aff_codes = [n for n, _ in HEAD][:n_aff], [c for _, c in HEAD][:n_aff]
    seen_codes = set(aff_codes)
    while len(aff_names) < n_aff:
        name = f"{_name(rng, 2)}{rng.choice(['', 'ia', 'land', 'stan', ' Union', ' League'])}"
        code = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), size=3))
        if name in aff_names or code in seen_codes:
            continue
        aff_names.append(name)
        aff_codes.append(code)
        seen_codes.add(code)
    # Actors: the affiliations themselves first (they roll up to themselves), then persons and groups, whose
    # affiliation is drawn from a skew of its own (most people in the news belong to the big countries).
    names = list(aff_names)
    taken = set(names)
    while len(names) < actors:
        name = f"{_name(rng, 2)} {_name(rng, int(rng.integers(2, 4)))}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    rest = actors - n_aff
    affiliation = np.concatenate([np.arange(n_aff), rng.choice(n_aff, size=rest, p=_zipf(n_aff, 1.1, 1.5))])
    role = rng.integers(0, len(ROLES), size=actors)
    kind = rng.choice(3, size=actors, p=[0.45, 0.35, 0.20])  # gazetteer, phoenix, found
    kind[:n_aff] = 0
    aff_code = np.array(aff_codes, dtype=object)[affiliation]
    codes = [
        "" if k == 2 else (c if i < n_aff else c + ROLES[r])
        for i, (k, c, r) in enumerate(zip(kind, aff_code, role, strict=True))
    ]
    # A tenth of the found actors have no known affiliation (the report rolls them up to themselves).
    no_aff = (kind == 2) & (rng.random(actors) < 0.1)
    no_aff[:n_aff] = False
    aff_of_actor = np.where(no_aff, "", np.array(aff_names, dtype=object)[affiliation])
    outlet_words = ["Daily", "Times", "Herald", "Post", "Tribune", "Wire", "Courier", "Observer", "Ledger", "News"]
    outlets = []
    while len(outlets) < OUTLETS:
        name = f"The {_name(rng, 2)} {rng.choice(outlet_words)}"
        if name not in outlets:
            outlets.append(name)
    domains = [o.lower().removeprefix("the ").replace(" ", "") + ".example" for o in outlets]
    fragments = []
    while len(fragments) < 1000:
        words: list[str] = []
        while len(" ".join(words)) < 19:
            words.append(str(rng.choice(WORDS)))
        text = " ".join(words)
        if len(text) <= 32:
            fragments.append(text)
    fragments[0] = fragments[0].capitalize()
    days = (LAST_DAY - FIRST_DAY).days + 1
    return {
        "weights": _zipf(actors, 1.0, 2.7),
        "names": pa.array(names, pa.string()),
        "affiliation": pa.array(aff_of_actor.tolist(), pa.string()),
        "code": pa.array(codes, pa.string()),
        "source": pa.array(np.array(["gazetteer", "phoenix", "found"])[kind].tolist(), pa.string()),
        # A dictionary actor's type; a span only the finder found has none.
        "type": pa.array(np.array(["country", "person", ""])[kind].tolist(), pa.string()),
        "outlet_weights": _zipf(OUTLETS, 0.9, 3.0),
        "outlets": pa.array(outlets, pa.string()),
        "domains": domains,
        "fragments": pa.array([f.capitalize() for f in fragments], pa.string()),
        "fragments_lower": pa.array(fragments, pa.string()),
        "dates": pa.array([(FIRST_DAY + dt.timedelta(days=d)).isoformat() for d in range(days)], pa.string()),
    }


def _article_actors(rng: np.random.Generator, weights: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(articles, 5) actor indices: each article's first k[i] are distinct draws from the skew, the rest -1."""
    n, draws = len(k), 10
    cand = rng.choice(len(weights), size=(n, draws), p=weights)
    dup = np.zeros(cand.shape, bool)
    for j in range(1, draws):
        dup[:, j] = (cand[:, :j] == cand[:, j : j + 1]).any(axis=1)
    # Stable sort puts each row's first occurrences first, in draw order.
    order = np.argsort(dup, axis=1, kind="stable")
    uniq = np.take_along_axis(cand, order, axis=1)
    n_uniq = (~dup).sum(axis=1)
    # Ten draws from a skew this flat almost always give five distinct actors; fill any shortfall with
    # actors one rank down the list from the article's first (never one it already has).
    for j in range(5):
        short = n_uniq <= j
        if short.any():
            uniq[short, j] = (uniq[short, 0] + j) % len(weights)
    out = uniq[:, :5].copy()
    out[np.arange(5)[None, :] >= k[:, None]] = -1
    return out


def _chunk(u: dict[str, Any], rng: np.random.Generator, rows: int, first_article: int) -> tuple[pa.Table, int]:
    """`rows` prediction rows in whole articles of 5–15 rows (fewer only for a chunk that small): table, articles."""
    lengths = rng.integers(5, 16, size=rows // 5 + 1)
    ends = np.cumsum(lengths)
    n_art = int(np.searchsorted(ends, rows) + 1)
    lengths = lengths[:n_art]
    lengths[-1] -= int(ends[n_art - 1] - rows)
    if lengths[-1] < 5 and n_art > 1:  # too short an article: give its rows to the earlier ones with room
        room = np.flatnonzero(lengths[:-1] < 15)
        if len(room) >= lengths[-1]:
            lengths[room[-int(lengths[-1]) :]] += 1
            lengths, n_art = lengths[:-1], n_art - 1
    art = np.repeat(np.arange(n_art), lengths)  # each row's article, 0-based in the chunk
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    k = rng.integers(3, 6, size=n_art)  # actors per article
    actors = _article_actors(rng, u["weights"], k)
    n_pairs = k * (k - 1)

    # Sentence indices: non-decreasing within an article, a few pairs sharing a sentence now and then; a
    # sentence never holds more rows than its article has ordered pairs, so (article, sentence, actor, target)
    # is unique.
    step = rng.choice(4, size=rows, p=[0.3, 0.4, 0.2, 0.1])
    step[starts] = rng.integers(0, 4, size=n_art)
    idx = np.arange(rows)
    while True:
        same = step == 0
        same[starts] = False
        run_start = np.maximum.accumulate(np.where(same, 0, idx))
        pos = idx - run_start
        over = pos >= n_pairs[art]
        if not over.any():
            break
        step[over] = 1
    sentence_index = np.cumsum(step) - np.repeat(np.cumsum(step)[starts] - step[starts], lengths)
    pair = (rng.integers(0, 1 << 30, size=rows)[run_start] + pos) % n_pairs[art]
    ka = k[art] - 1
    i = pair // ka
    j = pair % ka
    j = j + (j >= i)
    actor = actors[art, i]
    target = actors[art, j]

    # Probabilities: a Dirichlet leaning, per edge, towards one stance (most edges towards neutral).
    lean = ((actor.astype(np.int64) * 1_000_003 + target * 7919 + 12345) % 10) // 4  # 0,0,0,0,1,1,1,1,2,2
    alpha = np.full((rows, 3), 0.6)
    alpha[idx, 2 - np.minimum(lean, 2)] += 1.5  # lean 0 → neutral, 1 → oppose, 2 → support
    alpha[:, 2] += 0.6
    g = rng.standard_gamma(alpha)
    p = np.round(g / g.sum(axis=1, keepdims=True), 6)  # stance-predict rounds to 6 decimals
    stance = np.argmax(p, axis=1)

    day = rng.integers(0, len(u["dates"]), size=n_art)
    outlet = rng.choice(OUTLETS, size=n_art, p=u["outlet_weights"])
    ids = [f"a{first_article + a:08d}" for a in range(n_art)]
    dates = u["dates"].take(pa.array(day)).to_pylist()
    urls = [
        f"https://{u['domains'][o]}/{d[:4]}/{d[5:7]}/{d[8:10]}/story-{first_article + a:08d}"
        for a, (o, d) in enumerate(zip(outlet.tolist(), dates, strict=True))
    ]
    frag = rng.integers(0, len(u["fragments"]), size=(rows, 3))[run_start]
    sentence = pc.binary_join_element_wise(
        u["fragments"].take(pa.array(frag[:, 0])),
        u["fragments_lower"].take(pa.array(frag[:, 1])),
        pc.binary_join_element_wise(u["fragments_lower"].take(pa.array(frag[:, 2])), ".", ""),
        " ",
    )
    art_rows = pa.array(art)
    a_idx, t_idx = pa.array(actor), pa.array(target)

    def per_row(values: pa.Array) -> pa.Array:
        return values.take(art_rows)

    columns = {
        "article_id": per_row(pa.array(ids, pa.string())),
        "sentence_index": pa.array(sentence_index, pa.int64()),
        "sentence": sentence,
        "actor": u["names"].take(a_idx),
        "target": u["names"].take(t_idx),
        "stance": pa.array(np.array(["support", "oppose", "neutral"])[stance].tolist(), pa.string()),
        "p_support": pa.array(p[:, 0]),
        "p_oppose": pa.array(p[:, 1]),
        "p_neutral": pa.array(p[:, 2]),
        "model": pa.array([MODEL] * rows, pa.string()),
        "actor_source": u["source"].take(a_idx),
        "target_source": u["source"].take(t_idx),
        "actor_code": u["code"].take(a_idx),
        "target_code": u["code"].take(t_idx),
        "actor_affiliation": u["affiliation"].take(a_idx),
        "target_affiliation": u["affiliation"].take(t_idx),
        "actor_type": u["type"].take(a_idx),
        "target_type": u["type"].take(t_idx),
        # The synthetic sentences are word salad: no mention is marked in them.
        **{name: pa.array(np.full(rows, -1, dtype=np.int64)) for name in SPAN_FIELDS},
        "date": per_row(pa.array(dates, pa.string())),
        "source": per_row(u["outlets"].take(pa.array(outlet))),
        "url": per_row(pa.array(urls, pa.string())),
    }
    assert list(columns) == OUTPUT_FIELDS, "the generator's columns drifted from stance.schema.OUTPUT_FIELDS"
    return pa.table(columns), n_art


def generate(
    path_or_dir: str | Path,
    rows: int = 10_000_000,
    actors: int = 50_000,
    seed: int = 0,
    files: int = 1,
    chunk_rows: int = CHUNK_ROWS,
) -> list[Path]:
    """Write `rows` synthetic prediction rows as Parquet; the files written.

    A path ending in .parquet gets one file (files must be 1); otherwise `path_or_dir` is a folder that gets
    predictions-00000.parquet … Rows come in chunks of whole articles (`chunk_rows` each, one row group per
    chunk), each chunk from its own seeded stream, so memory stays bounded and the output depends only on
    the arguments.
    """
    if rows < 1 or actors < 5 or files < 1:
        raise ValueError("need rows >= 1, actors >= 5 and files >= 1")
    target = Path(path_or_dir)
    if target.suffix == ".parquet":
        if files != 1:
            raise ValueError("a .parquet path takes one file; give a folder for several")
        paths = [target]
    else:
        paths = [target / f"predictions-{i:05d}.parquet" for i in range(files)]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    u = _universe(actors, seed)
    chunk_rows = max(1, min(chunk_rows, math.ceil(rows / files)))
    n_chunks = math.ceil(rows / chunk_rows)
    if n_chunks < files:
        raise ValueError(f"{rows} rows cannot fill {files} files")
    schema = None
    writer: pq.ParquetWriter | None = None
    current = -1
    first_article = 0
    try:
        for c in range(n_chunks):
            n = min(chunk_rows, rows - c * chunk_rows)
            table, n_art = _chunk(u, np.random.default_rng([seed, 1, c]), n, first_article)
            first_article += n_art
            file_index = c * files // n_chunks
            if file_index != current:
                if writer is not None:
                    writer.close()
                schema = schema or table.schema
                writer = pq.ParquetWriter(paths[file_index], schema, compression="zstd", use_dictionary=True)
                current = file_index
            writer.write_table(table, row_group_size=chunk_rows)
            del table
    finally:
        if writer is not None:
            writer.close()
    return paths


# ---------------------------------------------------------------- the data set, reused while its parameters match


def ensure_data(data: Path, rows: int, actors: int, files: int, seed: int) -> dict[str, Any]:
    """The data set in `data` for these parameters, generated unless params.json says it is already there."""
    params = {"rows": rows, "actors": actors, "files": files, "seed": seed, "generator": GENERATOR_VERSION}
    meta_path = data / "params.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        paths = [data / name for name in meta.get("files_written", [])]
        if meta.get("params") == params and paths and all(p.exists() for p in paths):
            return {**meta, "reused": True}
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    began = time.perf_counter()
    paths = generate(data, rows=rows, actors=actors, seed=seed, files=files)
    seconds = time.perf_counter() - began
    meta = {
        "params": params,
        "files_written": [p.name for p in paths],
        "generation_s": round(seconds, 1),
        "generation_peak_rss_bytes": peak_rss_bytes(),
        "bytes": sum(p.stat().st_size for p in paths),
        "generated_at": timestamp(),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return {**meta, "reused": False}


# ---------------------------------------------------------------- timing a command
