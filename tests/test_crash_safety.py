"""Crash safety and exactly-once (issue: the ledger and the store, item 4).

`taxgate process` is killed with SIGKILL at every named crash point and at arbitrary
instants, then run again: the final results are byte-identical to an uncrashed run,
every disclosure is in the ledger exactly once, and the ledger verifies. On
PostgreSQL, two runs of one request at once disclose nothing twice.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from e2e import copy_request, prepare_store, resign, results, taxgate
from world_cache import LARGE

from taxgate import ledger
from taxgate.canonical import new_data_key
from taxgate.faults import POINTS
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.synth import synth_all

pytestmark = pytest.mark.xdist_group("crash")
REQUEST_ID = "ICE-2026-000123"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("crash")
    paths = synth_all(root / "synthetic", LARGE[0], 400, seed=LARGE[1])
    store = root / "base"
    prepare_store(str(store), paths)
    return paths, store


def clone(store: Path, dest: Path) -> str:
    """A byte copy of an embedded store (and its key file beside it)."""
    shutil.copytree(store, dest)
    shutil.copy(store.parent / f"{store.name}.key", dest.parent / f"{dest.name}.key")
    return str(dest)


@pytest.fixture(scope="module")
def answered(base, tmp_path_factory):
    """A store that answered the request (REVIEW records on the desk); tests that write
    to it work on a clone."""
    paths, store = base
    root = tmp_path_factory.mktemp("answered")
    s = clone(store, root / "store")
    run = taxgate("process", str(paths.request_dir), "--out", str(root / "out"), store=s)
    assert run.code == 0, run.stderr
    return Path(s)


@pytest.fixture(scope="module")
def reference(answered):
    """What an uncrashed run answers (the ``answered`` store's run): its results.csv
    bytes, its CONFIRMED count and the review desk it left."""
    out = answered.parent / "out"
    held = review_desk(Settings(store=str(answered)))
    assert held, "the reference request should put records on the review desk"
    return (out / "results.csv").read_bytes(), sum(
        r["outcome"] == "CONFIRMED" for r in results(out)
    ), held


def review_desk(settings: Settings) -> dict[int, bytes]:
    """What the review desk holds of the request: each REVIEW record's sealed blob, opened."""
    with Gateway(settings) as gw, gw.lock() as st:
        return {it.row_number: st.unseal_bytes(f"review/{REQUEST_ID}/{it.row_number}", it.sealed)
                for it in st.review_items(REQUEST_ID)}


def disclosures_and_verify(settings: Settings) -> int:
    with Gateway(settings) as gw, gw.lock() as st:
        report = ledger.verify(st.ledger_entries(), st.signing_key().public_key())
        assert report.ok, report.problem
        return sum(
            1
            for e in st.ledger_entries()
            if e.event_type == "DISCLOSURE" and e.request_id == REQUEST_ID
        )


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_each_crash_point_then_rerun_discloses_exactly_once(
    base, reference, tmp_path, point
):
    paths, store = base
    expected_bytes, confirmed, held = reference
    s = clone(store, tmp_path / "store")
    out = tmp_path / "out"
    crashed = taxgate(
        "process",
        str(paths.request_dir),
        "--out",
        str(out),
        store=s,
        env={"TAXGATE_CRASH_AT": point},
    )
    assert crashed.code == -signal.SIGKILL
    assert not (out / "response.json").exists()
    again = taxgate("process", str(paths.request_dir), "--out", str(out), store=s)
    assert again.code == 0, again.stderr
    assert (out / "results.csv").read_bytes() == expected_bytes
    assert (out / "response.json").exists()
    assert disclosures_and_verify(Settings(store=s)) == confirmed
    # the desk holds the same records whether the answering run put them there (from
    # its own tables) or the re-run after the commit did (from the store and package)
    assert review_desk(Settings(store=s)) == held


def test_killed_at_arbitrary_instants_then_rerun(base, reference, tmp_path):
    paths, store = base
    expected_bytes, confirmed, _ = reference
    s = clone(store, tmp_path / "store")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "taxgate.cli",
        "process",
        str(paths.request_dir),
        "--out",
        str(out),
    ]
    import os

    env = {**os.environ, "TAXGATE_STORE": s}
    for delay in (0.4, 1.0, 1.7, 2.6, 3.8):
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    again = taxgate("process", str(paths.request_dir), "--out", str(out), store=s)
    assert again.code == 0, again.stderr
    assert (out / "results.csv").read_bytes() == expected_bytes
    assert disclosures_and_verify(Settings(store=s)) == confirmed


@pytest.mark.postgres
def test_two_runs_of_one_request_at_once_on_postgres_disclose_once(base, pg_server, tmp_path):
    import os

    import psycopg

    paths, _ = base
    name = f"taxgate_c_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_server.url.rpartition('/')[0]}/{name}"
    env = {"TAXGATE_KEY": new_data_key()}
    prepare_store(url, paths, env)
    full = {**os.environ, "TAXGATE_STORE": url, **env}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taxgate.cli",
                "process",
                str(paths.request_dir),
                "--out",
                str(tmp_path / f"out{i}"),
            ],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0], [p.stderr.read() for p in procs]
    a, b = ((tmp_path / f"out{i}/results.csv").read_bytes() for i in range(2))
    assert a == b
    confirmed = sum(r["outcome"] == "CONFIRMED" for r in results(tmp_path / "out0"))
    settings = Settings(store=url, key_hex=env["TAXGATE_KEY"])
    assert disclosures_and_verify(settings) == confirmed
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- every route through the one publish step (R27, R28) ---------------------------------
# A refusal, a replay and a release commit through the same step as the first answer, so
# the same crash points stand around their commits: killed just before, nothing of the
# answer is stored or logged; just after, it is stored and logged once, and the files
# are fetched again without a second entry for it.

