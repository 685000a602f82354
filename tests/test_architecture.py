"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, and it bites.

Layers only point down (shells > gateway > store > stages > leaves), there are no import
cycles, and the tools (the synthetic world, the demo, the evaluator) stay outside the
product's import graph. docs/architecture.md is drawn from the same contract.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tools.architecture import contracts, generated_part, render

ROOT = Path(__file__).resolve().parents[1]
_LINT = ("import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``taxgate`` package under ``root`` (a fresh interpreter, so
    that the tree it analyses is the one on its path)."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-c", _LINT], cwd=root, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def _contract(prefix: str) -> str:
    return next(c["name"] for c in contracts() if c["name"].startswith(prefix))


def test_the_import_contract_is_kept():
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout
    assert f"Contracts: {len(contracts())} kept, 0 broken." in run.stdout


def test_no_module_imports_one_that_imports_it_back():
    """No cycle between any two modules, package ``__init__`` modules included (the
    contract's acyclic check compares siblings only)."""
    graph = grimp.build_graph("taxgate", cache_dir=None)
    cycles = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == []


def _copy_package(dest: Path) -> None:
    """The package's Python files and the contract, as they are, under ``dest``."""
    def not_python(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__"
                or (not n.endswith(".py") and not (Path(folder) / n).is_dir())]

    shutil.copytree(ROOT / "taxgate", dest / "taxgate", ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_the_check_runs_on_a_copy_of_the_tree(tmp_path: Path):
    """The control for the next test: the untouched copy keeps the contract."""
    _copy_package(tmp_path)
    run = _lint(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("ledger.py", "from taxgate import pipeline", "Layers point down"),  # a leaf looks up
    ("statute.py", "from taxgate import intake", "Stages"),  # a stage imports a stage
    ("policy.py", "from taxgate.matching import model", "Stages"),  # no exception left
    ("pipeline/common.py", "from taxgate.pipeline import answer", "No import cycles"),
    ("pipeline/process.py", "from taxgate import synth", "Tools apart"),
    ("web/routes.py", "from taxgate.store import open_store", "Shells reach the store"),
    ("cli/audit.py", "from taxgate import integrity", "Shells reach the store"),  # no exception
    ("unplaced.py", '"""A module the contract does not place."""', "Layers point down"),
])
def test_the_contract_fails_on_a_deliberate_violation(tmp_path: Path, module: str,
                                                      line: str, broken: str):
    _copy_package(tmp_path)
    path = tmp_path / "taxgate" / module
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(before + "\n" + line + "  # the deliberate violation\n", encoding="utf-8")
    run = _lint(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{_contract(broken)} BROKEN" in run.stdout, run.stdout


def test_the_tools_contract_names_every_module_of_the_product():
    """A module added to the layers is added to the list the tools are kept from too."""
    layered = {m.strip() for layer in contracts()[0]["layers"]
               for m in layer.replace("|", ":").split(":")}
    product = {f"taxgate.{m}" for m in layered - {"cli"}}
    cli = {f"taxgate.cli.{p.stem}" for p in (ROOT / "taxgate" / "cli").glob("*.py")
           if p.stem not in ("__init__", "__main__", "tools")}
    sources = set(next(c for c in contracts() if c["name"].startswith("Tools apart"))
                  ["source_modules"])
    assert sources == product | cli


def test_the_architecture_page_is_drawn_from_the_contract():
    """docs/architecture.md's layers are the contract's (python tools/architecture.py)."""
    assert generated_part() == render()


# --- size: small modules, short functions in the pipeline and the policy -------------------

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Modules still over the limit, each with the step that brings it under.
# Modules still over the limit, each with the step that splits it (none now).
LONG_MODULES_ALLOWED: set[str] = set()

# Functions still over the limit, each with the step that splits it (none now).
LONG_FUNCTIONS_ALLOWED: set[str] = set()


def _long_modules() -> set[str]:
    return {p.relative_to(ROOT / "taxgate").as_posix()
            for p in (ROOT / "taxgate").rglob("*.py")
            if len(p.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES}


def _long_functions() -> set[str]:
    """``path:name`` of each function (nested ones and methods too) over the limit in
    the pipeline and the policy, its decorators and docstring counted."""
    paths = [*(ROOT / "taxgate" / "pipeline").rglob("*.py"), ROOT / "taxgate" / "policy.py"]
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (node.end_lineno or node.lineno) - first + 1 > MAX_FUNCTION_LINES:
                    found.add(f"{path.relative_to(ROOT / 'taxgate').as_posix()}:{node.name}")
    return found


def test_no_module_is_over_400_lines():
    """Every module of the package is at most 400 lines, but the named exceptions; an
    exception that got short is struck from the list (it would hide a regrowth)."""
    assert _long_modules() == LONG_MODULES_ALLOWED


def test_no_function_in_the_pipeline_or_the_policy_is_over_60_lines():
    """Same for the functions of the pipeline and the policy, at most 60 lines each."""
    assert _long_functions() == LONG_FUNCTIONS_ALLOWED
