"""The command line starts light: `python -m taxgate.cli` imports the modules a command
needs when that command runs, not all of them at start-up (each start costs every test
and every operator that runs the command; docs: bench/results/suite.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Modules no command needs before it runs: the request intake and its Arrow, the store
# and DuckDB, the ledger's readers, the matching, the service and the synthetic world.
HEAVY = ("taxgate.agency", "taxgate.intake", "taxgate.records_csv", "taxgate.store",
         "taxgate.ledger", "taxgate.integrity", "taxgate.gateway.notify", "taxgate.accounting",
         "taxgate.domain", "taxgate.pipeline", "taxgate.matching", "taxgate.synth",
         "pyarrow", "numpy", "pandas", "duckdb", "splink", "fastapi", "uvicorn")


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps([m for m in {names!r} if m in sys.modules]))")
    env = {k: v for k, v in os.environ.items() if k != "TAXGATE_DEBUG"}
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_the_command_line_loads_no_heavy_module() -> None:
    assert _loaded_after("import taxgate.cli", (*HEAVY, "importlib.metadata")) == []


def test_the_version_is_read_from_the_package_metadata_on_first_use() -> None:
    assert _loaded_after("from taxgate import __version__\nassert __version__",
                         ("importlib.metadata",)) == ["importlib.metadata"]


def test_version_and_help_run_without_a_heavy_module() -> None:
    code = ("from taxgate.cli import main\n"
            "for argv in (['taxgate', '--version'], ['taxgate', '--help']):\n"
            "    sys.argv = argv\n"
            "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code\n")
    assert _loaded_after(code) == []


def test_the_store_loads_no_http_client_until_an_alert_is_posted() -> None:
    """Every command opens the store; HTTP and TLS are for the alert webhook alone (R39)."""
    probe = ("import sys, taxgate.store.embedded, taxgate.gateway, taxgate.alerts\n"
             "print([m for m in ('urllib.request', 'http.client', 'ssl') if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "[]"
