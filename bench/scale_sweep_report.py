"""bench/results/scale-sweep.md from a run of the request-size sweep (scale_sweep.py)."""

from __future__ import annotations

from pathlib import Path

HEADER = [
    "# Request-size sweep results",
    "",
    "Made by `bench/scale.py sweep` (see docs/scale.md#the-request-size-sweep). Each run",
    "lists the exact command, the machine and its load average (the machine may be",
    "shared: other work inflates times). Times are wall seconds; memory is the peak",
    "resident set size of the command (on PostgreSQL, of the client, not the server).",
    "",
]


def write_markdown(path: Path, run: dict) -> None:
    """Add ``run`` at the top of ``path``; earlier runs and notes written by hand stay."""
    old = path.read_text().splitlines() if path.exists() else list(HEADER)
    keep = old[len(HEADER):] if old[:len(HEADER)] == HEADER else old
    path.write_text("\n".join([*HEADER, *render_run(run), *keep]) + "\n")


def _n(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _stages(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in stages.items())


def render_run(run: dict) -> list[str]:
    """One run as a markdown section."""
    m = run["machine"]
    lines = [
        f"## {run['started_at']} — `{run['command']}`", "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; load average "
        f"{m['load_average_at_start']:.1f} at start, {run['load_average_at_end']:.1f} at end; "
        f"settings: {run['settings']}; {run['people']:,} people, a request of "
        f"{run['request_records']:,} records.", "",
        *_loads(run), *_services(run),
    ]
    for e in run["engines"]:
        lines += _sizes(e, run.get("bare_splink") or {})
    if run.get("notes"):
        lines += [run["notes"], ""]
    return lines


def _loads(run: dict) -> list[str]:
    given = [e["engine"] for e in run["engines"] if e.get("store")]
    if given:  # --store: measured on a store loaded before, by another run
        return [f"Store: loaded before this run ({', '.join(given)}, `--store`); no load "
                "is timed here.", ""]
    lines = ["Loads (the first, then the increment into that store; stages as printed):", "",
             "| store | load | filings | in store | s | GiB | load avg | stages |",
             "|---|---|---|---|---|---|---|---|"]
    for e in run["engines"]:
        for label, ld in (("first", e["first_load"]), ("increment", e["increment_load"])):
            if ld is None:
                continue
            lines.append(
                f"| {e['engine']} | {label} | {ld['filings'] or 0:,} "
                f"| {ld['filings_in_store'] or 0:,} | {ld['wall_s']:.1f} "
                f"| {_n(ld['peak_rss_gib'])} | {ld['load_average']:.1f} "
                f"| {_stages(ld['stages'])} |")
        if (a := e.get("after_load")) is not None:
            lines.append(f"| {e['engine']} | `taxgate {a['command']}` | | | {a['wall_s']:.1f} "
                         f"| {_n(a['peak_rss_gib'])} | {a['load_average']:.1f} "
                         f"| {_stages(a['stages'])} |")
    return [*lines, ""]


def _services(run: dict) -> list[str]:
    rows = [e for e in run["engines"] if e.get("service")]
    if not rows:
        return []
    lines = ["One-record requests through the API, upload to signed response:", "",
             "| store | requests | p50 s | p99 s | max s | first s | states |",
             "|---|---|---|---|---|---|---|"]
    for e in rows:
        s = e["service"]
        if s.get("failed"):
            lines.append(f"| {e['engine']} | {s['requests']} | failed: {s['failed']} "
                         "| | | | |")
            continue
        states = ", ".join(f"{k} {v}" for k, v in s["states"].items())
        lines.append(f"| {e['engine']} | {s['requests']} | {_n(s['p50_s'], 3)} "
                     f"| {_n(s['p99_s'], 3)} | {_n(s['max_s'], 3)} | {_n(s['first_s'], 3)} "
                     f"| {states} |")
    return [*lines, ""]


def _bare_cell(b: dict) -> str:
    if b.get("failed"):
        return f"failed after {b['wall_s']:.0f} ({b['failed']})"
    if b.get("timed_out"):
        return f"timed out after {b['wall_s']:.0f}"
    return _n(b.get("wall_s"))


def _quality(q: dict) -> str:
    """False confirmations, recall and review rate of a size's first run."""
    if not q:
        return " |  | "
    return (f"{q['false_confirmations']} | {_n(q['recall'], 3)} "
            f"| {_n(q['review_rate'], 3)}")


def _sizes(engine: dict, bare: dict) -> list[str]:
    """The sweep of one store engine: a row per request size, then stage medians."""
    sizes = engine["sizes"]
    lines = [f"`taxgate process` on the {engine['engine']} store, median of the runs (the "
             "answer's quality from the first), beside the bare Splink reference (one "
             "run) on the same records:", "",
             "| records | runs | process s | stages s | min–max s | peak GiB | load avg "
             "| false conf. | recall | review | bare Splink s | bare predict s | bare GiB "
             "| bare pairs |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        b = bare.get(str(s["records"])) or {}
        loads = [r["load_average"] for r in s["runs"]]
        median_s = _n(s["median_wall_s"])
        if s["median_wall_s"] is None:
            median_s = "timed out" if s["timed_out"] else f"failed ({s.get('failed')})"
        bare_cells = ([_bare_cell(b), _n(b.get("block_predict_s")), _n(b.get("peak_rss_gib")),
                       f"{b.get('pairs', 0):,}"] if b else ["", "", "", ""])
        lines.append(
            f"| {s['records']:,} | {len(s['runs'])} | {median_s} "
            f"| {_n(sum(s['median_stages'].values()) if s['median_stages'] else None)} "
            f"| {_n(s['min_wall_s'])}–{_n(s['max_wall_s'])} | {_n(s['peak_rss_gib'])} "
            f"| {min(loads):.1f}–{max(loads):.1f} | {_quality(s.get('quality') or {})} | "
            + " | ".join(bare_cells) + " |")
    names: list[str] = []
    for s in sizes:
        names += [k for k in s["median_stages"] if k not in names]
    lines += ["", f"Median seconds per stage of `taxgate process` ({engine['engine']}):", "",
              "| stage | " + " | ".join(f"{s['records']:,}" for s in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for k in names:
        lines.append(f"| {k} | " + " | ".join(_n(s["median_stages"].get(k)) for s in sizes)
                     + " |")
    return [*lines, ""]
