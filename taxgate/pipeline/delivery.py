"""Who sent a package, whether a stored answer may be given to it again, and what to
say when a response cannot be written after its request was committed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate import intake
from taxgate.domain import StoredRequest
from taxgate.errors import NotDelivered, RequestRefused
from taxgate.records import MAX_FIELD_LENGTH

REUSED = RequestRefused(
    "REQUEST_ID_REUSED", "request_id was already used, by another agency or with other bytes")


@dataclass(frozen=True)
class Sender:
    """Who a package says sent it (as sent), and whether its signature proves it."""

    agency: str | None
    official: str | None
    verified: bool

    def payload(self) -> dict[str, Any]:
        """Ledger fields: agency and signer as sent (cut to MAX_FIELD_LENGTH characters)
        and ``signer_verified``, false when the signature did not prove them."""
        return {"requesting_agency": _cut(self.agency), "signing_official": _cut(self.official),
                "signer_verified": self.verified}


def _cut(text: str | None) -> str | None:
    return text[:MAX_FIELD_LENGTH] if text is not None else None


def is_replay(stored: StoredRequest, pkg: intake.Package) -> bool:
    """A stored request is answered again only for identical bytes from its own agency
    (contract §2-§3); anything else under its request_id is REQUEST_ID_REUSED."""
    same_agency = stored.agency is None or stored.agency == pkg.requesting_agency
    return bool(same_agency and stored.package_sha256 == pkg.package_sha256)


@contextmanager
def delivering(committed: str, out_dir: Path) -> Iterator[None]:
    """After a commit, any failure says what was committed and how to fetch it again."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - whatever failed, the commit stands
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise NotDelivered(
            f"{committed}, but its response was not written to {out_dir} ({why}); process "
            "the same package again (the same command) to fetch it: a replay, nothing new is "
            "disclosed"
        ) from None


