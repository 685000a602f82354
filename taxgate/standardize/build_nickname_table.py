"""Build ``taxgate/data/name_nickname_en.csv`` from the ``nicknames`` package.

Run once when the package is upgraded, and commit the CSV:

    .venv/bin/python -m taxgate.standardize.build_nickname_table

Every (nickname, canonical) pair of the package is kept. One pair per nickname
may be marked primary (the value ``n_first_canon`` takes):

1. a curated choice from ``name_nickname_en_primary.csv`` (BILL -> WILLIAM);
2. otherwise, only when the nickname is shorter than the canonical name,
   starts with the same letter, is not itself a canonical name of the
   package or a full name of ``name_xlang.csv``, and is not a spelling variant
   (the canonical is the nickname plus one letter: MARIA / MARIAH):
   a canonical that is not itself a nickname, then the one sharing the
   longest prefix, then the one with the most nicknames, then alphabetical.

Anything else stays unresolved (``n_first_canon`` keeps the name as written);
the full pair list is still available to the matcher.

A second public source, the ``corp-names`` package (MIT; its person-name table
merges the ``nicknames`` data with two public-domain lists, common_nickname_csv and
diminutives.db), adds the hypocorisms the first lacks (JEREMY -> JEREMIAH, STAN ->
STANLEY). Only its "common" nicknames that begin with their full name's first letter
are taken, never as a first reading (a second opinion adds a listed pair, it does not
re-resolve a nickname), and never a pair the first source already has.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from importlib import metadata
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def _prefix(a: str, b: str) -> int:
    """Length of the common prefix of two strings."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def build_rows() -> list[tuple[str, str, str, str]]:
    """Return (variant, canonical, is_primary, source) rows, sorted."""
    import nicknames  # only needed when rebuilding the table

    path = Path(os.path.dirname(nicknames.__file__)) / "names.csv"
    pairs: dict[str, set[str]] = defaultdict(set)
    canon_size: dict[str, int] = defaultdict(int)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["relationship"] != "has_nickname":
                continue
            canon, nick = row["name1"].upper(), row["name2"].upper()
            if canon.isalpha() and nick.isalpha() and canon != nick:
                pairs[nick].add(canon)
                canon_size[canon] += 1
    curated: dict[str, str] = {}
    with (DATA / "name_nickname_en_primary.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            curated[row["variant"]] = row["canonical"]
            pairs[row["variant"]].add(row["canonical"])
    with (DATA / "name_xlang.csv").open(newline="") as fh:
        full_names = {row["name"] for row in csv.DictReader(fh)}
    source = f"nicknames {metadata.version('nicknames')}"
    rows: list[tuple[str, str, str, str]] = list(_second_source(pairs))
    for nick, canons in sorted(pairs.items()):
        primary = curated.get(nick)
        if primary is None and nick not in canon_size and nick not in full_names:
            ok = [c for c in canons if len(nick) < len(c) and c[0] == nick[0]
                  and not (c.startswith(nick) and len(c) - len(nick) == 1)]
            if ok:
                ok.sort(key=lambda c: (c in pairs, -_prefix(nick, c), -canon_size[c], c))
                primary = ok[0]
        for canon in sorted(canons):
            src = "curated" if curated.get(nick) == canon and canon_size[canon] == 0 else source
            rows.append((nick, canon, "Y" if canon == primary else "N", src))
    return sorted(rows)


def _second_source(known: dict[str, set[str]]) -> list[tuple[str, str, str, str]]:
    """(variant, canonical, "N", source) rows of corp-names' common nicknames that share
    their full name's initial and that ``known`` (the first source's pairs) lacks."""
    dist = metadata.distribution("corp-names")
    path = Path(str(dist.locate_file("corp_names/data/nicknames.json")))
    source = f"corp-names {dist.version}"
    rows = []
    for nick, entry in json.loads(path.read_text(encoding="utf-8")).items():
        canon = (entry.get("canonical") or "").upper()
        nick = nick.upper()
        if (entry.get("category") == "common" and nick.isalpha() and canon.isalpha()
                and nick.isascii() and canon.isascii() and nick[0] == canon[0]
                and nick != canon and canon not in known.get(nick, set())):
            rows.append((nick, canon, "N", source))
    return rows


def main() -> None:
    """Write the CSV next to the other lookup tables."""
    out = DATA / "name_nickname_en.csv"
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["variant", "canonical", "is_primary", "source"])
        writer.writerows(build_rows())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
