"""The one list of error codes the HTTP API answers with, as RFC 9457 problem details.

Every error of the API is ``application/problem+json``: ``{"type", "title", "status",
"detail", "code"}`` and, for a refused request package, ``reason`` (its reason code,
docs/reason-codes.md) and ``instance`` (the job that holds its signed refusal). ``code``
is one of :data:`PROBLEMS`; ``type`` is ``/problems#<code>`` on the server (a page
listing them all, this list rendered). ``detail`` is one line that never repeats a
submitted or stored value.

An exception becomes its problem through :func:`problem_of`: the first class of its
tree (:mod:`taxgate.errors`) that :data:`_BY_CLASS` names, read up the class's
ancestry; the HTTP status is the class's own ``http_status`` (a test holds the two
equal). ``python -m taxgate.api.problems`` prints docs/problems.md.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from taxgate import errors


@dataclass(frozen=True)
class Problem:
    code: str
    status: int
    title: str
    meaning: str

    @property
    def type(self) -> str:
        return f"/problems#{self.code}"


_PROBLEMS = (
    Problem("INVALID_REQUEST", 400, "Invalid request",
            "A parameter, header or body is malformed or out of range (a query parameter, "
            "a multipart upload without exactly the parts `manifest` and `records`, a "
            "cursor not given by the server). Every validation error is answered 400, "
            "never 422; the detail names the field, never its value."),
    Problem("DUPLICATE_JSON_KEY", 400, "Duplicate JSON key",
            "The uploaded manifest names one key twice in a JSON object: refused before "
            "it is queued (parsers disagree on which value wins)."),
    Problem("REQUEST_REFUSED", 400, "Request refused",
            "The request package is refused as a whole at upload (a bad signature, an "
            "official not registered for the agency or not valid, a checksum or record "
            "count mismatch, a malformed manifest or records file, a request-level rule). "
            "`reason` holds its reason code; `instance` names the job that holds the "
            "signed all-REJECTED response (state REFUSED)."),
    Problem("UNAUTHORIZED", 401, "Credential required",
            "No API credential, or one that is not valid: send "
            "`Authorization: Bearer <credential>`."),
    Problem("FORBIDDEN", 403, "Not allowed",
            "The credential's agency may not do this, e.g. upload a package naming "
            "another requesting agency."),
    Problem("NOT_FOUND", 404, "Not found",
            "No such path, job, request or follow-up visible to this agency; a response "
            "past its retention period."),
    Problem("METHOD_NOT_ALLOWED", 405, "Method not allowed",
            "The path exists but not with this method."),
    Problem("CONFLICT", 409, "Not yet",
            "The state forbids it now: the job has not finished. Retry after the "
            "`Retry-After` seconds."),
    Problem("PAYLOAD_TOO_LARGE", 413, "Upload too large",
            "The upload exceeds the server's `max_upload_bytes`."),
    Problem("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported media type",
            "An upload that is not `multipart/form-data`."),
    Problem("TOO_MANY_ATTEMPTS", 429, "Too many failed attempts",
            "Too many failed authentications from this address or for this credential; "
            "retry after `Retry-After` seconds."),
    Problem("INTERNAL", 500, "Internal failure",
            "An unexpected failure; nothing was disclosed. The detail says no more."),
    Problem("STORE_UNAVAILABLE", 500, "Store unavailable",
            "The store cannot be opened, is not set up, or its at-rest key is missing."),
    Problem("NOT_DELIVERED", 500, "Committed, not delivered",
            "A request was committed but its response could not be written; the detail "
            "says how to fetch it again."),
    Problem("STORE_BUSY", 503, "Store busy",
            "The store is held by a running job; retry after `Retry-After` seconds."),
    Problem("SERVER_BUSY", 503, "Server busy",
            "Too many requests in progress; retry after `Retry-After` seconds."),
    Problem("LEDGER_INTEGRITY", 503, "Ledger integrity failure",
            "The ledger failed its last check and no incident has been recorded: nothing "
            "is disclosed until the operator records one (docs/ledger.md)."),
    Problem("NOT_READY", 503, "Not ready",
            "`/readyz`: the store cannot be reached, or is held by something other than "
            "a running job."),
)

PROBLEMS: dict[str, Problem] = {p.code: p for p in _PROBLEMS}

_BY_CLASS: dict[type[errors.TaxgateError], str] = {
    errors.DuplicateJsonKey: "DUPLICATE_JSON_KEY",
    errors.RequestRefused: "REQUEST_REFUSED",
    errors.NotAllowed: "FORBIDDEN",
    errors.NotFound: "NOT_FOUND",
    errors.Conflict: "CONFLICT",
    errors.TooLarge: "PAYLOAD_TOO_LARGE",
    errors.BadInput: "INVALID_REQUEST",
    errors.Unauthorized: "UNAUTHORIZED",
    errors.TooMany: "TOO_MANY_ATTEMPTS",
    errors.StoreBusy: "STORE_BUSY",
    errors.StoreError: "STORE_UNAVAILABLE",
    errors.NotDelivered: "NOT_DELIVERED",
    errors.IntegrityError: "LEDGER_INTEGRITY",
    errors.TaxgateError: "INTERNAL",
}

_BY_STATUS = {400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
              404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT",
              413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
              429: "TOO_MANY_ATTEMPTS", 503: "SERVER_BUSY"}

RETRY_AFTER = {409: "2", 429: "5", 503: "5"}  # seconds, sent with these statuses


def problem_of(kind: type[errors.TaxgateError]) -> Problem:
    """The problem an error class of the tree is answered with."""
    for cls in kind.__mro__:
        if cls in _BY_CLASS:
            return PROBLEMS[_BY_CLASS[cls]]  # type: ignore[index]
    return PROBLEMS["INTERNAL"]


def problem_for_status(status: int) -> Problem:
    """The problem of an HTTP error raised by the framework (no such route, method...)."""
    return PROBLEMS[_BY_STATUS.get(status, "INVALID_REQUEST" if status < 500 else "INTERNAL")]


def body(problem: Problem, detail: str, **extra: str) -> dict[str, object]:
    """The problem-details JSON object."""
    return {"type": problem.type, "title": problem.title, "status": problem.status,
            "detail": detail, "code": problem.code, **extra}


def render_markdown() -> str:
    """docs/problems.md: every code, its status and meaning."""
    lines = [
        "# API error codes (problem details)",
        "",
        "<!-- generated by `python -m taxgate.api.problems`; tests/test_api_http.py "
        "checks it -->",
        "",
        "Every error of the HTTP API is answered as RFC 9457 problem details, media type "
        "`application/problem+json`:",
        "",
        "```json",
        '{"type": "/problems#NOT_FOUND", "title": "Not found", "status": 404,',
        ' "detail": "no such job", "code": "NOT_FOUND"}',
        "```",
        "",
        "`code` is one of the codes below (`type` is `/problems#<code>` on the server, "
        "which serves this list at `/problems`). `detail` is one line that never repeats a "
        "submitted or stored value. A package refused at upload adds `reason` (its reason "
        "code, [reason-codes.md](reason-codes.md)) and `instance` (its job). 409, 429 and "
        "503 carry `Retry-After` (seconds).",
        "",
        "| code | status | title | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{p.code}` | {p.status} | {p.title} | {p.meaning} |" for p in _PROBLEMS]
    return "\n".join(lines) + "\n"


def render_html() -> str:
    """The list as the small page ``/problems`` serves (each code an anchor)."""
    rows = "".join(
        f'<tr id="{p.code}"><td><code>{p.code}</code></td><td>{p.status}</td>'
        f"<td>{html.escape(p.title)}</td><td>{html.escape(p.meaning)}</td></tr>"
        for p in _PROBLEMS)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>taxgate API error codes</title></head><body><h1>API error codes</h1>"
            "<table><tr><th>code</th><th>status</th><th>title</th><th>meaning</th></tr>"
            f"{rows}</table></body></html>")


if __name__ == "__main__":
    print(render_markdown(), end="")
