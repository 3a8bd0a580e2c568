"""Report benchmark: `stance-report` on 10 million synthetic prediction rows.

    .venv/bin/python -m bench.report                      # 10M rows, 50k actors: generate (or reuse), time
    .venv/bin/python -m bench.report --rows 200000 --no-write    # a smoke run, bench/ untouched
    .venv/bin/python -m bench.report --generate-only      # only make (or reuse) the data set
    .venv/bin/python -m bench.report --standin            # time the DuckDB stand-in instead of stance-report
    .venv/bin/python -m bench.report --render-only        # bench/report/README.md from its results.json

The data (Parquet, exactly the columns of `stance.schema.OUTPUT_FIELDS`) goes to outputs/bench_report/data/
(git-ignored; `--data DIR` elsewhere) with a params.json beside it, and is reused while the parameters match.
It is made in chunks of whole articles, so the generator's memory stays bounded whatever the row count:
articles of 5–15 rows, each naming 3–5 actors drawn from a Zipf-like skew over `--actors` names (a few
countries dominate, a long tail follows), its rows ordered pairs among them; every actor rolls up to one of
300 affiliations (countries and organisations, themselves skewed); one date per article, uniform over
2015-01-01..2024-12-31; one of 200 outlets per article, with a URL; probabilities from a Dirichlet that leans
by edge (rounded to 6 decimals, as stance-predict writes them), stance their argmax; the column types of
`stance.predict.outputs.parquet_schema()`; sentences of 60–100 characters from a small vocabulary.

The command runs in a subprocess pinned to `--cores` CPUs (OMP/MKL/OpenBLAS threads and `report.threads` set to
the same), with wall time and the peak RSS of its process tree (psutil, every 0.05 s, summed over the process
and its children) and `getrusage(RUSAGE_CHILDREN).ru_maxrss`. Its output folder (outputs/bench_report/report/)
is listed with sizes and removed afterwards unless `--keep`; the counts check reads `edges.parquet`.
Results: bench/report/results.json, rendered to its README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.common import BENCH, ROOT, commit, cpu, offline, peak_rss_bytes, repo_relative, timestamp, write_results

offline()

from bench.report.synthetic import AFFILIATIONS, OUTLETS, ensure_data  # noqa: E402

WORK = ROOT / "outputs" / "bench_report"
FOLDER = BENCH / "report"
JSON_PATH = FOLDER / "results.json"
MD_PATH = FOLDER / "README.md"
TARGET_WALL_S = 120.0
TARGET_PEAK_BYTES = 3 * 1024**3


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run(
    command: Sequence[str],
    cores: int = 2,
    interval: float = 0.05,
    cwd: str | Path = ROOT,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run `command`, pinned to the first `cores` CPUs; wall time, peak tree RSS, ru_maxrss, exit code, output."""
    import psutil

    environment = {**os.environ, **(env or {})}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        environment[name] = str(cores)
    environment.setdefault("STANCE_PROGRESS", "0")
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = set(available[:cores]) if available else None

    def pin() -> None:
        if pinned:
            os.sched_setaffinity(0, pinned)

    peak = 0
    samples = 0
    began = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=pin,
    )
    # Drain the pipes on threads, so a chatty command never blocks on a full pipe while we poll.
    out: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        out[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s)) for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for t in readers:
        t.start()
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        peak = max(peak, _tree_rss(watched))
        samples += 1
        time.sleep(interval)
    wall = time.perf_counter() - began
    for t in readers:
        t.join()
    return {
        "command": repo_relative(shlex.join(command)),
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_tree_rss_bytes": peak,
        "ru_maxrss_children_bytes": peak_rss_bytes(children=True),
        "rss_samples": samples,
        "cores": sorted(pinned) if pinned else None,
        "stdout_tail": out.get("stdout", "")[-2000:],
        "stderr_tail": out.get("stderr", "")[-4000:],
    }


def report_command(predictions: Path, output: Path, cores: int, extra: Sequence[str] = ()) -> list[str]:
    """`stance-report predictions=… output=… report.threads=<cores>`, from this venv when it has it."""
    exe = Path(sys.executable).parent / "stance-report"
    program = str(exe) if exe.exists() else (shutil.which("stance-report") or "stance-report")
    return [program, f"predictions={predictions}", f"output={output}", f"report.threads={cores}", *extra]


def standin_command(predictions: Path, output: Path, cores: int) -> list[str]:
    """This benchmark's DuckDB stand-in for stance-report: edges by (actor, target) and by affiliation.

    Run as `python -m bench.report` from the repository root (`run`'s default working directory).
    """
    return [
        sys.executable,
        "-m",
        "bench.report",
        "--standin-worker",
        str(predictions),
        str(output),
        str(cores),
    ]


