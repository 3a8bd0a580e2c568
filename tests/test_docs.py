"""The README and docs/: every override a documented command line gives names a real config key, and the
pages stay short and free of issue references.

A command line is a line of a fenced code block that runs one of the project's commands (after
`.venv/bin/`, environment variables or a launcher such as `torchrun --no-python`); lines ending in `\\` are
joined with the next. Its `key=value` overrides are composed with the command's config, as the command
composes it (stance.cli): Hydra refuses a key the config does not have, and a config group option that does
not exist. Placeholders (`<folder>`, `…`) stand for a value of the key's own type.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from stance.cli import CONFIG_DIR

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Each console script and the config it composes (stance/cli.py: config_name of each hydra.main).
COMMANDS = {
    "stance-build": "build",
    "stance-train": "train",
    "stance-evaluate": "evaluate",
    "stance-predict": "predict",
    "stance-calibrate": "calibrate",
    "stance-report": "report",
}
COMMAND_RE = re.compile(r"(?<![\w-])(?:\S*/)?(" + "|".join(map(re.escape, COMMANDS)) + r")(?![\w-])")
PLACEHOLDER = "PLACEHOLDER"
# What may come before the command: environment variables, launchers and their flags.
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
LAUNCHERS = {"torchrun", "accelerate", "launch", "env", "nice", "time", "exec"}
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "(", ")"}


@dataclass
class CommandLine:
    page: str
    line: int
    text: str
    command: str
    overrides: list[str]

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def fenced_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) of each line inside a fenced code block, continuation lines joined."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    pending: tuple[int, str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker and (fence is None or stripped.startswith(fence)):
            fence = marker.group(1) if fence is None else None
            pending = None
            continue
        if fence is None:
            continue
        start, text = pending if pending else (number, "")
        text = f"{text} {stripped}" if text else stripped
        if text.endswith("\\"):
            pending = (start, text[:-1].rstrip())
            continue
        pending = None
        out.append((start, text))
    return out


def parse(page: Path, number: int, text: str) -> CommandLine | None:
    """The command a code line runs and its overrides; None for a line that runs none of the commands."""
    if not COMMAND_RE.search(text):
        return None
    text = re.sub(r"<[^<>]*>", PLACEHOLDER, text)  # <model folder>, <head>: one word, a placeholder
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:
        pytest.fail(f"{relative(page)}:{number}: cannot read the command line ({exc}): {text}")
    names = [token.rsplit("/", 1)[-1] for token in tokens]
    at = next((i for i, name in enumerate(names) if name in COMMANDS), None)
    if at is None:
        return None  # the name appears only in a comment or inside a word
    if not all(ENV_RE.match(t) or t.startswith("-") or t in LAUNCHERS for t in tokens[:at]):
        return None  # not a command line: prose, or the name in a listing (`report/  stance-report`)
    name = names[at]
    overrides = []
    for token in tokens[at + 1 :]:
        if token in SHELL_OPERATORS or set(token) <= set("|&;<>()"):
            break
        if token.startswith("-") and not token.startswith("--"):
            continue  # a flag (-m), not an override
        if "=" in token and not token.startswith("--"):
            overrides.append(token)
    return CommandLine(relative(page), number, text, name, overrides)


def command_lines() -> list[CommandLine]:
    found = []
    for page in PAGES:
        for number, text in fenced_lines(page):
            parsed = parse(page, number, text)
            if parsed is not None:
                found.append(parsed)
    return found


COMMAND_LINES = command_lines()


def compose_config(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(name, overrides=overrides)


def is_placeholder(value: str) -> bool:
    return PLACEHOLDER in value or "…" in value or "..." in value


def split_override(override: str) -> tuple[str, str, str]:
    """(prefix, key, value): prefix is '', '+', '++' or '~'."""
    key, _, value = override.partition("=")
    prefix = re.match(r"^(\+\+|\+|~)?", key).group(0)
    return prefix, key[len(prefix) :], value


def is_group(key: str) -> bool:
    """`data`, `experiment`, `data@parts.x`: a folder of configs under configs/."""
    return (Path(CONFIG_DIR) / key.split("@", 1)[0]).is_dir()


def first_error(line: CommandLine, overrides: list[str]) -> tuple[str, Exception] | None:
    """The first override (in order) that the command's config refuses, with Hydra's error."""
    try:
        compose_config(COMMANDS[line.command], overrides)
        return None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        error = exc
    for n in range(1, len(overrides) + 1):
        try:
            compose_config(COMMANDS[line.command], overrides[:n])
        except (HydraException, OmegaConfBaseException, ValueError) as exc:
            return overrides[n - 1], exc
    return overrides[-1], error


def dummy_values(key: str, cfg) -> list[str]:
    """Values to stand in for a placeholder: the key's default when it has one, else one of each type."""
    node = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    candidates = []
    if node is not None and not OmegaConf.is_missing(cfg, key):
        value = OmegaConf.to_container(node) if OmegaConf.is_config(node) else node
        candidates.append(str(value).lower() if isinstance(value, bool) else str(value))
    return [*candidates, "x", "1", "1.5", "true", "[]"]


