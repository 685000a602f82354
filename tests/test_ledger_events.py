"""The ledger's vocabulary is declared once (taxgate/ledger_events.py): each event type with
its requirement and typed fields, made only there, and every entry the code writes is one
of them with exactly its declared fields (R27, R33, R34)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from world_cache import SMALL, trained_once

from taxgate import ledger_events
from taxgate.domain import Official
from taxgate.gateway import Gateway
from taxgate.gateway import accounts as auth
from taxgate.ledger_events import EVENTS, SignOut, declared, problem
from taxgate.settings import Settings
from taxgate.store.common import FTI_FIELDS
from taxgate.synth import synth_all

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "taxgate" / "ledger_events.py"
# the registry's machinery (the base class whose to_event builds every LedgerEvent)
MACHINERY = ROOT / "taxgate" / "ledger_event_types.py"
MORE = ROOT / "taxgate" / "ledger_events_accountability.py"  # declared there, re-exported
# HTTP problem codes are another vocabulary that happens to share a word with an event
# type (REQUEST_REFUSED): the problem a refused upload is answered with, not the event.
OTHER_VOCABULARIES = (ROOT / "taxgate" / "api" / "problems.py",)


def _builders(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a module builds a LedgerEvent itself or spells an event type by its name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
            if name == "LedgerEvent":
                found.append((node.lineno, "LedgerEvent(...)"))
        elif isinstance(node, ast.Constant) and node.value in EVENTS:
            found.append((node.lineno, repr(node.value)))
    return found


def test_no_module_outside_the_registry_builds_an_event_or_spells_its_type():
    offenders = []
    for path in sorted((ROOT / "taxgate").rglob("*.py")):
        if path not in (REGISTRY, MACHINERY, MORE, *OTHER_VOCABULARIES):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{n} {what}" for n, what in _builders(tree)]
    assert offenders == []


def test_the_source_scan_finds_a_builder():
    """The scan above would catch the way events were built before the registry."""
    tree = ast.parse('store.append_events([LedgerEvent("SIGN_OUT", {"username": u})])')
    assert [w for _, w in _builders(tree)] == ["LedgerEvent(...)", "'SIGN_OUT'"]


def test_every_event_type_serves_a_requirement_and_documents_its_fields():
    assert len(EVENTS) >= 19
    for event_type, cls in EVENTS.items():
        assert event_type == cls.TYPE and ledger_events._meaning(cls)
        assert cls.SERVES and all(r.startswith("R") for r in cls.SERVES.split(", "))
        assert declared(cls), f"{event_type} has no fields"
        for f in declared(cls):
            assert f.metadata["meaning"].strip() and f.type, f"{event_type}.{f.name}"


def test_r34_no_event_declares_a_name_address_or_birth_date_field():
    for cls in EVENTS.values():
        assert not {f.name for f in declared(cls)} & FTI_FIELDS, cls.TYPE


def test_an_unknown_or_missing_field_cannot_be_passed():
    with pytest.raises(TypeError):
        SignOut(username="ada", password="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SignOut()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SignOut("ada")  # type: ignore[misc]
    assert SignOut(username="ada").to_event().payload == {"username": "ada"}


def test_problem_names_an_undeclared_type_or_field():
    assert problem("SIGN_OUT", ["username"]) is None
    assert problem("FTI_VIEWED", [f.name for f in declared(EVENTS["FTI_VIEWED"])]) is None
    assert "not a declared" in (problem("SIGN_UP", ["username"]) or "")
    assert problem("SIGN_OUT", ["username", "password"]) is not None
    assert problem("SIGN_OUT", []) is not None


@pytest.mark.slow
def test_r33_every_event_the_commands_write_is_declared(
        store_settings: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """A request answered, replayed and refused, and the administration around it, on each
    engine: every entry written is a declared event with exactly its declared fields."""
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 60, seed=SMALL[1])
    with Gateway(store_settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):  # the suite's population: trained once
            gw.load(paths.taxpayers)
        gw.add_official(Official(
            "ice-director", "DHS-ICE", "Director", paths.public_key.read_text(),
            dt.date(2026, 1, 1)), "test")
        first = gw.process(paths.request_dir, tmp_path / "out1")
        assert first.exit_code == 0 and first.counts.get("CONFIRMED"), first.message
        assert gw.process(paths.request_dir, tmp_path / "out2").replayed
        (tmp_path / "empty").mkdir()  # no manifest: refused as a whole
        assert gw.process(tmp_path / "empty", tmp_path / "out3").exit_code == 2
        with gw.lock() as s:
            s.set_safeguards("DHS-ICE", False, "test", "lapsed in review")
        gw.add_user("rita", "reviewer", "a long enough password")
        with gw.lock() as s:
            auth.change_role(s, "rita", "releaser", actor="test")
            auth.set_disabled(s, "rita", True, "test")
        gw.issue_credential("DHS-ICE", "test")
        gw.record_incident("olga", "drill")
        with gw.lock() as s:
            entries = list(s.ledger_entries())
    assert [p for e in entries if (p := problem(e.event_type, list(e.payload)))] == []
    assert {e.event_type for e in entries} >= {
        "OFFICIAL_ADDED", "MODEL_TRAINED", "REQUEST_RECEIVED", "DECISIONS_RECORDED",
        "DISCLOSURE", "REQUEST_REPLAYED", "REQUEST_REFUSED", "SAFEGUARDS_CHANGED",
        "USER_ADDED", "USER_CHANGED", "CREDENTIAL_ISSUED", "INCIDENT_RECORDED", "CHECKPOINT",
        "ACCESS_CHANGED"}
