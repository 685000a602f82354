"""The taxpayer population: people, their addresses over time, their filings.

Held as numeric arrays; :meth:`Population.filings_table` renders any slice of the
filings as the contract §1 columns, so ten million rows are written chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from taxgate.records import FILING_SOURCES, TAXPAYER_COLUMNS
from taxgate.synth.filings import Filings, make_filings
from taxgate.synth.people import People, make_people
from taxgate.synth.places import History, Universe, building, make_history
from taxgate.synth.render import date_text, render_address, render_names, tin_text
from taxgate.synth.tables import Tables, load_tables

DEFAULT_AS_OF = "2026-10-31"


def to_day(iso: str) -> int:
    return int(np.datetime64(iso[:10], "D").astype(np.int64))


@dataclass
class Population:
    """People, address history and filings of one seeded run."""

    seed: int
    as_of: int
    tables: Tables
    universe: Universe
    people: People
    history: History
    filings: Filings
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_people(self) -> int:
        return len(self.people.hh)

    @property
    def n_filings(self) -> int:
        return len(self.filings.person)

    def filing_address_key(self, idx: np.ndarray) -> np.ndarray:
        """Delivery-point key of the address on each given filing."""
        return self.history.addresses.take(self.filings.slot[idx]).key()

    def address_of_record(self, periods: list[int] | tuple[int, ...]) -> np.ndarray:
        """Per person, the filing index that gives the address of record (contract §3), or -1.

        The most recently processed filing, any source, whose tax_year is in ``periods``.
        """
        f = self.filings
        idx = np.flatnonzero(np.isin(f.tax_year, np.asarray(periods)))
        return self._last_per_person(idx)

    def last_known(self) -> np.ndarray:
        """Per person, the most recently processed filing of any year, or -1."""
        if "lka" not in self._cache:
            self._cache["lka"] = self._last_per_person(np.arange(self.n_filings))
        return self._cache["lka"]

    def _last_per_person(self, idx: np.ndarray) -> np.ndarray:
        person = self.filings.person[idx]
        last = np.r_[person[1:] != person[:-1], True] if len(idx) else np.zeros(0, bool)
        out = np.full(self.n_people, -1, dtype=np.int64)
        out[person[last]] = idx[last]
        return out

    def current_tin(self) -> np.ndarray:
        """The TIN on a person's most recent filing (the ITIN until an SSN is used); 0: none."""
        if "tin" not in self._cache:
            lka = self.last_known()
            self._cache["tin"] = np.where(lka >= 0, self.filings.tin[np.maximum(lka, 0)], 0)
        return self._cache["tin"]

    def filed_under_itin(self) -> np.ndarray:
        """Per person: some filing carries the person's ITIN."""
        f, p = self.filings, self.people
        out = np.zeros(self.n_people, bool)
        out[f.person[(p.itin[f.person] > 0) & (f.tin == p.itin[f.person])]] = True
        return out

    def building_key(self, filing_idx: np.ndarray) -> np.ndarray:
        return building(self.filing_address_key(filing_idx))

    def filings_table(self, start: int = 0, stop: int | None = None) -> pa.Table:
        """Filings ``start:stop`` as the contract §1 columns (all text but tax_year)."""
        f, p = self.filings, self.people
        sl = slice(start, self.n_filings if stop is None else stop)
        who = f.person[sl]
        a = self.history.addresses.take(f.slot[sl])
        names = render_names(
            self.tables, given=p.given[who], middle=p.middle[who], mstyle=p.mstyle[who],
            sur1=p.sur1[who], sur2=p.sur2[who],
            sstyle=np.where(f.alt_surname[sl], np.where(p.sstyle[who] == 0, 1, 0), p.sstyle[who]),
            suffix=p.suffix[who], accents=p.accents[who], title=f.title[sl],
        )
        addr = render_address(
            self.tables, zip_idx=a.zip_idx, number=a.number, street=a.street, predir=a.predir,
            stype=a.stype, postdir=a.postdir, unit=a.unit, zip4=a.zip4, style=f.style[sl],
            udesig=f.udesig[sl], unit_in_street=f.unit_in_street[sl], zip4_mode=f.zip4_mode[sl],
        )
        held = np.asarray(p.hold[who], dtype=bool)
        hold = pa.array(np.where(held, "Y", ""), pa.string(), mask=~held)
        cols = {
            "tin": tin_text(f.tin[sl]),
            "first_name": names["first_name"],
            "middle_name": names["middle_name"],
            "last_name": names["last_name"],
            "date_of_birth": date_text(p.dob[who], ~f.dob_shown[sl]),
            **{k: addr[k] for k in ("street_address", "unit", "city", "state", "zip")},
            "tax_year": pa.array(f.tax_year[sl], pa.int32()),
            "source": pa.array(np.array(FILING_SOURCES)[f.source[sl]]),
            "processed_date": date_text(f.processed[sl]),
            "disclosure_hold": hold,
        }
        assert list(cols) == list(TAXPAYER_COLUMNS)
        return pa.table(cols)

    def links_table(self) -> pa.Table:
        """tin -> person_id for every TIN on a filing: the ITIN/SSN links, known only here."""
        tins, first = np.unique(self.filings.tin, return_index=True)
        return pa.table({"tin": tin_text(tins),
                         "person_id": pa.array(self.filings.person[first], pa.int64())})


def generate_taxpayers(n_people: int, seed: int, *, as_of: str = DEFAULT_AS_OF) -> Population:
    """People and their filings (2019-2025 returns, W-7s, 8822s) processed up to ``as_of``."""
    rng = np.random.default_rng([seed, 1])
    t = load_tables()
    day = to_day(as_of)
    people = make_people(rng, t, n_people)
    uni = Universe(rng, t, n_people)
    history = make_history(rng, t, uni, int(people.hh.max()) + 1, day)
    filings = make_filings(rng, people, history, day)
    return Population(seed, day, t, uni, people, history, filings)
