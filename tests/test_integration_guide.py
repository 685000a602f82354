"""The integration guide's worked example, run from docs/integration.md itself.

The fenced blocks marked ``example:…`` are extracted in document order: the records
file is written, the shell blocks run through the real ``taxgate`` command (the
*gateway* blocks on a real store holding synthetic filings, the *agency* blocks with no
store at all), and the Python block, which uses the ``cryptography`` package alone,
signs a second package and verifies the first response. If the guide drifts from the
software, these tests fail.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from e2e import TRAINED_CLI, taxgate

from taxgate.canonical import (
    canonical_json,
    load_public_key_pem,
    new_signing_key,
    public_key_pem,
    verify_object,
)
from taxgate.records import MANIFEST_FIELDS, REQUEST_COLUMNS, RESULT_COLUMNS, TAXPAYER_COLUMNS
from taxgate.response import RESPONSE_FIELDS
from taxgate.synth import synth_all

pytestmark = pytest.mark.xdist_group("guide")

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "integration.md"
BLOCK = re.compile(r"^```(\w+) example:(\S+)\n(.*?)^```$", re.M | re.S)


def example_blocks() -> list[tuple[str, str, str]]:
    """(language, tag, text) of every block of the worked example, in order."""
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def _python_block() -> str:
    (text,) = [body for lang, _, body in example_blocks() if lang == "python"]
    return text


def _env(store: str | None, bin_dir: Path) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("TAXGATE_DEBUG", None)
    env["TAXGATE_STORE"] = store or str(bin_dir.parent / "no-store-here")
    return env


def _run_block(lang: str, tag: str, text: str, work: Path, store: str,
               bin_dir: Path) -> subprocess.CompletedProcess[str]:
    if lang == "python":
        script = work / "example.py"
        script.write_text(text, encoding="utf-8")
        cmd = [sys.executable, str(script)]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", text]
    env = _env(store if tag == "gateway" else None, bin_dir)
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A gateway store holding synthetic filings, then every block of the example."""
    root = tmp_path_factory.mktemp("guide")
    paths = synth_all(root / "synthetic", 4_000, 1_200, seed=7)
    store = str(root / "store")
    for args in (("init",), ("load", str(paths.taxpayers))):
        run = taxgate(*args, store=store, cli=TRAINED_CLI if args[0] == "load" else None)
        assert run.code == 0, run.stderr
    bin_dir = root / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "taxgate"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m taxgate.cli "$@"\n')
    wrapper.chmod(0o755)
    work = root / "work"
    work.mkdir()
    outputs = []
    for lang, tag, text in example_blocks():
        if lang == "csv":
            (work / tag).write_text(text, encoding="utf-8")
            continue
        done = _run_block(lang, tag, text, work, store, bin_dir)
        assert done.returncode == 0, (tag, text, done.stdout, done.stderr)
        outputs.append((lang, tag, done.stdout))
    return {"work": work, "store": store, "outputs": outputs, "root": root}


def test_the_worked_example_covers_every_step():
    blocks = example_blocks()
    commands = " ".join(body for lang, _, body in blocks if lang == "sh")
    for step in ("package create", "package check", "officials add", "gateway-key",
                 "taxgate process", "response verify"):
        assert step in commands, step
    assert [lang for lang, _, _ in blocks].count("python") == 1
    assert blocks[0][:2] == ("csv", "records.csv")


def test_r1_r3_the_worked_example_runs_as_written(example):
    """Every block exits 0: the kit's package is signed (R1), checked with every record
    passing, answered by the gateway, and its response verifies (digest, R3)."""
    work = example["work"]
    text = "\n".join(out for _, _, out in example["outputs"])
    assert "3 records, 3 pass, 0 would be REJECTED" in text
    assert "response verified: request ICE-2026-000123" in text
    assert "verified ICE-2026-000123 {" in text  # the Python example's own verification
    key = load_public_key_pem((work / "gateway_key.pem").read_bytes())
    for folder in ("response", "response-py"):
        resp = json.loads((work / folder / "response.json").read_text(encoding="utf-8"))
        assert verify_object(key, resp)
        assert "request_reason" not in resp and resp["record_count"] == 3
    # the agency's commands never opened a store
    assert not (example["root"] / "no-store-here").exists()


def test_r1_the_package_signed_with_cryptography_alone_is_answered_like_the_kits(example):
    work = example["work"]
    assert (work / "response-py/results.csv").read_bytes() == (
        work / "response/results.csv").read_bytes()
    manifest = json.loads((work / "request-py/manifest.json").read_text(encoding="utf-8"))
    assert manifest["request_id"] == "ICE-2026-000124"
    assert set(manifest) == set(MANIFEST_FIELDS)


def _guide_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "guide"}
    exec(compile(_python_block(), str(GUIDE), "exec"), namespace)  # noqa: S102
    return namespace


def test_r3_the_python_verifier_refuses_an_edited_results_file_and_another_key(
        example, tmp_path):
    guide = _guide_namespace()
    work = example["work"]
    good = guide["verify_response"](work / "response", work / "gateway_key.pem")
    assert good["request_id"] == "ICE-2026-000123"
    edited = shutil.copytree(work / "response", tmp_path / "edited")
    results = edited / "results.csv"
    results.write_text(results.read_text(encoding="utf-8").replace("A-0001", "A-0009", 1),
                       encoding="utf-8")
    assert results.read_bytes() != (work / "response/results.csv").read_bytes()
    with pytest.raises(ValueError, match="not the file the gateway signed"):
        guide["verify_response"](edited, work / "gateway_key.pem")
    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(new_signing_key()), encoding="ascii")
    with pytest.raises(InvalidSignature):
        guide["verify_response"](work / "response", other)


def test_the_documented_canonical_bytes_are_the_gateways():
    """The guide's canonical form is byte for byte the one the gateway verifies (R1)."""
    canonical = _guide_namespace()["canonical"]
    manifest = {"request_id": "ICE-1", "reason": "Peña, São Paulo — \"quoted\"\n\tline",
                "taxable_periods": [2025, 2023], "record_count": 3, "b": {"z": 1, "a": [True]}}
    assert canonical(manifest) == canonical_json(manifest)


def test_the_python_example_needs_only_the_cryptography_package():
    tree = ast.parse(_python_block())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert roots - set(sys.stdlib_module_names) == {"cryptography"}


def test_every_field_and_column_is_documented():
    page = GUIDE.read_text(encoding="utf-8")
    for name in (*MANIFEST_FIELDS, *REQUEST_COLUMNS, *RESULT_COLUMNS, *TAXPAYER_COLUMNS):
        assert f"| `{name}` |" in page, name
    for name in RESPONSE_FIELDS:
        assert f"`{name}`" in page, name


def test_docs_for_agencies_cite_no_section_of_an_outside_document():
    """Outsiders read README.md and docs/ (the module map of docs/architecture.md is
    drawn from the code's docstrings and is for developers)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    cited = [p.name for p in pages
             if p.name != "architecture.md" and "contract §" in p.read_text(encoding="utf-8")]
    assert cited == []
