"""The near-miss report in markdown, from the run's JSON-ready data."""

from __future__ import annotations

from typing import Any

GOAL_RECALL = 0.98


def _figure(k: dict[str, Any]) -> str:
    if k["group"] == "near miss":
        return f"{k['false_confirmations']} FC"
    mark = "" if k["recall"] >= GOAL_RECALL else " ✗"
    return f"{k['recall']:.1%}{mark}"


def _per_kind(data: dict[str, Any]) -> list[str]:
    systems = data["systems"]
    names = list(systems)
    head = ("| kind | n | taxgate C / NC / REVIEW / REJ | " + " | ".join(names)
            + " | taxgate REVIEW share |")
    lines = [head, "|---|---|---|" + "---|" * len(names) + "---|"]
    tg = systems["taxgate"]["kinds"]
    for i, k in enumerate(tg):
        o = k["outcomes"]
        cells = [_figure(systems[n]["kinds"][i]) for n in names]
        lines.append(f"| {k['kind']} | {k['n']} | {o.get('CONFIRMED', 0)} / "
                     f"{o.get('NOT_CONFIRMED', 0)} / {o.get('REVIEW', 0)} / "
                     f"{o.get('REJECTED', 0)} | " + " | ".join(cells)
                     + f" | {k['review_share']:.1%} |")
    return lines


def _by_ids(data: dict[str, Any]) -> list[str]:
    lines = ["| kind | none | dob | tin | both |", "|---|---|---|---|---|"]
    for k in data["systems"]["taxgate"]["kinds"]:
        good = "NOT_CONFIRMED" if k["group"] == "variant" else "CONFIRMED"
        cells = []
        for ids in ("none", "dob", "tin", "both"):
            c = k["by_ids"].get(ids, {})
            n = sum(c.values())
            bad = c.get("CONFIRMED", 0) if good == "CONFIRMED" else n - c.get("CONFIRMED", 0)
            cells.append(f"{bad} / {n}" if n else "–")
        lines.append(f"| {k['kind']} | " + " | ".join(cells) + " |")
    return lines


def _failures(data: dict[str, Any]) -> list[str]:
    lines = []
    for k in data["systems"]["taxgate"]["kinds"]:
        if k["failing_details"]:
            shown = "; ".join(f"{d} ×{n}" for d, n in k["failing_details"].items())
            lines.append(f"- **{k['kind']}**: {shown}")
    return lines or ["- none"]


def _probe(p: dict[str, Any] | None) -> list[str]:
    if not p:
        return ["(not run)"]
    lines = [f"Demo world: {p['demo_people']:,} people, {p['demo_filings']:,} filings, "
             f"{p['demo_records']:,} request records, seed {p['seed']}. "
             f"{p['confirmed_in_demo']:,} records CONFIRMED; with each first name replaced by "
             f"an unrelated census given name: **{p['confirmed_after_replacing_first_name']:,} "
             f"CONFIRMED** (goal 0), {p['review_after_replacing_first_name']:,} REVIEW.", "",
             "| the request carries | records | CONFIRMED | REVIEW |", "|---|---|---|---|"]
    for ev, c in sorted(p["by_evidence"].items()):
        lines.append(f"| {ev} | {c['records']} | {c['CONFIRMED']} | {c['REVIEW']} |")
    return lines


def render(data: dict[str, Any]) -> str:
    sz, tg = data["sizes"], data["systems"]["taxgate"]["totals"]
    out = [
        f"## {data['date']}: `{data['command']}`", "",
        f"machine: {data['machine']}", "",
        f"set: {sz['people']:,} people, {sz['filings']:,} filings, {sz['records']:,} request "
        f"records ({sz['per_kind']} per variant kind, every Pub 28 suffix spelling at least "
        f"once; {sz['near_miss_per_kind']} per near-miss kind), seed {sz['seed']}; seconds: "
        + ", ".join(f"{k} {v}" for k, v in data["seconds"].items()), "",
        f"**taxgate**: {tg['false_confirmations']} false confirmations in "
        f"{tg['near_miss_records']:,} near misses (goal 0); variant recall "
        f"{tg['variant_recall']:.2%} over {tg['variant_records']:,} (goal ≥ 98 % per kind; "
        f"below it: {', '.join(tg['kinds_below_98']) or 'none'}); REVIEW "
        f"{tg['review_share']:.2%} of all records; {tg['rejected']} REJECTED.", "",
        "### Per kind", "",
        "Near misses: false confirmations (FC). Variants: recall (✗ below 98 %). The baselines "
        "decide only records taxgate found lawful, as in bench/quality.py.", "",
        *_per_kind(data), "",
        "### taxgate by the evidence the request carries", "",
        "Near misses: CONFIRMED / records; variants: not CONFIRMED / records.", "",
        *_by_ids(data), "",
        "### taxgate failures by detail (most frequent first)", "",
        *_failures(data), "",
        "### Contradicting-name probe", "",
        *_probe(data["probe"]), "",
    ]
    return "\n".join(out) + "\n"
