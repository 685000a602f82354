"""The service's tables, one SQL text for both engines (migration 0002_service).

A mixin for :class:`EmbeddedStore` and :class:`PostgresStore`: each engine supplies
three hooks (``_svc_rows`` to read, ``_svc_tx`` to write in one transaction that may
also append ledger events, and ``_svc_prefix`` for its table names). Statements use
``?`` placeholders; the PostgreSQL hooks turn them into ``%s``. Nothing here holds
taxpayer data in clear: credentials are salted hashes, review records are sealed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import astuple, fields
from typing import TYPE_CHECKING, Any, TypeVar

from taxgate.canonical import decrypt_bytes, encrypt_bytes
from taxgate.domain import (
    ApiCredential,
    FollowUp,
    JobRow,
    LedgerEvent,
    LedgerItem,
    ReviewDecision,
    ReviewItem,
    ReviewStep,
    UserAccount,
    UserMfa,
)
from taxgate.errors import Conflict, NotFound, StoreError
from taxgate.ledger_events import AccessChanged, CredentialIssued, UserAdded, UserChanged

if TYPE_CHECKING:
    import pyarrow as pa

_R = TypeVar("_R")
Exec = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class ServiceTx:
    """What a write sees: run SQL (``?`` placeholders), append ledger events, and
    ``append_decided``: store a request's decision rows, then append events."""

    def __init__(self, execute: Exec, append: Callable[[list[LedgerEvent]], None],
                 append_decided: Callable[[str, pa.Table, Iterable[LedgerItem]], None]) -> None:
        self.execute = execute
        self.append = append
        self.append_decided = append_decided


# The review items' columns, each bound as one array: ``unnest`` of the arrays (zipped in
# step by DuckDB and PostgreSQL alike) makes the rows: 18,000 items of a large request
# in 0.63 to 0.68 s, where 500-row parameterised inserts, each value bound alone, took
# 0.9 to 1.25 s.
_ARRAY_OF = {"str": "TEXT[]", "int": "BIGINT[]", "bytes": "BYTEA[]"}  # by field type
_REVIEW_ARRAYS = ", ".join(f"unnest(?::{_ARRAY_OF[str(f.type)]})" for f in fields(ReviewItem))


def _cols(cls: type) -> str:
    return ", ".join(f.name for f in fields(cls))


def _marks(cls: type) -> str:
    return ", ".join("?" for _ in fields(cls))


def where_equal(column: str, value: str | None) -> tuple[str, list[Any]]:
    """An optional filter: `` WHERE column = ?`` and its parameter, or nothing."""
    return ("", []) if value is None else (f" WHERE {column} = ?", [value])


def _access(subject: str, name: str, action: str, actor: str) -> LedgerEvent:
    return AccessChanged(subject=subject, target=name, action=action, actor=actor).to_event()


def _user_change_event(before: UserAccount, actor: str, change: dict[str, str | None]
                       ) -> LedgerEvent:
    """USER_CHANGED for a new role, else ACCESS_CHANGED (disabled, enabled, new password)."""
    if "role" in change:
        return UserChanged(username=before.username, role=str(change["role"]),
                           agency=change.get("agency"), previous_role=before.role,
                           actor=actor).to_event()
    if "hash" in change:
        action = "PASSWORD_RESET"
    else:
        action = "ENABLED" if change.get("disabled_at") is None else "DISABLED"
    return _access("user", before.username, action, actor)


