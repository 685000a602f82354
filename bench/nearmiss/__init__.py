"""A labeled near-miss set built from public tables only (issue 12, item 8; R23, R24, R26).

Outside the product's import graph: nothing under ``taxgate`` imports it. Modules:
sources (the public tables and their licences), world (filers), kinds and misses (the
labeled request kinds), package (the contract's files), flow (the CLI), score, report,
probe (the contradicting-name probe on the demo's world), run (the benchmark).
"""
