"""Which gazetteer a command uses (`choose_gazetteer`: given, else the model's own, else `PATH_GAZETTEER`),
and the snapshot of it that a model folder carries.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from stance.model import ModelFolderError

GAZETTEER_CARD = "gazetteer.json"  # in a model folder: which gazetteer it was trained with, and its content hash


def save_model_gazetteer(folder: str | Path, gazetteer: str | Path) -> dict[str, str]:
    """Copy a gazetteer (its file and every included one) into `folder/gazetteer/`, with its content hash.

    The model folder then says how its training inputs were made: prediction
    and evaluation find actors with the same list by default.
    """
    import shutil

    from stance.actors.dictionaries import gazetteer_files, gazetteer_sha256

    files = gazetteer_files(gazetteer)
    root = Path(os.path.commonpath([f.parent for f in files]))
    target = Path(folder) / "gazetteer"
    for file in files:
        (target / file.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target / file.relative_to(root))
    card = {
        "source": str(gazetteer),
        "file": str(Path("gazetteer") / files[0].relative_to(root)),
        "sha256": gazetteer_sha256(gazetteer, files),
    }
    (Path(folder) / GAZETTEER_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def model_gazetteer(folder: str | Path) -> Path | None:
    """The gazetteer file a model folder carries (None for a folder from before models carried one)."""
    card = Path(folder) / GAZETTEER_CARD
    if not card.is_file():
        return None
    path = Path(folder) / json.loads(card.read_text(encoding="utf-8"))["file"]
    if not path.is_file():
        raise ModelFolderError(f"{folder} names its gazetteer {path.name} in {GAZETTEER_CARD}, but it is missing")
    return path


# For a model folder that carries no gazetteer (trained before models did): the listed actors and Phoenix/CAMEO,
# as stance-predict has always paired them. The one default of the prediction path, local, on Ray, in the
# library, and when evaluate and calibrate score the path.
PATH_GAZETTEER = "phoenix"


def choose_gazetteer(given: str | Path | None, model_folder: str | Path, fallback: str | Path = PATH_GAZETTEER) -> str:
    """The gazetteer a command uses: `given` (gazetteer=…), else the model's own, else `fallback`; logged."""
    if given:
        choice, why = str(given), "given by gazetteer="
    elif (carried := model_gazetteer(model_folder)) is not None:
        choice, why = str(carried), "the model's own"
    else:
        choice, why = str(fallback), "the default: the model folder carries none (trained before models did)"
    logging.getLogger("stance").info("gazetteer %s (%s)", choice, why)
    return choice


PAIRING_MODES = ("auto", "gazetteer", "found", "both")  # stance-predict's `actors=` (StanceClassifier's modes)


def predict_actors(actors: str, gazetteer: str, folder: Path) -> tuple[str, str]:
    """(pairing mode, gazetteer) for `stance-predict actors=...`: a pairing mode as is, or a CSV (or YAML) file
    of the user's actors, layered over `gazetteer` (`stance.actors.user_actors`) with the mode `auto`.

    The layered gazetteer's YAML is written in `folder` (beside the output), so it is named, hashed into
    the job and readable by every Ray worker like any gazetteer file.
    """
    from stance.actors.dictionaries import gazetteer_path
    from stance.actors.user_actors import USER_FILES, layered_gazetteer_file
    from stance.errors import StanceError
    from stance.paths import resolve_path

    if actors in PAIRING_MODES:
        return actors, gazetteer
    if Path(actors).suffix.lower() in USER_FILES:
        extra = resolve_path(actors)
        if not extra.is_file():
            raise StanceError(f"actors={actors}: the file {extra} does not exist")
        return "auto", str(layered_gazetteer_file(extra, gazetteer_path(gazetteer), folder))
    raise StanceError(
        f"actors={actors!r} is not one of {', '.join(PAIRING_MODES)}, nor a .csv or .yaml file of actors to add"
    )
