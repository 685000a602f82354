"""The person-match model is trained as a separate, explicit, versioned step: the first
load trains, a later load keeps the model in force, `--retrain` and `taxgate model train`
train again, the same filings give the same version, and every decision records the
version that scored it (R30: the evidence of each disclosure; R31: decisions selectable
by model version; R33: the retraining is an operator's logged action)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from e2e import TRAINED_CLI, copy_request, resign, taxgate
from store_raw import run_sql
from world_cache import SMALL, session_dir, trained_once

from taxgate import filing_index
from taxgate.domain import Official
from taxgate.errors import ExitCode
from taxgate.gateway import Gateway
from taxgate.pipeline.training import training_beside_index
from taxgate.settings import Settings
from taxgate.store.embedded import DB_FILE
from taxgate.synth import synth_all
from taxgate.synth.workflow import SynthPaths

pytestmark = pytest.mark.xdist_group("model_versions")

KEY = "5e" * 32


@dataclasses.dataclass
class World:
    root: Path
    paths: SynthPaths
    settings: Settings
    first_version: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The suite's small population loaded (its model trained once per session) and an
    official registered; no request answered yet."""
    root = tmp_path_factory.mktemp("model-versions")
    paths = synth_all(root / "synthetic", SMALL[0], 20, seed=SMALL[1])
    settings = Settings(store=str(root / "store"), key_hex=KEY)
    with Gateway(settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):
            first = gw.load(paths.taxpayers)
        gw.add_official(Official("ice-director", "DHS-ICE", "Director",
                                 paths.public_key.read_text(), dt.date(2026, 1, 1)), "test")
    assert first.model_trained and "train" in first.timings.stages
    return World(root, paths, settings, first.model_version)


def _more_filings(world: World, name: str, rows: int) -> Path:
    """A new taxpayer file (its own sha256): the first ``rows`` filings filed again."""
    lines = world.paths.taxpayers.read_text(encoding="utf-8").splitlines(keepends=True)
    path = world.root / name
    path.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    return path


def _decided_versions(gw: Gateway, world: World, request_id: str) -> set[str | None]:
    """Answer the synthetic request again under ``request_id``; the model versions its
    decisions record."""
    request = copy_request(world.paths.request_dir, world.root / f"req-{request_id}")
    resign(request, world.paths.private_key, request_id=request_id)
    result = gw.process(request, world.root / f"out-{request_id}")
    assert result.exit_code == 0 and result.counts.get("CONFIRMED"), result.message
    with gw.lock() as store:
        return set(store.decisions(request_id).column("model_version").to_pylist())


def test_r30_r31_a_later_load_keeps_the_model_and_decisions_record_it(world: World):
    """A load into a store that has a model adds the filings without training: the model
    in force stays, and the next decisions record that version."""
    with Gateway(world.settings) as gw:
        before = gw.models()[0]
        result = gw.load(_more_filings(world, "more.csv", 40))
        assert not result.model_trained and "train" not in result.timings.stages
        assert result.model_version == before.version
        assert gw.models()[0] == before  # not trained again, not re-saved
        assert _decided_versions(gw, world, "ICE-2026-KEPT01") == {before.version}


def test_r30_r33_retraining_makes_a_version_the_next_decisions_record(
        world: World, tmp_path_factory: pytest.TempPathFactory):
    """`load --retrain` trains on every stored filing (a new version: the filings
    changed); `model train` on the same filings gives the same version again (training is
    reproducible); both are logged as MODEL_TRAINED, and decisions record the version."""
    with Gateway(world.settings) as gw:
        before = gw.models()[0].version
        loaded = gw.load(_more_filings(world, "retrain.csv", 25), retrain=True)
        assert loaded.model_trained and loaded.model_version != before
        with trained_once(tmp_path_factory):  # a real training here, remembered for the CLI
            again = gw.train_model()
        assert (again.version, again.previous) == (loaded.model_version, loaded.model_version)
        assert again.filing_count == loaded.total_filings
        models = gw.models()
        assert models[0].version == loaded.model_version and models[0].current
        assert models[0].filing_count == loaded.total_filings
        assert before in {m.version for m in models[1:]} and not any(m.current for m in models[1:])
        assert _decided_versions(gw, world, "ICE-2026-RETRAIN1") == {loaded.model_version}
    cli = taxgate("model", "train", "--json", store=world.settings.store,
                  env={"TAXGATE_KEY": KEY, "TAXGATE_OPERATOR": "olga"}, cli=TRAINED_CLI)
    assert cli.code == 0, cli.stderr
    got = json.loads(cli.stdout)
    assert (got["version"], got["previous"]) == (loaded.model_version, loaded.model_version)
    with Gateway(world.settings) as gw, gw.lock() as store:
        entries = list(store.ledger_entries())
    trained = [e.payload["version"] for e in entries if e.event_type == "MODEL_TRAINED"]
    assert trained[-3:] == [loaded.model_version] * 3
    actions = [e.payload for e in entries if e.event_type == "OPERATOR_ACTION"]
    assert {"operator": "olga", "command": "model train", "outcome": "SUCCESS"}.items() <= \
        actions[-1].items()


