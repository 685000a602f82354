"""The one exception tree of taxgate, and how each class is reported.

Every class knows its CLI exit code and its HTTP status (the API's error code for it is
in the one list of :mod:`taxgate.api.problems`); the CLI (:func:`taxgate.cli._common.run`)
and the HTTP handler (:func:`taxgate.api.http_errors.error_response`) read these and
nothing else, through :func:`classify`.

    class                    exit  HTTP  meaning
    TaxgateError               1   500   base; never carries taxpayer data in its message
     ├── BadInput              2   400   the caller's input is wrong
     │    ├── RequestRefused   2   400   a whole request refused: carries a reason code and
     │    │                              is answered with an all-REJECTED response
     │    ├── TaxpayerFileError 2  400   a taxpayer file that cannot be loaded
     │    ├── SettingsError    2   400   a setting with a bad value: names it and its source
     │    ├── JSONRefused      2   400   not strict JSON (also a ValueError)
     │    │    └── DuplicateJsonKey 2 400  a JSON object naming one key twice
     │    ├── NotAllowed       3   403   the signed-in person or agency may not do this
     │    │    └── LoginRequired 3 403   not signed in: the web pages redirect to /login
     │    ├── NotFound         2   404   no such job, request, record or follow-up
     │    ├── Conflict         3   409   the state forbids it: already released, exists, ...
     │    └── TooLarge         2   413   an upload over the size limit
     ├── Unauthorized          3   401   no valid API credential
     ├── TooMany               6   429   too many failed attempts
     ├── StoreError            1   500   the store is corrupt or unreachable
     │    ├── KeyUnavailable   2   500   the at-rest key is missing or wrong
     │    ├── NotSetUp         5   500   no store there yet, its schema is out of date, or
     │    │                              no filings loaded: `taxgate init` / `load` first
     │    └── StoreBusy        6   503   the store is held by a job or another process; retry
     ├── NotDelivered          1   500   committed, but the response files could not be
     │                                   written: says what was committed, how to fetch it
     ├── IntegrityError        4   503   the ledger failed a check: commands that disclose
     │    │                              or account refuse until an incident is recorded
     │    ├── LedgerBroken     4   503   ledger verification found a broken chain
     │    └── WitnessMismatch  4   503   the ledger does not extend the overseer's last
     │                                   witnessed checkpoint: nothing is published
     └── InternalError         1   500   a check of taxgate's own output failed:
          │                              reported like any unexpected failure
          └── ResponseSchemaError 1 500  a response would hold a field outside the contract

The exit codes are :class:`ExitCode` (docs/cli.md lists them, generated from it): 0, 1
and 2 are the contract's (§4); the others tell a script what to do next.

Anything else that escapes is an internal failure, reported as InternalError is (exit 1,
HTTP 500, no message shown). Messages name files, columns, line numbers, settings and
reason codes, never a value taken from a record. This module imports nothing of taxgate.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status of the ``taxgate`` command, declared once."""

    OK = 0  # done
    INTERNAL = 1  # an internal failure (contract §4): nothing was disclosed
    BAD_INPUT = 2  # bad input, or a request refused whole (contract §4): fix it, retry
    REFUSED = 3  # understood, but the state or your role forbids it (exists, revoked, ...)
    INTEGRITY = 4  # the ledger failed a check: `taxgate ledger incident` (docs/ledger.md)
    NOT_SET_UP = 5  # no store there, schema out of date, nothing loaded: init / load first
    BUSY = 6  # the store is held by a job or another process: retry shortly



class TaxgateError(Exception):
    """Base class: a failure taxgate understands and can explain in one line."""

    exit_code = ExitCode.INTERNAL
    http_status = 500
    shown = True  # False: the message is for logs only; the caller sees "internal failure"


class BadInput(TaxgateError):
    """The input is malformed or not allowed; the one-line message says what."""

    exit_code = ExitCode.BAD_INPUT
    http_status = 400


class RequestRefused(BadInput):
    """A whole request is refused: every record gets ``reason`` as its reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class TaxpayerFileError(BadInput):
    """A taxpayer records file that cannot be loaded as given."""


class SettingsError(BadInput):
    """One or more settings have bad values; the one line names each setting and where
    it came from (environment variable, policy file key, option)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems  # (setting as named to the reader, what is wrong)
        lead = "bad setting" if len(problems) == 1 else "bad settings"
        super().__init__(f"{lead}: " + "; ".join(f"{name} {why}" for name, why in problems))


class JSONRefused(BadInput, ValueError):
    """A document that is not strict JSON within the bounds; the message says why."""


class DuplicateJsonKey(JSONRefused):
    """A JSON object names a key twice: parsers disagree on which value wins, so it is
    refused rather than read one way here and another way elsewhere."""


class NotAllowed(BadInput):
    """The caller's role or agency does not allow this."""

    exit_code = ExitCode.REFUSED
    http_status = 403


class LoginRequired(NotAllowed):
    """Not signed in (or the session expired): the pages send the browser to /login."""


class NotFound(BadInput):
    """Nothing of that id is visible to this caller."""

    http_status = 404


class Conflict(BadInput):
    """The request conflicts with the record's state (already there, already released,
    revoked, a file loaded before, ...)."""

    exit_code = ExitCode.REFUSED
    http_status = 409


class TooLarge(BadInput):
    """The upload exceeds the configured limit."""

    http_status = 413


class Unauthorized(TaxgateError):
    """No valid credential."""

    exit_code = ExitCode.REFUSED
    http_status = 401


class TooMany(TaxgateError):
    """Too many failed attempts from this address or for this user."""

    exit_code = ExitCode.BUSY
    http_status = 429


class StoreError(TaxgateError):
    """The store cannot be opened, migrated or written."""


class KeyUnavailable(StoreError):
    """The key that decrypts the store at rest is missing or wrong."""

    exit_code = ExitCode.BAD_INPUT


class NotSetUp(StoreError):
    """The store is not ready for this command: not created, its schema out of date, or
    no filings loaded; the message names the command that sets it up."""

    exit_code = ExitCode.NOT_SET_UP


class StoreBusy(StoreError):
    """The store is held by a long-running job or another process; try again shortly."""

    exit_code = ExitCode.BUSY
    http_status = 503


class NotDelivered(TaxgateError):
    """A request was committed (decisions, ledger) but its response could not be written;
    the message names the request and its counts and says how to fetch it again."""


class IntegrityError(TaxgateError):
    """The ledger failed a check (a broken chain, or a store behind or beside its head
    anchor); commands that disclose or account refuse until an incident is recorded."""

    exit_code = ExitCode.INTEGRITY
    http_status = 503


class LedgerBroken(IntegrityError):
    """The ledger's hash chain or a checkpoint signature does not verify."""


class WitnessMismatch(IntegrityError):
    """The store's ledger is not an extension of the witness log's last checkpoint."""


class InternalError(TaxgateError):
    """A check of taxgate's own work failed: a bug, never the caller's fault. Reported
    as an internal failure; the message is not shown."""

    shown = False


class ResponseSchemaError(InternalError, ValueError):
    """A response would hold a field or outcome outside the contract's allow-list."""


def classify(exc: BaseException) -> type[TaxgateError]:
    """The class of the tree that reports ``exc``: its own, or InternalError for an
    exception from outside the tree."""
    return type(exc) if isinstance(exc, TaxgateError) else InternalError
