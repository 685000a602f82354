"""The ledger fails closed (R28, R34): a head anchor outside the store catches a truncated
tail and a rolled-back store; commands that disclose or account refuse on a ledger whose
last check failed until an operator records an incident. Both stores, real files, real keys.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from store_raw import run_sql

from taxgate import anchor, integrity, ledger
from taxgate.accounting import annual_report, disclosures_for_tin
from taxgate.canonical import new_signing_key
from taxgate.domain import LedgerEvent
from taxgate.errors import BadInput, IntegrityError, NotFound
from taxgate.gateway import review
from taxgate.gateway.accounts import Principal
from taxgate.settings import Settings
from taxgate.store import open_store

TIN = "123456789"


def _events(n: int, tag: str) -> list[LedgerEvent]:
    return [LedgerEvent("DISCLOSURE", {"record_id": f"{tag}{i}"}, "REQ-1") for i in range(n)]


@pytest.fixture
def filled(store_settings: Settings) -> Settings:
    """A store with three committed transactions (each anchored); closed."""
    with open_store(store_settings, create=True) as s:
        s.initialize()
        for tag in "abc":
            s.append_events(_events(3, tag))
    return store_settings


def head_seq(settings: Settings) -> int:
    with open_store(settings) as s:
        head = s.ledger_head()
        return head.seq if head else 0


def chain_alone_ok(settings: Settings) -> bool:
    """What `ledger verify` saw before the anchor: the chain and its checkpoints only."""
    with open_store(settings) as s:
        return ledger.verify(s.ledger_entries(), s.signing_key().public_key()).ok


def verify_fails(settings: Settings, anchor_file: Path | None = None) -> str:
    with open_store(settings) as s, pytest.raises(IntegrityError) as caught:
        integrity.verify_against_anchor(s, anchor_file)
    message = str(caught.value)
    assert "\n" not in message
    return message


def last_line(settings: Settings) -> anchor.AnchorLine:
    line = anchor.read_last(settings.anchor_path)
    assert line is not None
    return line


# --- the anchor is published -------------------------------------------------------------


def test_r28_every_commit_publishes_a_signed_head_anchor_beside_the_store(filled: Settings):
    line = last_line(filled)
    with open_store(filled) as s:
        head = s.ledger_head()
        assert head is not None and (line.seq, line.entry_hash) == (head.seq, head.entry_hash)
        assert line.event == anchor.HEAD and line.signed_by(s.signing_key().public_key())
    rows = filled.anchor_path.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3 and [json.loads(r)["seq"] for r in rows] == sorted(
        json.loads(r)["seq"] for r in rows)
    if not filled.is_postgres:
        assert filled.anchor_path.parent == Path(filled.store).resolve().parent
    assert oct(filled.anchor_path.stat().st_mode & 0o777) == "0o600"


def test_r28_the_anchor_file_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "elsewhere" / "head.jsonl"
    monkeypatch.setenv("TAXGATE_ANCHOR", str(target))
    settings = Settings.from_env(str(tmp_path / "store"))
    assert settings.anchor_path == target
    with open_store(settings, create=True) as s:
        s.initialize()
        s.append_events(_events(2, "x"))
    assert last_line(settings).seq == 3 and not (tmp_path / "store.anchor.jsonl").exists()


# --- truncation and rollback are caught ---------------------------------------------------


def test_r28_deleting_the_newest_entries_fails_verify_against_the_anchor(filled: Settings):
    top = head_seq(filled)
    run_sql(filled, f"DELETE FROM ledger WHERE seq > {top - 2}")
    assert chain_alone_ok(filled), "the chain alone cannot see a truncated tail"
    message = verify_fails(filled)
    assert integrity.BEHIND in message and f"seq {top - 2}" in message and f"seq {top}" in message
    assert last_line(filled).event == anchor.CHECK_FAILED


def test_r28_verify_accepts_an_anchor_file_given_on_the_command(filled: Settings,
                                                                tmp_path: Path):
    kept = tmp_path / "auditor-copy.jsonl"
    shutil.copy(filled.anchor_path, kept)
    run_sql(filled, f"DELETE FROM ledger WHERE seq = {head_seq(filled)}")
    assert integrity.BEHIND in verify_fails(filled, kept)
    with open_store(filled) as s, pytest.raises(BadInput, match="no head anchor file"):
        integrity.verify_against_anchor(s, tmp_path / "missing.jsonl")


def snapshot(settings: Settings, request: pytest.FixtureRequest, where: Path) -> None:
    """A copy of the whole store: its folder, or a pg_dump of its database."""
    if not settings.is_postgres:
        shutil.copytree(settings.store, where)
        return
    from pg_server import find_bindir

    subprocess.run([str(find_bindir() / "pg_dump"), "-Fc", "-f", str(where), settings.store],
                   check=True, capture_output=True)


def restore(settings: Settings, request: pytest.FixtureRequest, where: Path) -> None:
    """Put the copy back in place of the whole store."""
    if not settings.is_postgres:
        shutil.rmtree(settings.store)
        shutil.copytree(where, settings.store)
        return
    import psycopg
    from pg_server import find_bindir

    admin, name = request.getfixturevalue("pg_server").url, settings.store.rpartition("/")[2]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([str(find_bindir() / "pg_restore"), "-d", settings.store, str(where)],
                   check=True, capture_output=True)


def test_r28_restoring_an_older_copy_of_the_whole_store_is_caught(
        filled: Settings, request: pytest.FixtureRequest, tmp_path: Path):
    snapshot(filled, request, tmp_path / "copy")
    with open_store(filled) as s:
        s.append_events(_events(4, "later"))
    restore(filled, request, tmp_path / "copy")
    assert chain_alone_ok(filled)
    assert integrity.BEHIND in verify_fails(filled)


def test_r28_a_rolled_back_store_written_again_diverges_from_its_anchor(
        filled: Settings, request: pytest.FixtureRequest, tmp_path: Path):
    snapshot(filled, request, tmp_path / "copy")
    with open_store(filled) as s:
        s.append_events(_events(2, "later"))
    anchored = last_line(filled).seq
    restore(filled, request, tmp_path / "copy")
    with open_store(filled) as s:  # the rolled-back store goes on past the anchor's seq
        s.append_events(_events(6, "forked"))
        assert s.ledger_head().seq > anchored
    assert chain_alone_ok(filled)
    assert integrity.DIVERGED in verify_fails(filled)


def test_r28_a_forged_anchor_line_is_refused(filled: Settings):
    """Someone who can write the anchor file but lacks the gateway key cannot move it."""
    top = head_seq(filled)
    run_sql(filled, f"DELETE FROM ledger WHERE seq > {top - 3}")
    with open_store(filled) as s:
        forged = anchor.signed_line(new_signing_key(), anchor.HEAD, top - 3,
                                    s.ledger_head().entry_hash, "2026-12-03T00:00:00.000000Z")
    with filled.anchor_path.open("ab") as f:
        f.write(forged.to_bytes())
    assert integrity.UNSIGNED in verify_fails(filled)


# --- the crash window --------------------------------------------------------------------

_APPEND = """
import sys
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.domain import LedgerEvent
with open_store(Settings.from_env(sys.argv[1])) as s:
    s.append_events([LedgerEvent("DISCLOSURE", {"record_id": "crash"}, "REQ-2")])
