"""Untrusted text is data: how a value from a package, a request or a user is shown.

Every value an agency, an operator or a web user typed (request and record ids,
officer ids, case numbers, header columns, agency and official names, user names,
review reasons) may hold terminal markup, control characters or bidirectional
overrides. Whatever prints or writes such a value for a person goes through one
function here:

- :func:`visible` — control, format (bidi overrides, zero-width), line-separator and
  other non-printable characters become visible escapes (``\\x1b``, ``\\u202e``), so
  nothing typed can move the cursor, recolour a terminal, reorder a line or hide a
  character. The basis of everything below.
- :func:`for_terminal` — a value for the command line. The consoles of
  :mod:`taxgate.cli` also run with markup, emoji codes and highlighting off, so
  ``[/bold]`` or ``:warning:`` in a value is printed literally.
- :func:`for_csv_cell` — a value for a CSV file a person opens in a spreadsheet:
  a cell that begins with ``= + - @``, a tab or a carriage return is prefixed with
  ``'`` (OWASP "CSV injection"), so no spreadsheet runs it as a formula.
- :func:`for_html` — the ``finalize`` of the web pages' Jinja environment: visible
  text; autoescaping (on for every template) then escapes ``<``, ``&`` and quotes.

taxgate writes no log line that carries such a value (its only loggers report
timings); error details the API returns in JSON pass through :func:`visible` too.

``results.csv`` is not written through :func:`for_csv_cell`: it is read by the
requesting agency's software, and contract §3 returns each ``record_id`` exactly as
submitted (see docs/architecture.md, "Untrusted text").
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: object) -> str:
    """``value`` as text in which every non-printable character is a visible escape.

    Non-printable is Python's definition: control (Cc), format (Cf: bidi overrides,
    zero-width characters, soft hyphen), surrogates, private use, unassigned, line
    and paragraph separators, and every space other than U+0020."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def for_terminal(value: object) -> str:
    """A value to print on the command line (the consoles never interpret markup)."""
    return visible(value)


def for_csv_cell(value: object) -> object:
    """A cell of a CSV written for people: visible, and never a spreadsheet formula.

    Numbers stay numbers; text that a spreadsheet would evaluate gets a leading ``'``."""
    if value is None or isinstance(value, int | float):
        return value
    text = visible(value)
    if text.startswith(_FORMULA_STARTS) or str(value).startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def for_html(value: object) -> object:
    """Jinja ``finalize``: visible text for every ``{{ ... }}``; autoescape does the rest.

    Numbers, None and already-safe markup (Jinja's ``Markup``) pass unchanged."""
    if value is None or isinstance(value, int | float) or hasattr(value, "__html__"):
        return value
    return visible(value)
