"""Canonical identifiers: the one spelling of an officer id, a record id or an agency
that caps, duplicate checks and registrations compare (R5, contract §2).

An identifier's *key* is, in order:

1. Unicode NFKC (full-width letters, ligatures, no-break spaces become plain ones);
2. invisible characters removed: every format character (Cf: zero-width space and
   joiners, soft hyphen, bidi controls, byte-order mark), the other default-ignorable
   code points (variation selectors, Hangul fillers, tags) and control characters
   other than white space;
3. white space of any kind collapsed to one space and trimmed;
4. trailing dots removed ("ERO100000." is "ERO100000": a full stop typed after an
   id is never part of it); dots and other punctuation inside an id are kept;
5. Cyrillic and Greek letters that look like Latin ones (``data/id_confusables.csv``,
   a curated subset of Unicode TR39 confusables) replaced by those Latin letters;
6. lower case (Unicode, full).

Registration (officials, agency credentials) refuses an agency or official name not
written in its display form (steps 1-3), mixing scripts, or spelling a registered
name another way (:func:`check_registered_name`): one agency has one spelling.

So one officer written five ways (with a no-break space, a zero-width space, a
Cyrillic letter, a trailing dot, in lower case) has one key and one cap. An id whose
letters mix Latin with Cyrillic or Greek (after NFKC) is *mixed-script*: the statute
rejects such a record (IDENTIFIER_MIXED_SCRIPT) as well as counting it by its key.

Keys are computed once per request, vectorized with Arrow compute: a value that is
already plain ASCII (nearly all) only changes case; the others take every step
(utf8proc normalization, RE2 regular expressions), and only those holding Cyrillic
or Greek letters pass through Python, for the confusable mapping.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from importlib import resources

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.errors import BadInput
from taxgate.stage_table import StageTable, materialize

_IGNORABLE = (
    r"[\p{Cf}\x{034F}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{3164}"
    r"\x{FE00}-\x{FE0F}\x{FFA0}\x{E0000}-\x{E0FFF}\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]"
)
_SPACE = r"[\s\p{Z}\x85]+"
_TRAILING_DOTS = r"[. ]+$"
_LATIN = r"\p{Latin}"
_CYRILLIC_GREEK = r"[\p{Cyrillic}\p{Greek}]"


@cache
def _confusables() -> dict[int, str]:
    text = resources.files("taxgate").joinpath("data", "id_confusables.csv").read_text("utf-8")
    return {ord(r["char"]): r["latin"] for r in csv.DictReader(io.StringIO(text))}


def _plain(arr: pa.Array) -> pa.Array:
    """True where a value is already its own key but for case: printable ASCII, single
    spaces inside, no space at either end, no trailing dot (null counts as plain)."""
    plain = pc.and_(pc.string_is_ascii(arr), pc.utf8_is_printable(arr))
    for bad in (pc.starts_with(arr, " "), pc.ends_with(arr, " "), pc.ends_with(arr, "."),
                pc.match_substring(arr, "  ")):
        plain = pc.and_not(plain, bad)
    return pc.fill_null(plain, True)


def _display_forms(arr: pa.Array) -> pa.Array:
    """Steps 1-3 of the module's list: the spelling a registry keeps."""
    text = pc.utf8_normalize(arr, form="NFKC")
    text = pc.replace_substring_regex(text, _IGNORABLE, "")
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _SPACE, " "))


def _full_keys(arr: pa.Array) -> pa.Array:
    """Steps 1-6 of the module's list, for values that need them."""
    text = pc.utf8_trim(pc.replace_substring_regex(_display_forms(arr), _TRAILING_DOTS, ""), " ")
    foreign = pc.fill_null(pc.match_substring_regex(text, _CYRILLIC_GREEK), False)
    if pc.any(foreign).as_py():
        table = _confusables()
        mapped = [v.translate(table) if f and v is not None else v
                  for v, f in zip(text.to_pylist(), foreign.to_pylist(), strict=True)]
        text = pa.array(mapped, pa.string())
    return pc.utf8_lower(text)


