"""Writing a report as CSV, HTML and JSON: one document, three renderings.

A :class:`Document` is a title, a summary line, tables (a heading, columns, rows) and
an optional bar chart; :func:`write` renders it in the formats asked. Values that came
from manifests (agency names, signers) are made visible, HTML-escaped in the page and
prefixed in CSV cells that a spreadsheet would read as a formula (R37). No script in
the page. A leaf: the standard library and :mod:`taxgate.untrusted`.
"""

from __future__ import annotations

import csv
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taxgate.untrusted import for_csv_cell, visible

FORMATS = ("csv", "html", "json")


@dataclass(frozen=True)
class Table:
    heading: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    slug: str = ""  # "": the document's main CSV; else <name>-<slug>.csv


@dataclass(frozen=True)
class Document:
    name: str  # file stem, e.g. jct-2026
    title: str
    summary: str
    tables: list[Table]
    data: dict[str, Any]  # the JSON rendering
    chart: dict[str, int] = field(default_factory=dict)
    chart_label: str = ""
    blank: str = ""  # how a None cell is shown (e.g. "<3" for a suppressed count)


def write(doc: Document, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``doc`` to ``out_dir`` in ``formats``; the paths written, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for fmt in formats:
        if fmt == "csv":
            paths += [_csv(doc, t, out_dir) for t in doc.tables]
        elif fmt == "html":
            paths.append(out_dir / f"{doc.name}.html")
            paths[-1].write_text(html_page(doc), encoding="utf-8")
        elif fmt == "json":
            paths.append(out_dir / f"{doc.name}.json")
            paths[-1].write_text(json.dumps(doc.data, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
        else:
            raise ValueError(f"unknown report format {fmt!r}")
    return paths


def _cell(doc: Document, value: Any) -> Any:
    return doc.blank if value is None else value


def _csv(doc: Document, table: Table, out_dir: Path) -> Path:
    path = out_dir / (f"{doc.name}-{table.slug}.csv" if table.slug else f"{doc.name}.csv")
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=table.columns, lineterminator="\n",
                           extrasaction="ignore")
        w.writeheader()
        w.writerows({k: for_csv_cell(_cell(doc, r.get(k))) for k in table.columns}
                    for r in table.rows)
    return path


def _h(value: object) -> str:
    """Agency and signer names come from manifests: visible, then HTML-escaped."""
    return html.escape(visible(value))


def bar_chart(series: dict[str, int], label: str, width: int = 640, bar_h: int = 22) -> str:
    """An inline SVG bar chart: no script, readable anywhere the page is."""
    if not series:
        return "<p>No disclosures in this year.</p>"
    top = max(series.values()) or 1
    rows = []
    for i, (name, value) in enumerate(series.items()):
        w = int((width - 160) * value / top)
        y = i * (bar_h + 6)
        rows.append(
            f'<text x="0" y="{y + 16}" font-size="13">{_h(name)}</text>'
            f'<rect x="90" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="#1f4e79">'
            f"<title>{_h(name)}: {value}</title></rect>"
            f'<text x="{96 + w}" y="{y + 16}" font-size="13">{value:,}</text>'
        )
    height = len(series) * (bar_h + 6)
    return (f'<svg role="img" aria-label="{_h(label)}" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _table(doc: Document, t: Table) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{_h(_cell(doc, r.get(c)))}</td>" for c in t.columns)
                   + "</tr>" for r in t.rows)
    return (f"<h2>{html.escape(t.heading)}</h2>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def html_page(doc: Document) -> str:
    """The document as one self-contained HTML page (no script): for a file or a web page."""
    tables = "\n".join(_table(doc, t) for t in doc.tables)
    chart = (f"<h2>{html.escape(doc.chart_label)}</h2>\n{bar_chart(doc.chart, doc.chart_label)}"
             if doc.chart_label else "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(doc.title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}}
th{{background:#eef3f8}}</style></head><body>
<h1>{html.escape(doc.title)}</h1>
<p>{html.escape(doc.summary)}</p>
{tables}
{chart}
</body></html>
"""
