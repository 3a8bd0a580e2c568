"""The package as a user installs it: a built wheel, in a fresh environment, run from an empty directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_trains_and_predicts_outside_the_repository(tmp_path: Path) -> None:
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "empty"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", ROOT, "-w", dist], ROOT)
    wheel = next(dist.glob("stance-*.whl"))
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], tmp_path)
    # The dependencies come from this environment (nothing is downloaded): a path line, added after the
    # install so pip never sees this checkout's editable stance. Its .pth hooks are not run, so the
    # editable stance stays invisible and `import stance` is the wheel's.
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    work.mkdir()
    where = run(
        [python, "-c", "import stance, stance.paths as p; print(stance.__file__); print(p.project_dir('configs'))"],
        work,
    )
    assert where.splitlines()[0].startswith(str(venv)) and where.splitlines()[1].startswith(str(site))

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STANCE_PROGRESS": "0", "PYTHONPATH": ""}
    bin_dir = venv / "bin"
    # The default data (the seed articles) and gazetteer come from inside the package.
    run([bin_dir / "stance-train", "model=tiny", "train.epochs=1"], work, env)
    model = work / "models" / "tiny-seed"
    assert (model / "model.safetensors").is_file() and (model / "gazetteer.json").is_file()
    articles = work / "news"
    articles.mkdir()
    (articles / "a.txt").write_text("China criticised the United States over trade. Russia sided with China.\n")
    run([bin_dir / "stance-predict", "model_dir=models/tiny-seed", "input=news", "output=out.jsonl"], work, env)
    rows = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(r["actor"], r["target"]) for r in rows} >= {("China", "United States"), ("Russia", "China")}
    assert not (work / "configs").exists() and not (work / "data").exists()
