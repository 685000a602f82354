"""Shared pieces of the command line: consoles, the --store option, progress bars, the
Gateway each command holds, and the one place where failures become exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
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

from taxgate.errors import BadInput, IntegrityError, StoreBusy, classify
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


def with_gateway(settings: Settings, fn: Callable[[Gateway], T], *,
                 audit: str | None = None, target: str | None = None) -> T:
    """``fn`` on a Gateway built from ``settings``, closed after; failures become exit
    codes as in :func:`run`. ``audit``: the command's name, logged with the operator,
    ``target`` (ids only) and its outcome as an OPERATOR_ACTION (R33)."""

    def _do() -> T:
        from taxgate.gateway import channel

        actor = operator() if audit else ""
        try:
            with Gateway(settings) as gw:
                return _audited(gw, fn, actor, audit, target)
        except StoreBusy:
            if channel.available(settings):
                raise StoreBusy("the store is held by a running `taxgate serve`: this command "
                                "needs the store to itself (agencies submit requests through "
                                "the API); stop the service to run it") from None
            raise

    return run(_do)  # type: ignore[no-any-return]


def admin_call(settings: Settings, name: str, here: Callable[[Gateway], Any] | None = None,
               *, audit: str | None = None, target: str | None = None, **args: Any) -> Any:
    """Administrative operation ``name`` (taxgate/gateway/admin.py) on the store (or
    ``here``, the same operation with what only this process shows, such as progress);
    when the embedded store is held by a running ``taxgate serve``, run by that service
    over its admin channel. ``audit``: the command's name, logged with the operator,
    ``target`` (ids only) and its outcome as an OPERATOR_ACTION (R33), by whichever
    process runs it. Failures become exit codes as in :func:`run`."""
    from taxgate.gateway import admin, channel

    def _do() -> Any:
        actor = operator() if audit else ""
        try:
            with Gateway(settings) as gw:
                return _audited(gw, lambda g: here(g) if here else admin.run(g, name, args),
                                actor, audit, target)
        except StoreBusy:
            if not channel.available(settings):
                raise
        try:
            result = channel.call(settings, name, args)
        except Exception as exc:
            if audit and not isinstance(exc, IntegrityError):
                with contextlib.suppress(Exception):  # the failure itself is reported
                    channel.call(settings, "operator.action", {
                        "actor": actor, "command": audit, "target": target,
                        "outcome": _outcome(exc)})
            raise
        if audit:
            channel.call(settings, "operator.action", {
                "actor": actor, "command": audit, "target": target, "outcome": _outcome(None)})
        return result

    return run(_do)


def _audited(gw: Gateway, fn: Callable[[Gateway], T], actor: str, audit: str | None,
             target: str | None) -> T:
    """``fn(gw)``, logged as an OPERATOR_ACTION with its outcome when ``audit`` names it."""
    if not audit:
        return fn(gw)
    try:
        result = fn(gw)
    except Exception as exc:
        with contextlib.suppress(Exception):  # the failure itself is reported
            _log_action(gw, actor, audit, target, exc)
        raise
    _log_action(gw, actor, audit, target, None)
    return result


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


def _log_action(gw: Gateway, actor: str, command: str, target: str | None,
                exc: Exception | None) -> None:
    """OPERATOR_ACTION, unless the ledger failed a check no incident has followed yet:
    nothing is written to a ledger under investigation (docs/ledger.md)."""
    if isinstance(exc, IntegrityError) or gw.open_failure() is not None:
        return
    gw.record_operator_action(actor, command, target, _outcome(exc))


def _outcome(exc: Exception | None) -> str:
    """An OPERATOR_ACTION's outcome: SUCCESS, or FAILURE and the kind of error (never its
    message, which may quote what was typed)."""
    return "SUCCESS" if exc is None else f"FAILURE ({type(exc).__name__})"


# --- the operator (R33, R36) ------------------------------------------------------------

_OPERATOR_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_given_operator: list[str | None] = [None]  # set by the --operator option of `taxgate`


def set_operator(name: str | None) -> None:
    """The operator named by ``--operator`` or TAXGATE_OPERATOR (None: not named);
    BadInput at once when the name is not a plain user name."""
    _given_operator[0] = name.strip() if name and name.strip() else None
    if _given_operator[0] is not None:
        operator()


def operator() -> str:
    """Who runs this command, for the ledger: the name given by ``--operator`` or
    TAXGATE_OPERATOR, else ``os:<login>`` of the process's effective user id (never the
    USER or LOGNAME variables, which anyone can set). BadInput when the name is not
    a plain user name or no login can be found."""
    name = _given_operator[0]
    if name is not None:
        if not _OPERATOR_RE.fullmatch(name):
            raise BadInput("--operator / TAXGATE_OPERATOR: a user name of letters, digits "
                           "and . _ @ - (at most 100 characters)")
        return name
    try:
        login = pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, OSError):
        login = ""
    if not _OPERATOR_RE.fullmatch(login):
        raise BadInput("name the operator: --operator NAME or TAXGATE_OPERATOR "
                       "(the process's user has no login name)")
    return f"os:{login}"


def print_timings(t: Timings | dict[str, float]) -> None:
    stages = t if isinstance(t, dict) else t.stages
    table = Table(title="time per stage", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, secs in stages.items():
        table.add_row(name, f"{secs:.2f}")
    table.add_row("total", f"{sum(stages.values()):.2f}")
    out.print(table)