def standin(predictions: Path, output: Path, threads: int) -> None:
    """Group the predictions by actor, target (and by affiliation) into output/edges.parquet, with `level`."""
    import duckdb

    output.mkdir(parents=True, exist_ok=True)
    source = str(predictions / "*.parquet") if predictions.is_dir() else str(predictions)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{output / '.spill'}'")
    edges = output / "edges.parquet"
    con.execute(
        f"""COPY (
            SELECT 'entity' AS level, actor, target, count(*) AS n, count(DISTINCT article_id) AS articles,
                   avg(p_support) - avg(p_oppose) AS net
            FROM read_parquet('{source}') GROUP BY actor, target
            UNION ALL
            SELECT 'affiliation', coalesce(nullif(actor_affiliation, ''), actor),
                   coalesce(nullif(target_affiliation, ''), target), count(*), count(DISTINCT article_id),
                   avg(p_support) - avg(p_oppose)
            FROM read_parquet('{source}') GROUP BY ALL
        ) TO '{edges}' (FORMAT parquet)"""
    )
    shutil.rmtree(output / ".spill", ignore_errors=True)


# ---------------------------------------------------------------- checks on the output


def list_outputs(folder: Path) -> list[dict[str, Any]]:
    """Every file under `folder` (relative path, bytes), by path."""
    if not folder.is_dir():
        return []
    return [
        {"file": str(p.relative_to(folder)), "bytes": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def count_check(output: Path, rows: int) -> dict[str, Any]:
    """sum(n) over the entity-level edges (all edges when there is no `level` column) against the input rows."""
    import duckdb

    edges = output / "edges.parquet"
    if not edges.exists():
        return {"ok": False, "error": "no edges.parquet"}
    try:
        con = duckdb.connect()
        quoted = str(edges).replace("'", "''")
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{quoted}'").fetchall()}
        if "n" not in columns:
            return {"ok": False, "error": f"edges.parquet has no column n (it has {sorted(columns)})"}
        where = "WHERE level = 'entity'" if "level" in columns else ""
        total = con.execute(f"SELECT sum(n) FROM '{quoted}' {where}").fetchone()[0]
        edge_count = con.execute(f"SELECT count(*) FROM '{quoted}' {where}").fetchone()[0]
    except duckdb.Error as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    total = int(total or 0)
    return {
        "ok": total == rows,
        "sum_n": total,
        "rows": rows,
        "edges": int(edge_count),
        "level_column": "level" in columns,
    }


# ---------------------------------------------------------------- results


def _hardware() -> dict[str, Any]:
    import psutil

    name, _ = cpu()
    return {
        "cpu": name,
        "cores": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "duckdb": _version("duckdb"),
    }


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except (ImportError, AttributeError):
        return "?"


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"


def render(r: dict[str, Any]) -> str:
    """README.md from a results.json result."""
    hw, p, data, run_ = r["hardware"], r["params"], r["data"], r["run"]
    targets = r["targets"]
    lines = [
        "# Report benchmark",
        "",
        f"`{r['invocation']}` — {r['date']}, commit `{r['commit']}`.",
        "",
        f"- Hardware: {hw['cpu']}, {hw['cores']} cores, {_gib(hw['memory_bytes'])} RAM; Python {hw['python']}, "
        f"pyarrow {hw['pyarrow']}, DuckDB {hw['duckdb']}.",
        f"- Data: {p['rows']:,} synthetic prediction rows, {p['actors']:,} actors (Zipf-like skew), "
        f"{p['files']} Parquet file(s), seed {p['seed']}; dates 2015-01-01..2024-12-31, {OUTLETS} outlets, "
        f"{AFFILIATIONS} affiliations. {_mb(data['bytes'])} on disk (zstd).",
        f"- Generation: {data['generation_s']} s, peak RSS {_mb(data['generation_peak_rss_bytes'])} "
        f"({'reused from an earlier run' if data['reused'] else 'generated in this run'}, {data['generated_at']}).",
        f"- Command: `{run_['command']}`, pinned to CPUs {run_['cores']}, "
        f"OMP/MKL/OpenBLAS threads = {p['cores']}; exit code {run_['returncode']}.",
        "",
        "| measure | value | target | met |",
        "|---|---:|---:|---|",
        f"| wall time | {run_['wall_s']} s | ≤ {targets['wall_s']:.0f} s | {'yes' if targets['wall_ok'] else 'NO'} |",
        f"| peak RSS, process tree (psutil, every 0.05 s) | {_gib(run_['peak_tree_rss_bytes'])} "
        f"| ≤ {_gib(targets['peak_bytes'])} | {'yes' if targets['peak_ok'] else 'NO'} |",
        f"| ru_maxrss of children (largest single process) | {_gib(run_['ru_maxrss_children_bytes'])} | | |",
        "",
    ]
    check = r["count_check"]
    if "error" in check:
        lines.append(f"Counts check: could not run — {check['error']}.")
    else:
        scope = "entity-level edges" if check["level_column"] else "all edges (no `level` column)"
        lines.append(
            f"Counts check: sum of n over the {check['edges']:,} {scope} = {check['sum_n']:,}, "
            f"input rows = {check['rows']:,} — {'equal' if check['ok'] else 'NOT equal'}."
        )
    lines += ["", f"Overall: {'PASS' if r['pass'] else 'FAIL'}.", "", "## Outputs", ""]
    if r["outputs"]:
        lines += ["| file | size |", "|---|---:|"]
        lines += [f"| `{o['file']}` | {_mb(o['bytes'])} |" for o in r["outputs"]]
        lines.append(f"| total | {_mb(sum(o['bytes'] for o in r['outputs']))} |")
    else:
        lines.append("None written.")
    if run_["returncode"] != 0:
        lines += ["", "## stderr (tail)", "", "```", run_["stderr_tail"].strip()[-2000:], "```"]
    lines += [
        "",
        "The data: articles of 5–15 rows naming 3–5 actors each, drawn from a Zipf–Mandelbrot skew "
        "(s = 1, offset 2.7) over the actor names, so a few countries dominate and a long tail follows; every "
        "row an ordered pair of its article's actors; each actor rolls up to one affiliation (persons to their "
        "country); one date and outlet per article; probabilities from a Dirichlet leaning by edge, stance the "
        "argmax. The input files were in the page cache (just written or read before), as in repeated runs.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--actors", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--data", type=Path, default=WORK / "data", help="where the generated Parquet goes")
    parser.add_argument("--output", type=Path, default=WORK / "report", help="the report's output folder")
    parser.add_argument("--keep", action="store_true", help="keep the report's output folder after measuring it")
    parser.add_argument("--standin", action="store_true", help="time the DuckDB stand-in, not stance-report")
    parser.add_argument(
        "--command",
        help="a command to time instead, with {predictions}, {output} and {cores} filled in (split like a shell)",
    )
    parser.add_argument("--generate-only", action="store_true", help="make (or reuse) the data set and stop")
    parser.add_argument("--no-write", action="store_true", help="print the result; leave bench/ alone")
    parser.add_argument("--render-only", action="store_true", help="bench/report/README.md from its results.json")
    parser.add_argument("--standin-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.standin_worker:
        predictions, output, threads = args.standin_worker
        standin(Path(predictions), Path(output), int(threads))
        return
    if args.render_only:
        text = render(json.loads(JSON_PATH.read_text()))
        MD_PATH.write_text(text, encoding="utf-8")
        print(text)
        return

    data_dir = args.data.resolve()
    data = ensure_data(data_dir, args.rows, args.actors, args.files, args.seed)
    print(
        f"data: {data_dir} ({'reused' if data['reused'] else 'generated'}), {_mb(data['bytes'])}, "
        f"generation {data['generation_s']} s, peak RSS {_mb(data['generation_peak_rss_bytes'])}",
        flush=True,
    )
    if args.generate_only:
        return
    predictions = data_dir / data["files_written"][0] if args.files == 1 else data_dir
    output = args.output.resolve()
    if output.exists():
        shutil.rmtree(output)
    if args.command:
        fields = {"predictions": str(predictions), "output": str(output), "cores": str(args.cores)}
        command = [part.format(**fields) for part in shlex.split(args.command)]
    elif args.standin:
        command = standin_command(predictions, output, args.cores)
    else:
        command = report_command(predictions, output, args.cores)
    print(f"running: {shlex.join(command)}", flush=True)
    result = run(command, cores=args.cores)
    outputs = list_outputs(output)
    check = count_check(output, args.rows) if result["returncode"] == 0 else {"ok": False, "error": "command failed"}
    if not args.keep:
        shutil.rmtree(output, ignore_errors=True)
    wall_ok = result["returncode"] == 0 and result["wall_s"] <= TARGET_WALL_S
    peak_ok = result["returncode"] == 0 and result["peak_tree_rss_bytes"] <= TARGET_PEAK_BYTES
    report = {
        "invocation": "python -m bench.report " + shlex.join(sys.argv[1:]),
        "commit": commit(),
        "date": timestamp(),
        "hardware": _hardware(),
        "params": {
            "rows": args.rows,
            "actors": args.actors,
            "files": args.files,
            "seed": args.seed,
            "cores": args.cores,
            "system": "command" if args.command else "standin" if args.standin else "stance-report",
        },
        "data": {k: v for k, v in data.items() if k != "params"},
        "run": result,
        "targets": {
            "wall_s": TARGET_WALL_S,
            "peak_bytes": TARGET_PEAK_BYTES,
            "wall_ok": wall_ok,
            "peak_ok": peak_ok,
        },
        "count_check": check,
        "outputs": outputs,
        "pass": bool(wall_ok and peak_ok and check.get("ok")),
    }
    text = render(report)
    print(text)
    if result["returncode"] != 0:
        print(result["stderr_tail"], file=sys.stderr)
    if not args.no_write:
        write_results(FOLDER, report, text)
