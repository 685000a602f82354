"""What a stage hands the next: a table it made in the connection, and its columns.

A stage makes its output in DuckDB (a temporary table, materialized once: on a large
request a lazy relation would be evaluated again by every stage that reads it) and
returns a :class:`StageTable` naming it. The next stage takes that object as a
parameter and reads the table through it, never by a name of its own: the only module
that spells a table's name is the one that chose it. SQL is built by functions that
return text and executed here, by :func:`materialize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class StageTable:
    """A table a stage made: its name in the connection (for the SQL that reads it) and
    its columns, in order."""

    name: str
    columns: tuple[str, ...]

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """The table as a DuckDB relation of ``con``."""
        return con.table(self.name)

    def count(self, con: duckdb.DuckDBPyConnection) -> int:
        """How many rows the table holds."""
        row = con.execute(f"SELECT count(*) FROM {self.name}").fetchone()
        return int(row[0]) if row else 0

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Free the table once no stage needs it."""
        con.execute(f"DROP TABLE IF EXISTS {self.name}")


@dataclass(frozen=True)
class ScoredPairs(StageTable):
    """The matching stage's candidate pairs, with the comparison levels it scored them
    with: per comparison (its output column), the labels of its levels from the highest
    gamma down to 0, so the next stage reads a level by its label, never by a number
    of its own."""

    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def table_of(con: duckdb.DuckDBPyConnection, name: str) -> StageTable:
    """The :class:`StageTable` of a table ``name`` the caller has just made in ``con``."""
    return StageTable(name, tuple(con.table(name).columns))


def materialize(
    con: duckdb.DuckDBPyConnection, name: str, select: str,
    parameters: dict[str, Any] | list[Any] | None = None,
) -> StageTable:
    """Run ``select`` (built whole by its stage; ``parameters`` bound by DuckDB) into the
    temporary table ``name``, replacing one left by an earlier request, and return it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", parameters)
    return table_of(con, name)