def fail(line: CommandLine, key: str, why: str) -> None:
    pytest.fail(f"{line.where}: `{key}` is not a config key of {line.command} ({why})\n  {line.text}")


def short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.mark.parametrize("line", COMMAND_LINES, ids=[line.where for line in COMMAND_LINES])
def test_documented_overrides_are_config_keys(line: CommandLine) -> None:
    fixed, placeholders = [], []
    for override in line.overrides:
        prefix, key, value = split_override(override)
        if prefix in ("+", "++") and not is_group(key):
            fail(line, key, f"`{prefix}` adds a key the command does not read; config groups only")
        if is_placeholder(value):
            placeholders.append((prefix, key))
        else:
            fixed.append(override)
    found = first_error(line, fixed)
    if found:
        override, exc = found
        fail(line, split_override(override)[1], short(exc))
    cfg = compose_config(COMMANDS[line.command], fixed)
    for prefix, key in placeholders:
        if is_group(key):
            continue  # `data=…`: any of the group's options
        for value in dummy_values(key, cfg):
            try:
                compose_config(COMMANDS[line.command], [*fixed, f"{prefix}{key}={value}"])
                break
            except (HydraException, OmegaConfBaseException, ValueError) as exc:
                error = exc
        else:
            fail(line, key, short(error))


def test_command_lines_are_found() -> None:
    """The parser sees the documented commands: each of them at least once, and overrides among them."""
    seen = {line.command for line in COMMAND_LINES}
    assert seen == set(COMMANDS), f"no documented command line for {sorted(set(COMMANDS) - seen)}"
    assert sum(len(line.overrides) for line in COMMAND_LINES) >= 50
    assert parse(ROOT / "README.md", 1, "report/   stance-report (the report)") is None
    assert parse(ROOT / "README.md", 1, "make model   # then stance-train experiment=news") is None


def test_the_check_catches_a_wrong_key() -> None:
    """A misspelt key, a key of another command and a missing group option are each refused."""
    page = ROOT / "README.md"
    for text, key in [
        (".venv/bin/stance-predict model_dir=m input=i output=o threds=2", "threds"),
        ("stance-report predictions=p output=o train.epochs=1", "train.epochs"),
        ("RAY_ADDRESS=auto stance-train data=seesawx", "data"),
        ("torchrun --nproc_per_node=2 --no-python stance-train train.epoch=<n>", "train.epoch"),
        ("stance-train experiment=recipe data=mix data.parts.dse.weigth=1.0", "data.parts.dse.weigth"),
        ("stance-train +foo=1", "foo"),
    ]:
        line = parse(page, 1, text)
        assert line is not None
        with pytest.raises(pytest.fail.Exception, match=re.escape(f"`{key}` is not a config key")):
            test_documented_overrides_are_config_keys(line)


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail to docs/"


ISSUE_RE = re.compile(r"(?<![\w&/])#\d+\b|\b(?:issue|pull request|PR)s?[ /]*#?\d+", re.IGNORECASE)


def issue_references(text: str) -> list[tuple[int, str]]:
    """(line, match) of each reference to an issue: `#12`, `issue 23`; not headings, link anchors or `&#123;`."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = re.sub(r"^\s*#+\s", "", line)  # a heading's hashes
        line = re.sub(r"\]\([^)]*\)", "]()", line)  # link targets, anchors included (docs/x.md#section)
        found += [(number, m.group(0)) for m in ISSUE_RE.finditer(line)]
    return found


def test_issue_reference_check() -> None:
    assert issue_references("## Heading\n[x](docs/x.md#section-2) &#123; colour #1f77b4") == []
    assert issue_references("as measured in #12;\n# Title (#13)\nsee issue 23") == [
        (1, "#12"),
        (2, "#13"),
        (3, "issue 23"),
    ]


@pytest.mark.parametrize("page", PAGES, ids=[relative(p) for p in PAGES])
def test_no_issue_references(page: Path) -> None:
    refs = issue_references(page.read_text(encoding="utf-8"))
    assert not refs, f"{relative(page)}: issue references " + ", ".join(f"line {n}: {m!r}" for n, m in refs)
