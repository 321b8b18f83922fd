"""Freezing a computed batch before the writes that change its inputs, and the two writes jobs make."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from dealdesk.engine import validate_identifier
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


# What every job's write to deals and deal_approvals sets: the version a guarded write checks.
ROW_VERSION = ("status", "updated_at")


def read_columns(guard: Sequence[str] = ROW_VERSION) -> list[str]:
    """The names under which rows carry the values a job read: ``read_<column>``."""
    return [f"read_{validate_identifier('column', c)}" for c in guard]


def read_version(rows: DataFrame, columns: Sequence[str] = ROW_VERSION) -> DataFrame:
    """``id`` and ``columns`` as ``read_<column>``: the version a job read, for the guard of its write."""
    return rows.select(
        "id", *[F.col(c).alias(r) for c, r in zip(columns, read_columns(columns), strict=True)]
    )


def _guard_condition(guard: Sequence[str]) -> str | None:
    """Names only (validated by read_columns): the values travel in the MERGE source."""
    pairs = zip(guard, read_columns(guard), strict=True)
    return " AND ".join(f"t.`{c}` <=> s.`{r}`" for c, r in pairs) or None


def update_rows(lakehouse: Lakehouse, rows: DataFrame, table: str, *, guard: Sequence[str] = ()) -> int:
    """Set the other columns of ``rows`` on the rows of ``table`` with the same id; returns the count.

    ``guard``: columns of ``table`` whose values the job read; ``rows`` then carries them as
    ``read_<column>`` (``read_version``), and a row another run changed since is left alone:
    MERGE checks the condition against the table as it commits, so a slower run never
    writes back an older state over a newer one.
    """
    rows = _frozen(lakehouse, rows, table)
    count = rows.count()
    if count:
        columns = [c for c in rows.columns if c != "id" and c not in read_columns(guard)]
        lakehouse.merge(rows, table, ["id"], update_columns=columns,
                        update_condition=_guard_condition(guard), insert=False)  # fmt: skip
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
    guard: Sequence[str] = (),
) -> int:
    """Whole rows by ``key``: new ones inserted, existing ones overwritten (``keep_on_update``
    kept; only where ``update_condition`` holds, when given). Returns the rows offered.
    ``guard`` as for ``update_rows``: an existing row is overwritten only if it still has the
    version read (a row another run inserted meanwhile has none, and is left alone).

    Two MERGEs, update-only then insert-only: on the local engine one MERGE that both
    updates and inserts into a table with many CHECK constraints runs out of memory, and an
    insert-only MERGE is far cheaper than one that may update. Each is idempotent, so a
    failure between them is repaired by the re-run.
    """
    read = read_columns(guard)
    rows = _frozen(lakehouse, rows, table)
    known = materialize(
        lakehouse.spark, lakehouse.read(table).select(key).join(rows.select(key), key, "left_semi")
    )
    offered, existing = rows.count(), known.count()
    conditions = [c for c in (update_condition, _guard_condition(guard)) if c]
    if existing:
        columns = [c for c in rows.columns if c not in keep_on_update and c not in read]
        lakehouse.merge(rows.join(known, key, "left_semi"), table, [key], update_columns=columns,
                        update_condition=" AND ".join(conditions) or None, insert=False)  # fmt: skip
    if offered > existing:
        lakehouse.merge(rows.join(known, key, "left_anti").drop(*read), table, [key])
    return offered