def test_the_command_line_says_which_model_stays_and_lists_versions(world: World):
    """`taxgate load` into a store with a model names the version kept and the command
    that retrains; `taxgate model list` shows the versions, the one in force first."""
    env = {"TAXGATE_KEY": KEY}
    run = taxgate("load", str(_more_filings(world, "cli.csv", 10)), store=world.settings.store,
                  env=env)
    assert run.code == 0, run.stderr
    assert "stays in force" in run.stdout and "taxgate model train" in run.stdout
    listed = taxgate("model", "list", "--json", store=world.settings.store, env=env)
    assert listed.code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows[0]["current"] and not any(r["current"] for r in rows[1:])
    assert rows[0]["version"] in run.stdout
    table = taxgate("model", "list", store=world.settings.store, env=env)
    assert rows[0]["version"] in table.stdout and "in force" in table.stdout


def test_r31_the_first_load_numbers_the_filings_in_the_files_order(world: World):
    """The stored filings' ids follow the taxpayer file's rows, not the order the parallel
    read streams them in: the same file loaded into a new store gives the same ids, and
    the training samples (hashes of the id) the same model version."""
    with open(world.paths.taxpayers, encoding="utf-8", newline="") as f:
        filed = [(r["tin"], int(r["tax_year"]), r["processed_date"]) for r in csv.DictReader(f)]
    with Gateway(world.settings) as gw, gw.lock() as store:
        stored = store.matching_connection().execute(
            "SELECT tin, tax_year, CAST(processed_date AS VARCHAR) FROM filings "
            "WHERE filing_id <= ? ORDER BY filing_id", [len(filed)]).fetchall()
    assert stored == filed


def test_an_error_beside_the_training_stops_it_and_saves_no_model(world: World):
    """`load` trains the model while it updates the filing index (on a thread, in a
    DuckDB of its own); an error in the index's block interrupts the training, waits
    for it, and leaves the store usable with the models it had."""
    with Gateway(world.settings) as gw, gw.lock() as store:
        before = store.models()
        with pytest.raises(RuntimeError, match="the index failed"), \
                training_beside_index(world.settings, store):
            raise RuntimeError("the index failed")
        assert store.models() == before
        assert store.filing_count() > 0  # the connection is free again


def test_model_train_without_filings_is_not_set_up(tmp_path: Path):
    """A store with no filings has nothing to train on: exit 5 with one line."""
    store = str(tmp_path / "store")
    env = {"TAXGATE_KEY": KEY}
    assert taxgate("init", store=store, env=env).code == 0
    run = taxgate("model", "train", store=store, env=env)
    assert run.code == ExitCode.NOT_SET_UP, run.stderr
    assert run.stderr.count("\n") == 1 and "taxgate load" in run.stderr
    listed = taxgate("model", "list", "--json", store=store, env=env)
    assert listed.code == 0 and json.loads(listed.stdout) == []


def test_r31_the_store_lists_model_versions_with_their_filings(store):
    """Both engines keep each version with when and on how many filings it was trained;
    the latest trained is current, and a version trained again becomes current again."""
    store.save_model("model-a", '{"a": 1}', 1_000)
    store.save_model("model-b", '{"b": 2}', 1_100)
    assert [(m.version, m.filing_count, m.current) for m in store.models()] == [
        ("model-b", 1_100, True), ("model-a", 1_000, False)]
    store.save_model("model-a", '{"a": 1}', 1_100)
    assert [(m.version, m.current) for m in store.models()] == [
        ("model-a", True), ("model-b", False)]
    assert store.current_model() == ("model-a", '{"a": 1}')


_TRAINED_THEN_INDEXED = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from world_cache import trained_once
    from taxgate.gateway import Gateway
    from taxgate.pipeline.common import Timings
    from taxgate.pipeline.training import training_beside_index
    from taxgate.progress import Quiet
    from taxgate.settings import Settings
    settings = Settings(store={store!r}, key_hex={key!r})
    with Gateway(settings) as gw, gw.lock() as store, trained_once(Path({models!r})):
        with training_beside_index(settings, store) as finish:
            trained = finish(Quiet(), Timings())  # the training ends before the index
            store.update_filing_index()  # built again, then checkpointed
            wal = Path({wal!r})
            print(trained.version, wal.stat().st_size if wal.exists() else 0)
""")


def test_r31_an_index_built_after_the_training_ended_is_not_held_by_its_reader(
        world: World, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Training beside the index reads the filings through a cursor of the store's, and
    may leave its last result open (here the suite's model cache, whose digest query is
    read with `fetchone`). When training ends first, nothing it read may still hold the
    filings: DuckDB's checkpoint waits for every open result, so the index built and
    checkpointed after it would wait for good, or be refused, and `load` never end or
    leave the index's deletions uncompacted. The checkpoint runs and the model is saved."""
    settings = Settings(store=str(tmp_path / "store"), key_hex=KEY)
    shutil.copytree(world.settings.store, settings.store)
    with Gateway(settings) as gw, trained_once(tmp_path_factory):
        gw.train_model()  # so the script's training is the cache's: a digest, left open
    run_sql(settings, f"DROP TABLE {filing_index.STATE}")  # the index must be built again
    script = _TRAINED_THEN_INDEXED.format(
        tests=str(Path(__file__).parent), store=settings.store, key=KEY,
        models=str(session_dir(tmp_path_factory)),
        wal=str(Path(settings.store) / f"{DB_FILE}.wal"))
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                              text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the index's checkpoint waited on the finished training's reader")
    assert done.returncode == 0, done.stderr
    version, wal = done.stdout.split()
    assert wal == "0"  # the index's checkpoint ran: nothing held it, nothing left in the WAL
    with Gateway(settings) as gw, gw.lock() as store:
        assert filing_index.current(store.matching_connection(), "", "filings")
        assert store.current_model() is not None and store.current_model()[0] == version
