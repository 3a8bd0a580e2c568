"""Building a stance model from a config, and loading a saved one with its checks."""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from stance.encoding import HEAD_VERSIONS, MARKERS, EncodingConfig, add_marker_tokens
from stance.errors import StanceError
from stance.pairhead import HEAD_FILE, MENTION_HEAD_FILE, MentionHead, PairStanceModel, load_pair_model
from stance.paths import file_sha256, resolve_path
from stance.schema import STANCES
from stance.windows import ENTITY_MARKERS

ID2LABEL = dict(enumerate(STANCES))
LABEL2ID = {label: i for i, label in ID2LABEL.items()}
STANCE_CONFIG_KEY = "stance_encoding"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer_config.json")

# The tokenizer warns about any text longer than the model window; encoding cuts it anyway.
hf_logging.set_verbosity_error()


class ModelFolderError(StanceError):
    """A model folder that is missing, incomplete, or not a stance model."""


def resolve_pretrained(source: str) -> str:
    """A model source as transformers takes it: `package:<module>` → the folder that package ships."""
    if source.startswith("package:"):
        module_name = source.split(":", 1)[1]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise StanceError(f"model source {source!r}: cannot import {module_name!r} ({exc})") from None
        return str(module.get_model_path())
    path = resolve_path(source)
    return str(path) if path.exists() else source


def check_installed(model_cfg: Any) -> None:
    """A model config that names an opt-in install (`install:`) fails early, saying how, when its folder is missing."""
    hint = model_cfg.get("install") if hasattr(model_cfg, "get") else None
    if hint and model_cfg.pretrained and not resolve_path(model_cfg.pretrained).exists():
        raise StanceError(f"model={model_cfg.name}: {model_cfg.pretrained} is not installed; install it with `{hint}`")


def model_head(model_cfg: Any) -> str:
    """A model config's head (`model.head`): `cross` (one pass per pair, the default) or `pairs` (one per sentence)."""
    head = str(model_cfg.get("head", "cross") if hasattr(model_cfg, "get") else "cross") or "cross"
    if head not in HEAD_VERSIONS:
        raise StanceError(f"model.head={head!r} is not one of {', '.join(HEAD_VERSIONS)}")
    return head


def build_tokenizer(model_cfg: Any) -> PreTrainedTokenizerBase:
    """The tokenizer a model config names, with the marker tokens added (the entity markers for `pairs`)."""
    check_installed(model_cfg)
    source = model_cfg.tokenizer or model_cfg.pretrained
    if source is None:
        raise StanceError("model config needs `pretrained` or `tokenizer`")
    tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained(source))
    add_marker_tokens(tokenizer)
    if model_head(model_cfg) == "pairs":
        tokenizer.add_tokens(list(ENTITY_MARKERS), special_tokens=True)
    return tokenizer


def build_model(model_cfg: Any, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig) -> torch.nn.Module:
    """A sequence classifier over the three stances (or, for `model.head=pairs`, an encoder under a pair head):
    pretrained weights, or random ones from `init`."""
    labels = {"num_labels": len(STANCES), "id2label": ID2LABEL, "label2id": LABEL2ID}
    if encoding.head == "pairs":
        return _build_pair_model(model_cfg, tokenizer, encoding)
    if model_cfg.pretrained is not None:
        model = AutoModelForSequenceClassification.from_pretrained(resolve_pretrained(model_cfg.pretrained), **labels)
    else:
        init = dict(model_cfg.init)
        config = AutoConfig.for_model(init.pop("model_type"), vocab_size=len(tokenizer), **init, **labels)
        model = AutoModelForSequenceClassification.from_config(config)
    model.resize_token_embeddings(len(tokenizer))
    setattr(model.config, STANCE_CONFIG_KEY, encoding.to_dict())
    return model


