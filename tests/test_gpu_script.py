"""scripts/gpu_runs.sh, the prepared GPU run, checked on the CPU with the tiny model and the fixture corpora."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import FIXTURES, ROOT


def test_the_gpu_script_trains_teachers_distils_the_pair_model_and_writes_bench_rows(tmp_path: Path) -> None:
    from stance.model import weights_sha256

    seesaw, dse = FIXTURES / "seesaw", FIXTURES / "dse"
    out, bench = tmp_path / "gpu", tmp_path / "bench"
    env = os.environ | {
        "VENV": str(Path(os.sys.executable).parent.parent),
        "TEACHER": "tiny",
        "STUDENT": "tiny",
        "OUT": str(out),
        "SEESAW_ARGS": f"data.root={seesaw} data.max_bad_fraction=0.5 gazetteer=data/actors.yaml",
        "MIX_ARGS": f"data.parts.seesaw.root={seesaw} data.parts.seesaw.max_bad_fraction=0.5 data.parts.dse.root={dse}",
        "MENTION_ARGS": f"mentions.gazetteer=data/actors.yaml mentions.corpora.seesaw.root={seesaw} "
        f"mentions.corpora.dse.root={dse} mentions.corpora.seesaw.max_bad_fraction=0.5 mentions.dev_split=validation",
        "BENCH_ARGS": f"--split validation --data data.root={seesaw} --data data.max_bad_fraction=0.5 --out {bench}",
    }
    done = subprocess.run(
        ["scripts/gpu_runs.sh", "train.max_steps=2", "train.epochs=1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    student = out / "pairs-distilled"
    assert (student / "pair_head.safetensors").is_file() and (student / "mentions").is_dir()
    metrics = json.loads((student / "metrics.json").read_text())
    assert len(metrics["distillation"]["teachers"]) == 2  # the recipe teacher and the data=mix one
    report = json.loads((bench / "results-validation.json").read_text())
    assert set(report["rows"]) == {"teacher-seesaw", "pairs-distilled"}
    assert report["rows"]["pairs-distilled"]["weights_sha256"] == weights_sha256(student)
    assert report["rows"]["pairs-distilled"]["head"] == "pairs" and report["limit"]["articles_per_second"] > 0
    assert (bench / "README.md").read_text().count("| pairs |") == 1
