"""``python -m taxgate.cli``: the same as the ``taxgate`` command."""

from taxgate.cli.main import main

main()
