"""Freezing a computed batch before the writes that change its inputs, and the two writes jobs make."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from dealdesk.lakehouse import Lakehouse


def materialize(spark: SparkSession, df: DataFrame, schema: StructType | None = None) -> DataFrame:
    """The rows of ``df`` as a local DataFrame (typed by ``schema`` when given).

    A DataFrame is a plan: evaluated again after a MERGE into one of the tables it reads,
    it would see the new data. A job step computes its batch once, freezes it here, and
    then writes every table from the frozen rows. Batches are one step's worth of events,
    small enough for the driver. The rows travel as Arrow both ways: no Python objects
    per row.
    """
    schema = schema or df.schema
    return spark.createDataFrame(df.toArrow(), schema)


def union_all(frames: Sequence[DataFrame], *, allow_missing: bool = False) -> DataFrame:
    """The rows of every frame, matched by column name."""
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame, allowMissingColumns=allow_missing)
    return result


def overlay(rows: DataFrame, updates: DataFrame) -> DataFrame:
    """``rows`` with the columns of ``updates`` replaced on the rows whose id matches."""
    changed = [c for c in updates.columns if c != "id"]
    incoming = updates.select(
        "id", *[F.col(c).alias(f"_new_{c}") for c in changed], F.lit(True).alias("_matched")
    )
    return rows.join(incoming, "id", "left").select(
        *[
            F.when(F.col("_matched"), F.col(f"_new_{c}")).otherwise(F.col(c)).alias(c)
            if c in changed
            else F.col(c)
            for c in rows.columns
        ]
    )


def _frozen(lakehouse: Lakehouse, rows: DataFrame, table: str) -> DataFrame:
    """Plain rows, typed with the target's nullability: the local engine plans the CHECK
    constraints of a write much faster when it knows a column cannot be null, and it checks
    NOT NULL columns even against rows a filter in the source plan removed."""
    required = {f.name for f in lakehouse.read(table).schema.fields if not f.nullable}
    schema = StructType(
        [StructField(f.name, f.dataType, f.nullable and f.name not in required) for f in rows.schema.fields]
    )
    return materialize(lakehouse.spark, rows, schema)


def update_rows(lakehouse: Lakehouse, rows: DataFrame, table: str, *, guard: str | None = None) -> int:
    """Set the other columns of ``rows`` on the rows of ``table`` with the same id; returns the count.

    ``guard``: a column of ``table`` whose value the job read; ``rows`` then carries it as
    ``read_<guard>``, and a row another run changed since is left alone (no lost update:
    MERGE checks the condition against the table as it commits).
    """
    rows = _frozen(lakehouse, rows, table)
    count = rows.count()
    if count:
        read = f"read_{guard}" if guard else None
        condition = f"t.`{guard}` <=> s.`{read}`" if guard else None
        columns = [c for c in rows.columns if c not in ("id", read)]
        lakehouse.merge(rows, table, ["id"], update_columns=columns, update_condition=condition, insert=False)
    return count


def insert_rows(lakehouse: Lakehouse, rows: DataFrame, table: str) -> int:
    """Insert-only MERGE by id: rows already there (a re-run) are left alone; returns the rows offered."""
    rows = _frozen(lakehouse, rows, table)
    count = rows.count()
    if count:
        lakehouse.merge(rows, table, ["id"])
    return count


def upsert_rows(
    lakehouse: Lakehouse,
    rows: DataFrame,
    table: str,
    *,
    key: str = "id",
    keep_on_update: tuple[str, ...] = ("id", "created_at"),
    update_condition: str | None = None,
) -> int:
    """Whole rows by ``key``: new ones inserted, existing ones overwritten (``keep_on_update``
    kept; only where ``update_condition`` holds, when given). Returns the rows offered.

    Two MERGEs, update-only then insert-only: on the local engine one MERGE that both
    updates and inserts into a table with many CHECK constraints runs out of memory, and an
    insert-only MERGE is far cheaper than one that may update. Each is idempotent, so a
    failure between them is repaired by the re-run.
    """
    rows = _frozen(lakehouse, rows, table)
    known = materialize(
        lakehouse.spark, lakehouse.read(table).select(key).join(rows.select(key), key, "left_semi")
    )
    offered, existing = rows.count(), known.count()
    if existing:
        columns = [c for c in rows.columns if c not in keep_on_update]
        lakehouse.merge(rows.join(known, key, "left_semi"), table, [key], update_columns=columns,
                        update_condition=update_condition, insert=False)  # fmt: skip
    if offered > existing:
        lakehouse.merge(rows.join(known, key, "left_anti"), table, [key])
    return offered
