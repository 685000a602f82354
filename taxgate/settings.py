"""The one settings object: where the store is, the legal policy, the matching knobs.

Built once by a shell (the CLI callback, the app factory, a test fixture) and passed
down; nothing here touches the disk at import time. Every policy value is declared
once in :class:`Policy` with its requirement, and ``docs/policy.md`` is checked
against this list by a test. Policy values are [P] defaults from
docs/requirements: the Disclosure Office sets them, counsel signs off.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from taxgate.canonical import canonical_json, sha256_hex
from taxgate.errors import BadInput

POLICY_DOCS: dict[str, str] = {
    "min_days_after_removal_order": "R15: days that must pass after the removal order (or "
    "the judicial review date) before created_at; the request must come strictly later",
    "officer_record_cap": "R5: most records of one request that may name one officer",
    "max_records_per_request": "R18: most records one request may hold",
    "max_records_file_bytes": "R18: largest records file accepted, in bytes",
    "created_at_max_age_days": "R1: days created_at may lie before receipt (a replay of "
    "identical bytes is answered from the store whatever its age)",
    "created_at_max_skew_minutes": "R1: minutes created_at may lie after receipt (clock skew)",
    "max_taxable_periods": "R11: most tax years one request may name",
    "allowed_legal_authorities": "R12: accepted legal_authority values",
    "allowed_criminal_statutes": "R12: designated non-tax federal criminal statutes",
    "min_reason_words": "R13: fewest distinct words a specific reason must have",
    "hold_single_word_names": "R8: put a one-word name before a disclosure officer (REVIEW)",
    "confirm_match_probability": "R23: person-match probability at or above which a "
    "unique candidate may be CONFIRMED (T_high)",
    "review_match_probability": "R23: probability at or above which a candidate counts "
    "(T_low): a lone one between T_low and T_high goes to REVIEW",
    "review_competitors": "R23: REVIEW (true) or NOT_CONFIRMED (false, the default) when "
    "two taxpayers both match the person and the address, or one scores within "
    "clear_winner_bits of the best",
    "clear_winner_bits": "R23: match-weight bits (log2 odds) by which the best candidate "
    "must beat every other candidate person to be CONFIRMED",
    "successor_gap_years": "R25: most tax years between an ITIN's last filing and a "
    "same-name SSN's first, in the state the ITIN left, for the two to be possibly one "
    "person (which withholds a confirmation of the ITIN's address)",
    "namesake_first_levels": "R23: first-name levels at which another taxpayer at the "
    "address competes with the best however far behind it scores",
    "street_name_max_edits": "R24: most edits (Damerau-Levenshtein) by which a street name "
    "may be misspelled and still name the address of record; 0: names must be exact",
    "street_name_min_length_for_edits": "R24: shortest street name (both sides) that the "
    "spelling tolerance applies to; never below 3 (N and S are directionals, not typos)",
    "established_given_name_min_count": "R23: SSA births (all years, both sexes; "
    "given_names.csv keeps 500 or more) at or above which a given-name spelling is "
    "established: two established names a letter apart are two names, not a typo",
    "given_name_sex_dominance": "R23: how many times more SSA births of one sex than of "
    "the other make a given name that sex's: two established names of opposite sex a "
    "letter or an ending apart (ANDREW/ANDREA) are never nicknames or variants of each other",
    "hypocorism_min_letters": "R23: fewest letters of a full given name a clipped form must "
    "keep (MEL of MELANIE, KEN of KENNY) for the two to agree as a hypocorism",
}


@dataclass(frozen=True)
class Policy:
    """Legal and disclosure policy; its digest is recorded with every decision."""

    min_days_after_removal_order: int = 90
    officer_record_cap: int = 500
    max_records_per_request: int = 2_000_000
    max_records_file_bytes: int = 2 << 30
    created_at_max_age_days: int = 7
    created_at_max_skew_minutes: int = 5
    max_taxable_periods: int = 6
    allowed_legal_authorities: tuple[str, ...] = ("26 U.S.C. 6103(i)(2)",)
    allowed_criminal_statutes: tuple[str, ...] = ("8 U.S.C. 1253(a)(1)",)
    min_reason_words: int = 5
    hold_single_word_names: bool = True
    confirm_match_probability: float = 0.999
    review_match_probability: float = 0.9
    review_competitors: bool = False
    clear_winner_bits: float = 5.0
    successor_gap_years: int = 2
    namesake_first_levels: tuple[str, ...] = (
        "exact", "nickname", "spelling", "nickname variant", "given/family swapped",
        "cross-language", "initial")
    street_name_max_edits: int = 1
    street_name_min_length_for_edits: int = 6
    established_given_name_min_count: int = 1_000
    given_name_sex_dominance: float = 10.0
    hypocorism_min_letters: int = 3

    def version(self) -> str:
        """A short digest of every policy value: equal policies, equal versions."""
        return "policy-" + sha256_hex(canonical_json(asdict(self)))[:12]

    @classmethod
    def from_toml(cls, path: Path) -> Policy:
        """Read overrides from a TOML file; unknown keys are an error, all reported at once."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BadInput(f"policy file {path.name} cannot be read: {type(exc).__name__}") from exc
        return cls.from_mapping(data.get("policy", data))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Policy:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise BadInput(f"unknown policy settings: {', '.join(unknown)}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return replace(cls(), **values)


def key_file_for(store: str) -> Path:
    """Where ``taxgate init`` keeps the at-rest key when TAXGATE_KEY is unset.

    Beside (not inside) an embedded store folder; for a PostgreSQL URL, in the
    user's config folder under a name derived from the URL (no credentials in it).
    """
    if store.startswith(("postgresql://", "postgres://")):
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "taxgate"
        return base / f"pg-{sha256_hex(store.encode())[:16]}.key"
    folder = Path(store).expanduser().resolve()
    return folder.parent / f"{folder.name}.key"


def anchor_file_for(store: str) -> Path:
    """Where the ledger's head anchor is published when no anchor file is configured:
    beside the key file (``<store>.anchor.jsonl``), outside the store (docs/ledger.md)."""
    key = key_file_for(store)
    return key.with_name(key.name.removesuffix(".key") + ".anchor.jsonl")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, declared once."""

    store: str = "taxgate-store"
    policy: Policy = field(default_factory=Policy)
    engine: str = "duckdb"  # or "spark"
    spark_master: str = "local[2]"
    threads: int = 0  # 0: DuckDB's default (all cores)
    memory_limit: str = ""  # e.g. "6GB"; empty: DuckDB's default
    match_chunk_records: int = 200_000  # request records scored at a time (memory bound)
    key_hex: str | None = None  # at-rest key; None: TAXGATE_KEY, then the key file
    ledger_checkpoint_every: int = 10_000  # a signed CHECKPOINT at least every N entries
    anchor_file: str = ""  # the ledger's head anchor (JSON Lines); "": beside the store

    def memory_share(self, fraction: float) -> str:
        """``fraction`` of ``memory_limit`` in DuckDB's syntax ("" when no limit is set):
        for two DuckDB connections that work at once and must stay within the limit."""
        m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B)?\s*", self.memory_limit, re.IGNORECASE)
        if not m:
            return self.memory_limit
        unit = (m.group(2) or "B").upper()
        base = 1024 if "I" in unit else 1000
        power = "BKMGT".index(unit[0]) if unit[0] in "KMGT" else 0
        share = float(m.group(1)) * base**power * fraction
        return f"{max(int(share / 2**20), 64)}MiB"

    @property
    def is_postgres(self) -> bool:
        return self.store.startswith(("postgresql://", "postgres://"))

    @property
    def key_file(self) -> Path:
        return key_file_for(self.store)

    @property
    def anchor_path(self) -> Path:
        """The head anchor file: ``anchor_file`` when set, else beside the store."""
        if self.anchor_file:
            return Path(self.anchor_file).expanduser()
        return anchor_file_for(self.store)

    def resolve_key(self) -> str | None:
        """The at-rest key: explicit, else TAXGATE_KEY, else the key file, else None."""
        if self.key_hex:
            return self.key_hex
        env = os.environ.get("TAXGATE_KEY")
        if env:
            return env.strip()
        if self.key_file.exists():
            return self.key_file.read_text(encoding="ascii").strip()
        return None

    @classmethod
    def from_env(cls, store: str | None = None, **overrides: Any) -> Settings:
        """Settings from TAXGATE_* environment variables, then explicit overrides."""
        store = store or os.environ.get("TAXGATE_STORE") or cls.store
        policy_file = os.environ.get("TAXGATE_POLICY")
        policy = Policy.from_toml(Path(policy_file)) if policy_file else Policy()
        env: dict[str, Any] = {}
        for name, var in ENGINE_ENV.items():
            value = os.environ.get(var, "").strip()
            if value:
                env[name] = value
        for name, var in (("threads", "TAXGATE_THREADS"),
                          ("match_chunk_records", "TAXGATE_MATCH_CHUNK")):
            if name in env:
                try:
                    env[name] = int(env[name])
                except ValueError:
                    raise BadInput(f"{var} must be a whole number") from None
        settings = cls(store=store, policy=policy, **{**env, **overrides})
        if settings.match_chunk_records < 1:
            raise BadInput("TAXGATE_MATCH_CHUNK must be at least 1")
        if settings.engine not in ENGINES:
            raise BadInput(f"unknown engine {settings.engine!r}: use one of {', '.join(ENGINES)}")
        return settings


ENGINES = ("duckdb", "spark")

# Settings an operator may give in the environment (the CLI's options override them).
ENGINE_ENV = {
    "engine": "TAXGATE_ENGINE",  # duckdb (default) or spark: who runs matching
    "spark_master": "TAXGATE_SPARK_MASTER",  # local[2], spark://host:7077, yarn, k8s://...
    "threads": "TAXGATE_THREADS",  # DuckDB threads; 0 = all cores
    "memory_limit": "TAXGATE_MEMORY_LIMIT",  # DuckDB memory_limit, e.g. 6GB
    "match_chunk_records": "TAXGATE_MATCH_CHUNK",  # request records scored at a time
    "anchor_file": "TAXGATE_ANCHOR",  # the ledger's head anchor file (docs/ledger.md)
}
