"""Which numeric precision training asks Trainer for, by device and CPU."""

from __future__ import annotations

import pytest
import torch

from stance.errors import StanceError
from stance.train import _precision_flags


def test_cpu_bf16_is_used_only_where_the_cpu_has_it(monkeypatch, caplog) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr("stance.train.cpu_has_bf16", lambda: True)
    assert _precision_flags("bf16", cpu) == {"bf16": True, "fp16": False}
    assert _precision_flags("auto", cpu) == {"bf16": False, "fp16": False}  # until bf16's dev quality is shown
    monkeypatch.setattr("stance.train.cpu_has_bf16", lambda: False)
    with caplog.at_level("WARNING"):
        assert _precision_flags("bf16", cpu) == {"bf16": False, "fp16": False}
    assert "fp32" in caplog.text
    assert _precision_flags("fp16", cpu) == {"bf16": False, "fp16": False}
    with pytest.raises(StanceError, match="not one of"):
        _precision_flags("int4", cpu)
