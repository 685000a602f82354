"""Shared pieces of the command line: consoles, the --store option, progress bars, the
Gateway each command holds, and the one place where failures become exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from taxgate.errors import StoreBusy, classify
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.untrusted import for_terminal
from taxgate.untrusted import for_terminal as shown

if TYPE_CHECKING:
    from taxgate.pipeline import Timings

T = TypeVar("T")

# Values printed here come from packages, requests and users: the consoles never read
# markup or emoji codes in them, and each value goes through for_terminal (R37).
# Not on a terminal (a pipe, a file): no width limit, so a table is never cut or wrapped.
err = Console(stderr=True, highlight=False, markup=False, emoji=False,
              width=None if sys.stderr.isatty() else 100_000)
out = Console(highlight=False, markup=False, emoji=False,
              width=None if sys.stdout.isatty() else 100_000)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]

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
            disable=not console.is_terminal,  # no bars in logs and pipes
        )
        self._task: TaskID | None = None

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


def settings_for(store: str | None, **overrides: object) -> Settings:
    """Settings from the environment and the command's options (None: not given); a bad
    setting ends the command with its one-line message (exit 2)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return run(Settings.from_env, store, **given)  # type: ignore[no-any-return]


def run(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    """Call a pipeline function; map failures to the contract's exit codes."""
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        err.print("taxgate: interrupted; nothing was half-written")
        raise typer.Exit(1) from None
    except typer.Exit:  # an inner run already reported it
        raise
    except Exception as exc:  # noqa: BLE001 - the one place failures become exit codes
        kind = classify(exc)  # the exit code and whether the message is shown: errors.py
        if kind.shown:
            err.print(f"taxgate: {for_terminal(exc)}", soft_wrap=True)
        elif os.environ.get("TAXGATE_DEBUG") == "1":
            raise
        else:
            err.print(f"taxgate: internal failure ({type(exc).__name__}); nothing was disclosed")
        raise typer.Exit(kind.exit_code) from None


def with_gateway(settings: Settings, fn: Callable[[Gateway], T]) -> T:
    """``fn`` on a Gateway built from ``settings``, closed after; failures become exit
    codes as in :func:`run`."""

    def _do() -> T:
        from taxgate.gateway import channel

        try:
            with Gateway(settings) as gw:
                return fn(gw)
        except StoreBusy:
            if channel.available(settings):
                raise StoreBusy("the store is held by a running `taxgate serve`: this command "
                                "needs the store to itself (agencies submit requests through "
                                "the API); stop the service to run it") from None
            raise

    return run(_do)  # type: ignore[no-any-return]


def admin_call(settings: Settings, name: str, here: Callable[[Gateway], Any] | None = None,
               **args: Any) -> Any:
    """Administrative operation ``name`` (taxgate/gateway/admin.py) on the store (or
    ``here``, the same operation with what only this process shows, such as progress);
    when the embedded store is held by a running ``taxgate serve``, run by that service
    over its admin channel. Failures become exit codes as in :func:`run`."""
    from taxgate.gateway import admin, channel

    def _do() -> Any:
        try:
            with Gateway(settings) as gw:
                return here(gw) if here else admin.run(gw, name, args)
        except StoreBusy:
            if not channel.available(settings):
                raise
        return channel.call(settings, name, args)

    return run(_do)


def print_json(data: Any) -> None:
    """One JSON document on stdout (keys as the operation gives them)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_rows(rows: list[dict[str, Any]], columns: dict[str, str], as_json: bool,
               title: str | None = None) -> None:
    """``rows`` as JSON, or as a table of ``columns`` (key -> heading); every value
    passes through for_terminal."""
    if as_json:
        print_json(rows)
        return
    table = Table(*columns.values(), title=title)
    for r in rows:
        table.add_row(*(shown("" if r.get(k) is None else str(r.get(k))) for k in columns))
    out.print(table)


def print_timings(t: Timings | dict[str, float]) -> None:
    stages = t if isinstance(t, dict) else t.stages
    table = Table(title="time per stage", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, secs in stages.items():
        table.add_row(name, f"{secs:.2f}")
    table.add_row("total", f"{sum(stages.values()):.2f}")
    out.print(table)
