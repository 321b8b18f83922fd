"""Column types of the lakehouse tables, read from their DDL files.

Rows the jobs build on the driver travel to the engine as Arrow tables typed from here:
the DDL stays the one definition of every column, and no query is spent asking the
engine for a table's schema.
"""

from __future__ import annotations

import re
from functools import cache

import pyarrow as pa
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from dealdesk.lakehouse.ddl import discover

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS \$\{catalog\}\.\$\{schema\}\.(\w+) \((.*?)\n\) USING", re.S)
_COLUMN = re.compile(r"^\s+(\w+) (BIGINT|INT|STRING|DOUBLE|BOOLEAN|TIMESTAMP|DATE)\b(.*)$")
_SPARK: dict[str, DataType] = {
    "BIGINT": LongType(),
    "INT": IntegerType(),
    "STRING": StringType(),
    "DOUBLE": DoubleType(),
    "BOOLEAN": BooleanType(),
    "TIMESTAMP": TimestampType(),
    "DATE": DateType(),
}
_ARROW: dict[str, pa.DataType] = {
    "BIGINT": pa.int64(),
    "INT": pa.int32(),
    "STRING": pa.string(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}


@cache
def _columns() -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """table -> ((column, SQL type, nullable), ...) in DDL order."""
    tables: dict[str, tuple[tuple[str, str, bool], ...]] = {}
    for migration in discover():
        for table, body in _CREATE.findall(migration.text):
            columns = []
            for line in body.splitlines():
                match = _COLUMN.match(line)
                if match:
                    name, sql_type, rest = match.groups()
                    columns.append((name, sql_type, "NOT NULL" not in rest.split("COMMENT")[0]))
            tables[table] = tuple(columns)
    return tables


def column_names(table: str) -> list[str]:
    return [name for name, _, _ in _columns()[table]]


def spark_schema(table: str, columns: list[str] | None = None) -> StructType:
    """The table's columns (or the named ones, in that order) as a Spark schema."""
    known = {name: (sql_type, nullable) for name, sql_type, nullable in _columns()[table]}
    names = columns or list(known)
    return StructType([StructField(n, _SPARK[known[n][0]], known[n][1]) for n in names])


def arrow_schema(table: str, columns: list[str] | None = None) -> pa.Schema:
    known = {name: (sql_type, nullable) for name, sql_type, nullable in _columns()[table]}
    names = columns or list(known)
    return pa.schema([pa.field(n, _ARROW[known[n][0]], known[n][1]) for n in names])
