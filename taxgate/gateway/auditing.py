"""The Gateway's audit use cases: the ledger's verification and incidents, checkpoints
for outsiders, accounting, the statutory reports and certifications, oversight, the
evidence kept, re-checks and notices (R3, R27-R34). A part of :class:`Gateway`
(:mod:`taxgate.gateway.core`), kept apart so each module stays one size to read; every
method takes the Gateway's lock as the others do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from taxgate.settings import Settings

if TYPE_CHECKING:
    from datetime import date

    from taxgate.accounting import AnnualReport, Disclosure
    from taxgate.certifications import Due
    from taxgate.disclosure_report import PublicReport
    from taxgate.domain import LedgerEntry
    from taxgate.gateway.evidence import Evidence
    from taxgate.gateway.notify import Affected, Selection
    from taxgate.gateway.oversight import Oversight, OversightState
    from taxgate.gateway.recheck import RecheckReport
    from taxgate.integrity import Verified
    from taxgate.settings import Policy
    from taxgate.store.base import Store
    from taxgate.witness import TreeHead as WitnessHead


class Auditing:
    """The audit methods of :class:`~taxgate.gateway.core.Gateway` (its base class)."""

    settings: Settings
    _audit: OversightState | None  # oversight: verified so far (set by the Gateway)
    _reason_cache: dict[str, Counter[str]]  # oversight: per request, reasons

    if TYPE_CHECKING:
        def lock(self, timeout: float | None = None, *, create: bool = False
                 ) -> contextlib.AbstractContextManager[Store]: ...

    # --- audit --------------------------------------------------------------------------

    def verify_ledger(self, anchor: Path | None = None) -> Verified:
        """Walk the hash chain and its checkpoints up to the head anchor (IntegrityError
        on the first entry edited, deleted, inserted or reordered)."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.verify_against_anchor(store, anchor)

    def open_failure(self) -> str | None:
        """The integrity failure no incident has been recorded for since, if any (what
        to do about it: ``LEDGER_REMEDY``)."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.open_failure(store)

    def record_incident(self, operator: str, note: str) -> LedgerEntry:
        """Log an integrity incident and start the head anchor afresh after it."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.record_incident(store, operator, note)

    # --- checkpoints for outsiders (taxgate/ledger_tree.py, docs/ledger.md) ---------------
    def witness_path(self, given: Path | None = None) -> Path:
        """The witness log: ``given``, else the configured one (BadInput when neither)."""
        from taxgate.errors import BadInput

        path = given or self.settings.witness_path
        if path is None:
            raise BadInput("no witness log: set TAXGATE_WITNESS (a file or folder the "
                           "overseer controls) or give --witness")
        return path

    def checkpoint(self, witness: Path | None = None) -> tuple[WitnessHead, bool]:
        """Sign a checkpoint of the ledger's Merkle tree and append it to the witness log;
        a ledger that does not extend the last witnessed checkpoint is an integrity
        failure (recorded in the head anchor, IntegrityError) and nothing is published."""
        from taxgate import integrity, ledger_tree
        from taxgate.errors import IntegrityError

        path = self.witness_path(witness)
        with self.lock() as store:
            try:
                return ledger_tree.publish(store, path)
            except ledger_tree.WitnessMismatch as exc:
                integrity.record_failure(store, str(exc))
                raise IntegrityError(f"ledger {exc}; {integrity.REMEDY}") from None

    def prove(self, *, entry: int | None = None, first: int | None = None,
              size: int | None = None, witness: Path | None = None) -> dict[str, object]:
        """An inclusion proof of ``entry`` (in the witnessed checkpoint of ``size``, else
        the last), or a consistency proof from checkpoint ``first`` to ``size`` (else the last)."""
        from taxgate import ledger_tree

        path = self.witness_path(witness)
        with self.lock() as store:
            if entry is not None:
                return ledger_tree.prove_entry(store, path, entry, size)
            assert first is not None
            return ledger_tree.prove_consistency(store, path, first, size)

    def accounting(self, tin: str) -> list[Disclosure]:
        """Every disclosure about one taxpayer (R27)."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.disclosures_for_tin(store, tin)

    def annual_report(self, year: int, *, agency: str | None = None, since: str | None = None,
                      until: str | None = None) -> AnnualReport:
        """The year's counts per agency and authority, from the ledger (R29); only one
        agency's, or only from ``since`` to ``until`` (YYYY-MM-DD), when given."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.annual_report(store, year, agency=agency, since=since,
                                            until=until)

    def export_ledger(self, out: Path, actor: str) -> tuple[int, str]:
        """Write the whole ledger, checkpoints included, as JSON Lines to ``out`` (for an
        overseer: ``taxgate ledger verify-export``); logged (LEDGER_EXPORTED, R33).
        Returns the last seq and hash exported."""
        from taxgate.gateway import export

        with self.lock() as store:
            return export.write_export(store, out, actor)

    def public_report(self, year: int) -> PublicReport:
        """The year's public report (R29(b)): aggregate counts per agency, small cells
        suppressed under the policy's ``public_report_min_cell``."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.public_report(
                store, year, self.settings.policy.public_report_min_cell)

    def certifications(self, *, overdue_only: bool = False, agency: str | None = None
                       ) -> list[Due]:
        """R32: every request that disclosed data, its return/destroy due date and
        certification (only those overdue today, only ``agency``'s, when asked)."""
        import datetime as dt

        from taxgate import certifications

        due_days = self.settings.policy.certification_due_days
        today = dt.datetime.now(dt.UTC).date()
        with self.lock() as store:
            rows = certifications.dues(store.ledger_entries(), due_days)
        return [d for d in rows if (not overdue_only or d.overdue(today))
                and (agency is None or d.agency == agency)]

    def certify(self, request_id: str, *, disposition: str, certified_by: str,
                certified_on: date, operator: str) -> Due:
        """R32: record the agency's certification that a request's disclosed data was
        returned or destroyed (a RETURN_CERTIFIED ledger entry)."""
        import datetime as dt

        from taxgate import certifications

        with self.lock() as store:
            return certifications.record(
                store, request_id, disposition=disposition, certified_by=certified_by,
                certified_on=certified_on, recorded_by=operator,
                today=dt.datetime.now(dt.UTC).date(),
                due_days=self.settings.policy.certification_due_days)

    @staticmethod
    def write_report(report: AnnualReport, out_dir: Path) -> tuple[Path, Path]:
        """Write an annual report as CSV and HTML; returns both paths."""
        from taxgate import accounting

        return accounting.write_report(report, out_dir)

    def oversight(self, viewer: str | None = None) -> Oversight:
        """The auditors' figures from the ledger; a ``viewer`` is logged (OVERSIGHT_VIEWED)."""
        from taxgate.gateway import oversight
        from taxgate.ledger_events import OversightViewed

        with self.lock() as store:
            if self._audit is None:
                self._audit = oversight.OversightState()
            o = oversight.oversight(store, self._reason_cache, self._audit)
            if viewer is not None:
                store.append_events([OversightViewed(viewer=viewer).to_event()])
        return o

    # --- evidence, re-checks and notices (R3, R30, R31) ---------------------------------

    def evidence(self, request_id: str, viewer: str, *, reveal: bool = False) -> Evidence:
        """What was asked, who signed it, what decided each record and why; logged."""
        from taxgate.gateway import evidence

        with self.lock() as store:
            return evidence.evidence(store, request_id, viewer=viewer, reveal=reveal)

    def purge_evidence(self, actor: str) -> list[str]:
        """Delete kept packages past the policy's retention; logged."""
        from taxgate.gateway import evidence

        with self.lock() as store:
            return evidence.purge(store, actor)

    def recheck(self, policy: Policy, *, since: dt.date | None = None,
                agency: str | None = None, actor: str = "cli") -> RecheckReport:
        """Re-decide past confirmations under ``policy``; changes nothing but its event."""
        from taxgate.gateway import recheck

        with self.lock() as store:
            return recheck.recheck(store, self.settings, policy, since=since, agency=agency,
                                   actor=actor)

    def affected(self, selection: Selection, actor: str, out: Path | None = None
                 ) -> list[Affected]:
        """The taxpayers a selection of disclosures affects (R31); logged."""
        from taxgate.gateway import letters

        with self.lock() as store:
            return letters.list_affected(store, selection, actor, out)

    def notify(self, selection: Selection, out_dir: Path, issued_by: str,
               tins: set[str] | None = None) -> list[Path]:
        """Notification letters (7431(e)) to the taxpayers affected; each one logged."""
        from taxgate.gateway import letters

        with self.lock() as store:
            return letters.issue_letters(store, selection, out_dir, issued_by, tins)
