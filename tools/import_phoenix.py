"""Convert the Phoenix / CAMEO dictionaries into the compact committed form data/phoenix/phoenix.jsonl.gz.

    python -m tools.import_phoenix [../shared/datasets/phoenix]

One actor per line (name, type, code, roles, aliases, file, line), gzip with a
fixed mtime so the same input gives the same bytes; the MIT licence is copied
beside it. Records the reader cannot parse are skipped and listed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import shutil
from pathlib import Path

from stance.readers.phoenix import read_phoenix

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "datasets" / "phoenix"
OUT = ROOT / "data" / "phoenix"


def main() -> None:
    """Read the four dictionary files and write data/phoenix/phoenix.jsonl.gz and its LICENSE."""
    parser = argparse.ArgumentParser(prog="python -m tools.import_phoenix", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(DEFAULT_SOURCE), help="folder of the Phoenix.*.txt files")
    parser.add_argument("--out", default=str(OUT), help="output folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    source, out = Path(args.source), Path(args.out)
    skipped: list = []
    records = read_phoenix(source, skipped=skipped)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "phoenix.jsonl.gz"
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        for record in records:
            line = json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":"))
            gz.write(line.encode("utf-8") + b"\n")
    shutil.copyfile(source / "LICENSE", out / "LICENSE")
    kinds: dict[str, int] = {}
    for record in records:
        kinds[record.type] = kinds.get(record.type, 0) + 1
    aliases = sum(1 + len(r.aliases) for r in records)
    print(
        f"wrote {target}: {len(records)} actors ({kinds}), {aliases} names and aliases, "
        f"{target.stat().st_size / 1e6:.2f} MB; {len(skipped)} records skipped"
    )


if __name__ == "__main__":
    main()
