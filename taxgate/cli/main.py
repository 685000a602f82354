"""The command line (contract §4): a thin shell over a :class:`~taxgate.gateway.Gateway`.

Exit status: taxgate.errors.ExitCode (docs/cli.md): 0 success, 1 internal failure,
2 bad input (one-line reason on stderr), 3 refused, 4 the ledger failed an integrity
check, 5 not set up, 6 busy. Domain errors become exit codes in one place
(taxgate.cli._common.run); no traceback is ever printed (set TAXGATE_DEBUG=1 to see
one on a test machine holding synthetic data only).
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from taxgate.cli import accountability, admin, agency, audit, service, statutory, transparency
from taxgate.cli._common import (
    JsonOpt,
    RichProgress,
    StoreOpt,
    admin_call,
    err,
    operator,
    out,
    print_json,
    print_rows,
    print_timings,
    run,
    set_operator,
    settings_for,
    with_gateway,
)
from taxgate.errors import BadInput
from taxgate.gateway import Gateway
from taxgate.untrusted import for_terminal as shown


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


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
transparency.register(audit.ledger_app)
app.add_typer(audit.report_app, name="report")
app.command("accounting")(audit.accounting)
service.register(app)
agency.register(app)
accountability.register(app)
statutory.register(app)
admin.register(app, officials_app)


def _version(value: bool) -> None:
    if value:
        from taxgate import __version__

        out.print(f"taxgate {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    operator: Annotated[str | None, typer.Option(
        "--operator", envvar="TAXGATE_OPERATOR",
        help="Your user name, logged with every administrative command (R33); "
        "default: os:<login> of the account running the command.")] = None,
) -> None:
    """taxgate: a confirm-only address verification gateway in front of taxpayer records."""
    run(set_operator, operator)  # a malformed name: exit 2 before the command runs


@app.command()
def init(store: StoreOpt = None) -> None:
    """Create the store, its at-rest key (unless TAXGATE_KEY is set) and the gateway's
    Ed25519 signing key."""
    where = with_gateway(settings_for(store), lambda gw: gw.init(), audit="init")
    out.print(f"initialized store {shown(where)}")


@app.command()
def load(
    taxpayer_file: Annotated[Path, typer.Argument(help="CSV or Parquet taxpayer filings.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Load a file even if the same file (sha256) was loaded before.")
    ] = False,
    retrain: Annotated[bool, typer.Option(
        "--retrain", help="Also retrain the model on every stored filing (as `taxgate "
        "model train` does); without it only the first load trains.")] = False,
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Load (or add to) taxpayer records: check, standardize, store. The first load trains
    the person-match model; a later one keeps the model in force (`taxgate model train`
    or --retrain retrains). The same file (by sha256) is loaded once: again only with
    --force (exit 3 without)."""
    settings = settings_for(store)
    with RichProgress(err) as progress:
        def _here(gw: Gateway) -> dict[str, object]:  # with progress bars
            r = gw.load(taxpayer_file, progress, force=force, retrain=retrain)
            return {"rows": r.rows, "total_filings": r.total_filings,
                    "model_version": r.model_version, "model_trained": r.model_trained,
                    "seconds": r.timings.stages}

        result = admin_call(settings, "load", here=_here, path=str(taxpayer_file.resolve()),
                            force=force, retrain=retrain, audit="load")
    if as_json:
        print_json(result)
        return
    out.print(f"loaded {result['rows']:,} filings ({result['total_filings']:,} in the store)")
    if result.get("model_trained", True):
        out.print(f"model {result['model_version']} trained on the stored filings")
    else:
        out.print(f"model {result['model_version']} stays in force (trained before this "
                  "load); `taxgate model train` retrains on every stored filing")
    print_timings(result["seconds"])


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
        admin_call(settings_for(store), "officials.add", official_id=official.official_id,
                   agency=official.agency, title=official.title,
                   public_key_pem=official.public_key_pem, valid_from=str(start),
                   valid_to=str(end) if end else None, actor=actor or operator(),
                   audit="officials add", target=f"{official_id} for {agency}")

    run(_do)
    out.print(f"registered official {shown(official_id)} for {shown(agency)}")


@officials_app.command("list")
def officials_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List registered officials."""
    print_rows(admin_call(settings_for(store), "officials.list"), {
        "official_id": "official", "agency": "agency", "title": "title",
        "valid_from": "valid from", "valid_to": "valid to"}, as_json)


@app.command()
def process(
    request_dir: Annotated[Path, typer.Argument(help="Folder with manifest.json and records.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the response package.")],
    store: StoreOpt = None,
    engine: Annotated[
        Engine | None,
        typer.Option(
            "--engine",
            envvar="TAXGATE_ENGINE",
            help="Who generates and scores candidates: duckdb (default) or spark "
            "(master from TAXGATE_SPARK_MASTER, default local[2]; see docs/scale.md).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The main job: check a signed request, match it, answer with a signed response."""
    settings = run(settings_for, store, engine=engine.value if engine else None)
    with RichProgress(err) as progress:
        result = with_gateway(settings, lambda gw: gw.process(request_dir, out_dir, progress),
                              audit="process")
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()))
    if as_json:
        print_json({"request_id": result.request_id, "counts": result.counts,
                    "replayed": result.replayed, "out_dir": str(result.out_dir),
                    "exit_code": result.exit_code, "message": result.message,
                    "seconds": None if result.replayed else result.timings.stages})
    if result.exit_code != 0:
        err.print(f"taxgate: request refused: {shown(result.message)}", soft_wrap=True)
        raise typer.Exit(result.exit_code)
    if as_json:
        return
    out.print(
        f"request {shown(result.request_id)}: {counts or 'no records'}"
        f"{' (stored response replayed)' if result.replayed else ''}"
    )
    out.print(f"response written to {shown(result.out_dir)}")
    if not result.replayed:
        print_timings(result.timings)


@app.command("gateway-key")
def gateway_key(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Print the gateway's Ed25519 public key (PEM), which verifies every response.json."""
    pem = admin_call(settings_for(store), "gateway.key")
    if as_json:
        print_json({"public_key_pem": pem})
    else:
        sys.stdout.write(pem)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