COMMIT_POINTS = ("before-commit", "after-commit")
REFUSED_ID = "ICE-2026-REFUSED"
_RELEASE = """
import sys
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import Principal
from taxgate.settings import Settings
with Gateway(Settings.from_env(sys.argv[1])) as gw:
    gw.release(Principal("remy", "releaser"), sys.argv[2], int(sys.argv[3]))
"""


def logged(settings: Settings, event_type: str, request_id: str) -> int:
    """How many ``event_type`` entries the ledger holds for ``request_id`` (it verifies)."""
    with Gateway(settings) as gw, gw.lock() as st:
        report = ledger.verify(st.ledger_entries(), st.signing_key().public_key())
        assert report.ok, report.problem
        return sum(1 for e in st.ledger_entries()
                   if e.event_type == event_type and e.request_id == request_id)


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_r28_a_refusal_killed_at_its_commit_is_logged_once_and_fetched_again(
    base, tmp_path, point
):
    paths, store = base
    s = clone(store, tmp_path / "store")
    req = copy_request(paths.request_dir, tmp_path / "request")
    resign(req, paths.private_key, request_id=REFUSED_ID, legal_authority="no such authority")
    out = tmp_path / "out"
    crashed = taxgate("process", str(req), "--out", str(out), store=s,
                      env={"TAXGATE_CRASH_AT": point})
    assert crashed.code == -signal.SIGKILL
    assert not (out / "response.json").exists()
    settings = Settings(store=s)
    with Gateway(settings) as gw, gw.lock() as st:
        stored = st.find_request(REFUSED_ID)
    kept = point == "after-commit"
    assert (stored is not None, logged(settings, "REQUEST_REFUSED", REFUSED_ID)) == (kept, kept)
    again = taxgate("process", str(req), "--out", str(out), store=s)
    assert again.code == 2, again.stderr
    assert ("replayed" in again.stdout + again.stderr) == kept
    rows = results(out)
    assert rows and {(r["outcome"], r["reasons"]) for r in rows} == {
        ("REJECTED", "LEGAL_AUTHORITY_NOT_ALLOWED")}
    assert logged(settings, "REQUEST_REFUSED", REFUSED_ID) == 1


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_r28_a_replay_killed_at_its_commit_discloses_nothing_new(
    base, reference, answered, tmp_path, point
):
    paths, _ = base
    expected_bytes, confirmed, _ = reference
    s = clone(answered, tmp_path / "store")
    out = tmp_path / "out"
    crashed = taxgate("process", str(paths.request_dir), "--out", str(out), store=s,
                      env={"TAXGATE_CRASH_AT": point})
    assert crashed.code == -signal.SIGKILL
    assert not (out / "response.json").exists()
    settings = Settings(store=s)
    replays = int(point == "after-commit")
    assert logged(settings, "REQUEST_REPLAYED", REQUEST_ID) == replays
    again = taxgate("process", str(paths.request_dir), "--out", str(out), store=s)
    assert again.code == 0 and "replayed" in again.stdout, again.stderr
    assert (out / "results.csv").read_bytes() == expected_bytes
    assert logged(settings, "REQUEST_REPLAYED", REQUEST_ID) == replays + 1
    assert disclosures_and_verify(settings) == confirmed


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_r28_a_release_killed_at_its_commit_is_decided_and_answered_once(
    answered, tmp_path, point
):
    import os

    from taxgate.errors import Conflict
    from taxgate.gateway.accounts import Principal

    s = clone(answered, tmp_path / "store")
    settings = Settings(store=s)
    with Gateway(settings) as gw, gw.lock() as st:
        row = st.review_items(REQUEST_ID)[0].row_number
        gw.propose(Principal("rita", "reviewer"), REQUEST_ID, row, "NOT_CONFIRMED",
                   "DIFFERENT_PERSON_NAME", "the filings name another person")
    env = {**os.environ, "TAXGATE_CRASH_AT": point,
           "PYTHONPATH": str(Path(__file__).parents[1])}
    crashed = subprocess.run([sys.executable, "-c", _RELEASE, s, REQUEST_ID, str(row)],
                             env=env, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    released = point == "after-commit"
    with Gateway(settings) as gw, gw.lock() as st:
        assert len(st.follow_ups(REQUEST_ID)) == released
    assert logged(settings, "REVIEW_DECIDED", REQUEST_ID) == released
    with Gateway(settings) as gw:
        if released:
            with pytest.raises(Conflict, match="already released"):
                gw.release(Principal("remy", "releaser"), REQUEST_ID, row)
        else:
            gw.release(Principal("remy", "releaser"), REQUEST_ID, row)
        (fu,) = gw.follow_ups(REQUEST_ID)
        gw.write_follow_up(fu, tmp_path / "follow-up")
    assert [r["outcome"] for r in results(tmp_path / "follow-up")] == ["NOT_CONFIRMED"]
    assert logged(settings, "REVIEW_DECIDED", REQUEST_ID) == 1
