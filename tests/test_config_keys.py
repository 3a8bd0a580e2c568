"""A key no schema knows is refused with the closest name, `+key=` included, before anything is loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import apply_config, train_config

from stance.settings import unknown_keys

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command, overrides",
    [
        ("predict", ["model_dir=m", "input=i", "output=o"]),
        ("evaluate", ["model_dir=m", "data=seesaw"]),
        ("calibrate", ["model_dir=m", "data=dse"]),
        ("report", ["predictions=p", "output=o"]),
    ],
)
def test_the_commands_own_configs_have_no_unknown_key(command: str, overrides: list[str]) -> None:
    assert unknown_keys(apply_config(command, *overrides)) == []


@pytest.mark.parametrize(
    "extra", [[], ["experiment=recipe"], ["experiment=news"], ["experiment=joint"], ["data=mix"], ["task=mentions"]]
)
def test_the_training_recipes_have_no_unknown_key(tmp_path: Path, extra: list[str]) -> None:
    assert unknown_keys(train_config(tmp_path, *extra)) == []


def test_a_plus_key_typo_is_named_with_the_closest_key() -> None:
    cfg = apply_config("predict", "model_dir=m", "input=i", "output=o", "+precison=bf16", "+ray.adress=x")
    assert sorted(unknown_keys(cfg)) == [
        "precison is not a config key; did you mean precision?",
        "ray.adress is not a config key; did you mean ray.address?",
    ]


def test_a_typo_in_a_group_is_named_too(tmp_path: Path) -> None:
    problems = unknown_keys(train_config(tmp_path, "+train.epoch=2", "+data.dev_fractoin=0.2"))
    assert "train.epoch is not a config key; did you mean train.epochs?" in problems
    assert "data.dev_fractoin is not a config key; did you mean data.dev_fraction?" in problems


def test_the_command_exits_2_before_loading_the_model() -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "stance-predict"),
            "model_dir=nowhere",
            "input=x",
            "output=y",
            "+precison=bf16",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert "precison is not a config key; did you mean precision?" in done.stderr
    assert "nowhere" not in done.stderr  # refused before the model folder is even looked at


def test_the_training_and_build_roots_are_typed_too(tmp_path: Path) -> None:
    problems = unknown_keys(train_config(tmp_path, "+finderr=x", "+distill.alpah=0.3"))
    assert "finderr is not a config key; did you mean finder?" in problems
    assert "distill.alpah is not a config key; did you mean distill.alpha?" in problems
    assert unknown_keys(apply_config("build", "+sede=1")) == ["sede is not a config key; did you mean seed?"]
    assert unknown_keys(apply_config("build", "data=seesaw")) == []


def test_a_mix_part_holds_only_what_it_changes_and_a_wrong_key_there_is_named() -> None:
    from omegaconf import OmegaConf

    from stance.dataset.build import mix_parts
    from stance.errors import StanceError
    from stance.settings import load_data_config

    seesaw = load_data_config("seesaw")
    assert seesaw.max_bad_fraction == 0.01 and seesaw.dev_fraction == 0.15  # the default, and the file's own
    mix = OmegaConf.create({"name": "mix", "context_sentences": 1, "parts": {"dse": {"format": "dse"}}})
    part = mix_parts(mix)["dse"]
    assert (part.name, part.context_sentences, part.neutral_pairs, part.weight) == ("dse", 1, True, 1.0)
    mix.parts.dse.wieght = 2.0
    with pytest.raises(StanceError, match=r"data\.parts\.dse\.wieght \(did you mean weight\?\)"):
        mix_parts(mix)


def _command(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / name), *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_an_override_of_an_unknown_key_exits_2_naming_the_closest_key_not_hydra_s_plus_hint() -> None:
    done = _command("stance-train", "precison=bf16")
    assert done.returncode == 2, done.stderr
    assert "precison is not a config key" in done.stderr and "+precison" not in done.stderr
    assert "Traceback" not in done.stderr
    wrong_group = _command("stance-evaluate", "model_dir=m", "data=nope")
    assert wrong_group.returncode == 2 and "nope" in wrong_group.stderr


def test_a_missing_model_folder_is_named_before_anything_is_loaded(tmp_path: Path) -> None:
    done = _command("stance-predict", f"model_dir={tmp_path / 'nowhere'}", "input=x", "output=y")
    assert done.returncode == 2
    assert f"model folder {tmp_path / 'nowhere'} does not exist" in done.stderr
    assert "gazetteer" not in done.stderr  # nothing else was looked at first
