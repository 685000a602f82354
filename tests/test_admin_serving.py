"""Administration while `taxgate serve` runs on the same store (real processes).

Embedded store: the service holds it, so each command reaches the service over its
admin channel (taxgate/gateway/channel.py), authenticated by the store's key.
PostgreSQL: the store is shared, the commands open it themselves while the service runs.
On both, a revoked credential is refused by the running API at once.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from api_world import ENGINES_PARAMS, Server, World, new_pg_database

from taxgate.canonical import new_data_key, new_signing_key, public_key_pem
from taxgate.domain import Official
from taxgate.gateway import Gateway
from taxgate.gateway.channel import ENDPOINT_FILE
from taxgate.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

PW = "correct horse battery staple"


@pytest.fixture(params=ENGINES_PARAMS)
def serving(request: pytest.FixtureRequest, tmp_path: Path):
    """A store with one official, and `taxgate serve` running on it."""
    if request.param == "postgres":
        store = new_pg_database(request.getfixturevalue("pg_server").url)
    else:
        store = str(tmp_path / "store")
    key = new_data_key()
    settings = Settings(store=store, key_hex=key)
    with Gateway(settings) as gw:
        gw.init()
        gw.add_official(Official("ice-director", "DHS-ICE", "Director",
                                 public_key_pem(new_signing_key().public_key()),
                                 dt.date(2026, 1, 1)), "test")
    world = World(tmp_path, settings, key, None, "", "")
    server = Server(world).start(timeout=120)
    try:
        yield world, server, request.param
    finally:
        server.stop()


def _cli(world: World, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **world.env()}
    env.pop("TAXGATE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "taxgate.cli", *args], input=stdin,
                          env=env, capture_output=True, text=True, timeout=300)


def test_r33_users_and_credentials_are_administered_while_the_service_runs(serving, tmp_path):
    world, server, engine = serving
    if engine == "embedded":  # the service holds the store and names its admin channel
        assert (Path(world.settings.store) / ENDPOINT_FILE).is_file()
        wrong = World(tmp_path, world.settings, new_data_key(), None, "", "")
        refused = _cli(wrong, "users", "list")  # a caller without the store's key
        assert refused.returncode == 3 and "not signed with this store's key" in refused.stderr
    added = _cli(world, "users", "add", "rita", "--role", "reviewer", stdin=PW + "\n")
    assert added.returncode == 0, added.stderr
    again = _cli(world, "users", "add", "rita", "--role", "releaser", stdin=PW + "\n")
    assert again.returncode == 3 and "exists already" in again.stderr
    listed = _cli(world, "users", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(u["username"], u["role"]) for u in json.loads(listed.stdout)] == [
        ("rita", "reviewer")]
    assert "hash" not in listed.stdout and "salt" not in listed.stdout

    rotated = _cli(world, "agencies", "rotate", "DHS-ICE", "--json")
    assert rotated.returncode == 0, rotated.stderr
    token = json.loads(rotated.stdout)["credential"]
    with server.client(token) as c:
        assert c.get("/v1/jobs").status_code == 200  # live, and now cached by the API
    cred_id = token[4:].partition(".")[0]
    revoked = _cli(world, "agencies", "revoke", cred_id)
    assert revoked.returncode == 0, revoked.stderr
    with server.client(token) as c:  # refused at once, though the API had cached it
        assert c.get("/v1/jobs").status_code == 401
    creds = json.loads(_cli(world, "agencies", "credentials", "--json").stdout)
    assert [(c["cred_id"], c["revoked_at"] is not None) for c in creds] == [(cred_id, True)]

    verified = _cli(world, "ledger", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["entries"] > 3
    queue = _cli(world, "review", "queue", "--json")
    assert queue.returncode == 0 and json.loads(queue.stdout) == []

    lapsed = _cli(world, "agencies", "safeguards", "DHS-ICE", "--set", "lapsed", "--note",
                  "annual report overdue", "--json")
    assert lapsed.returncode == 0 and json.loads(lapsed.stdout)["current"] is False
    agencies = json.loads(_cli(world, "agencies", "list", "--json").stdout)
    assert [(a["agency"], a["safeguards_current"], a["officials_valid"]) for a in agencies] == [
        ("DHS-ICE", False, 1)]
    gone = _cli(world, "officials", "revoke", "ice-director", "--agency", "DHS-ICE")
    assert gone.returncode == 0, gone.stderr
    officials = json.loads(_cli(world, "officials", "list", "--json").stdout)
    assert officials[0]["valid_to"] == str(dt.date.today() - dt.timedelta(days=1))
    assert _cli(world, "officials", "revoke", "ice-director", "--agency", "DHS-ICE"
                ).returncode == 3

    server.stop()  # R33: what each command did, failures included, by whoever ran it
    with Gateway(world.settings) as gw, gw.lock() as s:
        actions = [(e.payload["command"], e.payload["outcome"]) for e in s.ledger_entries()
                   if e.event_type == "OPERATOR_ACTION"]
    assert ("users add", "SUCCESS") in actions
    assert ("users add", "FAILURE (Conflict)") in actions
    assert actions.count(("officials revoke", "FAILURE (Conflict)")) == 1

