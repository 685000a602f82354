"""The DISCLOSURE ledger event of a CONFIRMED record (R27), from the manifest.

:func:`make_disclosure` fills in its fields (declared in :mod:`taxgate.ledger_events`);
:func:`disclosure_event` is what the release of a REVIEW record
(:mod:`taxgate.gateway.review`) logs for one record.
:class:`DisclosureTemplate` makes the same events for a request's many confirmations
without serializing each payload from scratch: the fields every disclosure of a request
shares are serialized once, and each record fills in its own five. The result is the
payload the store would log (the TIN already as the store's keyed digest, R34), carrying
the canonical bytes the ledger hashes; a test holds it byte for byte to the slow path.
For a whole request it makes a :class:`~taxgate.domain.PayloadBatch` (the bytes alone),
which the store chains as columns (:mod:`taxgate.ledger_columns`).
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable, Sequence
from typing import Any

from taxgate.canonical import canonical_json
from taxgate.domain import PayloadBatch
from taxgate.ledger import StoredPayload
from taxgate.ledger_events import Disclosure, LedgerEvent, logged_disclosure, problem

DISCLOSURE = Disclosure.TYPE
DATA_ELEMENTS = ("address confirmation",)  # all a confirmation discloses (R19)


def make_disclosure(
    manifest: dict[str, Any],
    *,
    record_id: Any,
    tin: Any,
    officer_id: Any,
    case_number: Any,
    disclosed_at: str,
    match_probability: Any,
    model_version: str | None,
    policy_version: str,
) -> Disclosure:
    """The accounting fields of one disclosure (R27), with the TIN in the clear (the store
    logs its keyed digest instead)."""
    m = manifest
    return Disclosure(
        request_id=m["request_id"],
        record_id=record_id,
        tin=tin,
        requesting_agency=m["requesting_agency"],
        signing_official=m["signing_official"],
        officer_id=officer_id,
        case_number=case_number,
        legal_authority=m["legal_authority"],
        criminal_statute=m["criminal_statute"],
        purpose=m["reason"],
        taxable_periods=m["taxable_periods"],
        disclosed_at=disclosed_at,
        data_elements=list(DATA_ELEMENTS),
        match_probability=_probability(match_probability),
        model_version=model_version,
        policy_version=policy_version,
    )


def disclosure_event(
    manifest: dict[str, Any],
    *,
    record_id: str,
    tin: str,
    officer_id: str | None,
    case_number: str | None,
    disclosed_at: str,
    match_probability: float | None,
    model_version: str | None,
    policy_version: str,
) -> LedgerEvent:
    """The DISCLOSURE ledger event of one CONFIRMED record (R27)."""
    return make_disclosure(
        manifest, record_id=record_id, tin=tin, officer_id=officer_id,
        case_number=case_number, disclosed_at=disclosed_at,
        match_probability=match_probability, model_version=model_version,
        policy_version=policy_version,
    ).to_event()


def _probability(value: Any) -> float | None:
    return round(float(value), 6) if value is not None else None


# The per-record fields, in the order DisclosureTemplate.event takes them.
_SLOTS = ("record_id", "tin_digest", "officer_id", "case_number", "match_probability")
# How json.dumps(..., ensure_ascii=False) writes a string (the C encoder where present).
_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


class DisclosureTemplate:
    """DISCLOSURE events of one request, built fast: ``event(...)`` equals
    ``disclosure_event(...)`` after the store's scrubbing, byte for byte; ``batch(...)``
    gives the same payload bytes for many records at once, without a dict each."""

    def __init__(
        self,
        manifest: dict[str, Any],
        *,
        disclosed_at: str,
        model_version: str | None,
        policy_version: str,
        tin_digests: Callable[[list[str]], list[str]],
    ) -> None:
        marks = {slot: f"\x00slot:{slot}\x00" for slot in _SLOTS}
        base = make_disclosure(
            manifest, record_id=None, tin=None, officer_id=None, case_number=None,
            disclosed_at=disclosed_at, match_probability=None, model_version=model_version,
            policy_version=policy_version,
        ).payload()
        # The store logs a TIN as "<field>_digest" (store.common.scrub_events); the tests
        # hold the two forms equal. Every event's payload copies this dict (its
        # data_elements list is shared: events are never changed once made).
        del base["tin"]
        base["tin_digest"] = None
        bad = problem(DISCLOSURE, [*base])
        if bad is not None:  # the fast path logs exactly the declared fields
            raise TypeError(bad)
        self._base = base
        text = canonical_json({**base, **marks})
        # Cut the serialized form at the marks: constant pieces between the slots.
        at = sorted((text.index(canonical_json(mark)), i) for i, mark in enumerate(marks.values()))
        pieces, start = [], 0
        for pos, i in at:
            pieces.append(text[start:pos])
            start = pos + len(canonical_json(marks[_SLOTS[i]]))
        pieces.append(text[start:])
        self._order = [i for _, i in at]  # the slots in text order
        # the pieces as one bytes format, a %s for each slot
        self._format = b"%s".join(piece.replace(b"%", b"%%") for piece in pieces)
        self._fields = tuple(base)
        self._tin_digests = tin_digests
        self._request_id = manifest["request_id"]

    def event(
        self,
        record_id: str,
        tin: str,
        officer_id: str | None,
        case_number: str | None,
        match_probability: float | None,
    ) -> LedgerEvent:
        """The logged DISCLOSURE event of one record (the TIN as its keyed digest)."""
        values = (record_id, self._tin_digests([str(tin)])[0], officer_id, case_number,
                  _probability(match_probability))
        payload = StoredPayload(self._base, b"")
        payload.update(zip(_SLOTS, values, strict=True))
        payload.stored = self._format % tuple(_encode(values[i]) for i in self._order)
        return logged_disclosure(payload, self._request_id)

    def batch(
        self,
        record_ids: Sequence[str],
        tins: Sequence[str],
        officer_ids: Sequence[str | None],
        case_numbers: Sequence[str | None],
        match_probabilities: Sequence[float | None],
    ) -> PayloadBatch:
        """The logged DISCLOSUREs of many records (columns of equal length, in order) as
        payload bytes only: each the bytes :meth:`event` makes for that record."""
        slots = (
            _strings(record_ids),
            _strings(self._tin_digests([str(t) for t in tins])),
            _strings(officer_ids),
            _strings(case_numbers),
            [_encode(_probability(p)) for p in match_probabilities],
        )
        fmt = self._format
        payloads = [fmt % values for values in zip(*(slots[i] for i in self._order), strict=True)]
        return PayloadBatch(DISCLOSURE, self._request_id, self._fields, payloads)


def _strings(values: Sequence[Any]) -> list[bytes]:
    """:func:`_encode` of each value of a column of strings (or None), quickly."""
    enc = _encode_string
    return [enc(v).encode("utf-8") if type(v) is str else _encode(v) for v in values]


def _encode(value: Any) -> bytes:
    """canonical_json of a scalar slot value (a string, a float or None), quickly."""
    if value is None:
        return b"null"
    if isinstance(value, str):
        return _encode_string(value).encode("utf-8")
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value).encode("ascii")  # as json.dumps writes a float
    return canonical_json(value)
