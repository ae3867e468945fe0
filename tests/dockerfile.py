"""Reading the Dockerfile and .dockerignore without a container engine.

`stages` splits the Dockerfile into its build stages, each a list of instructions
(continuation lines joined, comments dropped); `in_context` says whether a path of the
repository is sent to the builder, by the .dockerignore rules (the last matching
pattern wins; a pattern matches a path or any of its parent directories).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


@dataclass
class Instruction:
    name: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD, ENTRYPOINT, VOLUME or HEALTHCHECK CMD."""
        text = self.args
        if self.name == "HEALTHCHECK":
            text = text[text.index("CMD ") + 4 :]
        value = json.loads(text)
        assert isinstance(value, list), text
        assert all(isinstance(item, str) for item in value), text
        return value

    def flags(self) -> dict[str, str]:
        """`--name=value` options at the start of the arguments."""
        out: dict[str, str] = {}
        for word in self.args.split():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            out[name] = value
        return out

    def words(self) -> list[str]:
        """The arguments after the options."""
        words = self.args.split()
        while words and words[0].startswith("--"):
            words.pop(0)
        return words


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]

    def env(self) -> dict[str, str]:
        """Every ENV of the stage, in the `ENV NAME=value NAME=value` form."""
        out: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in instruction.args.split():
                name, sep, value = word.partition("=")
                assert sep, f"ENV {instruction.args!r}: use NAME=value"
                out[name] = value
        return out


def instructions(text: str) -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    out = []
    for line in logical:
        name, _, args = line.partition(" ")
        out.append(Instruction(name.upper(), args.strip()))
    return out


def stages(path: Path = ROOT / "Dockerfile") -> tuple[dict[str, str], list[Stage]]:
    """The global ARGs (name -> default) and the stages, in order."""
    args: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in instructions(path.read_text()):
        assert instruction.name in INSTRUCTIONS, f"unknown instruction {instruction.name}"
        if instruction.name == "FROM":
            words = instruction.words()
            base = words[0]
            for name, value in args.items():
                base = base.replace("${" + name + "}", value).replace("$" + name, value)
            named = len(words) == 3 and words[1].upper() == "AS"
            found.append(Stage(base, words[2] if named else None))
        elif not found:
            assert instruction.name == "ARG", f"{instruction.name} before the first FROM"
            name, _, default = instruction.args.partition("=")
            args[name] = default
        else:
            found[-1].instructions.append(instruction)
    return args, found


def ignore_patterns(path: Path = ROOT / ".dockerignore") -> list[tuple[bool, str]]:
    """(excludes, pattern) for each rule of the file, in order."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        rules.append((not negated, pattern))
    return rules


def in_context(relative: str, rules: list[tuple[bool, str]]) -> bool:
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for excludes, pattern in rules:
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            included = not excludes
    return included
