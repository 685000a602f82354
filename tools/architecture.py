"""Draw the layers of docs/architecture.md from the import contract in pyproject.toml.

``python tools/architecture.py`` rewrites the generated part of docs/architecture.md
(between its ``<!-- layers -->`` markers); ``--check`` exits 1 when it differs.
tests/test_architecture.py holds the page equal to :func:`render`, and runs the
contract itself, so the picture cannot drift from the code.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- layers: begin -->", "<!-- layers: end -->"
_ROLE = re.compile(r":(?:func|class|mod|meth|attr):`~?([^`]+)`")


def contracts(pyproject: Path = ROOT / "pyproject.toml") -> list[dict]:
    """The contracts of ``[tool.importlinter]``, in order."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["tool"]["importlinter"]["contracts"])


def _members(layer: str) -> list[str]:
    return [m.strip() for m in re.split(r"[|:]", layer)]


def _short(module: str) -> str:
    return module.removeprefix("taxgate.")


def _tiers(cs: list[dict]) -> list[tuple[str, list[str]]]:
    """(name, layers) per tier of the first contract, each expanded by the layers contract
    that orders exactly that tier's modules (its rows joined by ``>``)."""
    top = cs[0]
    names = [n.strip() for n in top["name"].split(":", 1)[1].split(">")]
    if len(names) != len(top["layers"]):
        raise SystemExit("the first contract's name must name each of its layers")
    tiers = []
    for name, layer in zip(names, top["layers"], strict=True):
        mods = set(_members(layer))
        rows = [layer.replace(" : ", "  ")]
        for c in cs[1:]:
            if c["type"] != "layers":
                continue
            inner = {_short(m) for row in c["layers"] for m in _members(row)}
            if inner == mods:
                rows = [_short_row(row) for row in c["layers"]]
            elif inner & mods:
                raise SystemExit(f"{c['name']!r} orders part of the {name} layer only")
        tiers.append((name, rows))
    return tiers


def _short_row(row: str) -> str:
    sep = " | " if "|" in row else "  "
    return sep.join(_short(m) for m in _members(row))


def _summary(module: str) -> str:
    """The first paragraph of a module's docstring, on one line."""
    base = ROOT / "taxgate" / Path(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    return _ROLE.sub(r"`\1`", text).replace("``", "`").replace("|", "\\|")


def _name(module: str) -> str:
    base = ROOT / "taxgate" / Path(*module.split("."))
    if not base.is_dir():
        return f"`{module.replace('.', '/')}.py`"
    parts = sorted(p.stem for p in base.glob("*.py") if p.stem not in ("__init__", "__main__"))
    return f"`{module}/` ({', '.join(parts)})"


def _wrap(text: str, indent: int, width: int = 80) -> list[str]:
    """``text`` in lines of at most ``width``, broken after a ``|``."""
    lines, line = [], ""
    for part in text.split(" | "):
        if line and indent + len(line) + 3 + len(part) > width:
            lines.append(line + " |")
            line = part
        else:
            line = f"{line} | {part}" if line else part
    return [*lines, line]


def _picture(tiers: list[tuple[str, list[str]]]) -> list[str]:
    """The tiers top to bottom, each with its own order (``>``) inside."""
    width = max(len(n) for n, _ in tiers) + 2
    lines = ["```"]
    for i, (name, rows) in enumerate(tiers):
        if i:
            lines.append("  v")
        one = " > ".join(rows)
        texts = [one] if width + len(one) <= 80 else [rows[0], *("> " + r for r in rows[1:])]
        label = name
        for text in texts:
            for k, chunk in enumerate(_wrap(text, width)):
                lines.append(label.ljust(width) + ("    " if k else "") + chunk)
                label = ""
    return [*lines, "```"]


def _ignored(pyproject: Path = ROOT / "pyproject.toml") -> list[tuple[str, str]]:
    """(import, the comment above it) for every ``ignore_imports`` entry."""
    out: list[tuple[str, str]] = []
    note: list[str] = []
    inside, after_entry = False, True
    for line in pyproject.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if s.startswith("ignore_imports"):
            inside, note, after_entry = True, [], True
        elif inside and s.startswith("]"):
            inside = False
        elif inside and s.startswith("#"):  # a new comment after an entry starts afresh
            note = [*([] if after_entry else note), s.lstrip("# ")]
            after_entry = False
        elif inside and s.startswith('"'):  # entries with no comment of their own share one
            out.append((s.strip('",'), " ".join(note)))
            after_entry = True
    return out


def render() -> str:
    """The generated part of docs/architecture.md."""
    cs = contracts()
    tiers = _tiers(cs)
    out = [BEGIN, "<!-- drawn from the import contract in pyproject.toml by "
           "`python tools/architecture.py`; do not edit by hand -->", "",
           "## Layers", "",
           "Imports only point down. `a > b`: `a` may import `b`, never the reverse; "
           "`a | b`: neither imports the other. The contract (`[tool.importlinter]` in "
           "pyproject.toml) is checked by `make test` (tests/test_architecture.py):", "",
           *_picture(tiers), ""]
    for name, rows in tiers:
        out += [f"### {name.capitalize()}", "", "| module | what it holds |", "|---|---|"]
        out += [f"| {_name(m)} | {_summary(m)} |"
                for row in rows for m in sorted(_members(row))]
        out.append("")
    tools = next(c for c in cs if c["name"].startswith("Tools apart"))
    out += ["### Tools, apart from the product", "",
            "No module of the product imports these (the contract \"Tools apart\"). "
            "`make demo` and the benchmarks use them, and the `taxgate` command adds "
            "`synth` and `evaluate` from its tool shell, `cli/tools.py`:", "",
            "| module | what it holds |", "|---|---|"]
    out += [f"| {_name(_short(m))} | {_summary(_short(m))} |"
            for m in sorted(tools["forbidden_modules"])]
    out += ["", "### Known exceptions", "",
            "Imports the contract still allows by name, each with the step that removes it:",
            ""]
    out += [f"- `{imp}`: {note[:1].upper()}{note[1:]}" for imp, note in _ignored()] or [
        "None: every import keeps the contract."]
    return "\n".join([*out, "", END]) + "\n"


def _split(doc: str) -> tuple[str, str, str]:
    head, rest = doc.split(BEGIN, 1)
    body, tail = rest.split(END + "\n", 1)
    return head, BEGIN + body + END + "\n", tail


def generated_part(doc: str = "") -> str:
    """The generated part as docs/architecture.md holds it now."""
    return _split(doc or DOC.read_text(encoding="utf-8"))[1]


def main(argv: list[str]) -> int:
    doc = DOC.read_text(encoding="utf-8")
    head, part, tail = _split(doc)
    new = render()
    if "--check" in argv:
        if part != new:
            print("docs/architecture.md differs from the contract: "
                  "run python tools/architecture.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(head + new + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
