"""Engine settings from the environment: checked at once, with a one-line error."""

from __future__ import annotations

import pytest

from taxgate.errors import BadInput
from taxgate.settings import Policy, Settings


def test_memory_share_splits_the_limit_in_duckdb_syntax():
    # load's two DuckDB connections each get half of TAXGATE_MEMORY_LIMIT
    assert Settings(memory_limit="6GB").memory_share(0.5) == "2861MiB"
    assert Settings(memory_limit="8GiB").memory_share(0.5) == "4096MiB"
    assert Settings(memory_limit="").memory_share(0.5) == ""


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_match_chunk_must_be_a_positive_whole_number(monkeypatch, value):
    monkeypatch.setenv("TAXGATE_MATCH_CHUNK", value)
    with pytest.raises(BadInput, match="TAXGATE_MATCH_CHUNK"):
        Settings.from_env("somewhere")


def test_match_chunk_from_the_environment(monkeypatch):
    monkeypatch.setenv("TAXGATE_MATCH_CHUNK", "5000")
    assert Settings.from_env("somewhere").match_chunk_records == 5000


def test_r23_every_decision_value_is_policy_and_changes_its_version(tmp_path):
    """R23/R30: the clear-winner margin and the namesake levels are policy, so a past
    answer names the rules it was made with; competitors answer NOT_CONFIRMED by default."""

    base = Policy()
    assert base.review_competitors is False
    assert Policy(clear_winner_bits=4.0).version() != base.version()
    assert Policy(namesake_first_levels=("exact",)).version() != base.version()
    assert Policy(successor_gap_years=1).version() != base.version()
    toml = tmp_path / "policy.toml"
    toml.write_text('[policy]\nclear_winner_bits = 6.5\nnamesake_first_levels = ["exact"]\n')
    read = Policy.from_toml(toml)
    assert (read.clear_winner_bits, read.namesake_first_levels) == (6.5, ("exact",))


def test_the_response_names_the_installed_package_version():
    """The software version is the package's own (pyproject.toml), declared once."""
    import importlib.metadata
    import re
    import tomllib
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    import taxgate
    from taxgate import response

    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    assert taxgate.__version__ == importlib.metadata.version("taxgate") == declared
    init = (root / "taxgate/__init__.py").read_text(encoding="utf-8")
    assert not re.search(r"__version__\s*=\s*['\"]\d", init), "a second version literal"
    resp = response.build_response(
        request_id="r", received_at="2026-01-01T00:00:00Z", completed_at="2026-01-01T00:00:01Z",
        counts={}, policy_version=Policy().version(), model_version=None,
        records_sha256="0" * 64, record_count=0, signing_key=Ed25519PrivateKey.generate())
    assert resp["software_version"] == f"taxgate {importlib.metadata.version('taxgate')}"
