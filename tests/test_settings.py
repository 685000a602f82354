"""Engine settings from the environment: checked at once, with a one-line error."""

from __future__ import annotations

import pytest

from taxgate.errors import BadInput, SettingsError
from taxgate.settings import Policy, ServiceSettings, Settings


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


# --- one settings object: typed, every bad value named with its source in one line -------------


def test_bad_settings_are_all_named_with_their_source_in_one_line(monkeypatch, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nclear_winner_bits = "high"\nbogus = 1\n')
    monkeypatch.setenv("TAXGATE_POLICY", str(policy))
    monkeypatch.setenv("TAXGATE_THREADS", "many")
    monkeypatch.setenv("TAXGATE_MAX_UPLOAD_BYTES", "big")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env("somewhere", engine="flink")
    message = str(caught.value)
    assert "\n" not in message and "high" not in message and "flink" not in message
    for named in ("clear_winner_bits (policy file policy.toml) must be a number",
                  "bogus (policy file policy.toml) is not a policy setting",
                  "threads (TAXGATE_THREADS) must be a whole number",
                  "max_upload_bytes (TAXGATE_MAX_UPLOAD_BYTES) must be a whole number",
                  "engine (option --engine or TAXGATE_ENGINE) must be one of duckdb, spark"):
        assert named in message


def test_settings_are_typed_however_they_are_built():
    with pytest.raises(SettingsError, match="officer_record_cap must be a whole number"):
        Policy(officer_record_cap=True)
    with pytest.raises(SettingsError, match="threads must be at least 0"):
        Settings(threads=-1)
    with pytest.raises(SettingsError, match="login_failures must be a whole number"):
        ServiceSettings(login_failures="5")  # type: ignore[arg-type]


def test_every_service_setting_comes_from_its_variable_into_the_one_object(monkeypatch, tmp_path):
    monkeypatch.setenv("TAXGATE_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("TAXGATE_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("TAXGATE_ENGINE", "spark")
    settings = Settings.from_env("somewhere")
    assert settings.service.max_upload_bytes == 1000 and settings.engine == "spark"
    assert settings.spool == tmp_path / "spool"
    assert Settings(store=str(tmp_path / "s")).spool == tmp_path / "s.spool"


def test_an_integer_for_a_fractional_policy_value_keeps_the_policy_version(tmp_path):
    """R30: a policy file's ``= 5`` and the default 5.0 are the same policy version as
    before the typed check (the value is kept as written, not converted)."""
    toml = tmp_path / "policy.toml"
    toml.write_text("[policy]\nclear_winner_bits = 6\n")
    assert Policy.from_toml(toml).version() == Policy(clear_winner_bits=6).version()


def test_cli_a_bad_setting_is_one_line_and_exit_2_on_every_command(tmp_path):
    from e2e import taxgate

    run = taxgate("init", store=str(tmp_path / "s"), env={"TAXGATE_MATCH_CHUNK": "0"})
    assert run.code == 2 and not (tmp_path / "s").exists()
    assert run.stderr == ("taxgate: bad setting: match_chunk_records (TAXGATE_MATCH_CHUNK) "
                          "must be at least 1\n")


def test_a_policy_file_names_every_bad_key_with_the_file(tmp_path):
    """A key beside the [policy] table (once silently ignored), an unknown key and a value
    of the wrong type are each named, with the file, in one line."""
    toml = tmp_path / "policy.toml"
    toml.write_text('review_competitors = true\n[policy]\nmax_records_per_request = "many"\n'
                    "no_such_setting = 1\n[servce]\nx = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError) as bad:
        Policy.from_toml(toml)
    message = str(bad.value)
    for key in ("review_competitors", "servce", "no_such_setting", "max_records_per_request"):
        assert f"{key} (policy file policy.toml)" in message, key
    assert "outside the [policy] table" in message and "\n" not in message
    toml.write_text("policy = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="must be a table"):
        Policy.from_toml(toml)


def test_the_pg_replica_is_in_the_cache_folder_by_default_named_without_credentials(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    url = "postgresql://user:s3cret@db.example:5432/taxgate"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = Settings(store=url).pg_replica_path
    assert path is not None and path.parent == tmp_path / "cache" / "taxgate"
    assert path.name.startswith("pg-") and path.suffix == ".duckdb" and "s3cret" not in str(path)
    monkeypatch.setenv("TAXGATE_PG_REPLICA", str(tmp_path / "r.duckdb"))
    assert Settings.from_env(url).pg_replica_path == tmp_path / "r.duckdb"
    monkeypatch.setenv("TAXGATE_PG_REPLICA", "off")
    assert Settings.from_env(url).pg_replica_path is None


def test_the_spark_index_setting_comes_from_its_variable_and_is_checked(monkeypatch):
    """TAXGATE_SPARK_INDEX chooses who builds the Spark engine's filing index (docs/scale.md)."""
    assert Settings().spark_index == "store"
    monkeypatch.setenv("TAXGATE_SPARK_INDEX", "spark")
    assert Settings.from_env("somewhere").spark_index == "spark"
    monkeypatch.setenv("TAXGATE_SPARK_INDEX", "hdfs")
    with pytest.raises(SettingsError,
                       match=r"spark_index \(TAXGATE_SPARK_INDEX\) must be one of store, spark"):
        Settings.from_env("somewhere")
