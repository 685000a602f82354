"""The OpenAPI document as published at ``/openapi.json``: FastAPI's, with the
integration guide (docs/integration.md) as its description, every error answered as
``application/problem+json`` (:class:`~taxgate.api.models.ProblemDetails`; validation
errors 400, never FastAPI's 422), ``Retry-After`` declared on 409, 429 and 503, and the
agencies' bearer scheme (``bearer``) on every route that needs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from taxgate.api.models import ProblemDetails
from taxgate.api.problems import PROBLEMS, RETRY_AFTER

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integration.md"
_INTRO = ("Confirm-only address verification gateway: agencies submit signed request "
          "packages and receive signed responses (CONFIRMED / NOT_CONFIRMED / REJECTED / "
          "REVIEW per record). Errors are RFC 9457 problem details; their codes are listed "
          "at `/problems` (docs/problems.md).")
_REF = "#/components/schemas/ProblemDetails"


def description() -> str:
    """The intro, then the integration guide when the project's docs are beside the code."""
    if GUIDE.is_file():
        return _INTRO + "\n\n" + GUIDE.read_text(encoding="utf-8")
    return _INTRO + " The integration guide is docs/integration.md of the project."


def _problems(status: int) -> str:
    return " / ".join(f"`{p.code}`" for p in PROBLEMS.values() if p.status == status)


def _as_problem(status: int, response: dict[str, Any]) -> None:
    response["description"] = _problems(status) or response.get("description", "error")
    response["content"] = {"application/problem+json": {"schema": {"$ref": _REF}}}
    if status in RETRY_AFTER:
        response.setdefault("headers", {})["Retry-After"] = {
            "description": "seconds to wait before retrying", "schema": {"type": "integer"}}


def build(app: FastAPI) -> dict[str, Any]:
    """The published document."""
    schema = get_openapi(title=app.title, version=app.version, description=description(),
                         routes=app.routes, tags=[
                             {"name": "agencies", "description": "Requests and responses."},
                             {"name": "operations", "description": "Health, readiness, "
                              "metrics and the error codes."}])
    for item in schema.get("paths", {}).values():
        for op in item.values():
            responses = op.get("responses", {})
            responses.pop("422", None)
            if op.get("parameters") or op.get("requestBody"):
                responses.setdefault("400", {})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    _as_problem(int(code), response)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["ProblemDetails"] = ProblemDetails.model_json_schema(
        ref_template="#/components/schemas/{model}")
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`build`'s document (built once) at ``/openapi.json``."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
