"""Where the at-rest key comes from: a small key-provider interface (R35, SC-12, SC-28).

The store is encrypted under one 256-bit at-rest key, and the gateway's Ed25519 signing
key is kept in the store wrapped (PKCS#8, encrypted) under that same key: so both keys
are obtained through the provider that yields the at-rest key, and neither lies in the
store in clear. Today's providers:

- ``env``: the ``TAXGATE_KEY`` environment variable (64 hex digits), set by whatever
  starts the process (a secrets manager, systemd credentials, a vault agent);
- ``file``: the key file ``taxgate init`` writes beside (never inside) the store, mode
  0600 (``<store>.key``; for PostgreSQL, under the user's configuration folder).

``Settings.key_provider`` (``TAXGATE_KEY_PROVIDER``) names the sources tried, in order:
``env,file`` (the default), ``env`` alone (no key ever read from disk), or ``file``. A
key-management service or an HSM is another :class:`KeyProvider` (docs/store.md, "Keys",
describes the KMS and PKCS#11 adapters; they are not built): ``key()`` returns the data
key that service unwraps, and ``create`` stores a new wrapped one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

PROVIDERS = ("env", "file")
ENV_VAR = "TAXGATE_KEY"


class KeyProvider(Protocol):
    """A source of the at-rest key."""

    @property
    def where(self) -> str:
        """How an operator would supply the key here, for messages."""

    def key(self) -> str | None:
        """The key (hex), or None when this source holds none. OSError: unreadable."""

    def can_create(self) -> bool:
        """Whether ``taxgate init`` may make a new key and keep it here."""


@dataclass(frozen=True)
class EnvKey:
    """The key in an environment variable (``TAXGATE_KEY``)."""

    var: str = ENV_VAR

    @property
    def where(self) -> str:
        return f"set {self.var}"

    def key(self) -> str | None:
        value = os.environ.get(self.var, "").strip()
        return value or None

    def can_create(self) -> bool:
        return False


@dataclass(frozen=True)
class FileKey:
    """The key in a file beside the store, readable by its owner only."""

    path: Path

    @property
    def where(self) -> str:
        return f"provide the key file {self.path}"

    def key(self) -> str | None:
        if not self.path.exists():
            return None
        return self.path.read_text(encoding="ascii").strip() or None

    def can_create(self) -> bool:
        return True


@dataclass(frozen=True)
class GivenKey:
    """A key handed over in code (``Settings.key_hex``: tests, embedding programs)."""

    value: str

    @property
    def where(self) -> str:
        return "pass the key"

    def key(self) -> str | None:
        return self.value

    def can_create(self) -> bool:
        return False


@dataclass(frozen=True)
class Chain:
    """The first of several providers that holds a key."""

    providers: tuple[KeyProvider, ...]

    @property
    def where(self) -> str:
        return " or ".join(p.where for p in self.providers)

    def key(self) -> str | None:
        for p in self.providers:
            found = p.key()
            if found:
                return found
        return None

    def can_create(self) -> bool:
        return any(p.can_create() for p in self.providers)


def provider(names: str, key_file: Path, given: str | None = None) -> KeyProvider:
    """The providers ``names`` lists (``env,file``), after a ``given`` key if any."""
    chosen: list[KeyProvider] = [GivenKey(given)] if given else []
    for name in (n.strip() for n in names.split(",")):
        chosen.append(EnvKey() if name == "env" else FileKey(key_file))
    return Chain(tuple(chosen))
