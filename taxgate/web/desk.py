"""The review desk's pages: the queue (count, filters, sort, next), one record beside
its candidates with why it was held and the model's evidence in words, and the
decisions: propose (reviewer), release or send back (releaser, another person).

A proposal or send-back names a reason code of docs/review-reasons.md and may carry a
note, screened of taxpayer values by the gateway; when it is refused, the page comes
back with the officer's choice and note kept, and the reason in words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from taxgate.errors import BadInput
from taxgate.gateway.desk_queue import SORTS, STATES, QueueFilter, next_for
from taxgate.gateway.review import FINAL
from taxgate.review_reasons import DECISION_REASONS, REVIEW_REASONS, SEND_BACK, decision_reasons
from taxgate.web.routes import SessionDep, _check_csrf, _gateway, _locked, _role, render

desk_router = APIRouter(include_in_schema=False)
_FILTERS = ("agency", "request_id", "min_age_days", "held_why", "state", "sort")


def _filters(request: Request) -> QueueFilter:
    """The queue's filters from the query string (unknown values ignored)."""
    q = request.query_params
    age = q.get("min_age_days", "")
    return QueueFilter(
        agency=q.get("agency") or None, request_id=q.get("request_id") or None,
        min_age_days=int(age) if age.isdigit() else None,
        held_why=q.get("held_why") if q.get("held_why") in REVIEW_REASONS else None,
        state=q.get("state") if q.get("state") in STATES else None,
        sort=sort if (sort := q.get("sort", "")) in (*SORTS, "newest") else "oldest")


def _query(f: QueueFilter) -> str:
    """The filters as a query string, to carry them from page to page."""
    pairs = {k: getattr(f, k) for k in _FILTERS}
    return urlencode({k: v for k, v in pairs.items() if v not in (None, "", "oldest")})


def _reasons() -> dict[str, list[Any]]:
    return {o: decision_reasons(o) for o in (*FINAL, SEND_BACK)}


@desk_router.get("/review")
def review_queue(request: Request, s: SessionDep) -> Response:
    p = _role(s, "reviewer", "releaser")
    f = _filters(request)
    with _locked(request):
        everything = _gateway(request).review_queue()
    shown = f.apply(everything)
    return render(request, "review_queue.html", entries=shown, total=len(everything),
                  waiting=sum(1 for e in shown if e.state != "RELEASED"), f=f,
                  query=_query(f), agencies=sorted({e.agency for e in everything}),
                  held_codes=list(REVIEW_REASONS), states=STATES,
                  sorts=[*SORTS, "newest"], has_next=next_for(p, shown) is not None,
                  none_left=request.query_params.get("none_left") == "1")


@desk_router.get("/review/next")
def review_next(request: Request, s: SessionDep, after_request_id: str | None = None,
                after_row: int | None = None) -> Response:
    """The next record this officer can act on, in the filtered queue's order."""
    p = _role(s, "reviewer", "releaser")
    f = _filters(request)
    with _locked(request):
        entries = _gateway(request).review_queue(filters=f)
    after = (after_request_id, after_row) if after_request_id and after_row else None
    e = next_for(p, entries, after)
    if e is None:
        return RedirectResponse(f"/review?{_query(f)}&none_left=1", status_code=303)
    target = urlencode({"request_id": e.request_id, "row": e.row_number})
    return RedirectResponse(f"/review/item?{target}&{_query(f)}", status_code=303)


def _item_page(request: Request, s: SessionDep, request_id: str, row: int, *,
               status: int = 200, error: str = "", typed: dict[str, str] | None = None
               ) -> Response:
    p = _role(s, "reviewer", "releaser")
    with _locked(request):
        view = _gateway(request).view_item(p, request_id, row)
    f = _filters(request)
    after = urlencode({"after_request_id": request_id, "after_row": row})
    return render(request, "review_item.html", status=status, v=view, finals=FINAL,
                  reasons=_reasons(), error=error, typed=typed or {}, query=_query(f),
                  words={c: r.words for c, r in DECISION_REASONS.items()},
                  next_url=f"/review/next?{after}&{_query(f)}")


@desk_router.get("/review/item")
def review_item(request: Request, s: SessionDep, request_id: str, row: int) -> Response:
    return _item_page(request, s, request_id, row)


def _refused(request: Request, s: SessionDep, request_id: str, row: int,
             decide: Callable[[], object], typed: dict[str, str]) -> Response | None:
    """Run ``decide``; when it is refused as bad input (a reason code missing, a note
    with a taxpayer value), the record's page again, with what the officer chose and
    typed kept and the refusal in words (None: it was recorded)."""
    try:
        with _locked(request):
            decide()
    except BadInput as exc:
        return _item_page(request, s, request_id, row, status=400, error=str(exc),
                          typed=typed)
    return None


@desk_router.post("/review/propose")
def review_propose(request: Request, s: SessionDep,
                   request_id: Annotated[str, Form(max_length=200)],
                   row: Annotated[int, Form()],
                   csrf: Annotated[str, Form(max_length=100)],
                   outcome: Annotated[str, Form(max_length=20)] = "",
                   reason: Annotated[str, Form(max_length=60)] = "",
                   note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    _check_csrf(s, csrf)
    p = _role(s, "reviewer")
    refused = _refused(request, s, request_id, row,
                       lambda: _gateway(request).propose(p, request_id, row, outcome, reason,
                                                         note or None),
                       {"outcome": outcome, "reason": reason, "note": note})
    if refused is not None:
        return refused
    query = _query(_filters(request))
    return RedirectResponse(f"/review?{query}" if query else "/review", status_code=303)


@desk_router.post("/review/release")
def review_release(request: Request, s: SessionDep,
                   request_id: Annotated[str, Form(max_length=200)],
                   row: Annotated[int, Form()],
                   proposal: Annotated[str, Form(max_length=100)],
                   csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Release the proposal the page showed (its digest in ``proposal``), no other."""
    _check_csrf(s, csrf)
    p = _role(s, "releaser")
    with _locked(request):
        fu = _gateway(request).release(p, request_id, row, proposal)
    return render(request, "released.html", fu=fu, action="released")


@desk_router.post("/review/send-back")
def review_send_back(request: Request, s: SessionDep,
                     request_id: Annotated[str, Form(max_length=200)],
                     row: Annotated[int, Form()],
                     proposal: Annotated[str, Form(max_length=100)],
                     csrf: Annotated[str, Form(max_length=100)],
                     reason: Annotated[str, Form(max_length=60)] = "",
                     note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Send the proposal the page showed back to the reviewers, with a reason code."""
    _check_csrf(s, csrf)
    p = _role(s, "releaser")
    refused = _refused(request, s, request_id, row,
                       lambda: _gateway(request).send_back(p, request_id, row, proposal,
                                                           reason, note or None),
                       {"send_back_reason": reason, "send_back_note": note})
    if refused is not None:
        return refused
    return render(request, "released.html", fu=None, action="sent back",
                  request_id=request_id, row=row)
