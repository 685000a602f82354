"""Untrusted text is data everywhere (R37, R33): terminal markup, control characters and
bidi overrides sent in a package (record, officer and case ids, header columns, the
request id, agency and official names) or typed by a user are shown literally and
inertly by every CLI command and web page that prints them, and a CSV written for
people never starts a cell with a spreadsheet formula.

Each command must exit 0 or 2 (never 1), print no traceback, let no raw control or
bidi character through, and show the markup as text. A request id may be refused as
malformed (its syntax is checked): then the refusal must print safely too.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from api_world import World, build_world, sign_in
from e2e import Run, resign, results, taxgate
from world_cache import SMALL, trained_once

from taxgate.untrusted import for_csv_cell, for_html, for_terminal, visible

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("untrusted")]

MARKUP = "[/bold][red]:warning:"
CONTROL = "\x1b[2J\x1b]8;;http://x\x1b\\\x07\u202e\u2066"  # a CR ends a CSV line
RAW = ("\x1b", "\r", "\u202e", "\u2066", "\x07")
HTML = "<img src=x onerror=alert(1)>"
AGENCY = '=HYPERLINK("http://x")[/bold]'


def _clean(run: Run) -> None:
    """Exit 0 or 2, no traceback, no raw control or bidi character in the output."""
    text = run.stdout + run.stderr
    assert run.code in (0, 2), (run.code, text[-2000:])
    assert "Traceback" not in text, text[-2000:]
    for ch in RAW:
        assert ch not in text, (repr(ch), text[-2000:])


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _hostile_copy(world: World, dst: Path, request_id: str, **manifest: str) -> dict[str, str]:
    """The world's request with hostile ids on every record; returns new id -> old id."""
    shutil.copytree(world.paths.request_dir, dst)
    path = dst / "records.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    renamed = {}
    for i, r in enumerate(rows):
        odd = MARKUP if i % 2 == 0 else CONTROL  # markup-only ids survive any control check
        new = f"{r['record_id']}{odd}"
        renamed[new] = r["record_id"]
        r["record_id"] = new
        r["officer_id"] = f"{r['officer_id']}{odd}"
        r["case_number"] = f"{r['case_number']}{HTML}{odd}"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    resign(dst, world.paths.private_key, request_id=request_id, created_at=_now(), **manifest)
    return renamed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("untrusted")
    people, seed = SMALL
    with trained_once(tmp_path_factory):
        return build_world(root, str(root / "store"), people=people, records=60, seed=seed)


def cli(world: World, *args: str) -> Run:
    return taxgate(*args, store=world.settings.store, env=world.env())


@pytest.fixture(scope="module")
def answered(world: World, tmp_path_factory: pytest.TempPathFactory):
    """A hostile request processed by the CLI: (run, response folder, new id -> old id)."""
    tmp = tmp_path_factory.mktemp("answered")
    renamed = _hostile_copy(world, tmp / "req", "ICE-UT-0001")
    run = cli(world, "process", str(tmp / "req"), "--out", str(tmp / "resp"))
    return run, tmp / "resp", renamed


def test_r37_process_prints_hostile_ids_safely_and_answers(answered):
    run, resp, renamed = answered
    _clean(run)
    assert run.code == 0, run.stderr
    got = {r["record_id"] for r in results(resp)}
    assert got == set(renamed), "results.csv returns each record_id as submitted (contract §3)"


def test_r37_markup_in_the_request_id_prints_literally_or_is_refused(world, tmp_path):
    rid = f"ICE-{MARKUP}{CONTROL}\r"
    _hostile_copy(world, tmp_path / "req", rid)
    run = cli(world, "process", str(tmp_path / "req"), "--out", str(tmp_path / "resp"))
    _clean(run)
    if run.code == 0:
        assert "[/bold][red]:warning:" in run.stdout  # shown as typed, not styled
    else:
        assert "MANIFEST_MALFORMED" in {r["reasons"] for r in results(tmp_path / "resp")}


def test_r37_markup_in_a_header_column_is_refused_in_one_line(world, tmp_path):
    shutil.copytree(world.paths.request_dir, tmp_path / "req")
    path = tmp_path / "req" / "records.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace(",unit,", f",unit{MARKUP}{CONTROL},")
    path.write_text("\n".join(lines), encoding="utf-8")
    resign(tmp_path / "req", world.paths.private_key, request_id="ICE-UT-HEAD",
           created_at=_now())
    run = cli(world, "process", str(tmp_path / "req"), "--out", str(tmp_path / "resp"))
    _clean(run)
    assert run.code == 2
    assert "[/bold]" in run.stderr


def test_r37_accounting_shows_hostile_ids_literally(world, answered):
    _, resp, renamed = answered
    truth = {r["record_id"]: r["true_tin"] for r in results_of(world.paths.truth)}
    confirmed = [r["record_id"] for r in results(resp) if r["outcome"] == "CONFIRMED"]
    assert confirmed, "the hostile request confirmed nothing: the test proves nothing"
    seen_markup = False
    for rid in confirmed[:4]:
        run = cli(world, "accounting", truth[renamed[rid]])
        _clean(run)
        assert run.code == 0
        seen_markup |= "[/bold][red]:warning:" in run.stdout
    assert seen_markup or all(MARKUP not in r for r in confirmed[:4])


