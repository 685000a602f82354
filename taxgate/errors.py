"""The one exception tree of taxgate.

    TaxgateError                 base; never carries taxpayer data in its message
     ├── BadInput                the caller's input is wrong: CLI exit 2, HTTP 4xx
     │    ├── RequestRefused     a whole request refused; carries a reason code and
     │    │                      is answered with an all-REJECTED response
     │    └── TaxpayerFileError  a taxpayer file that cannot be loaded
     ├── StoreError              the store is missing, locked, corrupt or unreachable
     │    └── KeyUnavailable     the at-rest key is missing or wrong
     ├── NotDelivered            committed, but the response files could not be written:
     │                           says what was committed and how to fetch it (a replay)
     └── IntegrityError          the ledger failed a check (exit 4, HTTP 503): commands
          │                      that disclose or account refuse until an incident is recorded
          └── LedgerBroken       ledger verification found a broken chain

Anything else that escapes is an internal failure (exit 1). Messages name files,
columns, line numbers and reason codes, never a value taken from a record.
"""

from __future__ import annotations


class TaxgateError(Exception):
    """Base class: a failure taxgate understands and can explain in one line."""

    exit_code = 1


class BadInput(TaxgateError):
    """The input is malformed or not allowed; the one-line message says what."""

    exit_code = 2


class RequestRefused(BadInput):
    """A whole request is refused: every record gets ``reason`` as its reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class TaxpayerFileError(BadInput):
    """A taxpayer records file that cannot be loaded as given."""


class StoreError(TaxgateError):
    """The store cannot be opened, migrated or written."""


class KeyUnavailable(StoreError):
    """The key that decrypts the store at rest is missing or wrong."""

    exit_code = 2


class NotDelivered(TaxgateError):
    """A request was committed (decisions, ledger) but its response could not be written;
    the message names the request and its counts and says how to fetch it again."""


class IntegrityError(TaxgateError):
    """The ledger failed a check (a broken chain, or a store behind or beside its head
    anchor); commands that disclose or account refuse until an incident is recorded."""

    exit_code = 4


class LedgerBroken(IntegrityError):
    """The ledger's hash chain or a checkpoint signature does not verify."""
