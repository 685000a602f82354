"""The one errors tree: every error class of the package in it, with its exit code and
HTTP status, and the CLI and the HTTP API reporting through it (real CLI processes, a
real app on a real store)."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest
from e2e import taxgate

import taxgate as package
from taxgate import errors
from taxgate.api.problems import problem_of
from taxgate.errors import TaxgateError, classify


def _package_modules() -> list[str]:
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if not info.name.endswith("__main__"):  # running a module is not importing it
            names.append(info.name)
    return names


def _exception_classes() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for name in _package_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("taxgate"):
                found.add(obj)
    return found


def test_every_error_class_of_the_package_is_in_the_one_tree():
    """Walk every module: each exception class taxgate declares is declared in
    taxgate.errors, under TaxgateError, with an exit code, an HTTP status and a code."""
    classes = _exception_classes()
    assert errors.RequestRefused in classes and errors.StoreBusy in classes
    for cls in classes:
        assert cls.__module__ == "taxgate.errors", f"{cls.__qualname__} outside the tree"
        assert issubclass(cls, TaxgateError), cls
        assert cls.exit_code in set(errors.ExitCode), cls
        assert 400 <= cls.http_status <= 599, cls
        assert problem_of(cls).status == cls.http_status, cls  # api/problems.py's code


def test_the_tree_drawn_in_the_docstring_is_the_tree():
    """The module docstring's table names each class with its exit code and status."""
    drawn = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(
        r"^[\s│├└─]*(\w+)\s+(\d)\s+(\d{3})\b", errors.__doc__ or "", re.MULTILINE)}
    tree = {c.__name__: (c.exit_code, c.http_status) for c in vars(errors).values()
            if inspect.isclass(c) and issubclass(c, TaxgateError)}
    assert drawn == tree


@pytest.mark.parametrize(("exc", "exit_code", "status", "code"), [
    (errors.BadInput("x"), 2, 400, "INVALID_REQUEST"),
    (errors.RequestRefused("MANIFEST_MALFORMED", "x"), 2, 400, "REQUEST_REFUSED"),
    (errors.NotFound("x"), 2, 404, "NOT_FOUND"),
    (errors.LoginRequired("x"), 3, 403, "FORBIDDEN"),
    (errors.KeyUnavailable("x"), 2, 500, "STORE_UNAVAILABLE"),
    (errors.StoreBusy("x"), 6, 503, "STORE_BUSY"),
    (errors.NotSetUp("x"), 5, 500, "STORE_UNAVAILABLE"),
    (errors.Conflict("x"), 3, 409, "CONFLICT"),
    (errors.NotAllowed("x"), 3, 403, "FORBIDDEN"),
    (errors.Unauthorized("x"), 3, 401, "UNAUTHORIZED"),
    (errors.TooMany("x"), 6, 429, "TOO_MANY_ATTEMPTS"),
    (errors.LedgerBroken("x"), 4, 503, "LEDGER_INTEGRITY"),
    (errors.ResponseSchemaError("x"), 1, 500, "INTERNAL"),
    (KeyError("x"), 1, 500, "INTERNAL"),
])
def test_classify_gives_the_contract_exit_code_and_status(exc, exit_code, status, code):
    kind = classify(exc)
    assert (kind.exit_code, kind.http_status, problem_of(kind).code) == (exit_code, status, code)
    assert kind.shown is not (code == "INTERNAL")


# --- the CLI: one line on stderr, the contract's exit code -------------------------------------


def test_cli_bad_input_is_exit_2_with_one_line(tmp_path: Path):
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    run = taxgate("officials", "add", "o-1", "--agency", "DHS-ICE", "--title", "Director",
                  "--public-key", str(key), "--valid-from", "soon", store=str(tmp_path / "s"))
    assert run.code == 2
    assert run.stderr == "taxgate: --valid-from/--valid-to must be YYYY-MM-DD dates\n"


