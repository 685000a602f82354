"""The evidence a request leaves (R3, R30): its signed original kept unchanged, and the
policy values its decisions ran under, committed with its answer; read back as a package.

:func:`package_parts` makes the parts :meth:`taxgate.store.base.Store.commit_request`
seals and keeps in the answer's own transaction: the manifest exactly as received, the
records file in slices, both to be purged ``policy.evidence_retention_days`` after
receipt, and the values of the policy version (kept for good). :func:`kept_package`
writes a request's kept files to a private temporary folder and reads them as
:func:`taxgate.intake.read_package` reads any package, so counsel and re-checks see the
original through the gateway's own intake.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from taxgate import intake
from taxgate import package_files as files
from taxgate.canonical import canonical_json
from taxgate.domain import EvidencePart
from taxgate.settings import Policy
from taxgate.store.base import Store

PART_BYTES = 16 << 20  # a records file is kept in slices of 16 MiB, each sealed alone


def policy_values(policy: Policy) -> bytes:
    """The canonical JSON of every value of ``policy`` (what its version digests)."""
    return canonical_json(asdict(policy))


def policy_part(policy: Policy) -> EvidencePart:
    """The values of ``policy``, kept for good under its version."""
    return EvidencePart("policy", policy.version(), 0, policy_values(policy))


def package_parts(pkg: intake.Package, request_id: str, received_at: str,
                  policy: Policy) -> Iterator[EvidencePart]:
    """The parts to keep for an answered request: its policy's values, its manifest and
    its records file (read lazily, a slice at a time, while the store writes)."""
    received = intake.parse_created_at(received_at)
    expires = (received + dt.timedelta(days=policy.evidence_retention_days)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    yield policy_part(policy)
    yield EvidencePart("manifest", request_id, 0, pkg.manifest_bytes, expires)
    if pkg.records_path is None:
        return
    with files.open_regular(pkg.records_path) as f:
        n = 0
        while chunk := f.read(PART_BYTES):
            yield EvidencePart("records", request_id, n, chunk, expires)
            n += 1


@contextmanager
def kept_package(store: Store, request_id: str) -> Iterator[intake.Package | None]:
    """The request's kept package, read by intake from a private temporary folder that
    is removed afterwards; None when nothing is kept (purged, or answered before
    evidence was kept)."""
    manifest = store.kept("manifest", request_id)
    if manifest is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="taxgate-evidence-") as tmp:  # mode 0700
        folder = Path(tmp) / "package"
        folder.mkdir(mode=0o700)
        (folder / "manifest.json").write_bytes(manifest)
        name = files.peek(manifest).get("records_file")
        if files.safe_file_name(name):
            with (folder / str(name)).open("wb") as f:
                for part in store.kept_parts("records", request_id):
                    f.write(part)
        yield intake.read_package(folder)