def test_r37_review_queue_shows_hostile_ids_literally(world, answered):
    _, resp, _ = answered
    run = cli(world, "review", "queue", "--all")
    _clean(run)
    assert run.code == 0
    held = [r["record_id"] for r in results(resp) if r["outcome"] == "REVIEW"]
    if any(MARKUP in r for r in held):
        assert "[/bold]" in run.stdout


def test_r37_officials_and_report_escape_agency_text(world, tmp_path):
    """An official registered for an agency named like a spreadsheet formula, with markup
    in its title: `officials add`/`list` print it literally, the request it signs is
    answered, and the annual report's CSV never starts that cell with '='."""
    official = f"ops{MARKUP}"
    run = cli(world, "officials", "add", official, "--agency", AGENCY, "--title",
              f"Head {MARKUP}{CONTROL}", "--public-key", str(world.paths.public_key),
              "--valid-from", "2026-01-01")
    _clean(run)
    if run.code != 0:  # the registry may refuse such names: then it said so safely
        assert run.code == 2 and "[/bold]" in run.stderr
        return
    listed = cli(world, "officials", "list")
    _clean(listed)
    assert "[/bold][red]:warning:" in listed.stdout
    _hostile_copy(world, tmp_path / "req", "ICE-UT-AGENCY", requesting_agency=AGENCY,
                  signing_official=official)
    processed = cli(world, "process", str(tmp_path / "req"), "--out", str(tmp_path / "resp"))
    _clean(processed)
    year = str(dt.datetime.now(dt.UTC).year)
    report = cli(world, "report", "disclosures", "--year", year, "--out", str(tmp_path / "rep"))
    _clean(report)
    assert report.code == 0
    rows = results_of(tmp_path / "rep" / f"disclosures-{year}.csv")
    agencies = [r["requesting_agency"] for r in rows]
    assert not any(a.startswith(("=", "+", "-", "@")) for a in agencies), agencies
    if processed.code == 0:
        assert f"'{AGENCY}" in agencies
    page = (tmp_path / "rep" / f"disclosures-{year}.html").read_text(encoding="utf-8")
    assert not any(ch in page for ch in RAW)


def results_of(path: Path) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# --- web pages ---------------------------------------------------------------------------


def _sign_in(client, user: str) -> None:  # noqa: ANN001
    r = sign_in(client, user)
    assert r.status_code == 303, r.text


def _safe_page(html: str) -> None:
    for ch in RAW:
        assert ch not in html, repr(ch)
    assert HTML not in html  # autoescaped
    assert "Traceback" not in html


def test_r37_web_pages_escape_hostile_ids(world, answered, tmp_path):
    """The review desk (queue, one record, a proposal's reason) and the oversight page
    show package text escaped and visible; a reviewer's hostile reason too."""
    from fastapi.testclient import TestClient

    from taxgate.api import create_app
    from taxgate.settings import ServiceSettings

    _, resp, _ = answered
    held = [i for i, r in enumerate(results(resp), start=1) if r["outcome"] == "REVIEW"]
    app = create_app(dataclasses.replace(
        world.settings, service=ServiceSettings(spool_dir=tmp_path / "spool")))
    with TestClient(app) as client:
        _sign_in(client, "rita")
        queue = client.get("/review")
        assert queue.status_code == 200
        _safe_page(queue.text)
        assert "[/bold][red]:warning:" in queue.text or not held
        for row in held[:2]:
            item = client.get("/review/item", params={"request_id": "ICE-UT-0001", "row": row})
            assert item.status_code == 200, item.text
            _safe_page(item.text)
            # the record id, as typed: markup literal, control characters made visible
            assert "[/bold][red]:warning:" in item.text or "\\x1b[2J" in item.text
        missing = client.get("/review/item", params={"request_id": f"X{MARKUP}{CONTROL}{HTML}",
                                                     "row": 1})
        assert missing.status_code in (400, 403, 404)
        _safe_page(missing.text)
    with TestClient(app) as client:
        _sign_in(client, "ada")
        page = client.get("/oversight")
        assert page.status_code == 200
        _safe_page(page.text)
        assert "[/bold][red]:warning:" in page.text  # officer ids of the disclosures


# --- the escaping functions themselves ----------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1"])
def test_r37_csv_cells_never_start_a_formula(cell):
    out = for_csv_cell(cell)
    assert isinstance(out, str) and out.startswith("'")


def test_r37_visible_escapes_control_bidi_and_invisible_characters():
    assert visible("a\x1b[31mb\u202ec\u200bd\x00e\u00a0f") == (
        "a\\x1b[31mb\\u202ec\\u200bd\\x00e\\xa0f")
    assert visible("DHS-ICE [/bold] José") == "DHS-ICE [/bold] José"
    assert for_terminal("x\ny") == "x\\x0ay"
    assert for_csv_cell(5) == 5 and for_csv_cell("ICE-1") == "ICE-1"
    assert for_html(None) is None and for_html("a\u202e") == "a\\u202e"


def test_r37_every_web_template_autoescapes(world):
    from taxgate.web.routes import TEMPLATES as env

    auto = env.autoescape
    for name in env.list_templates():
        assert auto(name) if callable(auto) else auto, name
        src = env.loader.get_source(env, name)[0]
        assert "|safe" not in src.replace(" ", "") and "autoescape false" not in src, name
    assert env.from_string("{{ v }}").render(v=HTML + CONTROL).count("<") == 0