def _build_pair_model(model_cfg: Any, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig) -> PairStanceModel:
    """An encoder (pretrained, or random from the config's `init`) under a new pair head."""
    if model_cfg.pretrained is not None:
        encoder = AutoModel.from_pretrained(resolve_pretrained(model_cfg.pretrained), add_pooling_layer=False)
    else:
        init = dict(model_cfg.init)
        config = AutoConfig.for_model(init.pop("model_type"), vocab_size=len(tokenizer), **init)
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
    encoder.resize_token_embeddings(len(tokenizer))
    encoder.config.id2label, encoder.config.label2id = dict(ID2LABEL), dict(LABEL2ID)
    setattr(encoder.config, STANCE_CONFIG_KEY, encoding.to_dict())
    if not model_cfg.get("mention_head", False):
        return PairStanceModel(encoder)
    return PairStanceModel(encoder, mentions=MentionHead(int(encoder.config.hidden_size)))


def check_model_folder(path: str | Path) -> Path:
    """Check that `path` is a complete stance model folder; say exactly what is wrong if not."""
    folder = resolve_path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {folder} does not exist (train one with stance-train)")
    if (folder / ".incomplete").exists():
        raise ModelFolderError(f"model folder {folder} was not finished (training was interrupted); retrain it")
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise ModelFolderError(f"model folder {folder} is missing {', '.join(missing)}")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{folder / 'config.json'} is unreadable: {exc}") from None
    encoding = config.get(STANCE_CONFIG_KEY)
    if encoding is None:
        raise ModelFolderError(f"{folder} is not a stance model (config.json has no {STANCE_CONFIG_KEY!r})")
    head = encoding.get("head", "cross")
    if head not in HEAD_VERSIONS or encoding.get("version") != HEAD_VERSIONS[head]:
        raise ModelFolderError(
            f"{folder} uses input format version {encoding.get('version')} (head {head!r}), this stance reads "
            f"{', '.join(f'version {v} ({h!r})' for h, v in HEAD_VERSIONS.items())}; "
            "retrain the model or install the matching stance version"
        )
    if sorted(config.get("label2id", {})) != sorted(STANCES):
        raise ModelFolderError(f"{folder} predicts {sorted(config.get('label2id', {}))}, not {list(STANCES)}")
    if config["label2id"] != LABEL2ID:  # the right names in another order would swap stances silently
        raise ModelFolderError(f"{folder} numbers its labels {config['label2id']}, this stance reads {LABEL2ID}")
    return folder


def weights_sha256(path: str | Path) -> str:
    """The sha256 of a model folder's `model.safetensors` (for a pair model, of it, `pair_head.safetensors` and
    any `mention_head.safetensors` in turn): what names the model a figure measured."""
    folder = Path(path)
    if not (folder / HEAD_FILE).is_file():
        return file_sha256(folder / "model.safetensors")
    digest = hashlib.sha256()
    # A pair model without a mention head keeps the name it always had.
    heads = [HEAD_FILE, *([MENTION_HEAD_FILE] if (folder / MENTION_HEAD_FILE).is_file() else [])]
    for name in ("model.safetensors", *heads):
        digest.update(file_sha256(folder / name).encode())
    return digest.hexdigest()


def load_stance_model(
    path: str | Path, device: str = "auto"
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, EncodingConfig, torch.device]:
    """Load a saved stance model (a cross-encoder, or a pair model), its tokenizer and input format, on `device`."""
    folder = check_model_folder(path)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    config = AutoConfig.from_pretrained(str(folder))
    encoding = EncodingConfig.from_dict(getattr(config, STANCE_CONFIG_KEY))
    needed = ENTITY_MARKERS if encoding.head == "pairs" else MARKERS
    missing = [m for m in needed if m not in tokenizer.get_vocab()]
    if missing:
        raise ModelFolderError(f"the tokenizer in {folder} lacks the marker tokens {missing}")
    if encoding.head == "pairs":
        model: torch.nn.Module = load_pair_model(folder)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    dev = pick_device(device)
    model.to(dev).eval()
    return model, tokenizer, encoding, dev


def pick_device(device: str = "auto") -> torch.device:
    """`auto` → CUDA when present, else CPU; `cuda` without a GPU is an error, not a silent fallback."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise StanceError("device=cuda was asked for, but no CUDA device is available (use device=auto or cpu)")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise StanceError(f"device={device!r} is not one of auto, cpu, cuda")
    return torch.device(device)
