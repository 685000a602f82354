"""Synthetic taxpayers and requests with known truth (see docs/synthetic-data.md).

Public API::

    pop = generate_taxpayers(n_people, seed)
    write_taxpayers(pop, path, fmt="csv" | "parquet")
    pkg = generate_request(pop, n_records, seed, created_at=..., signing_key=...)
    write_request(pkg, request_dir, truth_path)
    paths = synth_all(workdir, n_people, n_records, seed)

Everything is seeded and vectorized; nothing is read from disk until first use.
"""

from taxgate.synth.mix import CATEGORIES, DEFAULT_MIX, Category
from taxgate.synth.noise import NOISE_GROUPS, NOISE_KINDS
from taxgate.synth.population import Population, generate_taxpayers
from taxgate.synth.request import RequestPackage, generate_request
from taxgate.synth.workflow import SynthPaths, seeded_signing_key, synth_all
from taxgate.synth.write import write_links, write_request, write_taxpayers

__all__ = [
    "CATEGORIES", "DEFAULT_MIX", "NOISE_GROUPS", "NOISE_KINDS", "Category", "Population",
    "RequestPackage", "SynthPaths", "generate_request", "generate_taxpayers", "seeded_signing_key",
    "synth_all", "write_links", "write_request", "write_taxpayers",
]
