"""Generated request packages and the checks every answer must pass.

Shared by the suite (``tests/test_fuzz_packages.py``, a small fixed budget) and the
long run (``bench/fuzz_packages.py``, 10,000 packages and more). A :class:`FuzzWorld`
is a store with filings loaded and two agencies' officials registered (DHS-ICE and
DHS-CBP, each with its own key). :func:`packages` draws a package: a manifest (fields,
serialization, signature) and a records file (rows, header, encoding, line ends) with
the hostile cases of the intake review built in: empty, long and markup request ids,
CRLF, BOM, NUL, control and bidi characters, formula prefixes, huge numbers, deep
nesting, year 9999, duplicate keys, symlinks, missing files and cross-agency replays
of another agency's request id. :meth:`FuzzWorld.run` answers it through the real
command line (in-process, on the prepared store) and :func:`check` lists every way the
answer breaks the contract: an exit code other than 0 or 2, a traceback, no response,
a record of a readable records file not accounted for, another agency's answer.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from taxgate.canonical import (
    load_private_key_pem,
    load_public_key_pem,
    new_data_key,
    private_key_pem,
    public_key_pem,
    sign_object,
)
from taxgate.records import MAX_FILE_FIELD_BYTES, REQUEST_COLUMNS
from taxgate.records_csv import MAX_COLUMNS

AGENCIES = {"DHS-ICE": "ice-director", "DHS-CBP": "cbp-director"}
OUTCOMES = {"CONFIRMED", "NOT_CONFIRMED", "REJECTED", "REVIEW"}
SHARED_IDS = ("SHARED-0001", "SHARED-0002", "", "X" * 201)  # drawn by both agencies
# values a hostile or careless sender puts in text fields
NASTY = (
    "", " ", "[/bold]", "[red]x[/red]", "[link=file:///etc/passwd]x[/link]", "A\x00B", "\x00",
    "a\r\nb", "a\rb", "a\nb", "\u202eEVIL\u202c", "\u200b", "\ufeffX", "=HYPERLINK(\"x\")",
    "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "<script>alert(1)</script>", "%s%n%x", "{0}{1}",
    "${jndi:ldap://x}", "..\\..\\x", "../../etc/passwd", "ＲＯＳＡ", "JОSE", "JOSE.",
    "N/A", "UNKNOWN", ".", "00000", "9" * 400, "x" * 5000, "\x1b[31mred\x1b[0m", "\x7f",
    "\ud7ff", "\U0001f600", "O'BRIEN", '"QUOTED"', "a,b", "\u0301", "ǅ", "ß",
)


@dataclass
class Package:
    """One generated request package, before it is written to disk."""

    agency: str
    manifest: dict[str, Any]
    manifest_mode: str  # json, duplicate-key, bom, deep, not-json, missing, huge-number
    sign_mode: str  # valid, stale, none, other-official
    header: list[str]
    rows: list[list[str]]
    line_end: str
    bom: bool
    encoding: str  # utf-8, latin-1, raw
    raw_records: bytes | None  # used when encoding == raw
    records_mode: str  # file, missing, symlink, directory
    replay_of: int | None = None  # resubmit an earlier package (see FuzzWorld.run)
    replay_as_other_agency: bool = False

    def __repr__(self) -> str:  # what a failing example prints: short, no huge values
        return f"Package({self.describe()})"

    def describe(self) -> str:
        rid = self.manifest.get("request_id")
        return (f"agency={self.agency} request_id={rid!r:.60} manifest={self.manifest_mode} "
                f"sign={self.sign_mode} records={self.records_mode}/{self.encoding} "
                f"line_end={self.line_end!r} bom={self.bom} rows={len(self.rows)} "
                f"replay_of={self.replay_of} other_agency={self.replay_as_other_agency}")


# --- strategies ----------------------------------------------------------------------------

nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))


def _weighted(draw: st.DrawFn, *options: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """Draw from one of ``options`` chosen with the given integer weights."""
    pick = draw(st.integers(0, sum(w for w, _ in options) - 1))
    for w, strategy in options:
        if pick < w:
            return draw(strategy)
        pick -= w
    raise AssertionError("unreachable")


@st.composite
def request_ids(draw: st.DrawFn) -> Any:
    """Well-formed ids, the shared pool (both agencies draw it), and hostile values."""
    return _weighted(
        draw,
        (10, st.from_regex(r"[A-Z]{3}-20[0-9]{2}-[0-9]{1,6}", fullmatch=True)),
        (4, st.sampled_from(SHARED_IDS)),
        (3, nasty_text),
        (1, st.sampled_from([None, 0, 10**40, ["ID"], {"id": 1}, True])),
    )


@st.composite
def created_ats(draw: st.DrawFn) -> Any:
    now = dt.datetime.now(dt.UTC)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return draw(st.just((now - dt.timedelta(hours=1)).strftime(fmt))) \
        if draw(st.integers(0, 3)) else draw(st.one_of(
        st.sampled_from([
            "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2021-06-01T00:00:00Z",
            (now + dt.timedelta(days=400)).strftime(fmt), "2026-02-30T00:00:00Z",
            "2026-11-20T14:00:00", "yesterday", "", "2026-11-20T14:00:00+14:00",
        ]),
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31),
                     timezones=st.just(dt.UTC)).map(lambda d: d.isoformat()),
        st.sampled_from([None, 20261120, ["2026-11-20T14:00:00Z"]]),
    ))


def _deep(depth: int) -> Any:
    v: Any = 1
    for _ in range(depth):
        v = [v]
    return v


@st.composite
def manifests(draw: st.DrawFn, agency: str) -> dict[str, Any]:
    """A manifest with every field, then some fields replaced, dropped or added."""
    m: dict[str, Any] = {
        "contract_version": 1,
        "request_id": draw(request_ids()),
        "requesting_agency": agency,
        "signing_official": AGENCIES[agency],
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "criminal_statute": "8 U.S.C. 1253(a)(1)",
        "taxable_periods": [2023, 2024, 2025],
        "reason": "The listed people are under criminal investigation for failure to depart "
                  "after a final order of removal; an address is needed to locate them.",
        "created_at": draw(created_ats()),
        "records_file": "records.csv",
    }
    odd = {
        "contract_version": st.sampled_from([0, 2, "1", 1.0, None, -1, 10**30]),
        "taxable_periods": st.sampled_from([[], [9999], [2024, 2024], ["2024"], [10**30],
                                            "2024", None, [True], _deep(50)]),
        "records_file": st.sampled_from(["", ".", "..", "../records.csv", "/etc/passwd",
                                         "manifest.json", "records.csv\x00", "[/bold].csv",
                                         "RECORDS.CSV", "r" * 300, "sub/records.csv"]),
        "requesting_agency": st.sampled_from(["", "DHS-ICE ", "dhs-ice", "DHS\u2011ICE",
                                              "[/bold]", "DHS-CBP", "DHS-ICE"]),
        "signing_official": st.sampled_from(["", "cbp-director", "ice-director",
                                             "ice-director\u200b", "nobody"]),
        "reason": nasty_text,
        "legal_authority": nasty_text,
        "criminal_statute": st.sampled_from(["", "8 U.S.C. 1326", "[/bold]"]),
    }
    if draw(st.integers(0, 2)) == 0:
        name = draw(st.sampled_from(sorted(odd)))
        m[name] = draw(odd[name])
    if draw(st.integers(0, 9)) == 0:
        m.pop(draw(st.sampled_from(sorted(m))))
    if draw(st.integers(0, 14)) == 0:
        m[draw(nasty_text.filter(lambda k: k not in m))] = draw(nasty_text)
    return m


def _record_ids(draw: st.DrawFn, n: int) -> list[str]:
    ids = [f"R{i:08d}" for i in range(1, n + 1)]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        i = draw(st.integers(0, n - 1))
        ids[i] = draw(st.one_of(nasty_text, st.sampled_from(ids)))
    return ids


@st.composite
def records(draw: st.DrawFn, base: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """A header and rows drawn from real request records, some cells made hostile."""
    header = list(REQUEST_COLUMNS)
    mode = draw(st.sampled_from(["as-is"] * 15 + ["drop", "dup", "markup", "shuffle", "extra"]))
    if mode == "drop":
        header.remove(draw(st.sampled_from(header)))
    elif mode == "dup":
        header.append(draw(st.sampled_from(header)))
    elif mode == "markup":
        header.append(draw(st.sampled_from(["[/bold]", "[red]x", "=cmd", "\x00", "", " "])))
    elif mode == "shuffle":
        header = draw(st.permutations(header))
    elif mode == "extra":
        header.append("notes")
    n = draw(st.integers(1, 6))
    picks = draw(st.lists(st.integers(0, len(base) - 1), min_size=n, max_size=n))
    ids = _record_ids(draw, n)
    rows = []
    for rid, i in zip(ids, picks, strict=True):
        src = {**base[i], "record_id": rid}
        row = [src.get(c, "x") for c in header]
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
            col = draw(st.integers(0, len(row) - 1))
            row[col] = draw(st.one_of(nasty_text, st.sampled_from(
                ["9999-12-31", "0000-00-00", "2026-02-30", "1900-01-01", "99999-01-01"])))
        if draw(st.integers(0, 19)) == 0:  # a short or long row
            row = row[: draw(st.integers(0, len(row)))] if draw(st.booleans()) else row + ["x"]
        rows.append(row)
    return header, rows


@st.composite
def packages(draw: st.DrawFn, base: list[dict[str, str]]) -> Package:
    agency = draw(st.sampled_from(sorted(AGENCIES)))
    if draw(st.integers(0, 7)) == 0:
        return Package(agency, {}, "json", "valid", [], [], "\n", False, "utf-8", None, "file",
                       replay_of=draw(st.integers(0, 10**6)),
                       replay_as_other_agency=draw(st.booleans()))
    header, rows = draw(records(base))
    encoding = draw(st.sampled_from(["utf-8"] * 20 + ["latin-1", "raw"]))
    raw = draw(st.binary(max_size=300)) if encoding == "raw" else None
    return Package(
        agency=agency,
        manifest=draw(manifests(agency)),
        manifest_mode=draw(st.sampled_from(
            ["json"] * 24 + ["duplicate-key", "bom", "deep", "not-json", "missing",
                             "huge-number", "crlf-pretty", "nul"])),
        sign_mode=draw(st.sampled_from(["valid"] * 12 + ["stale", "none", "other-official"])),
        header=header, rows=rows,
        line_end=draw(st.sampled_from(["\n"] * 5 + ["\r\n", "\r"])),
        bom=draw(st.integers(0, 6)) == 0,
        encoding=encoding, raw_records=raw,
        records_mode=draw(st.sampled_from(["file"] * 20 + ["missing", "symlink", "directory"])),
    )


# --- writing a package -------------------------------------------------------------------


def records_bytes(p: Package) -> bytes:
    if p.encoding == "raw":
        return p.raw_records or b""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=p.line_end)
    w.writerow(p.header)
    w.writerows(p.rows)
    text = ("\ufeff" if p.bom else "") + buf.getvalue()
    return text.encode(p.encoding, errors="replace")


def _manifest_bytes(m: dict[str, Any], mode: str, agency: str) -> bytes | None:
    if mode == "missing":
        return None
    if mode == "not-json":
        return b'{"contract_version": 1, "request_id": '
    if mode == "deep":
        return json.dumps({k: v for k, v in m.items() if k != "reason"})[:-1].encode() + (
            b', "reason": ' + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"}")
    if mode == "huge-number":
        rest = json.dumps({k: v for k, v in m.items() if k != "record_count"})
        return rest[:-1].encode() + b', "record_count": ' + b"9" * 5000 + b"}"
    text = json.dumps(m, ensure_ascii=False, indent=1 if mode == "crlf-pretty" else None)
    if mode == "crlf-pretty":
        text = text.replace("\n", "\r\n")
    if mode == "duplicate-key":  # the first value differs from the signed (last) one
        text = '{"requesting_agency": ' + json.dumps(_other(agency)) + ", " + text[1:]
    if mode == "nul":
        text = text.replace('"reason": "', '"reason": "\\u0000', 1)
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if mode == "bom" else data


# --- the world and the run -----------------------------------------------------------------


@dataclass
class Answer:
    """What one package got."""

    code: int
    output: str
    error: str | None  # a traceback, when something escaped
    response: dict[str, Any] | None
    results: list[dict[str, str]] | None
    seconds: float = 0.0


@dataclass
class Submitted:
    package: Package
    directory: Path
    records: bytes


@dataclass
class FuzzWorld:
    """A prepared store, two agencies' keys, and the answers seen so far."""

    root: Path
    store: str
    key_hex: str
    keys: dict[str, Any]  # agency -> private key
    base: list[dict[str, str]]
    history: list[Submitted] = field(default_factory=list)
    first_agency: dict[str, str] = field(default_factory=dict)  # response signature -> agency
    count: int = 0

    def __repr__(self) -> str:
        return f"FuzzWorld({self.root}, {self.count} packages)"

    def env(self) -> dict[str, str]:
        return {"TAXGATE_STORE": self.store, "TAXGATE_KEY": self.key_hex, "COLUMNS": "200"}

    # -- writing -------------------------------------------------------------------------
    def _sign(self, p: Package, m: dict[str, Any], records: bytes) -> dict[str, Any]:
        m = dict(m)
        if p.manifest.get("records_file") == m.get("records_file"):
            m.setdefault("records_sha256", hashlib.sha256(records).hexdigest())
            m.setdefault("record_count", len(p.rows))
        if p.sign_mode == "none":
            return m
        signer = _other(p.agency) if p.sign_mode == "other-official" else p.agency
        signed = sign_object(self.keys[signer], m)
        if p.sign_mode == "stale":
            signed["reason"] = str(signed.get("reason")) + "."
        return signed

    def write(self, p: Package, directory: Path) -> bytes:
        directory.mkdir(parents=True)
        data = records_bytes(p)
        m = self._sign(p, p.manifest, data)
        mb = _manifest_bytes(m, p.manifest_mode, p.agency)
        if mb is not None:
            (directory / "manifest.json").write_bytes(mb)
        name = p.manifest.get("records_file")
        target = directory / (name if isinstance(name, str) and _plain(name) else "records.csv")
        if p.records_mode == "file":
            target.write_bytes(data)
        elif p.records_mode == "symlink":
            outside = self.root / "outside" / f"{self.count}.csv"
            outside.parent.mkdir(exist_ok=True)
            outside.write_bytes(data)
            target.symlink_to(outside)
        elif p.records_mode == "directory":
            target.mkdir()
        return data

    def _replay(self, p: Package, directory: Path) -> tuple[Package, bytes] | None:
        if not self.history:
            return None
        old = self.history[p.replay_of % len(self.history)]  # type: ignore[operator]
        if not p.replay_as_other_agency:
            shutil.copytree(old.directory, directory, symlinks=True)
            return old.package, old.records
        other = _other(old.package.agency)
        q = Package(**{**old.package.__dict__, "agency": other, "manifest": {
            **old.package.manifest, "requesting_agency": other,
            "signing_official": AGENCIES[other]}, "sign_mode": "valid", "replay_of": None})
        return q, self.write(q, directory)

    # -- running ---------------------------------------------------------------------------
    def run(self, p: Package) -> tuple[Package, Answer, bytes | None]:
        """Write the package, answer it through the real command line, in-process."""
        import time

        self.count += 1
        directory = self.root / "pkgs" / str(self.count)
        out = self.root / "out" / str(self.count)
        if p.replay_of is not None:
            got = self._replay(p, directory)
            if got is None:
                return p, Answer(0, "", None, None, None), None
            p, data = got
        else:
            data = self.write(p, directory)
        t0 = time.perf_counter()
        answer = run_cli(["process", str(directory), "--out", str(out)], self.env())
        answer.seconds = time.perf_counter() - t0
        answer.response, answer.results = _read_response(out)
        self.history = [*self.history[-255:], Submitted(p, directory, data)]
        return p, answer, data


