"""The command line (contract §4): a thin shell over :mod:`taxgate.pipeline`.

Exit status: 0 success, 2 bad input (one-line reason on stderr), 1 internal failure.
Domain errors become exit codes here and only here; no traceback is ever printed
(set TAXGATE_DEBUG=1 to see one on a test machine holding synthetic data only).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from taxgate import pipeline
from taxgate.errors import BadInput, TaxgateError
from taxgate.settings import Settings

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

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="TAXGATE_STORE",
        help="Store: a folder (embedded default) or a postgresql:// URL.",
    ),
]


class RateColumn(ProgressColumn):
    """Records per second of the running stage."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>10,.0f}/s" if speed else " " * 12)


class RichProgress:
    """Progress bars with counts, rate and time left, one per stage."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: int | None = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self._bar.stop()

    def _finish(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[self._task]
            self._bar.update(self._task, total=task.completed or 1, completed=task.completed or 1)

    def stage(self, name: str, total: int | None = None) -> None:
        self._finish()
        self._task = self._bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, n)


def _settings(store: str | None) -> Settings:
    return Settings.from_env(store)


def _run(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    """Call a pipeline function; map failures to the contract's exit codes."""
    try:
        return fn(*args, **kwargs)
    except TaxgateError as exc:
        err.print(f"taxgate: {exc}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("taxgate: interrupted; nothing was half-written")
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - the one place internal failures are caught
        if os.environ.get("TAXGATE_DEBUG") == "1":
            raise
        err.print(f"taxgate: internal failure ({type(exc).__name__}); nothing was disclosed")
        raise typer.Exit(1) from None


def _timings(t: pipeline.Timings) -> None:
    table = Table(title="time per stage", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, secs in t.stages.items():
        table.add_row(name, f"{secs:.2f}")
    table.add_row("total", f"{sum(t.stages.values()):.2f}")
    out.print(table)


@app.command()
def init(store: StoreOpt = None) -> None:
    """Create the store, its at-rest key (unless TAXGATE_KEY is set) and the gateway's
    Ed25519 signing key."""
    settings = _settings(store)
    _run(pipeline.init, settings)
    out.print(f"initialized store {settings.store}")


@app.command()
def load(
    taxpayer_file: Annotated[Path, typer.Argument(help="CSV or Parquet taxpayer filings.")],
    store: StoreOpt = None,
) -> None:
    """Load (or add to) taxpayer records: check, standardize, store, re-estimate the model."""
    settings = _settings(store)
    with RichProgress(err) as progress:
        result = _run(pipeline.load, settings, taxpayer_file, progress)
    out.print(
        f"loaded {result.rows:,} filings ({result.total_filings:,} in the store); "
        f"model {result.model_version}"
    )
    _timings(result.timings)


@officials_app.command("add")
def officials_add(
    official_id: Annotated[str, typer.Argument(help="The official's id, as in manifests.")],
    agency: Annotated[str, typer.Option(help="Requesting agency, e.g. DHS-ICE.")],
    title: Annotated[str, typer.Option(help="Title, e.g. 'Director, ICE'.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="Ed25519 PEM public key.")],
    valid_from: Annotated[str, typer.Option("--valid-from", help="YYYY-MM-DD")],
    valid_to: Annotated[str | None, typer.Option("--valid-to", help="YYYY-MM-DD")] = None,
    actor: Annotated[
        str, typer.Option(help="Who registers the official (for the ledger).")
    ] = "cli",
    store: StoreOpt = None,
) -> None:
    """Register an official who may sign requests for an agency (R1, R2)."""
    from taxgate.canonical import load_public_key_pem, public_key_pem
    from taxgate.store.base import Official

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
        pipeline.add_official(
            _settings(store),
            Official(
                official_id=official_id,
                agency=agency,
                title=title,
                public_key_pem=public_key_pem(key),
                valid_from=start,
                valid_to=end,
            ),
            actor,
        )

    _run(_do)
    out.print(f"registered official {official_id} for {agency}")


@officials_app.command("list")
def officials_list(store: StoreOpt = None) -> None:
    """List registered officials."""
    from taxgate.store import open_store

    def _do() -> list:
        s = open_store(_settings(store))
        try:
            return s.officials()
        finally:
            s.close()

    table = Table("official", "agency", "title", "valid from", "valid to")
    for o in _run(_do):
        table.add_row(o.official_id, o.agency, o.title, str(o.valid_from), str(o.valid_to or ""))
    out.print(table)


@app.command()
def process(
    request_dir: Annotated[Path, typer.Argument(help="Folder with manifest.json and records.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the response package.")],
    store: StoreOpt = None,
) -> None:
    """The main job: check a signed request, match it, answer with a signed response."""
    settings = _settings(store)
    with RichProgress(err) as progress:
        result = _run(pipeline.process, settings, request_dir, out_dir, progress)
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()))
    if result.exit_code != 0:
        err.print(f"taxgate: request refused: {result.message}", soft_wrap=True)
        raise typer.Exit(result.exit_code)
    out.print(
        f"request {result.request_id}: {counts or 'no records'}"
        f"{' (stored response replayed)' if result.replayed else ''}"
    )
    out.print(f"response written to {result.out_dir}")
    if not result.replayed:
        _timings(result.timings)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
