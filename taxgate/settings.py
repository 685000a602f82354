"""The one settings object: where the store is, the legal policy, the matching engine,
the service's bounds.

:class:`Settings` holds the store and engine settings and two sections, ``policy``
(:class:`Policy`) and ``service`` (:class:`ServiceSettings`). Built once by a shell
(the CLI callback, the app factory, a test fixture) with :meth:`Settings.from_env`
and passed down; nothing here touches the disk at import time. Every value is
type-checked when an object is built (:mod:`taxgate.settings_check`): a bad one is a
:class:`SettingsError` whose one line names the setting and its source
(``TAXGATE_*`` variable, policy file key, option). Every policy value is declared
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
from typing import TYPE_CHECKING, Any

from taxgate import keys
from taxgate import settings_check as check
from taxgate.canonical import canonical_json, sha256_hex
from taxgate.errors import SettingsError

if TYPE_CHECKING:
    from taxgate.keys import KeyProvider



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
        "exact", "nickname", "spelling", "listed nickname", "nickname variant",
        "given/family swapped", "cross-language", "initial")
    street_name_max_edits: int = 1
    street_name_min_length_for_edits: int = 6
    established_given_name_min_count: int = 1_000
    given_name_sex_dominance: float = 10.0
    hypocorism_min_letters: int = 3
    evidence_retention_days: int = 2557
    certification_due_days: int = 90
    block_overdue_certifications: bool = False
    alert_refused_signatures: int = 5
    alert_window_minutes: int = 15
    public_report_min_cell: int = 3

    def __post_init__(self) -> None:
        check.check(self)

    def version(self) -> str:
        """A short digest of every policy value: equal policies, equal versions."""
        return "policy-" + sha256_hex(canonical_json(asdict(self)))[:12]

    @classmethod
    def from_toml(cls, path: Path) -> Policy:
        """Read overrides from a TOML file; unknown keys and values of the wrong type are
        an error, all reported at once."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError([(f"TAXGATE_POLICY (policy file {path.name})",
                                  f"cannot be read: {type(exc).__name__}")]) from exc
        source = f"policy file {path.name}"
        table = data.get("policy", data)
        stray = [(f"{k} ({source})", "is outside the [policy] table: move it under [policy]")
                 for k in sorted(set(data) - {"policy"})] if "policy" in data else []
        if not isinstance(table, dict):
            raise SettingsError([(f"policy ({source})", "must be a table: [policy]"), *stray])
        try:
            policy = cls.from_mapping(table, source)
        except SettingsError as exc:
            raise SettingsError(exc.problems + stray) from None
        if stray:
            raise SettingsError(stray)
        return policy

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "policy") -> Policy:
        known = {f.name for f in fields(cls)}
        found = [(f"{k} ({source})", "is not a policy setting") for k in sorted(set(data) - known)]
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in data.items() if k in known}
        try:
            policy = replace(cls(), **values)
        except SettingsError as exc:
            found += check.relabel(exc, dict.fromkeys(values, source)).problems
        if found:
            raise SettingsError(found)
        return policy


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


