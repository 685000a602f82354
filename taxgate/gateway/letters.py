"""Notification letters to affected taxpayers (R31; 26 U.S.C. 7431(e)): one HTML letter and
one CSV per taxpayer, each issuance a LETTER_ISSUED ledger event.

:func:`list_affected` exports the list itself (CSV), logged as AFFECTED_LISTED.
The letters and the list hold taxpayer data (a name, an address): they are written into a folder
readable by its owner only (0700), each file 0600, named by a letter id derived from
the keyed digest of the TIN, never by the TIN. Values are shown visibly and escaped
(HTML) or kept from being read as spreadsheet formulas (CSV).
"""

from __future__ import annotations

import csv
import html
import io
import os
from pathlib import Path

from taxgate.canonical import sha256_hex
from taxgate.gateway.notify import Affected, Selection, affected
from taxgate.ledger_events import AffectedListed, LetterIssued
from taxgate.pipeline.common import now
from taxgate.store.base import Store
from taxgate.untrusted import for_csv_cell, visible

STATUTE = "26 U.S.C. 7431(e)"
CSV_COLUMNS = ("letter_id", "issued_at", "taxpayer_name", "address", "request_id", "record_id",
               "recipient_agency", "disclosed_at", "legal_authority", "information_disclosed",
               "statute")
DISCLOSED = "a confirmation that the address the agency gave is your address of record"


def issue_letters(store: Store, selection: Selection, out_dir: Path, issued_by: str,
                  tins: set[str] | None = None) -> list[Path]:
    """Write a letter (HTML and CSV) to each taxpayer the selection affects (only those of
    ``tins`` when given) and record each issuance; the HTML letters' paths."""
    people = [a for a in affected(store, selection) if tins is None or a.tin in tins]
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    issued_at, events, paths = now(), [], []
    for person in people:
        letter_id = "L-" + person.tin_digest[:16]
        page = letter_html(person, letter_id, issued_at)
        rows = letter_csv(person, letter_id, issued_at)
        html_path = _write(out_dir / f"{letter_id}.html", page)
        _write(out_dir / f"{letter_id}.csv", rows)
        paths.append(html_path)
        events.append(LetterIssued(
            letter_id=letter_id, tin=person.tin,
            disclosures=[f"{d.request_id}/{d.record_id}" for d in person.disclosures],
            html_sha256=sha256_hex(page.encode("utf-8")),
            csv_sha256=sha256_hex(rows.encode("utf-8")), issued_by=issued_by).to_event())
    if events:
        store.append_events(events)
    return paths


def list_affected(store: Store, selection: Selection, actor: str,
                  out: Path | None = None) -> list[Affected]:
    """The taxpayers the selection affects; written to ``out`` as CSV (0600) when given;
    the listing is logged (AFFECTED_LISTED), with the file's digest."""
    people = affected(store, selection)
    digest = None
    if out is not None:
        text = affected_csv(people)
        _write(out, text)
        digest = sha256_hex(text.encode("utf-8"))
    store.append_events([AffectedListed(
        actor=actor, selection=selection.payload(), taxpayers=len(people),
        disclosures=sum(len(p.disclosures) for p in people), output_sha256=digest,
    ).to_event()])
    return people


def affected_csv(people: list[Affected]) -> str:
    """One row per taxpayer: TIN, name, last known address, disclosures and requests."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("tin", "name", "address", "disclosures", "request_ids"))
    for p in people:
        w.writerow([for_csv_cell(v) for v in (
            p.tin, p.name, "; ".join(x for x in p.address if x), len(p.disclosures),
            " ".join(sorted({d.request_id for d in p.disclosures})))])
    return buf.getvalue()


def _write(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def _h(value: object) -> str:
    return html.escape(visible(value))


def letter_html(person: Affected, letter_id: str, issued_at: str) -> str:
    """The letter: to whom, each disclosure (when, to whom, under what authority, what),
    and the taxpayer's rights under 26 U.S.C. 7431."""
    rows = "".join(
        f"<tr><td>{_h(d.disclosed_at[:10])}</td><td>{_h(d.agency)}</td>"
        f"<td>{_h(d.legal_authority)}</td><td>{_h(d.request_id)}</td>"
        f"<td>{_h(d.record_id)}</td></tr>" for d in person.disclosures)
    address = "<br>".join(_h(line) for line in person.address if line)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notice of disclosure {_h(letter_id)}</title>
<style>body{{font-family:serif;margin:3rem;max-width:44rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.25rem .5rem;text-align:left}}</style></head><body>
<p>Letter {_h(letter_id)} — issued {_h(issued_at[:10])}</p>
<address>{_h(person.name)}<br>{address}</address>
<h1>Notice of disclosure of your return information</h1>
<p>We are writing to tell you, as {STATUTE} provides, that return information about you
was disclosed to a federal agency. What was disclosed: {DISCLOSED}. No other information
about you was given.</p>
<table><thead><tr><th>date</th><th>recipient agency</th><th>legal authority</th>
<th>request</th><th>record</th></tr></thead><tbody>{rows}</tbody></table>
<p>If a disclosure of your return information was not authorized by 26 U.S.C. 6103, you
may bring a civil action for damages under 26 U.S.C. 7431 within two years after you
discover it (7431(d)). Keep this letter: its number identifies the disclosures above.</p>
</body></html>
"""


def letter_csv(person: Affected, letter_id: str, issued_at: str) -> str:
    """The letter's disclosures, one row each (the same facts as the HTML letter)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    address = "; ".join(line for line in person.address if line)
    for d in person.disclosures:
        w.writerow([for_csv_cell(v) for v in (
            letter_id, issued_at, person.name, address, d.request_id, d.record_id, d.agency,
            d.disclosed_at, d.legal_authority, DISCLOSED, STATUTE)])
    return buf.getvalue()
