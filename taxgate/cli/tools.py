"""Tools for test and demonstration environments, which hold synthetic data only (R38):
make a synthetic world, and score a response against its truth.

The one shell that reaches :mod:`taxgate.synth` and :mod:`taxgate.evaluate`: the
``taxgate`` command adds these to the product's commands (``taxgate/cli/__init__.py``),
and no module of the product imports this one (the import contract in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from taxgate.cli._common import out, print_json, run
from taxgate.untrusted import for_terminal as shown


def synth(
    workdir: Annotated[Path, typer.Option(help="Folder to write into.")],
    people: Annotated[int, typer.Option(help="Synthetic people (about 5 filings each).")] = 20_000,
    records: Annotated[int, typer.Option(help="Records in the request.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 1,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="File format.")
                   ] = "csv",
) -> None:
    """Write synthetic filings, an official's key pair, a signed request and its truth file
    (never real data)."""
    from taxgate.errors import BadInput
    from taxgate.synth import synth_all

    def _do():  # noqa: ANN202
        if fmt not in ("csv", "parquet"):
            raise BadInput("--format must be csv or parquet")
        if people < 10 or records < 1:
            raise BadInput("--people must be at least 10 and --records at least 1")
        return synth_all(workdir, people, records, seed, fmt=fmt)

    paths = run(_do)
    out.print(f"{paths.counts['filings']:,} filings in {shown(paths.taxpayers)}")
    out.print(f"request package {shown(paths.request_dir)} ({records:,} records), "
              f"truth {shown(paths.truth)}")
    out.print(f"official's public key {shown(paths.public_key)}")


def evaluate(
    results_csv: Annotated[Path, typer.Argument(help="A response's results.csv.")],
    truth_csv: Annotated[Path, typer.Argument(help="The synthetic truth file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score a response's results.csv against a synthetic truth file: false confirmations,
    recall, REVIEW rate, per category."""
    from taxgate.errors import BadInput
    from taxgate.evaluate import evaluate as score

    def _do():  # noqa: ANN202
        for p in (results_csv, truth_csv):
            if not p.is_file():
                raise BadInput(f"{p} does not exist")
        return score(results_csv, truth_csv)

    ev = run(_do)
    if as_json:
        print_json({"false_confirmations": ev.false_confirmations, "recall": ev.recall,
                    "review_rate": ev.review_rate, "f05": ev.f05,
                    "by_category": [list(r) for r in ev.by_category]})
        return
    table = Table("category", "expected", "n", "correct", "CONFIRMED", "NOT_CONFIRMED",
                  "REVIEW", "REJECTED")
    for row in ev.by_category:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else shown(v) for v in row))
    out.print(table)
    out.print(f"false confirmations {ev.false_confirmations}; recall {ev.recall:.2%}; "
              f"REVIEW {ev.review_rate:.2%} of lawful; F0.5 {ev.f05:.4f}")


def register(app: typer.Typer) -> None:
    """Add the tool commands to the ``taxgate`` command."""
    app.command("synth")(synth)
    app.command("evaluate")(evaluate)
