"""Which numeric precision training asks Trainer for, by device and CPU."""

from __future__ import annotations

import pytest
import torch

from stance.training.trainer import _precision_flags


def test_cpu_bf16_is_used_only_where_the_cpu_has_it(monkeypatch, caplog) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr("stance.training.trainer.cpu_has_bf16", lambda: True)
    assert _precision_flags("bf16", cpu) == {"bf16": True, "fp16": False}
    assert _precision_flags("auto", cpu) == {"bf16": True, "fp16": False}  # dev figures held (bench/training)
    assert _precision_flags("fp32", cpu) == {"bf16": False, "fp16": False}
    monkeypatch.setattr("stance.training.trainer.cpu_has_bf16", lambda: False)
    assert _precision_flags("auto", cpu) == {"bf16": False, "fp16": False}
    with caplog.at_level("WARNING"):
        assert _precision_flags("bf16", cpu) == {"bf16": False, "fp16": False}
    assert "fp32" in caplog.text
    assert _precision_flags("fp16", cpu) == {"bf16": False, "fp16": False}


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("train.precision=int4", "auto, fp32, bf16, fp16"),
        ("train.sampling=pared", "random, paired"),
        ("train.class_weights=balance", "balanced, none"),
        ("train.device=gpu", "auto, cpu, cuda"),
        ("data.format=csv", "articles, seesaw, dse, mix"),
    ],
)
def test_a_mistyped_choice_stops_the_command_when_composed(tmp_path, override: str, allowed: str) -> None:
    from helpers import train_config
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as failure:
        train_config(tmp_path, override)
    assert allowed in str(failure.value.__cause__)