def _strings(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.cast(arr, pa.string())


def canonical_keys(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The key of every identifier in ``values`` (strings; null stays null).

    Plain ASCII values (nearly all) only change case; the others take every step."""
    arr = _strings(values)
    plain = _plain(arr)
    lowered = pc.utf8_lower(arr)
    if pc.all(plain).as_py():
        return lowered
    dirty = pc.invert(plain)
    return pc.replace_with_mask(lowered, dirty, _full_keys(pc.filter(arr, dirty)))


def mixed_script(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True where an identifier's letters mix Latin with Cyrillic or Greek, or Cyrillic
    with Greek (after NFKC); false for null and for ASCII."""
    arr = _strings(values)
    other = pc.invert(pc.fill_null(pc.string_is_ascii(arr), True))
    result = pc.and_(other, pa.scalar(False))  # all false
    if not pc.any(other).as_py():
        return result
    text = pc.utf8_normalize(pc.filter(arr, other), form="NFKC")
    latin = pc.match_substring_regex(text, _LATIN)
    cyrillic = pc.match_substring_regex(text, r"\p{Cyrillic}")
    greek = pc.match_substring_regex(text, r"\p{Greek}")
    mixed = pc.or_(pc.and_(latin, pc.or_(cyrillic, greek)), pc.and_(cyrillic, greek))
    return pc.replace_with_mask(result, other, mixed)


def canonical_key(value: str | None) -> str | None:
    """The key of one identifier (the same computation as :func:`canonical_keys`)."""
    return canonical_keys(pa.array([value], pa.string()))[0].as_py()


def is_mixed_script(value: str | None) -> bool:
    """Whether one identifier mixes scripts (see :func:`mixed_script`)."""
    return bool(mixed_script(pa.array([value], pa.string()))[0].as_py())


def display_form(value: str) -> str:
    """``value`` in NFKC, without invisible characters, white space collapsed and trimmed
    (case, dots and letters as written)."""
    return str(_display_forms(pa.array([value], pa.string()))[0].as_py())


def check_registered_name(kind: str, value: str, known: Iterable[str]) -> None:
    """Refuse a name for the registry (an agency, an official) that is not written in its
    display form, mixes scripts, or is another spelling of a ``known`` name."""
    if not value or display_form(value) != value:
        raise BadInput(f"{kind} must be written without invisible characters, control "
                       "characters or extra spaces")
    if is_mixed_script(value):
        raise BadInput(f"{kind} mixes Latin letters with Cyrillic or Greek look-alikes")
    key = canonical_key(value)
    for other in known:
        if other != value and canonical_key(other) == key:
            raise BadInput(f"{kind} is another spelling of the registered {other!r}")


IDENTIFIER_COLUMNS = ("record_id", "officer_id", "case_number")


def install_keys(con: duckdb.DuckDBPyConnection, table: str, out: str) -> StageTable:
    """Create TEMP table ``out``: ``row_number``, and for each identifier column C of
    ``table`` ``C_key`` (its canonical key) and ``C_mixed`` (mixed-script)."""
    cols = ", ".join(IDENTIFIER_COLUMNS)
    src = con.execute(f"SELECT row_number, {cols} FROM {table}").fetch_arrow_table()
    arrays: dict[str, pa.Array] = {"row_number": src.column("row_number").combine_chunks()}
    for c in IDENTIFIER_COLUMNS:
        arrays[f"{c}_key"] = canonical_keys(src.column(c))
        arrays[f"{c}_mixed"] = mixed_script(src.column(c))
    view = f"{out}_arrow"
    con.register(view, pa.table(arrays))
    try:
        return materialize(con, out, f"SELECT * FROM {view}")
    finally:
        con.unregister(view)
