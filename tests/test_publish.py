"""One way to answer (R27, R28): every answer leaves taxgate through the one publish step
(``taxgate.pipeline.publish``): results.csv, the signed response.json, the ledger events
and one store commit, then the files. The first answer, a refusal, a replay, the release
of a REVIEW record and the writing out of a follow-up all take it, so no route can write,
sign or publish an answer that its commit and its ledger events do not account for.
(The crash points around that commit are exercised for every route in
tests/test_crash_safety.py.)
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from taxgate.canonical import new_signing_key, sha256_file, verify_object
from taxgate.errors import NotDelivered
from taxgate.ledger_events import LedgerEvent, RequestRefused
from taxgate.pipeline.publish import Commit, Files, Publication, ResponseFields, publish

PACKAGE = Path(__file__).resolve().parents[1] / "taxgate"
# What makes an answer: results.csv written, its digest, the signed response, the files.
ANSWER_MAKING = frozenset({"write_results_csv", "results_digest", "build_response", "publish"})
THE_STEP = "pipeline/publish.py"
KEY = new_signing_key()  # the gateway's signing key, as a store would hand it


def answer_making_uses(source: str) -> list[str]:
    """Each use (a call or a reference) of ``taxgate.response``'s answer-making functions in
    ``source``, as "line: name"."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names of taxgate.response
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "taxgate.response"}
        elif isinstance(node, ast.ImportFrom) and node.module == "taxgate":
            modules |= {a.asname or a.name for a in node.names if a.name == "response"}
        elif isinstance(node, ast.ImportFrom) and node.module == "taxgate.response":
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name in ANSWER_MAKING]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ANSWER_MAKING
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif (isinstance(node, ast.Attribute) and node.attr in ANSWER_MAKING
              and isinstance(node.value, ast.Attribute) and node.value.attr == "response"
              and isinstance(node.value.value, ast.Name) and node.value.value.id == "taxgate"):
            found.append(f"{node.lineno}: taxgate.response.{node.attr}")
    return found


def test_r27_only_the_publish_step_writes_signs_or_publishes_an_answer():
    """No module but the publish step (and taxgate.response, which defines them) writes
    results.csv, digests it, signs a response or moves the files into place: an answer
    that bypassed the step would bypass its commit and its ledger events."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where in (THE_STEP, "response.py"):
            continue
        uses = answer_making_uses(path.read_text(encoding="utf-8"))
        if uses:
            offenders[where] = uses
    assert offenders == {}
    assert answer_making_uses((PACKAGE / THE_STEP).read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", [
    "from taxgate import response\nresponse.publish(out, path, resp)\n",
    "from taxgate import response as r\nwrite = r.write_results_csv\n",
    "import taxgate.response\ntaxgate.response.build_response(**fields)\n",
    "from taxgate.response import results_digest as digest\n",
])
def test_the_check_finds_a_route_that_bypasses_the_step(source: str):
    assert answer_making_uses(source)


def _refusal(out: Path, committed: list[LedgerEvent], *, won: bool = True,
             then: list[list[str]] | None = None) -> Publication[str]:
    """A refusal of two records, described as a route describes it; ``won``: the store
    takes it (else another run stored it first)."""

    def store(signed, events):  # noqa: ANN001, ANN202
        committed.extend(events)
        return signed.digest if won else None

    return Publication(
        results=[("A-1", "REJECTED", "SAFEGUARDS_NOT_CURRENT"),
                 ("A-2", "REJECTED", "SAFEGUARDS_NOT_CURRENT")],
        response=ResponseFields("REQ-1", "2026-12-01T10:00:00.000000Z", {"REJECTED": 2},
                                "policy-1", None, KEY, request_reason="SAFEGUARDS_NOT_CURRENT"),
        commit=Commit(
            events=lambda signed: [RequestRefused(
                request_id="REQ-1", package_sha256="0" * 64,
                reason="SAFEGUARDS_NOT_CURRENT", received_at="2026-12-01T10:00:00.000000Z",
                record_count=signed.count, results_sha256=signed.digest,
                requesting_agency="DHS-ICE", signing_official="ice-director",
                signer_verified=True).to_event()],
            store=store,
            then=lambda: (then if then is not None else []).append(
                sorted(p.name for p in out.iterdir()) if out.exists() else [])),
        files=Files(out, "request REQ-1 was refused and stored"),
    )


def test_r27_the_ledger_the_response_and_the_file_name_one_results_digest(tmp_path: Path):
    """What the ledger records of an answer is what the agency receives: the event's
    results digest is the signed response's records_sha256 and the digest of the
    results.csv written; the work after the commit runs before any file is written."""
    out, committed, seen = tmp_path / "out", [], []
    digest = publish(_refusal(out, committed, then=seen))
    resp = json.loads((out / "response.json").read_text(encoding="utf-8"))
    assert verify_object(KEY.public_key(), resp)
    assert digest == sha256_file(out / "results.csv") == resp["records_sha256"]
    assert [e.payload["results_sha256"] for e in committed] == [digest]
    assert committed[0].payload["record_count"] == resp["record_count"] == 2
    assert seen == [[]]  # the desk before the files: nothing was in the folder yet


def test_r28_an_answer_another_run_stored_first_writes_nothing(tmp_path: Path):
    """When the store says another run stored the request first, nothing follows: no
    files, no work after the commit; publish says so with None."""
    out, committed, seen = tmp_path / "out", [], []
    assert publish(_refusal(out, committed, won=False, then=seen)) is None
    assert not out.exists() and seen == []


def test_a_failure_after_the_commit_says_what_was_committed(tmp_path: Path):
    """The files written after the commit fail: the guard names the commit (contract §4),
    and no response.json stands in the folder."""
    out = tmp_path / "out"
    (out / "response.json").mkdir(parents=True)
    with pytest.raises(NotDelivered, match="request REQ-1 was refused and stored, but its "
                                           "response was not written"):
        publish(_refusal(out, []))
    assert (out / "response.json").is_dir()


def test_a_stored_answer_is_written_out_byte_for_byte(tmp_path: Path):
    """A stored answer (a follow-up, a replay) goes out as it was signed, nothing committed."""
    first, again = tmp_path / "first", tmp_path / "again"
    publish(_refusal(first, []))
    resp = json.loads((first / "response.json").read_text(encoding="utf-8"))
    text = (first / "results.csv").read_text(encoding="utf-8")
    assert publish(Publication(results=text, response=resp, files=Files(again))) is None
    for name in ("results.csv", "response.json"):
        assert (again / name).read_bytes() == (first / name).read_bytes()