@contextlib.contextmanager
def held_store(world: FuzzWorld) -> Iterator[Any]:
    """While open, ``taxgate process`` answers on one Gateway's open store instead of
    opening the store for each command (the server's job worker does the same): the
    command's own parsing, printing and exit codes run unchanged, at a fraction of the
    cost."""
    from taxgate import pipeline
    from taxgate.gateway import Gateway
    from taxgate.settings import Settings

    held = Gateway(Settings(store=world.store, key_hex=world.key_hex))
    real, real_lock = Gateway.process, Gateway.lock

    def process(self: Gateway, request_dir: Path, out_dir: Path, progress: Any = None) -> Any:
        with held.lock() as store:
            return pipeline.process(self.settings, store, request_dir, out_dir, progress)

    def lock(self: Gateway, timeout: float | None = None, *, create: bool = False) -> Any:
        # the command's other uses of the store (its OPERATOR_ACTION, R33) go to the
        # held store too, as they would to a store the command opened itself
        gw = held if self is not held and self.settings.store == held.settings.store else self
        return real_lock(gw, timeout, create=create)

    Gateway.process = process  # type: ignore[method-assign]
    Gateway.lock = lock  # type: ignore[method-assign]
    try:
        with held.lock() as store:
            yield store
    finally:
        Gateway.process = real  # type: ignore[method-assign]
        Gateway.lock = real_lock  # type: ignore[method-assign]
        held.close()