"""


def test_r28_a_crash_between_commit_and_anchor_still_verifies(filled: Settings):
    anchored = last_line(filled)
    env = {**os.environ, "TAXGATE_CRASH_AT": "before-anchor",
           "PYTHONPATH": str(Path(__file__).parents[1])}
    crashed = subprocess.run([sys.executable, "-c", _APPEND, filled.store], env=env,
                             capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    top = head_seq(filled)
    assert last_line(filled) == anchored and top > anchored.seq  # the store is ahead
    with open_store(filled) as s:
        integrity.guard(s)  # the cheap check on start lets commands run
        found = integrity.verify_against_anchor(s)  # the extra entries chain on
        assert found.report.ok and found.report.last_seq == top
        assert annual_report(s, 2026).totals["requests"] == 0
    assert last_line(filled).event == anchor.VERIFIED  # the verified head is anchored


def test_r28_a_torn_last_anchor_line_is_skipped(filled: Settings):
    good = last_line(filled)
    with filled.anchor_path.open("ab") as f:
        f.write(b'{"at":"2026-12-03T10:00:00.0')  # a write cut by a crash
    assert last_line(filled) == good
    with open_store(filled) as s:
        integrity.guard(s)
        s.append_events(_events(1, "after"))
    assert last_line(filled).seq == good.seq + 2  # the event and its checkpoint


# --- failing closed ----------------------------------------------------------------------


def _refused(settings: Settings) -> None:
    """Accounting, the annual report and the review release all refuse."""
    with open_store(settings) as s:
        for call in (lambda: disclosures_for_tin(s, TIN), lambda: annual_report(s, 2026),
                     lambda: review.release(s, settings, Principal("remy", "releaser"),
                                            "REQ-1", 1)):
            with pytest.raises(IntegrityError, match="ledger incident"):
                call()


def test_r28_a_failed_check_blocks_accounting_reports_and_release_until_an_incident(
        filled: Settings):
    with open_store(filled) as s:
        assert disclosures_for_tin(s, TIN) == []
    anchored = last_line(filled)
    run_sql(filled, f"DELETE FROM ledger WHERE seq = {anchored.seq}")
    _refused(filled)  # the cheap check on start found the store behind its anchor
    _refused(filled)  # and the recorded failure keeps refusing
    with open_store(filled) as s:
        s.append_events(_events(5, "more"))  # a store ahead again does not clear it
    _refused(filled)
    with open_store(filled) as s:
        head = integrity.record_incident(s, "olga", "store restored after disk failure")
        incident = [e for e in s.ledger_entries() if e.event_type == integrity.INCIDENT_EVENT]
        assert len(incident) == 1 and head.seq > incident[0].seq
        p = incident[0].payload
        assert p["operator"] == "olga" and p["note"] == "store restored after disk failure"
        # the writes past the anchor made it a divergence, the last failure found
        assert integrity.DIVERGED in p["failure"] and p["anchor_seq"] == anchored.seq
        assert p["head_seq"] == incident[0].seq - 1
        assert disclosures_for_tin(s, TIN) == [] and annual_report(s, 2026)
        with pytest.raises(NotFound):  # past the guard: there is no such REVIEW record
            review.release(s, filled, Principal("remy", "releaser"), "REQ-1", 1)
    assert last_line(filled).event == anchor.INCIDENT and last_line(filled).failure is None
    with open_store(filled) as s:
        assert integrity.verify_against_anchor(s).report.ok


def test_r28_a_failed_full_verification_blocks_until_an_incident(filled: Settings):
    """A break inside the chain (not the tail) is found by `ledger verify` only; the
    next command knows from the recorded result."""
    run_sql(filled, "UPDATE ledger SET payload = '{\"record_id\":\"zz\"}' WHERE seq = 2")
    with open_store(filled) as s:
        integrity.guard(s)  # the O(1) check cannot see inside the chain
    assert ledger.EDITED in verify_fails(filled)
    _refused(filled)
    with open_store(filled) as s:
        integrity.record_incident(s, "olga", "entry two edited by hand, under investigation")
        integrity.guard(s)


@pytest.mark.parametrize("note", [
    "TIN 123-45-6789 was seen", "ZIP 94110", "born 1980/01/02", "a\x1b[31m red", "x" * 201,
    "   ",
])
def test_r34_incident_notes_hold_no_taxpayer_values(filled: Settings, note: str):
    with open_store(filled) as s, pytest.raises(BadInput) as caught:
        integrity.record_incident(s, "olga", note)
    assert note.strip() == "" or note not in str(caught.value)
    with open_store(filled) as s, pytest.raises(BadInput, match="operator"):
        integrity.record_incident(s, "olga; rm", "a fine note")


# --- the command line: exit 4 ------------------------------------------------------------


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_world(request: pytest.FixtureRequest, tmp_path: Path):
    from e2e import prepare_store, taxgate
    from world_cache import SMALL

    from taxgate.canonical import new_data_key
    from taxgate.synth import synth_all

    paths = synth_all(tmp_path / "synthetic", SMALL[0], 120, seed=SMALL[1])
    env = {"TAXGATE_ANCHOR": str(tmp_path / "anchor" / "head.jsonl")}
    if request.param == "postgres":
        import psycopg

        admin = request.getfixturevalue("pg_server").url
        name = f"taxgate_anchor_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        store = f"{admin.rpartition('/')[0]}/{name}"
        env["TAXGATE_KEY"] = new_data_key()
    else:
        store = str(tmp_path / "store")
    prepare_store(store, paths, env=env)
    first = taxgate("process", str(paths.request_dir), "--out", str(tmp_path / "r1"),
                    store=store, env=env)
    assert first.code == 0, first.stderr
    settings = Settings(store=store, key_hex=env.get("TAXGATE_KEY"),
                        anchor_file=env["TAXGATE_ANCHOR"])
    return paths, store, env, settings


def test_r28_cli_refuses_with_exit_4_until_an_incident_is_recorded(cli_world, tmp_path):
    from e2e import copy_request, resign, taxgate

    paths, store, env, settings = cli_world

    def cli(*args: str, stdin: str | None = None):
        if stdin is None:
            return taxgate(*args, store=store, env=env)
        full = {**os.environ, "TAXGATE_STORE": store, "COLUMNS": "200", **env}
        p = subprocess.run([sys.executable, "-m", "taxgate.cli", *args], input=stdin, env=full,
                           capture_output=True, text=True, timeout=300)
        return p

    for user, role in (("rita", "reviewer"), ("ray", "releaser")):
        assert cli("users", "add", user, "--role", role, stdin=f"password-of-{user}\n"
                   ).returncode == 0
    with open_store(settings) as s:
        row = next(e for e in review.queue(s) if e.state == "OPEN")
    proposed = cli("review", "propose", row.request_id, str(row.row_number), "--outcome",
                   "NOT_CONFIRMED", "--reason", "DIFFERENT_PERSON_IDENTIFIER",
                   "--user", "rita", stdin="password-of-rita\n")
    assert proposed.returncode == 0, proposed.stderr
    run_sql(settings, f"DELETE FROM ledger WHERE seq > {head_seq(settings) - 3}")

    req = copy_request(paths.request_dir, tmp_path / "req2")
    resign(req, paths.private_key, request_id="ICE-ANCHOR-2")
    release = ("review", "release", row.request_id, str(row.row_number), "--user", "ray")
    checks = {
        "verify": lambda: cli("ledger", "verify"),
        "process": lambda: cli("process", str(req), "--out", str(tmp_path / "r2")),
        "accounting": lambda: cli("accounting", TIN),
        "report": lambda: cli("report", "disclosures", "--year", "2026", "--out",
                              str(tmp_path / "rep")),
    }
    for name, call in checks.items():
        run = call()
        assert run.code == 4, (name, run.stderr)
        assert run.stderr.count("\n") == 1 and "ledger incident" in run.stderr, run.stderr
    refused = cli(*release, stdin="password-of-ray\n")
    assert refused.returncode == 4 and "ledger incident" in refused.stderr
    assert not (tmp_path / "r2" / "results.csv").exists()

    bad = cli("ledger", "incident", "--operator", "olga", "--note", "TIN 123456789 leaked")
    assert bad.code == 2 and "123456789" not in bad.stderr
    ok = cli("ledger", "incident", "--operator", "olga", "--note",
             "ledger tail lost in a restore; checked with the database team")
    assert ok.code == 0, ok.stderr

    assert cli("process", str(req), "--out", str(tmp_path / "r2")).code == 0
    assert (tmp_path / "r2" / "results.csv").exists()
    released = cli(*release, stdin="password-of-ray\n")
    assert released.returncode == 0, released.stderr
    for name in ("accounting", "report", "verify"):
        run = checks[name]()
        assert run.code == 0, (name, run.stderr)
    with open_store(settings) as s:
        incidents = [e.payload for e in s.ledger_entries()
                     if e.event_type == integrity.INCIDENT_EVENT]
    assert [p["operator"] for p in incidents] == ["olga"]


def test_r28_the_service_answers_an_integrity_failure_with_503():
    from taxgate.errors import LedgerBroken, classify

    for exc in (IntegrityError("x"), LedgerBroken("x")):
        assert classify(exc).http_status == 503
    assert IntegrityError.exit_code == LedgerBroken.exit_code == 4


def test_r28_the_last_anchor_line_is_found_across_blocks(tmp_path: Path):
    key, path = new_signing_key(), tmp_path / "head.jsonl"
    with anchor.locked(path) as log:
        for seq in range(1, 301):  # about 75 KB: the last line is read from the end
            log.append(anchor.signed_line(key, anchor.HEAD, seq, f"{seq:064x}",
                                          "2026-12-03T00:00:00.000000Z"))
    last = anchor.read_last(path)
    assert last is not None and last.seq == 300 and last.signed_by(key.public_key())
    with path.open("ab") as f:
        f.write(b'{"torn":')
    assert anchor.read_last(path) == last
    with anchor.locked(path) as log:  # the next line starts on a line of its own
        log.append(anchor.signed_line(key, anchor.HEAD, 301, "f" * 64, "2026-12-03T00:00:01Z"))
    assert anchor.read_last(path).seq == 301
    assert anchor.read_last(tmp_path / "missing.jsonl") is None
