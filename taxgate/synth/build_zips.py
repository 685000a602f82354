"""Build ``taxgate/data/synth_zips.csv`` once from the ``zipcodes`` package.

Run ``python -m taxgate.synth.build_zips``. Keeps active STANDARD ZIP codes of the
50 states and DC with their primary city and a fixed density weight: the state's
share of the Hispanic population (rough Census 2020 figures, millions) times a
log-normal draw per ZIP, so some ZIPs are dense and namesakes meet in them. The
generator reads only the CSV; ``zipcodes`` is needed here alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "data" / "synth_zips.csv"

# Hispanic population by state, millions (rounded; only relative size matters).
STATE_WEIGHT: dict[str, float] = {
    "CA": 15.6, "TX": 11.4, "FL": 5.7, "NY": 3.9, "IL": 2.3, "AZ": 2.2, "NJ": 2.0,
    "CO": 1.3, "GA": 1.1, "NC": 1.1, "NM": 1.0, "WA": 1.0, "PA": 1.0, "NV": 0.9,
    "MA": 0.9, "VA": 0.8, "MD": 0.6, "OR": 0.6, "CT": 0.6, "UT": 0.5, "TN": 0.4,
    "OK": 0.5, "IN": 0.5, "MI": 0.6, "OH": 0.6, "SC": 0.4, "KS": 0.4, "WI": 0.5,
    "MN": 0.4, "AL": 0.3, "AR": 0.3, "LA": 0.3, "MO": 0.3, "NE": 0.2, "ID": 0.2,
    "IA": 0.2, "KY": 0.2, "RI": 0.2, "DC": 0.1, "DE": 0.1, "MS": 0.1, "HI": 0.1,
    "NH": 0.05, "WY": 0.05, "ME": 0.03, "MT": 0.05, "SD": 0.04, "ND": 0.03,
    "WV": 0.03, "VT": 0.02, "AK": 0.05,
}


def build(out: Path = OUT, seed: int = 20260101) -> int:
    """Write the table; return the number of ZIP codes kept."""
    import zipcodes

    rows = [
        z for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] == "STANDARD" and z["state"] in STATE_WEIGHT
    ]
    rows.sort(key=lambda z: z["zip_code"])
    per_state: dict[str, int] = {}
    for z in rows:
        per_state[z["state"]] = per_state.get(z["state"], 0) + 1
    rng = np.random.default_rng(seed)
    dens = rng.lognormal(0.0, 1.0, len(rows))
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["zip", "city", "state", "weight"])
        for z, d in zip(rows, dens, strict=True):
            weight = STATE_WEIGHT[z["state"]] / per_state[z["state"]] * d * 1e6
            w.writerow([z["zip_code"], z["city"].upper(), z["state"], f"{weight:.2f}"])
    return len(rows)


if __name__ == "__main__":  # pragma: no cover
    print(build(), "ZIP codes written to", OUT)