def replica_file_for(store: str) -> Path:
    """Where a host keeps a PostgreSQL store's matching replica (docs/store.md) when
    ``pg_replica`` is unset: the user's cache folder, under a name derived from the URL
    (no credentials in it), as the key file is named."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "taxgate"
    return base / f"pg-{sha256_hex(store.encode())[:16]}.duckdb"


def default_spool(store: str) -> Path:
    """Beside an embedded store (``<store>.spool``); for PostgreSQL, in the user's state
    folder under a name derived from the URL (no credentials in it)."""
    if store.startswith(("postgresql://", "postgres://")):
        base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
        return base / "taxgate" / f"spool-{sha256_hex(store.encode())[:16]}"
    folder = Path(store).expanduser().resolve()
    return folder.parent / f"{folder.name}.spool"


@dataclass(frozen=True)
class ServiceSettings:
    """The section only ``taxgate serve`` reads: upload, session, sign-in and connection
    bounds (docs/service.md lists each with its SERVICE_ENV variable)."""

    max_upload_bytes: int = 512 * 1024 * 1024
    response_retention_days: int = 30
    session_idle_minutes: int = 30
    login_failures: int = 5
    login_window_seconds: int = 300
    login_address_failures: int = 50  # per address: past this, each sign-in is delayed
    header_timeout_seconds: int = 10
    keep_alive_seconds: int = 5
    max_connections: int = 1000
    max_requests_in_flight: int = 100
    api_failures: int = 20  # failed API authentications per address per window before 429
    spool_dir: Path | None = None
    secure_cookies: bool = False  # true behind TLS (R35): cookies marked Secure
    tls_cert: Path | None = None  # serve TLS 1.2+ with this certificate chain (PEM) (R35)
    tls_key: Path | None = None  # its private key (PEM); None: in tls_cert
    tls_client_ca: Path | None = None  # mutual TLS: agencies' certificates from this CA

    def __post_init__(self) -> None:
        check.check(self)


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, declared once."""

    store: str = "taxgate-store"
    policy: Policy = field(default_factory=Policy)
    engine: str = "duckdb"  # or "spark"
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"  # the inputs pass through the Spark driver
    spark_partitions: int = 8  # shuffle partitions on a local master
    spark_index: str = "store"  # or "spark": the filing index built on Spark (docs/scale.md)
    threads: int = 0  # 0: DuckDB's default (all cores)
    memory_limit: str = ""  # e.g. "6GB"; empty: DuckDB's default
    match_chunk_records: int = 200_000  # request records scored at a time (memory bound)
    key_hex: str | None = None  # at-rest key; None: from the key providers below
    key_provider: str = "env,file"  # where the at-rest key is looked for, in order (keys.py)
    ledger_checkpoint_every: int = 10_000  # a signed CHECKPOINT at least every N entries
    anchor_file: str = ""  # the ledger's head anchor (JSON Lines); "": beside the store
    witness_file: str = ""  # the overseer's log of signed checkpoints; "": none configured
    alert_sink: str = ""  # R39: incident alerts to a JSON Lines file or an http(s) URL; "": none
    pg_replica: str = ""  # PostgreSQL: the host's matching replica; "": default; "off": none
    service: ServiceSettings = field(default_factory=ServiceSettings)

    def __post_init__(self) -> None:
        check.check(self, _RULES)

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
    def lookup_folder(self) -> Path | None:
        """Where standardization's lookup tables are kept between processes
        (docs/store.md): in the embedded store's folder, or beside a PostgreSQL store's
        matching replica (None when the replica is ``off``)."""
        if not self.is_postgres:
            return Path(self.store).expanduser().resolve() / "lookups"
        replica = self.pg_replica_path
        return None if replica is None else replica.with_name(replica.stem + ".lookups")

    @property
    def spool(self) -> Path:
        """The service's folder for uploads and responses: ``spool_dir``, else default."""
        return self.service.spool_dir or default_spool(self.store)

    @property
    def key_file(self) -> Path:
        return key_file_for(self.store)

    @property
    def anchor_path(self) -> Path:
        """The head anchor file: ``anchor_file`` when set, else beside the store."""
        if self.anchor_file:
            return Path(self.anchor_file).expanduser()
        return anchor_file_for(self.store)

    @property
    def pg_replica_path(self) -> Path | None:
        """The PostgreSQL store's matching replica on this host (docs/store.md):
        ``pg_replica`` when set, else in the cache folder; None when it is ``off``."""
        if self.pg_replica.strip().lower() == "off":
            return None
        if self.pg_replica:
            return Path(self.pg_replica).expanduser()
        return replica_file_for(self.store)

    @property
    def witness_path(self) -> Path | None:
        """The witness log of signed checkpoints (a folder: its ``taxgate-checkpoints.jsonl``);
        None when none is configured."""
        if not self.witness_file:
            return None
        path = Path(self.witness_file).expanduser()
        return path / WITNESS_NAME if path.is_dir() else path
    def keys(self) -> KeyProvider:
        """Where the at-rest key comes from: ``key_hex`` when given, else the providers
        ``key_provider`` names (TAXGATE_KEY, the key file; :mod:`taxgate.keys`)."""
        return keys.provider(self.key_provider, self.key_file, self.key_hex)

    def resolve_key(self) -> str | None:
        """The at-rest key from :meth:`keys`, or None when no provider holds one."""
        return self.keys().key()

    @classmethod
    def from_env(cls, store: str | None = None, **overrides: Any) -> Settings:
        """Settings from TAXGATE_* environment variables, then explicit overrides (a
        command's options; a ServiceSettings field goes to ``service``). Every bad value
        is reported at once, in one line, named with its source."""
        found: list[tuple[str, str]] = []
        policy_file = os.environ.get("TAXGATE_POLICY")
        try:
            policy = Policy.from_toml(Path(policy_file)) if policy_file else Policy()
        except SettingsError as exc:
            found, policy = exc.problems, Policy()
        service_env = {k: var for k, (var, _) in SERVICE_ENV.items()}
        service = _build(ServiceSettings, found, *_given(ServiceSettings, service_env,
                                                          overrides, found))
        values, sources = _given(cls, ENGINE_ENV, overrides, found)
        values.update(store=store or os.environ.get("TAXGATE_STORE") or cls.store,
                      policy=policy, service=service)
        settings = _build(cls, found, values, sources)
        if found:
            raise SettingsError(found)
        return settings


