"""A pytest plugin that makes `--dist loadgroup` group again (tests/conftest.py loads it).

pytest-xdist 3.8 sends the tests of one ``xdist_group`` to one worker by appending
``@<group>`` to each test's node id in the worker's collection hook, and it does so by
setting ``item._nodeid``, which pytest 9 no longer reads (a node id is ``item._id``).
The suffix never arrived, so every group was spread over both workers and each worker
built the group's world again. This hook adds the suffix where it is missing, in the
form xdist's own hook writes it; where xdist's hook works it finds the suffix and does
nothing.
"""

from __future__ import annotations

import pytest


def _groups(item: pytest.Item) -> list[str]:
    return sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                   for m in item.iter_markers("xdist_group")})


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker of a `--dist loadgroup` run: ``<node id>@<group>``."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups, nodeid = _groups(item), item.nodeid
        if not groups or nodeid.rfind("@") > nodeid.rfind("]"):
            continue
        grouped = f"{nodeid}@{'_'.join(groups)}"
        if hasattr(item, "_id"):  # pytest 9: a structured node id
            item._id = type(item._id).parse(grouped)
        else:
            item._nodeid = grouped