class ServiceTablesMixin:
    """Credentials, users, jobs, review items and decisions, follow-up responses."""

    _svc_prefix = ""

    # hooks -----------------------------------------------------------------------------
    def _svc_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _svc_tx(self) -> AbstractContextManager[ServiceTx]:
        raise NotImplementedError

    def _t(self, name: str) -> str:
        return self._svc_prefix + name

    def _key_hex(self) -> str:
        raise NotImplementedError

    # sealing (AES-256-GCM under the at-rest key; ``label`` is the associated data) --------
    def seal_bytes(self, label: str, data: bytes) -> bytes:
        return encrypt_bytes(self._key_hex(), data, label.encode("utf-8"))

    def unseal_bytes(self, label: str, blob: bytes) -> bytes:
        try:
            return decrypt_bytes(self._key_hex(), blob, label.encode("utf-8"))
        except Exception as exc:  # InvalidTag: moved or altered
            raise StoreError(f"sealed data {label} does not decrypt") from exc

    # one row -------------------------------------------------------------------------------
    def _insert(self, tx: ServiceTx, table: str, record: Any, suffix: str = "") -> None:
        """INSERT a record into the table whose columns are its fields, in their order
        (``suffix``: an ON CONFLICT clause, say)."""
        cls = type(record)
        tx.execute(f"INSERT INTO {self._t(table)} ({_cols(cls)}) VALUES ({_marks(cls)})"
                   + suffix, list(astuple(record)))

    def _find(self, cls: type[_R], table: str, key: str, value: str) -> _R | None:
        """The record of type ``cls`` whose ``key`` column is ``value``, if stored."""
        rows = self._svc_rows(f"SELECT {_cols(cls)} FROM {self._t(table)} WHERE {key} = ?",
                              [value])
        return cls(*rows[0]) if rows else None

    # credentials and users ---------------------------------------------------------------
    def add_api_credential(self, cred: ApiCredential, actor: str) -> None:
        event = CredentialIssued(agency=cred.agency, cred_id=cred.cred_id, actor=actor,
                                 revokes_others=True).to_event()
        with self._svc_tx() as tx:  # the agency's own, or that one person's, earlier ones
            tx.execute(f"UPDATE {self._t('api_credentials')} SET revoked_at = ? "
                       "WHERE agency = ? AND revoked_at IS NULL AND holder IS NOT DISTINCT "
                       "FROM ?", [cred.created_at, cred.agency, cred.holder])
            self._insert(tx, "api_credentials", cred)
            tx.append([event])

    def api_credential(self, cred_id: str) -> ApiCredential | None:
        return self._find(ApiCredential, "api_credentials", "cred_id", cred_id)

    def api_credentials(self, agency: str | None = None) -> list[ApiCredential]:
        where, params = where_equal("agency", agency)
        rows = self._svc_rows(f"SELECT {_cols(ApiCredential)} FROM "
                              f"{self._t('api_credentials')}{where} "
                              "ORDER BY agency, created_at, cred_id", params)
        return [ApiCredential(*r) for r in rows]

    def revoke_api_credential(self, cred_id: str, at: str, actor: str) -> None:
        t = self._t("api_credentials")
        with self._svc_tx() as tx:
            got = tx.execute(f"SELECT revoked_at FROM {t} WHERE cred_id = ?", [cred_id])
            if not got:
                raise NotFound("no API credential with that id")
            if got[0][0] is not None:
                raise Conflict("that API credential is already revoked")
            tx.execute(f"UPDATE {t} SET revoked_at = ? WHERE cred_id = ?", [at, cred_id])
            tx.append([_access("credential", cred_id, "REVOKED", actor)])

    def add_user(self, user: UserAccount, actor: str) -> None:
        event = UserAdded(username=user.username, role=user.role, agency=user.agency,
                          previous_role=None, actor=actor).to_event()
        with self._svc_tx() as tx:
            if tx.execute(f"SELECT 1 FROM {self._t('users')} WHERE username = ?",
                          [user.username]):
                raise Conflict(f"user {user.username} exists already: `taxgate users reset` "
                               "gives a new password, `taxgate users role` another role")
            self._insert(tx, "users", user)
            tx.append([event])

    def users(self) -> list[UserAccount]:
        rows = self._svc_rows(f"SELECT {_cols(UserAccount)} FROM {self._t('users')} "
                              "ORDER BY username")
        return [UserAccount(*r) for r in rows]

    def change_user(self, username: str, actor: str, **change: str | None) -> None:
        """Set some of a user's columns (``disabled_at``, ``salt`` and ``hash``, ``role``
        and ``agency``) and log the change; NotFound when there is no such user."""
        before = self.user(username)
        if before is None:
            raise NotFound("no such user")
        event = _user_change_event(before, actor, change)
        sets = ", ".join(f"{k} = ?" for k in change)
        with self._svc_tx() as tx:
            tx.execute(f"UPDATE {self._t('users')} SET {sets} WHERE username = ?",
                       [*change.values(), username])
            tx.append([event])

    def user(self, username: str) -> UserAccount | None:
        return self._find(UserAccount, "users", "username", username)

    # second factor (R36) -------------------------------------------------------------------
    def set_mfa(self, mfa: UserMfa | None, username: str, events: list[LedgerEvent]) -> None:
        """Enrol (or replace) a web account's second factor; None: remove it (reset)."""
        with self._svc_tx() as tx:
            tx.execute(f"DELETE FROM {self._t('user_mfa')} WHERE username = ?", [username])
            if mfa is not None:
                self._insert(tx, "user_mfa", mfa)
            tx.append(events)

    def mfa(self, username: str) -> UserMfa | None:
        rows = self._svc_rows(f"SELECT {_cols(UserMfa)} FROM {self._t('user_mfa')} "
                              "WHERE username = ?", [username])
        return UserMfa(rows[0][0], bytes(rows[0][1]), *rows[0][2:]) if rows else None

    # jobs ------------------------------------------------------------------------------------
    def save_job(self, job: JobRow) -> None:
        updates = ", ".join(f"{f.name} = EXCLUDED.{f.name}" for f in fields(JobRow)
                            if f.name not in ("job_id", "agency", "submitted_at"))
        with self._svc_tx() as tx:
            self._insert(tx, "jobs", job, f" ON CONFLICT (job_id) DO UPDATE SET {updates}")

    def job(self, job_id: str) -> JobRow | None:
        return self._find(JobRow, "jobs", "job_id", job_id)

    def jobs(self, states: tuple[str, ...] | None = None, agency: str | None = None
             ) -> list[JobRow]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        if agency is not None:
            where.append("agency = ?")
            params.append(agency)
        rows = self._svc_rows(f"SELECT {_cols(JobRow)} FROM {self._t('jobs')} WHERE "
                              f"{' AND '.join(where)} ORDER BY submitted_at, job_id", params)
        return [JobRow(*r) for r in rows]

    # review ----------------------------------------------------------------------------------
    def add_review_items(self, items: list[ReviewItem]) -> int:
        """Add the items not held yet (idempotent), in one statement."""
        t = self._t("review_items")
        with self._svc_tx() as tx:
            held: set[tuple[str, int]] = set()
            for rid in sorted({it.request_id for it in items}):
                held.update((rid, int(r[0])) for r in tx.execute(
                    f"SELECT row_number FROM {t} WHERE request_id = ?", [rid]))
            new = [it for it in items if (it.request_id, it.row_number) not in held]
            if new:
                tx.execute(f"INSERT INTO {t} ({_cols(ReviewItem)}) SELECT {_REVIEW_ARRAYS}",
                           [[getattr(it, f.name) for it in new] for f in fields(ReviewItem)])
        return len(new)

    def review_items(self, request_id: str | None = None) -> list[ReviewItem]:
        where, params = where_equal("request_id", request_id)
        rows = self._svc_rows(f"SELECT {_cols(ReviewItem)} FROM {self._t('review_items')}{where}"
                              " ORDER BY captured_at, request_id, row_number", params)
        return [ReviewItem(r[0], int(r[1]), r[2], r[3], r[4], bytes(r[5])) for r in rows]

    def review_decisions(self, request_id: str | None = None) -> list[ReviewDecision]:
        where, params = where_equal("request_id", request_id)
        rows = self._svc_rows(f"SELECT {_cols(ReviewDecision)} FROM "
                              f"{self._t('review_decisions')}{where} "
                              "ORDER BY request_id, row_number", params)
        return [ReviewDecision(r[0], int(r[1]), *r[2:]) for r in rows]

    def propose_decision(self, decision: ReviewDecision, events: list[LedgerEvent]) -> None:
        t = self._t("review_decisions")
        with self._svc_tx() as tx:
            row = tx.execute(f"SELECT released_by FROM {t} WHERE request_id = ? AND "
                             "row_number = ?", [decision.request_id, decision.row_number])
            if row and row[0][0] is not None:
                raise StoreError("this REVIEW record was already released")
            tx.execute(f"DELETE FROM {t} WHERE request_id = ? AND row_number = ?",
                       [decision.request_id, decision.row_number])
            self._insert(tx, "review_decisions", decision)
            self._step(tx, decision, "PROPOSED", decision.proposed_by, decision.proposed_at,
                       decision.outcome, decision.reason, decision.note)
            tx.append(events)

    def _step(self, tx: ServiceTx, d: ReviewDecision, action: str, actor: str, at: str,
              outcome: str | None, reason: str | None, note: str | None) -> None:
        """Append a step to a REVIEW record's history (in the caller's transaction)."""
        got = tx.execute(f"SELECT coalesce(max(step), 0) FROM {self._t('review_history')} "
                         "WHERE request_id = ? AND row_number = ?", [d.request_id, d.row_number])
        self._insert(tx, "review_history", ReviewStep(
            d.request_id, d.row_number, int(got[0][0]) + 1, action, actor, at, outcome,
            reason, note))

    def send_back(self, proposal: ReviewDecision, actor: str, at: str, reason: str,
                  note: str | None, events: list[LedgerEvent]) -> bool:
        t = self._t("review_decisions")
        with self._svc_tx() as tx:
            got = tx.execute(f"SELECT released_by, outcome, reason, proposed_by, proposed_at "
                             f"FROM {t} WHERE request_id = ? AND row_number = ?",
                             [proposal.request_id, proposal.row_number])
            if not got or got[0][0] is not None or tuple(got[0][1:]) != (
                    proposal.outcome, proposal.reason, proposal.proposed_by,
                    proposal.proposed_at):
                return False
            tx.execute(f"DELETE FROM {t} WHERE request_id = ? AND row_number = ?",
                       [proposal.request_id, proposal.row_number])
            self._step(tx, proposal, "SENT_BACK", actor, at, proposal.outcome, reason, note)
            tx.append(events)
        return True

    def review_history(self, request_id: str, row_number: int | None = None
                       ) -> list[ReviewStep]:
        sql = (f"SELECT {_cols(ReviewStep)} FROM {self._t('review_history')} "
               "WHERE request_id = ?")
        params: list[Any] = [request_id]
        if row_number is not None:
            sql += " AND row_number = ?"
            params.append(row_number)
        rows = self._svc_rows(sql + " ORDER BY row_number, step", params)
        return [ReviewStep(r[0], int(r[1]), int(r[2]), *r[3:]) for r in rows]

    def commit_follow_up(self, follow_up: FollowUp, rows: list[int], released_by: str,
                         events: list[LedgerEvent],
                         proposal: ReviewDecision | None = None) -> bool:
        t = self._t("review_decisions")
        with self._svc_tx() as tx:
            for row_number in rows:
                got = tx.execute(f"SELECT released_by, outcome, reason, proposed_by, proposed_at "
                                 f"FROM {t} WHERE request_id = ? AND row_number = ?",
                                 [follow_up.request_id, row_number])
                if not got or got[0][0] is not None:
                    return False
                if proposal is not None and tuple(got[0][1:]) != (
                        proposal.outcome, proposal.reason, proposal.proposed_by,
                        proposal.proposed_at):
                    return False
            taken = tx.execute(f"SELECT 1 FROM {self._t('follow_ups')} WHERE request_id = ? "
                               "AND seq = ?", [follow_up.request_id, follow_up.seq])
            if taken:
                return False
            for row_number in rows:
                tx.execute(f"UPDATE {t} SET released_by = ?, released_at = ?, follow_up_seq = ? "
                           "WHERE request_id = ? AND row_number = ?",
                           [released_by, follow_up.created_at, follow_up.seq,
                            follow_up.request_id, row_number])
                d = ReviewDecision(follow_up.request_id, row_number, "", "", "", "")
                self._step(tx, d, "RELEASED", released_by, follow_up.created_at, None, None,
                           None)
            self._insert(tx, "follow_ups", follow_up)
            tx.append(events)
        return True

    def follow_ups(self, request_id: str) -> list[FollowUp]:
        rows = self._svc_rows(f"SELECT {_cols(FollowUp)} FROM {self._t('follow_ups')} "
                              "WHERE request_id = ? ORDER BY seq", [request_id])
        return [FollowUp(r[0], int(r[1]), *r[2:]) for r in rows]