def _given(cls: Any, env: dict[str, str], overrides: dict[str, Any],
           found: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of ``cls`` set in the environment (as their types) or by overrides,
    and where each came from; text of the wrong type goes to ``found``."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, var in env.items():
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        try:
            values[name], sources[name] = check.from_text(cls, name, raw), var
        except ValueError as exc:
            found.append((f"{name} ({var})", str(exc)))
    names = {f.name for f in fields(cls)}
    for name, value in overrides.items():
        if name in names:
            values[name] = value
            option = f"option --{name.replace('_', '-')}"
            sources[name] = f"{option} or {env[name]}" if name in env else option
    return values, sources


def _build(cls: Any, found: list[tuple[str, str]], values: dict[str, Any],
           sources: dict[str, str]) -> Any:
    """``cls(**values)``; its bad values go to ``found`` named with their sources (and
    the defaults stand in, so that later sections are checked too)."""
    try:
        return cls(**values)
    except SettingsError as exc:
        found += check.relabel(exc, sources).problems
        bad = {n for n, _ in exc.problems}
        return cls(**{k: v for k, v in values.items() if k not in bad})


ENGINES = ("duckdb", "spark")
SPARK_INDEXES = ("store", "spark")  # where the Spark engine's filing index is built
WITNESS_NAME = "taxgate-checkpoints.jsonl"  # the witness log's name in a witness folder
_RULES = {"engine": check.one_of(ENGINES), "spark_index": check.one_of(SPARK_INDEXES),
          "threads": check.at_least(0),
          "match_chunk_records": check.at_least(1), "spark_partitions": check.at_least(1),
          "ledger_checkpoint_every": check.at_least(1),
          "key_provider": lambda v: None if v and all(
              n.strip() in keys.PROVIDERS for n in v.split(",")) else
          f"must be a comma-separated list of {', '.join(keys.PROVIDERS)}"}

# Settings an operator may give in the environment (the CLI's options override them).
ENGINE_ENV = {
    "engine": "TAXGATE_ENGINE",  # duckdb (default) or spark: who runs matching
    "spark_master": "TAXGATE_SPARK_MASTER",  # local[2], spark://host:7077, yarn, k8s://...
    "spark_driver_memory": "TAXGATE_SPARK_DRIVER_MEMORY",  # e.g. 16g
    "spark_partitions": "TAXGATE_SPARK_PARTITIONS",  # local masters only
    "spark_index": "TAXGATE_SPARK_INDEX",  # store (default) or spark: who builds the index
    "threads": "TAXGATE_THREADS",  # DuckDB threads; 0 = all cores
    "memory_limit": "TAXGATE_MEMORY_LIMIT",  # DuckDB memory_limit, e.g. 6GB
    "match_chunk_records": "TAXGATE_MATCH_CHUNK",  # request records scored at a time
    "anchor_file": "TAXGATE_ANCHOR",  # the ledger's head anchor file (docs/ledger.md)
    "witness_file": "TAXGATE_WITNESS",  # the overseer's checkpoint log (docs/ledger.md)
    "alert_sink": "TAXGATE_ALERT_SINK",  # incident alerts (docs/reports.md)
    "key_provider": "TAXGATE_KEY_PROVIDER",  # env,file (default), env or file (docs/store.md)
    "pg_replica": "TAXGATE_PG_REPLICA",  # the matching replica's file, or off (docs/store.md)
}

# Declared once: name -> (environment variable, meaning). docs/service.md lists them;
# a service setting may also be given as an override to Settings.from_env.
SERVICE_ENV = {
    "max_upload_bytes": ("TAXGATE_MAX_UPLOAD_BYTES", "largest request package accepted (bytes)"),
    "response_retention_days": ("TAXGATE_RESPONSE_DAYS",
                                "days a response stays downloadable (R40)"),
    "session_idle_minutes": ("TAXGATE_SESSION_MINUTES", "web session idle expiry (minutes)"),
    "login_failures": ("TAXGATE_LOGIN_FAILURES", "failed sign-ins per user or address before 429"),
    "login_window_seconds": ("TAXGATE_LOGIN_WINDOW", "window those failures are counted in"),
    "spool_dir": ("TAXGATE_SPOOL", "folder for uploaded packages and responses (mode 0700)"),
    "login_address_failures": ("TAXGATE_LOGIN_ADDRESS_FAILURES",
                               "failed sign-ins per address before each attempt is delayed"),
    "header_timeout_seconds": ("TAXGATE_HEADER_TIMEOUT",
                               "seconds a connection may take to send a request's headers"),
    "keep_alive_seconds": ("TAXGATE_KEEP_ALIVE", "seconds an idle kept-alive connection stays"),
    "max_connections": ("TAXGATE_MAX_CONNECTIONS",
                        "open connections before the oldest one still sending headers is closed"),
    "max_requests_in_flight": ("TAXGATE_MAX_IN_FLIGHT",
                               "requests handled at once before 503 (Retry-After)"),
    "tls_cert": ("TAXGATE_TLS_CERT", "serve TLS 1.2+ with this certificate chain (PEM)"),
    "tls_key": ("TAXGATE_TLS_KEY", "the TLS certificate's private key (PEM)"),
    "tls_client_ca": ("TAXGATE_TLS_CLIENT_CA", "mutual TLS: require an agency certificate "
                      "issued by this CA (PEM); its organizationName is the agency"),
}
