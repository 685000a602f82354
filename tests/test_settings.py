"""Engine settings from the environment: checked at once, with a one-line error."""

from __future__ import annotations

import pytest

from taxgate.errors import BadInput
from taxgate.settings import Settings


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
