"""Generated request packages through the real `taxgate process`, on both stores.

Whatever an agency sends (``fuzzkit.packages``: hostile request ids, manifests and
records files), the command ends with exit 0 or 2, prints no traceback, writes a
response, accounts for every record of a readable records file, and never answers
with another agency's response (contract §2-§4, R1, R33). A fixed, derandomized budget
keeps this in `make test`; ``bench/fuzz_packages.py`` runs 10,000 and more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzzkit import (
    AGENCIES,
    SHARED_IDS,
    FuzzWorld,
    Package,
    check,
    held_store,
    make_world,
    packages,
)
from hypothesis import HealthCheck, Phase, given, settings
from world_cache import SMALL, trained_once

from taxgate.records import REQUEST_COLUMNS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]

BASE: list[dict[str, str]] = []  # the world's request records; filled before any draw


@pytest.fixture(scope="module", params=["embedded", pytest.param(
    "postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    store = None
    if request.param == "postgres":
        from api_world import new_pg_database

        store = new_pg_database(request.getfixturevalue("pg_server").url)
    with trained_once(tmp_path_factory):
        w = make_world(root, store, people=SMALL[0], n_records=30, seed=SMALL[1])
    BASE[:] = w.base
    return w


def clean(world: FuzzWorld, agency: str = "DHS-ICE", **changes: object) -> Package:
    """A well-formed, signed package of three of the world's records, then ``changes``."""
    header = list(REQUEST_COLUMNS)
    rows = [[r.get(c, "") for c in header] for r in world.base[:3]]
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {
        "contract_version": 1, "request_id": f"FZ-{world.count + 1:06d}",
        "requesting_agency": agency, "signing_official": AGENCIES[agency],
        "legal_authority": "26 U.S.C. 6103(i)(2)", "criminal_statute": "8 U.S.C. 1253(a)(1)",
        "taxable_periods": [2023, 2024, 2025], "created_at": created,
        "reason": "The listed people are under investigation for failure to depart.",
        "records_file": "records.csv"}
    p = Package(agency, manifest, "json", "valid", header, rows, "\n", False, "utf-8", None,
                "file")
    manifest_changes = {k[2:]: v for k, v in changes.items() if k.startswith("m_")}
    p.manifest.update(manifest_changes)
    return dataclasses.replace(p, **{k: v for k, v in changes.items() if not k.startswith("m_")})


def _answer(world: FuzzWorld, p: Package) -> list[str]:
    """The contract's breaches for one package, each with what reproduces it."""
    with held_store(world):
        p, answer, data = world.run(p)
    where = f" | {p.describe()} records={(data or b'')[:300]!r} said={answer.output[-200:]!r}"
    return [problem + where for problem in check(world, p, answer, data)]


def _markup_header(w: FuzzWorld) -> Package:
    p = clean(w)
    return dataclasses.replace(p, header=[*p.header, "[/bold]"],
                               rows=[[*r, "x"] for r in p.rows])


def _nul_in_name(w: FuzzWorld) -> Package:
    p = clean(w)
    rows = [list(r) for r in p.rows]
    rows[0][p.header.index("first_name")] = "JO\x00SE"
    return dataclasses.replace(p, rows=rows)


ISSUE_CASES = {
    "empty request id": lambda w: clean(w, m_request_id=""),
    "long request id": lambda w: clean(w, m_request_id="X" * 201),
    "markup request id": lambda w: clean(w, m_request_id="[/bold]"),
    "control characters in the request id": lambda w: clean(w, m_request_id="ID\r\n\x1b[2J"),
    "markup header column": _markup_header,
    "CRLF records": lambda w: clean(w, line_end="\r\n"),
    "BOM records": lambda w: clean(w, bom=True),
    "NUL inside a name": _nul_in_name,
    "5,000-digit number": lambda w: clean(w, manifest_mode="huge-number"),
    "deep nesting": lambda w: clean(w, manifest_mode="deep"),
    "year 9999": lambda w: clean(w, m_created_at="9999-12-31T23:59:59Z"),
    "duplicate keys": lambda w: clean(w, manifest_mode="duplicate-key"),
    "symlinked records file": lambda w: clean(w, records_mode="symlink"),
    "missing manifest": lambda w: clean(w, manifest_mode="missing"),
    "malformed manifest": lambda w: clean(w, m_request_id=None),
}


@pytest.mark.parametrize("case", sorted(ISSUE_CASES))
def test_the_review_cases_keep_the_contract(world, case):
    """Each hostile input the intake review found: exit 0 or 2, no traceback, a
    response, every readable record accounted for."""
    assert _answer(world, ISSUE_CASES[case](world)) == []


def test_shared_request_ids_never_answer_another_agency(world):
    """A request id DHS-ICE used (well-formed, empty or over-long), sent by DHS-CBP with
    its own signed package, never gets ICE's answer (the review saw CBP download ICE's
    results byte for byte); ICE's identical resubmission still gets its replay."""
    for rid in (SHARED_IDS[0], "", "X" * 201):
        ice = clean(world, m_request_id=f"{rid}")
        assert _answer(world, ice) == [], rid
        assert _answer(world, clean(world, "DHS-CBP", m_request_id=f"{rid}")) == [], rid
        again = dataclasses.replace(ice, replay_of=len(world.history) - 2)
        assert _answer(world, again) == [], rid


@settings(max_examples=15, derandomize=True, database=None, deadline=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: a fixed budget
          suppress_health_check=list(HealthCheck))
@given(p=packages(BASE))
def test_generated_packages_keep_the_contract(world, p):
    assert _answer(world, p) == [], p.describe()


def test_a_hostile_package_through_a_real_process_exits_0_or_2(world, tmp_path):
    """The exit-code contract in a process of its own: a markup request id and a markup
    header column end in 0 or 2 with a one-line message and a response, never 1."""
    p = dataclasses.replace(_markup_header(world), manifest={
        **_markup_header(world).manifest, "request_id": "[/bold]ICE[red]"})
    world.count += 1
    directory = tmp_path / "req"
    world.write(p, directory)
    env = {**os.environ, **world.env()}
    env.pop("TAXGATE_DEBUG", None)
    run = subprocess.run([sys.executable, "-m", "taxgate.cli", "process", str(directory),
                          "--out", str(tmp_path / "out")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode in (0, 2), run.stderr[-500:]
    assert "Traceback" not in run.stderr + run.stdout
    assert (Path(tmp_path / "out") / "response.json").is_file()