def test_cli_a_store_that_is_not_there_is_exit_5_never_a_traceback(tmp_path: Path):
    run = taxgate("officials", "list", store=str(tmp_path / "missing"))
    assert run.code == errors.ExitCode.NOT_SET_UP and run.stderr.startswith("taxgate: ")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_r28_cli_integrity_error_is_exit_4(tmp_path: Path):
    """R28: a head anchor line not signed by the gateway fails verification: exit 4."""
    from taxgate import anchor
    from taxgate.canonical import new_signing_key
    from taxgate.settings import Settings

    store = str(tmp_path / "s")
    assert taxgate("init", store=store).code == 0
    forged = anchor.signed_line(new_signing_key(), anchor.HEAD, 9, "0" * 64,
                                "2026-12-03T00:00:00.000000Z")
    with Settings(store=store).anchor_path.open("ab") as f:
        f.write(forged.to_bytes())
    run = taxgate("ledger", "verify", store=store)
    assert run.code == 4, run.stderr
    assert run.stderr.startswith("taxgate: ") and "Traceback" not in run.stderr


# --- HTTP: the status and problem-details body the tree names --------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from taxgate.api import create_app
    from taxgate.canonical import new_data_key
    from taxgate.gateway import Gateway
    from taxgate.settings import ServiceSettings, Settings

    root = tmp_path_factory.mktemp("errors-http")
    settings = Settings(store=str(root / "store"), key_hex=new_data_key())
    with Gateway(settings) as gw:
        gw.init()
        token = gw.issue_credential("DHS-ICE")
    app = create_app(replace(settings, service=ServiceSettings(
        spool_dir=root / "spool", max_upload_bytes=10_000)))
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _upload(client, manifest: bytes):  # noqa: ANN001, ANN202
    return client.post("/v1/jobs", files={"manifest": ("manifest.json", manifest),
                                           "records": ("records.csv", b"record_id\n")})


def test_http_unauthorized_is_401_with_its_code(client):
    r = client.get("/v1/jobs", headers={"Authorization": "Bearer tg_nope.nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {"type": "/problems#UNAUTHORIZED", "title": "Credential required",
                        "status": 401, "code": "UNAUTHORIZED",
                        "detail": "missing, unknown or revoked API credential"}


def test_http_not_found_is_404(client):
    r = client.get("/v1/jobs/job-none")
    assert (r.status_code, r.json()["code"], r.json()["detail"]) == (404, "NOT_FOUND",
                                                                    "no such job")


def test_http_bad_input_is_400(client):
    r = client.get("/v1/jobs", params={"cursor": "@@"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_REQUEST")


def test_http_an_upload_not_multipart_is_415(client):
    r = client.post("/v1/jobs", content=b"{}", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_http_too_large_is_413(client):
    r = client.post("/v1/jobs", content=b"x" * 20_000,
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert (r.json()["code"], r.json()["detail"]) == ("PAYLOAD_TOO_LARGE",
                                                      "upload exceeds 10000 bytes")


def test_http_a_repeated_json_key_is_400_duplicate_json_key(client):
    r = _upload(client, b'{"requesting_agency": "DHS-ICE", "requesting_agency": "X"}')
    assert r.status_code == 400
    assert (r.json()["code"], r.json()["detail"]) == (
        "DUPLICATE_JSON_KEY", "a JSON object in the upload names one key twice")


def test_http_another_agency_is_403(client):
    r = _upload(client, json.dumps({"requesting_agency": "DHS-CBP"}).encode())
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")


def test_http_a_manifest_only_intake_refuses_is_accepted_for_intake_to_answer(client):
    """Long numbers, deep nesting and NaN are for intake to refuse with a reason code:
    the API's first look refuses repeated keys only."""
    deep = b'{"requesting_agency": "DHS-ICE", "n": ' + b"[" * 20 + b"1" * 30 + b"]" * 20 + b"}"
    for manifest in (deep, b'{"requesting_agency": "DHS-ICE", "n": NaN}'):
        assert _upload(client, manifest).status_code == 202


def test_every_exit_code_is_documented_and_the_contract_codes_keep_their_meaning():
    """docs/cli.md has one row per ExitCode; 0, 1 and 2 are the contract's (§4)."""
    page = (Path(__file__).parents[1] / "docs/cli.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d) \| ([A-Z_]+) \|", page, re.MULTILINE))
    assert rows == {str(int(c)): c.name for c in errors.ExitCode}
    assert (errors.ExitCode.OK, errors.ExitCode.INTERNAL, errors.ExitCode.BAD_INPUT) == (0, 1, 2)
    assert errors.RequestRefused.exit_code == errors.BadInput.exit_code == 2
    assert errors.InternalError.exit_code == 1
    assert len(set(errors.ExitCode)) == len(errors.ExitCode.__members__)
