"""``python -m bench.nearmiss``: see bench/nearmiss/run.py."""

from bench.nearmiss.run import main

main()
