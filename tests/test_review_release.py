"""A released CONFIRMED passes exactly the checks an automatic one does (R23, R6, R7), and
every REVIEW carries its reason in words for the desk, never in the response (R23).

A real store, a real request through ``Gateway.process``; three households of a father
and son of one name (no DOB in the request), held for review by a policy that keeps
competitors (``review_competitors``). After the answer, the filings change (a later load):
a hold on a TIN linked to one household, a move of another; and the agency's safeguards
lapse. Each release of CONFIRMED is then judged on the store as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from api_world import ENGINES_PARAMS, new_pg_database
from e2e import copy_request, resign
from jinja2 import Environment, PackageLoader, select_autoescape
from world_cache import SMALL, trained_once

from taxgate.canonical import load_public_key_pem, new_data_key, public_key_pem
from taxgate.domain import Official
from taxgate.errors import Conflict, StoreError
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import Principal
from taxgate.gateway.review import FINAL
from taxgate.records import REQUEST_COLUMNS, TAXPAYER_COLUMNS
from taxgate.review_reasons import REVIEW_REASONS, decision_reasons
from taxgate.settings import Policy, Settings
from taxgate.synth import synth_all

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("release")]  # one world build

RITA = Principal("rita", "reviewer")
REMY = Principal("remy", "releaser")
LA = ("LOS ANGELES", "CA", "90001")


def _filing(tin: str, first: str, last: str, dob: str | None, street: str, year: int,
            processed: str, hold: str | None = None) -> dict[str, Any]:
    city, state, zip_ = LA
    return dict(tin=tin, first_name=first, middle_name=None, last_name=last,
                date_of_birth=dob, street_address=street, unit=None, city=city, state=state,
                zip=zip_, tax_year=year, source="RETURN", processed_date=processed,
                disclosure_hold=hold)


# Father and son of one name at one address in each household; household B's two also
# filed earlier under ITINs that their SSNs succeed (same name, same DOB: one person, R25).
FILINGS = [
    _filing("000000031", "ARMANDO", "QUEZADA", "1961-04-04", "910 W 7th St", 2024, "2025-03-01"),
    _filing("000000032", "ARMANDO", "QUEZADA", "1992-09-09", "910 W 7th St", 2024, "2025-03-02"),
    _filing("900000041", "EUSEBIO", "VILLAFANA", "1960-01-11", "5 Birch Rd", 2019, "2020-03-01"),
    _filing("900000042", "EUSEBIO", "VILLAFANA", "1990-02-12", "6 Birch Rd", 2019, "2020-03-01"),
    _filing("000000043", "EUSEBIO", "VILLAFANA", "1960-01-11", "8 Walnut Rd", 2024, "2025-03-01"),
    _filing("000000044", "EUSEBIO", "VILLAFANA", "1990-02-12", "8 Walnut Rd", 2024, "2025-03-02"),
    _filing("000000051", "RAMIRO", "TREVINO", "1958-06-06", "61 Palm St", 2024, "2025-03-01"),
    _filing("000000052", "RAMIRO", "TREVINO", "1988-07-07", "61 Palm St", 2024, "2025-03-02"),
]
# Filed after the answer: a hold on each of household B's ITINs (a tax year outside the
# request's periods, so no address of record changes), and household C moved.
LATER = [
    _filing("900000041", "EUSEBIO", "VILLAFANA", "1960-01-11", "5 Birch Rd", 2018, "2019-03-01",
            hold="Y"),
    _filing("900000042", "EUSEBIO", "VILLAFANA", "1990-02-12", "6 Birch Rd", 2018, "2019-03-01",
            hold="Y"),
    _filing("000000051", "RAMIRO", "TREVINO", "1958-06-06", "300 Spruce Ave", 2025, "2026-06-01"),
    _filing("000000052", "RAMIRO", "TREVINO", "1988-07-07", "300 Spruce Ave", 2025, "2026-06-01"),
]
RECORDS = {"A": ("ARMANDO", "QUEZADA", "910 W 7th St"),
           "B": ("EUSEBIO", "VILLAFANA", "8 Walnut Rd"),
           "C": ("RAMIRO", "TREVINO", "61 Palm St")}


def _append(path: Path, rows: list[dict[str, Any]], *, header: bool) -> None:
    with path.open("a" if not header else "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(TAXPAYER_COLUMNS), lineterminator="\n")
        if header:
            w.writeheader()
        w.writerows(rows)


def _request(paths: Any) -> Path:
    """The synthetic request with its records replaced by one per household, signed again."""
    req = paths.request_dir
    manifest = json.loads((req / "manifest.json").read_text(encoding="utf-8"))
    records = req / manifest["records_file"]
    with records.open(encoding="utf-8", newline="") as fh:
        template = next(csv.DictReader(fh))
    with records.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(REQUEST_COLUMNS), lineterminator="\n")
        w.writeheader()
        for rid, (first, last, street) in RECORDS.items():
            city, state, zip_ = LA
            w.writerow({**{c: template.get(c, "") for c in REQUEST_COLUMNS},
                        "record_id": rid, "first_name": first, "middle_name": "",
                        "last_name": last, "second_last_name": "", "date_of_birth": "",
                        "tin": "", "a_number": "", "street_address": street, "unit": "",
                        "city": city, "state": state, "zip": zip_})
    resign(req, paths.private_key, record_count=len(RECORDS))
    return req


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("release")
    paths = synth_all(root / "synthetic", SMALL[0], 5, seed=SMALL[1])
    households = root / "households.csv"  # a later load: the model stays the population's
    _append(households, FILINGS, header=True)
    store = (new_pg_database(request.getfixturevalue("pg_server").url)
             if request.param == "postgres" else str(root / "store"))
    settings = Settings(store=store, key_hex=new_data_key(),
                        policy=Policy(review_competitors=True))
    pem = public_key_pem(load_public_key_pem(paths.public_key.read_bytes()))
    with Gateway(settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):
            gw.load(paths.taxpayers)
        gw.load(households)
        gw.add_official(Official("ice-director", "DHS-ICE", "Director", pem,
                                 dt.date(2026, 1, 1)), "test")
        result = gw.process(_request(paths), root / "response")
        rid = result.request_id
        with gw.lock() as s:
            rows = {r["record_id"]: r for r in s.decisions(rid).to_pylist()}
        later = root / "later.csv"
        _append(later, LATER, header=True)
        gw.load(later)
    return {"settings": settings, "rid": rid, "rows": rows, "response": root / "response",
            "paths": paths}


def _propose_and_release(world: dict[str, Any], record_id: str) -> Any:
    row = world["rows"][record_id]["row_number"]
    with Gateway(world["settings"]) as gw:
        with gw.lock() as s:
            proposed = any(d.row_number == row for d in s.review_decisions(world["rid"]))
        if not proposed:
            gw.propose(RITA, world["rid"], row, "CONFIRMED", "ONE_CANDIDATE_FITS",
                       "checked by hand")
        return gw.release(REMY, world["rid"], row)


def test_r23_every_household_is_held_for_review_with_its_reason(world):
    assert {k: r["outcome"] for k, r in world["rows"].items()} == dict.fromkeys(RECORDS,
                                                                                "REVIEW")
    for r in world["rows"].values():
        assert r["tin"] and "CANDIDATES_AT_ADDRESS" in json.loads(r["evidence"])[
            "review_reasons"]


def test_r7_a_release_waits_for_the_agencys_safeguards(world):
    settings = world["settings"]
    with Gateway(settings) as gw, gw.lock() as s:
        s.set_safeguards("DHS-ICE", False, "ada", "safeguard report overdue")
    try:
        with pytest.raises(Conflict, match=r"safeguards status is not current \(R7\)"):
            _propose_and_release(world, "A")
    finally:
        with Gateway(settings) as gw, gw.lock() as s:
            s.set_safeguards("DHS-ICE", True, "ada", "corrective action plan approved")
    fu = _propose_and_release(world, "A")  # every check passes once they are current
    assert fu.results_csv.splitlines()[1:] == ["A,CONFIRMED,"]


def test_r6_a_release_is_refused_for_a_hold_on_a_linked_tin(world):
    with pytest.raises(Conflict, match=r"hold on a TIN linked to the taxpayer.*\(R6\)"):
        _propose_and_release(world, "B")


def test_r23_a_release_is_refused_when_the_address_is_not_the_address_of_record(world):
    with pytest.raises(Conflict, match="not the taxpayer's address of record within the "
                                       "request's taxable periods"):
        _propose_and_release(world, "C")


def test_r23_the_desk_shows_why_in_words_and_the_response_never_does(world):
    settings, rid = world["settings"], world["rid"]
    row = world["rows"]["B"]["row_number"]
    with Gateway(settings) as gw:
        view = gw.view_item(RITA, rid, row)
    words = REVIEW_REASONS["CANDIDATES_AT_ADDRESS"].words
    assert ("CANDIDATES_AT_ADDRESS", words) in view.held_because
    assert "review_reasons" not in {r.field for r in view.chart.rows}
    env = Environment(loader=PackageLoader("taxgate.web", "templates"),
                      autoescape=select_autoescape(["html"]))
    reasons = {o: decision_reasons(o) for o in (*FINAL, "SEND_BACK")}
    page = env.get_template("review_item.html").render(
        v=view, finals=FINAL, user=RITA, csrf="x", reasons=reasons, typed={}, words={},
        query="", next_url="/review/next", error="")
    assert "Why it was held" in page and words.split(":")[0] in page
    results = (world["response"] / "results.csv").read_text(encoding="utf-8")
    assert results.splitlines()[1:] == [f"{k},REVIEW,DISCLOSURE_OFFICER_REVIEW" for k in RECORDS]
    response = (world["response"] / "response.json").read_text(encoding="utf-8")
    for reason in REVIEW_REASONS.values():
        assert reason.code not in results + response
        assert reason.words not in results + response


def test_a_stored_model_of_other_comparison_levels_is_refused(world, tmp_path):
    """A model trained by another version reads its levels with the wrong meaning: the
    main job refuses it with a one-line StoreError naming the way out (last here: it
    leaves the store's model changed)."""
    settings, paths = world["settings"], world["paths"]
    with Gateway(settings) as gw, gw.lock() as s:
        current = s.current_model()
        assert current is not None
        spec = json.loads(current[1])
        spec["comparisons"][0]["comparison_levels"][2]["label_for_charts"] = "renamed"
        s.save_model("model-other-version", json.dumps(spec))
    req = copy_request(paths.request_dir, tmp_path / "again")
    resign(req, paths.private_key, request_id="ICE-RELEASE-MODEL")
    with pytest.raises(StoreError, match=r"levels do not match.*`taxgate model train`"), \
            Gateway(settings) as gw:
        gw.process(req, tmp_path / "out")
