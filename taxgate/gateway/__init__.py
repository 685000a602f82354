"""The gateway: the one core object, :class:`Gateway`, that every shell and test holds.

``with Gateway(settings) as gw:`` owns the store (opened on first use, closed when the
block ends), the lock that lets one thread use it at a time, and every use case as a
method: ``init``, ``add_official``/``officials``, ``load``, ``process``; accounts
(``issue_credential``, ``check_api_token``, ``add_user``, ``check_password``); the review
desk (``review_queue``, ``view_item``, ``propose``, ``release``, ``follow_ups``,
``write_follow_up``); audit (``verify_ledger``, ``record_incident``, ``accounting``,
``annual_report``, ``public_report``, ``certifications``, ``certify``, ``oversight``);
and ``jobs``, the HTTP API's job worker.

``core``       the Gateway itself: the store, its lock, one method per use case
``accounts``   salted hashes of agency API secrets and officers' passwords, roles, the
               API's credential check and the sign-in throttle
``jobs``       request packages spooled to disk, a worker thread, resume after restart
``review``     the REVIEW queue, what an officer may see (logged), two-person decisions,
               follow-up responses
``oversight``  the auditors' figures, computed from the ledger
``incidents``  the incident alerts a processed request raises (R39)

The CLI (:mod:`taxgate.cli`), the HTTP API (:mod:`taxgate.api`) and the web pages
(:mod:`taxgate.web`) are shells over a Gateway; below it lie the orchestrator
(:mod:`taxgate.pipeline`), the accounting (:mod:`taxgate.accounting`) and the store.
"""

from taxgate.gateway.core import Gateway

__all__ = ["LEDGER_REMEDY", "Gateway"]


def __getattr__(name: str) -> str:
    """``LEDGER_REMEDY``: what to do after an integrity failure, read from
    :mod:`taxgate.integrity` when asked for (a shell starts without the ledger's modules)."""
    if name == "LEDGER_REMEDY":
        from taxgate.integrity import REMEDY

        return REMEDY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
