"""The command line (contract §4): a thin shell over a :class:`~taxgate.gateway.Gateway`.

Exit status: 0 success, 2 bad input (one-line reason on stderr), 1 internal failure,
4 the ledger failed an integrity check (taxgate.errors.IntegrityError; docs/ledger.md).
Domain errors become exit codes here and only here; no traceback is ever printed
(set TAXGATE_DEBUG=1 to see one on a test machine holding synthetic data only).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taxgate.cli import agency, audit, service
from taxgate.cli._common import (
    RichProgress,
    StoreOpt,
    err,
    operator,
    out,
    print_timings,
    run,
    set_operator,
    settings_for,
    with_gateway,
)
from taxgate.errors import BadInput
from taxgate.untrusted import for_terminal as shown

app = typer.Typer(
    help="taxgate: a confirm-only address verification gateway in front of taxpayer records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
officials_app = typer.Typer(
    help="The registry of officials who may sign requests (R1, R2).", no_args_is_help=True
)
app.add_typer(officials_app, name="officials")
app.add_typer(audit.ledger_app, name="ledger")
app.add_typer(audit.report_app, name="report")
app.command("accounting")(audit.accounting)
service.register(app)
agency.register(app)


@app.callback()
def _operator(operator: Annotated[str | None, typer.Option(
        "--operator", envvar="TAXGATE_OPERATOR",
        help="Your user name, logged with every administrative command (R33); "
        "default: os:<login> of the account running the command.")] = None) -> None:
    set_operator(operator)


@app.command()
def init(store: StoreOpt = None) -> None:
    """Create the store, its at-rest key (unless TAXGATE_KEY is set) and the gateway's
    Ed25519 signing key."""
    where = with_gateway(settings_for(store), lambda gw: gw.init(), audit="init")
    out.print(f"initialized store {shown(where)}")


@app.command()
def load(
    taxpayer_file: Annotated[Path, typer.Argument(help="CSV or Parquet taxpayer filings.")],
    store: StoreOpt = None,
) -> None:
    """Load (or add to) taxpayer records: check, standardize, store, re-estimate the model."""
    settings = settings_for(store)
    with RichProgress(err) as progress:
        result = with_gateway(settings, lambda gw: gw.load(taxpayer_file, progress),
                              audit="load")
    out.print(
        f"loaded {result.rows:,} filings ({result.total_filings:,} in the store); "
        f"model {result.model_version}"
    )
    print_timings(result.timings)


@officials_app.command("add")
def officials_add(
    official_id: Annotated[str, typer.Argument(help="The official's id, as in manifests.")],
    agency: Annotated[str, typer.Option(help="Requesting agency, e.g. DHS-ICE.")],
    title: Annotated[str, typer.Option(help="Title, e.g. 'Director, ICE'.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="Ed25519 PEM public key.")],
    valid_from: Annotated[str, typer.Option("--valid-from", help="YYYY-MM-DD")],
    valid_to: Annotated[str | None, typer.Option("--valid-to", help="YYYY-MM-DD")] = None,
    actor: Annotated[str | None, typer.Option(
        help="Who registers the official (for the ledger); default: the operator.")] = None,
    store: StoreOpt = None,
) -> None:
    """Register an official who may sign requests for an agency (R1, R2)."""
    from taxgate.canonical import load_public_key_pem, public_key_pem
    from taxgate.domain import Official

    def _do() -> None:
        try:
            start = dt.date.fromisoformat(valid_from)
            end = dt.date.fromisoformat(valid_to) if valid_to else None
        except ValueError:
            raise BadInput("--valid-from/--valid-to must be YYYY-MM-DD dates") from None
        if end is not None and end < start:
            raise BadInput("--valid-to is before --valid-from")
        try:
            pem = public_key.read_bytes()
        except OSError:
            raise BadInput(f"public key file {public_key} cannot be read") from None
        key = load_public_key_pem(pem)
        official = Official(
            official_id=official_id,
            agency=agency,
            title=title,
            public_key_pem=public_key_pem(key),
            valid_from=start,
            valid_to=end,
        )
        with_gateway(settings_for(store), lambda gw: gw.add_official(
            official, actor or operator()), audit="officials add",
            target=f"{official_id} for {agency}")

    run(_do)
    out.print(f"registered official {shown(official_id)} for {shown(agency)}")


@officials_app.command("list")
def officials_list(store: StoreOpt = None) -> None:
    """List registered officials."""
    table = Table("official", "agency", "title", "valid from", "valid to")
    for o in with_gateway(settings_for(store), lambda gw: gw.officials()):
        table.add_row(shown(o.official_id), shown(o.agency), shown(o.title), str(o.valid_from),
                      str(o.valid_to or ""))
    out.print(table)


@app.command()
def process(
    request_dir: Annotated[Path, typer.Argument(help="Folder with manifest.json and records.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the response package.")],
    store: StoreOpt = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            envvar="TAXGATE_ENGINE",
            help="Who generates and scores candidates: duckdb (default) or spark "
            "(master from TAXGATE_SPARK_MASTER, default local[2]; see docs/scale.md).",
        ),
    ] = None,
) -> None:
    """The main job: check a signed request, match it, answer with a signed response."""
    settings = run(settings_for, store, engine=engine)
    with RichProgress(err) as progress:
        result = with_gateway(settings, lambda gw: gw.process(request_dir, out_dir, progress),
                              audit="process")
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()))
    if result.exit_code != 0:
        err.print(f"taxgate: request refused: {shown(result.message)}", soft_wrap=True)
        raise typer.Exit(result.exit_code)
    out.print(
        f"request {shown(result.request_id)}: {counts or 'no records'}"
        f"{' (stored response replayed)' if result.replayed else ''}"
    )
    out.print(f"response written to {shown(result.out_dir)}")
    if not result.replayed:
        print_timings(result.timings)


@app.command("gateway-key")
def gateway_key(store: StoreOpt = None) -> None:
    """Print the gateway's Ed25519 public key (PEM), which verifies every response.json."""
    sys.stdout.write(with_gateway(settings_for(store), lambda gw: gw.public_key_pem()))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
