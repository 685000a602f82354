"""The store interface: one behaviour, two engines (embedded DuckDB, PostgreSQL).

The pipeline talks only to :class:`Store`. Each engine lives in its own module
(``embedded.py``, ``postgres.py``) and is imported lazily by
:func:`taxgate.store.open_store`, so a run on the embedded store never imports a
PostgreSQL driver.

Everything the store holds is federal tax information or the accounting of it:
it is encrypted at rest with a key from outside the store (TAXGATE_KEY or the
key file beside the store), and files it creates are readable by their owner only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from taxgate.domain import (
    ApiCredential,
    EvidencePart,
    FollowUp,
    JobRow,
    LedgerEntry,
    LedgerEvent,
    LoadOrigin,
    LoadRow,
    ModelRow,
    Official,
    RequestOutcome,
    ReviewDecision,
    ReviewItem,
    ReviewStep,
    SafeguardsStatus,
    StoredRequest,
    UserAccount,
    UserMfa,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from taxgate.settings import Settings
    from taxgate.standardize.lookup_cache import LookupCache

__all__ = ["Store"]  # the records it keeps are taxgate.domain's


class Store(ABC):
    """Persistent state of one gateway."""

    settings: Settings  # what it was opened with (the anchor file's place among them)

    # --- lifecycle --------------------------------------------------------------
    @abstractmethod
    def initialize(self) -> None:
        """Create (or migrate to the latest) schema and the gateway's signing key."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:  # added: ``with open_store(s) as store:`` closes it
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def signing_key(self) -> Ed25519PrivateKey:
        """The gateway's Ed25519 key, made at ``initialize``; kept encrypted at rest."""

    @abstractmethod
    def tin_digest(self, tin: str) -> str:
        """Added: the keyed digest (HMAC-SHA256) a TIN appears as in the ledger.

        The store replaces every ledger payload field named ``tin`` or ``*_tin`` by
        ``<name>_digest`` holding this value, so the ledger holds no TIN (R34) yet a
        taxpayer's entries can be found (R31) by whoever holds the at-rest key.
        """

    def tin_digests(self, tins: Iterable[str]) -> list[str]:
        """:meth:`tin_digest` of each TIN, in order (a request's many at once)."""
        return [self.tin_digest(tin) for tin in tins]

    # --- officials and agencies (R1, R2, R7) --------------------------------------
    @abstractmethod
    def add_official(self, official: Official, actor: str) -> None:
        """Register (or re-register) a signer; logs an OFFICIAL_ADDED ledger event."""

    @abstractmethod
    def officials(self, agency: str | None = None) -> list[Official]: ...

    @abstractmethod
    def safeguards_current(self, agency: str) -> bool:
        """R7: true unless an officer marked the agency's safeguards lapsed."""

    @abstractmethod
    def set_safeguards(self, agency: str, current: bool, actor: str, note: str) -> None:
        """R7: change an agency's safeguards status; logged in the ledger."""

    @abstractmethod
    def safeguards(self, agency: str | None = None) -> list[SafeguardsStatus]:
        """R7: the safeguards statuses set so far (an agency never set is current)."""

    @abstractmethod
    def revoke_official(self, agency: str, official_id: str, last_day: dt.date,
                        actor: str) -> Official:
        """End an official's authority: ``valid_to`` becomes ``last_day``; logged
        (ACCESS_CHANGED). NotFound when not registered, Conflict when already ended."""

    # --- taxpayer filings -------------------------------------------------------------
    @abstractmethod
    def append_filings(self, batches: Iterator[pa.RecordBatch], origin: LoadOrigin | None = None
                       ) -> int:
        """Add standardized filings (raw contract columns + standardized columns) as one
        load. With ``origin``, the load remembers its file's digest and name, and a file
        whose digest a stored load has is refused (Conflict) unless ``origin.force``."""

    @contextlib.contextmanager
    def staging(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection to prepare filings in for :meth:`append_filings_query`. Here
        a :meth:`scratch` one with half the memory limit (the store writes with the rest)."""
        with self.scratch(0.5) as con:
            yield con

    @contextlib.contextmanager
    def scratch(self, share: float, threads: int = 0) -> Iterator[duckdb.DuckDBPyConnection]:
        """A scratch DuckDB connection (a database of its own, with its own threads:
        ``threads``, 0 for the settings'), closed after, with ``share`` of the memory
        limit and encrypted spill files in a private temp folder."""
        from taxgate.store.duck import new_connection  # DuckDB only when asked for

        folder = tempfile.TemporaryDirectory(prefix="taxgate-scratch-")
        settings = replace(self.settings, memory_limit=self.settings.memory_share(share),
                           threads=threads or self.settings.threads)
        con = new_connection(settings, temp_dir=Path(folder.name))
        try:
            yield con
        finally:
            con.close()
            folder.cleanup()

    @contextlib.contextmanager
    def filings_reader(self, share: float = 0.0
                       ) -> Iterator[tuple[duckdb.DuckDBPyConnection, str] | None]:
        """A connection for another thread, and the relation of every stored filing in it,
        to read while :meth:`update_filing_index` runs (``load`` trains from it then, with
        ``share`` of the memory limit; the store's work keeps the rest). Here None."""
        yield None

    def append_filings_query(self, con: duckdb.DuckDBPyConnection, select: str,
                             origin: LoadOrigin | None = None,
                             advance: Callable[[int], None] | None = None, *,
                             source: str | None = None) -> int:
        """:meth:`append_filings` of the rows ``select`` gives on ``con`` (:meth:`staging`),
        in batches, or from the query when staged in the store's own connection; ``advance``
        is told the rows stored; a store may seal ``source`` (them, unstandardized) instead."""
        reader = con.execute(select).fetch_record_batch(100_000)
        told = advance or (lambda _: None)

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                told(batch.num_rows)
                yield batch

        return self.append_filings(batches(), origin)

    @abstractmethod
    def loads(self) -> list[LoadRow]:
        """Every load of filings, oldest first."""

    @abstractmethod
    def filing_count(self) -> int: ...

    @abstractmethod
    def update_filing_index(self) -> None:
        """Bring the filing index (:mod:`taxgate.filing_index`) up to date with the stored
        filings: extended by what the loads since brought, built whole when missing.
        ``load`` calls it after storing filings; :meth:`matching_connection` too."""

    @abstractmethod
    def matching_connection(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection in which the table or view ``filings`` holds every
        standardized filing, and the tables of the filing index
        (:data:`taxgate.filing_index.TABLES`) cover exactly those filings. Matching runs
        here; it must not be used to write."""

    def lookup_cache(self) -> LookupCache | None:
        """Where this host keeps standardization's lookup tables for the store between
        processes (:mod:`taxgate.standardize.lookup_cache`); None: built in each one."""
        return None

    # --- the trained model -----------------------------------------------------------
    @abstractmethod
    def save_model(self, version: str, model_json: str, filing_count: int | None = None
                   ) -> None:
        """Store a trained model under ``version`` (trained on ``filing_count`` filings);
        it becomes the current one (saved again, an existing version becomes current)."""

    @abstractmethod
    def models(self) -> list[ModelRow]:
        """Every stored model version, the current one first (newest trained first)."""

    @abstractmethod
    def current_model(self) -> tuple[str, str] | None:
        """(version, Splink model JSON) of the latest trained model, or None."""

    # --- requests and decisions ---------------------------------------------------------
    @abstractmethod
    def find_request(self, request_id: str) -> StoredRequest | None:
        """The request stored under ``request_id``, whichever agency sent it: a request_id
        is taken once across agencies, and ``StoredRequest.agency`` says whose it is."""

    @abstractmethod
    def record_refusal(
        self, request_id: str, package_sha256: str, received_at: str, response_json: str,
        events: list[LedgerEvent], decisions: pa.Table, agency: str | None = None,
        evidence: Iterable[EvidencePart] = (),
    ) -> None:
        """Remember a refused request of ``agency``, its all-REJECTED response and decision
        rows (so a replay can give the same results.csv), and log ``events``; one
        transaction. If ``request_id`` is already stored, only ``events`` are logged.
        ``evidence``: the package's parts, kept with it (R3)."""

    @abstractmethod
    def commit_request(self, outcome: RequestOutcome) -> bool:
        """In ONE transaction: store the decisions, the response and the ledger events.

        Exactly once: if the request is already COMPLETE, nothing is written and False
        is returned (a concurrent or earlier run won); otherwise True.
        """

    @abstractmethod
    def decisions(self, request_id: str) -> pa.Table: ...

    # --- ledger -------------------------------------------------------------------------
    @abstractmethod
    def append_events(self, events: list[LedgerEvent], *, rebase_anchor: bool = False) -> None:
        """Append events to the hash chain in their own transaction. ``rebase_anchor``:
        the events record an incident, so the head anchor starts afresh after them
        (taxgate/integrity.py); every other commit publishes the head after checking it."""

    @abstractmethod
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]:
        """Every entry with seq > after_seq, in order, streamed."""

    @abstractmethod
    def ledger_head(self) -> LedgerEntry | None:
        """The entry with the highest seq (None: the ledger is empty); one indexed read."""

    @abstractmethod
    def ledger_entry(self, seq: int) -> LedgerEntry | None:
        """The entry at ``seq``, if the ledger holds one; one indexed read."""

    # --- the ledger's Merkle tree (store/tree_sql.py, taxgate/ledger_tree.py) ----------
    @abstractmethod
    def ledger_range(self, first: int, last: int) -> list[LedgerEntry]:
        """The entries with ``first <= seq <= last``, in order."""

    @abstractmethod
    def ledger_tree_count(self, level: int) -> int:
        """How many consecutive Merkle tree nodes of ``level`` are stored."""

    @abstractmethod
    def ledger_tree_nodes(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored Merkle tree nodes among ``keys`` (level, index)."""

    @abstractmethod
    def save_ledger_tree(self, nodes: list[tuple[int, int, bytes]]) -> None:
        """Store Merkle tree nodes (level, index, hash); one already stored is kept."""

    # --- the service: credentials, jobs, review (store/service_sql.py) ------------------
    @abstractmethod
    def seal_bytes(self, label: str, data: bytes) -> bytes:
        """Encrypt ``data`` under the at-rest key, bound to ``label`` (AES-256-GCM)."""

    @abstractmethod
    def unseal_bytes(self, label: str, blob: bytes) -> bytes: ...

    @abstractmethod
    def add_api_credential(self, cred: ApiCredential, actor: str) -> None:
        """Store a new credential and revoke the agency's others; logged (R33)."""

    @abstractmethod
    def api_credential(self, cred_id: str) -> ApiCredential | None: ...

    @abstractmethod
    def api_credentials(self, agency: str | None = None) -> list[ApiCredential]:
        """Every credential (live and revoked), of one agency when given."""

    @abstractmethod
    def revoke_api_credential(self, cred_id: str, at: str, actor: str) -> None:
        """Revoke one credential; logged. NotFound / Conflict (already revoked)."""

    @abstractmethod
    def add_user(self, user: UserAccount, actor: str) -> None:
        """Create a web account; logged (R33). Conflict when the name is taken: an
        account is never silently replaced."""

    @abstractmethod
    def users(self) -> list[UserAccount]: ...

    @abstractmethod
    def change_user(self, username: str, actor: str, **change: str | None) -> None:
        """Set ``disabled_at``, ``salt`` + ``hash`` (a new password) or ``role`` +
        ``agency`` of an account; logged (R33). NotFound when there is no such user."""

    @abstractmethod
    def user(self, username: str) -> UserAccount | None: ...

    @abstractmethod
    def set_mfa(self, mfa: UserMfa | None, username: str, events: list[LedgerEvent]) -> None:
        """Enrol or replace (None: remove) a web account's second factor, with its events."""

    @abstractmethod
    def mfa(self, username: str) -> UserMfa | None: ...

    @abstractmethod
    def save_job(self, job: JobRow) -> None:
        """Insert or update a job row."""

    @abstractmethod
    def job(self, job_id: str) -> JobRow | None: ...

    @abstractmethod
    def jobs(self, states: tuple[str, ...] | None = None, agency: str | None = None
             ) -> list[JobRow]:
        """Jobs in submission order, optionally only some states or one agency."""

    @abstractmethod
    def add_review_items(self, items: list[ReviewItem]) -> int:
        """Hold REVIEW records for officers; ones already held are left alone."""

    @abstractmethod
    def review_items(self, request_id: str | None = None) -> list[ReviewItem]: ...

    @abstractmethod
    def review_decisions(self, request_id: str | None = None) -> list[ReviewDecision]: ...

    @abstractmethod
    def propose_decision(self, decision: ReviewDecision, events: list[LedgerEvent]) -> None:
        """Record (or replace) a proposal not yet released, and log ``events``."""

    @abstractmethod
    def send_back(self, proposal: ReviewDecision, actor: str, at: str, reason: str,
                  note: str | None, events: list[LedgerEvent]) -> bool:
        """In ONE transaction: withdraw ``proposal`` (not released, and still that one),
        add a SENT_BACK step to the record's history and log ``events``. False (nothing
        written) when the record's proposal is no longer ``proposal``."""

    @abstractmethod
    def review_history(self, request_id: str, row_number: int | None = None
                       ) -> list[ReviewStep]:
        """The steps of a request's REVIEW records (or one record's), oldest first."""

    @abstractmethod
    def commit_follow_up(self, follow_up: FollowUp, rows: list[int], released_by: str,
                         events: list[LedgerEvent],
                         proposal: ReviewDecision | None = None) -> bool:
        """In ONE transaction: mark ``rows`` released, store the follow-up response and
        log ``events``. False (nothing written) if any row was already released, or, with
        ``proposal``, if a row's proposal is no longer that one (outcome, reason, proposer,
        time): a release binds the proposal the releaser saw."""

    @abstractmethod
    def follow_ups(self, request_id: str) -> list[FollowUp]: ...

    # --- the evidence kept (R3, R30; store/evidence_sql.py) ------------------------------
    @abstractmethod
    def keep_evidence(self, parts: Iterable[EvidencePart],
                      events: list[LedgerEvent] | None = None) -> None:
        """Seal and keep ``parts`` (a part already kept stays) and log ``events``; one
        transaction. A request's package is kept by :meth:`commit_request`."""

    @abstractmethod
    def kept_parts(self, kind: str, ref: str) -> Iterator[bytes]:
        """The parts kept under (kind, ref), opened, in order (none: nothing kept)."""

    @abstractmethod
    def kept(self, kind: str, ref: str) -> bytes | None: ...

    @abstractmethod
    def purge_evidence(self, now: str,
                       events: Callable[[list[str]], list[LedgerEvent]]) -> list[str]:
        """Delete the parts expired before ``now``; log ``events(refs)``; one transaction."""

    @abstractmethod
    def model_json(self, version: str) -> str | None:
        """The model stored under ``version``: every version trained is kept."""

    @abstractmethod
    def stored_requests(self) -> list[StoredRequest]:
        """Every stored request, oldest received first."""
