"""When a processed request raises an incident alert (R39), and what the alert says.

After every request (CLI and service jobs alike, :meth:`Gateway.process`):

- a refusal whose signature did not verify (SIGNATURE_INVALID, OFFICIAL_NOT_AUTHORIZED,
  OFFICIAL_NOT_VALID_ON_DATE) counts the like refusals logged within the policy's
  ``alert_window_minutes``; every ``alert_refused_signatures``-th one in the window
  raises REFUSED_SIGNATURE_BURST (at the threshold, twice it, ...);
- an answered request whose best candidate for some record was under a disclosure hold
  (R6: answered NOT_CONFIRMED) raises DISCLOSURE_HOLD_HIT with the number of records.

A failed ledger check raises LEDGER_CHECK_FAILED in :mod:`taxgate.integrity`. The
window is found by bisecting the ledger on its time, so the scan reads only the
window's entries. Alerts carry ids and counts, never a taxpayer value.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc

from taxgate import alerts
from taxgate.ledger_events import RequestRefused
from taxgate.pipeline import ProcessResult
from taxgate.settings import Settings
from taxgate.store.base import Store

SIGNATURE_REFUSALS = frozenset({"SIGNATURE_INVALID", "OFFICIAL_NOT_AUTHORIZED",
                                "OFFICIAL_NOT_VALID_ON_DATE"})
_HOLD_MARK = '"disclosure_hold":true'


def after_process(settings: Settings, store: Store, result: ProcessResult) -> list[alerts.Alert]:
    """The alerts this request raises, sent to the configured sink; none when no sink."""
    if not settings.alert_sink:
        return []
    raised = []
    if result.exit_code == 2:
        raised += _burst(settings, store)
    elif result.exit_code == 0 and result.request_id:
        raised += _hold_hits(store, result.request_id)
    for a in raised:
        alerts.send(settings.alert_sink, a)
    return raised


def _first_seq_since(store: Store, since: dt.datetime) -> int:
    """The first seq recorded at or after ``since`` (head seq + 1 when none is)."""
    head = store.ledger_head()
    lo, hi = 1, (head.seq + 1 if head else 1)
    while lo < hi:
        mid = (lo + hi) // 2
        e = store.ledger_entry(mid)
        if e is None or _parse(e.recorded_at) < since:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _parse(when: str) -> dt.datetime:
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00"))


def refused_signatures_since(store: Store, since: dt.datetime) -> list[str]:
    """The agencies named (as claimed) by refusals of an unproven signature since ``since``."""
    after = _first_seq_since(store, since) - 1
    return [str(e.payload.get("requesting_agency") or "")
            for e in store.ledger_entries(after)
            if e.event_type == RequestRefused.TYPE
            and e.payload.get("reason") in SIGNATURE_REFUSALS]


def _burst(settings: Settings, store: Store) -> list[alerts.Alert]:
    p = settings.policy
    if p.alert_refused_signatures <= 0:
        return []
    window = dt.timedelta(minutes=p.alert_window_minutes)
    claimed = refused_signatures_since(store, dt.datetime.now(dt.UTC) - window)
    n = len(claimed)
    if n == 0 or n % p.alert_refused_signatures:
        return []
    agencies = sorted(set(claimed))
    return [alerts.Alert(
        alerts.REFUSED_SIGNATURE_BURST,
        f"{n} requests refused for a signature that did not verify within "
        f"{p.alert_window_minutes} minutes (threshold {p.alert_refused_signatures})",
        agency=agencies[0] if len(agencies) == 1 else None, count=n)]


def _hold_hits(store: Store, request_id: str) -> list[alerts.Alert]:
    evidence = store.decisions(request_id).column("evidence")
    hits = pc.sum(pc.match_substring(pc.fill_null(evidence, ""), _HOLD_MARK)).as_py() or 0
    if not hits:
        return []
    return [alerts.Alert(
        alerts.DISCLOSURE_HOLD_HIT,
        f"{hits} record(s) of the request matched a taxpayer under a disclosure hold "
        "(answered NOT_CONFIRMED, nothing disclosed; R6)", request_id=request_id, count=hits)]
