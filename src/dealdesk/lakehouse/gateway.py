"""The one place that reads and writes the lakehouse tables.

Every object name that goes into SQL text comes from a validated identifier
(catalog, schema, table, column); every value goes through a DataFrame temp
view or a named parameter, never into the SQL string.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, ClassVar

import pyarrow as pa
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from dealdesk.lakehouse import table_types
from dealdesk.lakehouse.engine import Target, spark_session, validate_identifier

log = logging.getLogger(__name__)

# Messages of a lost optimistic-concurrency race: locally and on Databricks.
_CONFLICT_MARKERS = (
    "Failed to commit transaction",
    "ConcurrentAppend",
    "ConcurrentModification",
    "DELTA_CONCURRENT",
    "Missing commit file",  # the local engine, when the log moved on while the loser read it
)


# Source rows of a MERGE with this column true delete their target row (Lakehouse.merge).
DELETE_FLAG = "_dealdesk_delete"

# Fault injection for the reliability tests: DEALDESK_FAIL_AT_WRITE=N makes the N-th table write of
# the process raise before it runs (Lakehouse.writes counts them; a test resets it).
FAIL_AT_WRITE = "DEALDESK_FAIL_AT_WRITE"


class InjectedFault(RuntimeError):
    """Raised by the fault-injection switch instead of a table write."""


def is_write_conflict(exc: BaseException) -> bool:
    return any(marker in str(exc) for marker in _CONFLICT_MARKERS)


@dataclass
class Lakehouse:
    spark: SparkSession
    target: Target
    # Engine queries this instance ran (reads collected, MERGEs, appends, statements): a run's
    # cost on Spark and Databricks is mostly its number of queries, so jobs report it.
    queries: int = field(default=0)
    # Opt-in record of every SQL text sent (a list, or None for off), shared by all instances so that
    # statements of jobs started through the CLI are caught too: the tests parse them as Databricks SQL.
    recorded_statements: ClassVar[list[str] | None] = None
    # Table writes made by this process, as "MERGE deals", "APPEND raw_documents", ... (fault injection).
    writes: ClassVar[list[str]] = []

    @classmethod
    def open(cls, target: Target) -> Lakehouse:
        return cls(spark_session(target), target)

    # -- names ---------------------------------------------------------------
    @property
    def schema_name(self) -> str:
        # sql_catalog: the lakehouse's catalog, except on Spark, whose Delta catalog is spark_catalog
        return f"`{self.target.sql_catalog}`.`{self.target.schema}`"

    def table_name(self, table: str) -> str:
        return f"{self.schema_name}.`{validate_identifier('table', table)}`"

    def table_location(self, table: str) -> str:
        """Folder of a table on the local engine (Unity Catalog manages its own)."""
        return str(self.target.warehouse / self.target.schema / validate_identifier("table", table))

    def schema_location(self) -> str:
        return str(self.target.warehouse / self.target.schema)

    # -- reads ---------------------------------------------------------------
    def sql(self, statement: str, args: dict[str, Any] | None = None) -> DataFrame:
        if Lakehouse.recorded_statements is not None:
            Lakehouse.recorded_statements.append(statement)
        return self.spark.sql(statement, args=args) if args else self.spark.sql(statement)

    def read(self, table: str) -> DataFrame:
        return self.spark.table(self.table_name(table))

    @contextmanager
    def _query(self, what: str) -> Iterator[None]:
        """One engine query: counted, and its seconds logged (``-v``)."""
        self.queries += 1
        started = time.perf_counter()
        yield
        log.debug("query %d: %s in %.2fs", self.queries, what, time.perf_counter() - started)

    def execute(self, statement: str) -> list[Any]:
        """Run a statement (DDL, DML) and return its rows: one engine query."""
        with self._query(statement.split(None, 1)[0]):
            return self.sql(statement).collect()

    def collect(self, df: DataFrame) -> list[dict[str, Any]]:
        """The rows of ``df`` as plain dicts, through Arrow: one engine query.

        Timestamps come back as naive UTC datetimes (the session time zone is UTC)."""
        with self._query("collect"):
            return [_naive(row) for row in df.toArrow().to_pylist()]

    def rows(self, df: DataFrame) -> list[Row]:
        """The rows of ``df`` as the engine's Row objects (positional, duplicate names kept, values
        as the engine's client types): one engine query. For output shown as it comes."""
        with self._query("collect rows"):
            return df.collect()

    def frame(
        self, table: str, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
    ) -> DataFrame:
        """Rows built on the driver as a DataFrame typed like ``table`` (or its ``columns``)."""
        names = list(columns or table_types.column_names(table))
        arrow = pa.Table.from_pylist(
            [{n: row.get(n) for n in names} for row in rows], schema=table_types.arrow_schema(table, names)
        )
        return self.spark.createDataFrame(arrow, table_types.spark_schema(table, names))

    def table_names(self) -> list[str]:
        """The schema's tables (views left out)."""
        rows = self.execute(f"SHOW TABLES IN {self.schema_name}")
        views = set(self.view_names())
        return sorted(r["tableName"] for r in rows if not r["isTemporary"] and r["tableName"] not in views)

    def view_names(self) -> list[str]:
        rows = [r.asDict() for r in self.execute(f"SHOW VIEWS IN {self.schema_name}")]
        # Spark names the column viewName; the local engine, tableName
        return sorted(r.get("viewName") or r["tableName"] for r in rows if not r["isTemporary"])

    def table_exists(self, table: str) -> bool:
        return table in self.table_names()

    def table_properties(self, table: str) -> str:
        """The 'Table Properties' line of DESCRIBE TABLE EXTENDED (same shape on both engines)."""
        rows = self.execute(f"DESCRIBE TABLE EXTENDED {self.table_name(table)}")
        return next((row["data_type"] for row in rows if row["col_name"] == "Table Properties"), "")

    def use_schema(self) -> None:
        """Make unqualified names resolve to this lakehouse (analysts' queries).

        Through the catalog API: Spark has no ``USE CATALOG`` (a parse error) and the local engine
        reads ``USE SCHEMA cat.schema`` as a two-part schema name; the API means the same everywhere.
        """
        self.spark.catalog.setCurrentCatalog(self.target.sql_catalog)
        self.spark.catalog.setCurrentDatabase(self.target.schema)

    # -- writes --------------------------------------------------------------
    @contextmanager
    def temp_view(self, df: DataFrame, prefix: str = "src") -> Iterator[str]:
        name = f"_dealdesk_{prefix}_{uuid.uuid4().hex[:12]}"
        df.createOrReplaceTempView(name)
        try:
            yield name
        finally:
            self.spark.catalog.dropTempView(name)

    def _before_write(self, what: str) -> None:
        Lakehouse.writes.append(what)
        planned = os.environ.get(FAIL_AT_WRITE, "").strip()
        if planned and int(planned) == len(Lakehouse.writes):
            raise InjectedFault(f"injected failure at write {planned} ({what})")

    def append(self, df: DataFrame, table: str) -> None:
        self._before_write(f"APPEND {table}")
        with self._query(f"APPEND to {table}"):
            df.write.format("delta").mode("append").saveAsTable(self.table_name(table))

    def merge(
        self,
        source: DataFrame,
        table: str,
        keys: Sequence[str],
        *,
        update_columns: Sequence[str] | None = None,
        update_condition: str | None = None,
        insert: bool = True,
        delete_flagged: bool = False,
        condition_columns: Sequence[str] = (),
        retries: int = 5,
    ) -> int | None:
        """MERGE ``source`` into ``table`` on ``keys``: one engine query. Returns the number of
        target rows it inserted, updated or deleted, as the engine reports it (None if it does not).

        - ``update_columns``: columns to set when a key matches (None: insert-only MERGE).
        - ``update_condition``: SQL condition over ``t`` (target) and ``s`` (source) for the update,
          a constant of the calling code (never input: values travel in ``source``).
        - ``delete_flagged``: source rows with ``_dealdesk_delete`` true delete the matching row
          (e.g. the tiers a resubmission dropped) and are never inserted.
        - ``condition_columns``: source columns the conditions read, never inserted.
        A lost concurrent commit is retried.
        """
        target = self.table_name(table)  # validates the table name
        for name in [*keys, *source.columns, *(update_columns or ())]:
            validate_identifier("column", name)
        self._before_write(f"MERGE {table}")
        columns = [c for c in source.columns if c != DELETE_FLAG and c not in condition_columns]
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        clauses = []
        if delete_flagged:
            clauses.append(f"WHEN MATCHED AND s.{DELETE_FLAG} THEN DELETE")
        if update_columns:
            sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in update_columns)
            condition = f" AND ({update_condition})" if update_condition else ""
            clauses.append(f"WHEN MATCHED{condition} THEN UPDATE SET {sets}")
        if insert:
            cols = ", ".join(f"`{c}`" for c in columns)
            vals = ", ".join(f"s.`{c}`" for c in columns)
            guard = f" AND NOT s.{DELETE_FLAG}" if delete_flagged else ""
            clauses.append(f"WHEN NOT MATCHED{guard} THEN INSERT ({cols}) VALUES ({vals})")
        # The text holds only names (validated above, quoted) and the caller's fixed condition;
        # every value reaches the engine through the temp view.
        with self.temp_view(source) as view:
            statement = f"MERGE INTO {target} AS t USING {view} AS s ON {on} " + " ".join(clauses)
            with self._query(f"MERGE into {table}"):
                rows = self._with_retries(
                    lambda: self.sql(statement).collect(), retries, f"MERGE into {table}"
                )
        return _affected(rows)

    def insert_new(self, source: DataFrame, table: str, keys: Sequence[str], *, known_new: bool) -> None:
        """Insert rows that are not in ``table`` yet: appended when the caller knows none of their
        ``keys`` is there (no MERGE that reads the whole table), else an insert-only MERGE that
        skips what an earlier attempt wrote."""
        if known_new:
            self.append(source, table)
        else:
            self.merge(source, table, keys)

    def upsert(self, source: DataFrame, table: str, keys: Sequence[str]) -> None:
        """Insert ``source``'s rows, replacing whole rows of the same ``keys``.

        One MERGE on Spark and Databricks. The embedded engine's MERGE ... UPDATE of some wide
        tables takes seconds where deleting the matching rows and inserting the new ones takes a
        tenth: there it is those two statements (a run cut between them is redone whole)."""
        if self.target.engine != "local":
            self.merge(source, table, keys, update_columns=[c for c in source.columns if c not in keys])
            return
        flagged = source.select(*keys).withColumn(DELETE_FLAG, F.lit(True))
        self.merge(flagged, table, keys, insert=False, delete_flagged=True)
        self.merge(source, table, keys)

    def _with_retries(self, action: Any, retries: int, what: str) -> Any:
        for attempt in range(retries + 1):
            try:
                return action()
            except Exception as exc:
                if attempt >= retries or not is_write_conflict(exc):
                    raise
                wait = 0.2 * (2**attempt)
                log.warning("%s lost a concurrent commit; retrying in %.1fs", what, wait)
                time.sleep(wait)
        return None


def _affected(rows: Any) -> int | None:
    """The rows a MERGE changed, from what it returned: the first column of its one row on every
    engine here (``count`` on the embedded engine, ``num_affected_rows`` on Spark and Databricks)."""
    try:
        value = rows[0][0]
    except (IndexError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None


def _naive(value: Any) -> Any:
    """Aware datetimes (Arrow's UTC timestamps) as naive UTC, through nested values."""
    if isinstance(value, dict):
        return {k: _naive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive(v) for v in value]
    if getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