def _other(agency: str) -> str:
    return "DHS-CBP" if agency == "DHS-ICE" else "DHS-ICE"


def _plain(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and "\x00" not in name \
        and name not in (".", "..", "manifest.json") and len(name.encode()) < 255


def run_cli(args: list[str], env: dict[str, str]) -> Answer:
    """``taxgate ARGS`` in this process (typer's runner): exit code, output, traceback."""
    from typer.testing import CliRunner

    from taxgate.cli import app

    result = CliRunner().invoke(app, args, env=env, catch_exceptions=True)
    error = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = "".join(traceback.format_exception(result.exception))
    return Answer(result.exit_code, result.output, error, None, None)


def _read_response(out: Path) -> tuple[dict[str, Any] | None, list[dict[str, str]] | None]:
    resp = results = None
    with contextlib.suppress(OSError, ValueError):
        resp = json.loads((out / "response.json").read_text(encoding="utf-8"))
    with contextlib.suppress(OSError, ValueError, csv.Error), \
            (out / "results.csv").open(encoding="utf-8", newline="") as f:
        results = list(csv.DictReader(f))
    return resp, results


# --- the checks --------------------------------------------------------------------------


def readable_record_ids(p: Package, data: bytes) -> list[str] | None:
    """The record ids of a records file a careful reader can read: RFC 4180 as the csv
    module reads it with strict quoting (UTF-8 with or without BOM; CRLF, LF or CR line
    ends, mixed or not; blank lines no record; NUL and other controls are data), a header
    naming record_id once, every row as wide as the header, within the size bounds of
    docs/intake.md; None when it cannot be read that way or the manifest does not lead to
    it. Written apart from taxgate's reader, so that the two can disagree."""
    if p.records_mode != "file" or p.manifest_mode in ("missing", "not-json", "deep"):
        return None  # no manifest a bounded parser can read names the file
    name = p.manifest.get("records_file")
    if not isinstance(name, str) or not _plain(name) or "records_file" not in p.manifest:
        return None
    try:
        text = data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows or "record_id" not in rows[0] or len(rows[0]) > MAX_COLUMNS:
        return None
    if len(set(rows[0])) != len(rows[0]) or not all(h.strip() for h in rows[0]):
        return None
    i = rows[0].index("record_id")
    body = [r for r in rows[1:] if r]
    if any(len(r) != len(rows[0]) for r in body):
        return None
    if any(len(v.encode("utf-8", "surrogatepass")) > MAX_FILE_FIELD_BYTES
           for r in body for v in r):
        return None
    return [r[i] for r in body]


def check(world: FuzzWorld, p: Package, a: Answer, data: bytes | None) -> list[str]:
    """Every way the answer breaks the contract; empty when it keeps to it."""
    if data is None:
        return []
    problems = []
    if a.error:
        problems.append(f"traceback: {a.error.strip().splitlines()[-1][:200]}")
    if "Traceback (most recent call last)" in a.output:
        problems.append("traceback printed")
    if a.code not in (0, 2):
        problems.append(f"exit {a.code}: {_last_line(a.output)}")
    if a.response is None or a.results is None:
        problems.append(f"no response written (exit {a.code}: {_last_line(a.output)})")
        return problems
    bad = {r.get("outcome") for r in a.results} - OUTCOMES
    if bad:
        problems.append(f"unknown outcomes {sorted(map(str, bad))}")
    ids = readable_record_ids(p, data)
    answered = [r.get("record_id") or "" for r in a.results]
    if ids is not None and sorted(answered) != sorted(ids):
        said = " (the response calls them unreadable)" if a.response.get(
            "records_unreadable") else ""
        lost = sorted(set(ids) - set(answered))[:3]
        extra = sorted(set(answered) - set(ids))[:3]
        problems.append(f"records not accounted for: {len(ids)} readable, "
                        f"{len(a.results)} answered{said}; not answered {lost!r:.120}, "
                        f"answered but not sent {extra!r:.120}")
    if p.records_mode == "symlink" and a.code == 0:
        problems.append("a symlinked records file was answered (exit 0)")
    sig = str(a.response.get("signature"))
    first = world.first_agency.setdefault(sig, p.agency)
    if first != p.agency:
        problems.append(f"another agency's answer: {p.agency} got {first}'s response")
    return problems


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


# --- making a world --------------------------------------------------------------------------


def make_world(root: Path, store: str | None = None, *, people: int = 300,
               n_records: int = 40, seed: int = 5) -> FuzzWorld:
    """Filings loaded, the model trained, ICE's and CBP's officials registered."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from taxgate.domain import Official
    from taxgate.gateway import Gateway
    from taxgate.settings import Settings
    from taxgate.synth import synth_all

    paths = synth_all(root / "synthetic", people, n_records, seed=seed)
    key_hex = new_data_key()
    store = store or str(root / "store")
    settings = Settings(store=store, key_hex=key_hex)
    ice = load_private_key_pem(paths.private_key.read_bytes())
    cbp = Ed25519PrivateKey.generate()
    (root / "cbp_key.pem").write_bytes(private_key_pem(cbp))
    with Gateway(settings) as gw:
        gw.init()
        gw.load(paths.taxpayers)
        for agency, k in (("DHS-ICE", ice), ("DHS-CBP", cbp)):
            pem = public_key_pem(load_public_key_pem(public_key_pem(k)))
            gw.add_official(Official(AGENCIES[agency], agency, "Director", pem,
                                     dt.date(2026, 1, 1)), "fuzz")
    with (paths.request_dir / "records.csv").open(encoding="utf-8", newline="") as f:
        base = list(csv.DictReader(f))
    return FuzzWorld(root, store, key_hex, {"DHS-ICE": ice, "DHS-CBP": cbp}, base)


def reproducer(world: FuzzWorld, n: int) -> list[str]:
    """The files of the n-th package, as Python literals (for a findings report)."""
    directory = world.root / "pkgs" / str(n)
    lines = []
    for f in sorted(directory.iterdir()) if directory.is_dir() else []:
        kind = "symlink" if f.is_symlink() else "dir" if f.is_dir() else "file"
        body = f.read_bytes()[:700] if kind == "file" else b""
        lines.append(f"{f.name} ({kind}): {body!r}")
    return lines
