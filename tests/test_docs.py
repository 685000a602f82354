"""The documentation is complete: every reason code, policy setting and command."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import typer.main

from taxgate.cli import app
from taxgate.policy_docs import POLICY_DOCS
from taxgate.reasons import REASONS, render_markdown
from taxgate.settings import Policy

ROOT = Path(__file__).resolve().parents[1]


def test_reason_codes_page_matches_the_code():
    """Every reason code an agency can receive is documented (contract §3)."""
    assert (ROOT / "docs/reason-codes.md").read_text(encoding="utf-8") == render_markdown()


def test_ledger_events_page_matches_the_code():
    """Every ledger event type is documented with its fields and requirement (R27, R33)."""
    from taxgate.ledger_events import render_markdown as events_page

    assert (ROOT / "docs/ledger-events.md").read_text(encoding="utf-8") == events_page()


def test_every_reason_code_names_a_requirement():
    assert all(r.requirements.strip() for r in REASONS.values())


def test_every_policy_setting_is_documented_in_code_and_docs():
    page = (ROOT / "docs/policy.md").read_text(encoding="utf-8")
    for f in fields(Policy):
        assert f.name in POLICY_DOCS, f"{f.name} has no entry in POLICY_DOCS"
        assert f"`{f.name}`" in page, f"{f.name} is missing from docs/policy.md"


def _commands(group, prefix=()):  # noqa: ANN001, ANN202
    for name, cmd in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)
        else:
            yield " ".join(path), cmd


def test_every_command_has_help_and_a_documented_entry():
    page = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    click_app = typer.main.get_command(app)
    names = list(_commands(click_app))
    assert {"init", "load", "officials add", "process"} <= {n for n, _ in names}
    for name, cmd in names:
        assert (cmd.help or "").strip(), f"taxgate {name} has no --help text"
        assert f"taxgate {name}" in page, f"taxgate {name} is missing from docs/cli.md"


def test_review_reasons_page_matches_the_code():
    """Every reason the review desk shows is documented with its requirement (R23)."""
    from taxgate.review_reasons import render_markdown as review_page

    assert (ROOT / "docs/review-reasons.md").read_text(encoding="utf-8") == review_page()


def test_every_hold_of_the_statute_has_a_review_reason():
    from taxgate.review_reasons import REVIEW_REASONS
    from taxgate.statute import record_rules

    holds = {r.code for r in record_rules(Policy()) if r.holds_for_review}
    assert holds and holds <= set(REVIEW_REASONS)


def test_every_service_setting_is_documented():
    from taxgate.settings import SERVICE_ENV

    page = (ROOT / "docs/service.md").read_text(encoding="utf-8")
    for name, (var, _) in SERVICE_ENV.items():
        assert f"`{name}`" in page and f"`{var}`" in page, f"{name} is missing from docs/service.md"
