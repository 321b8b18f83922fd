"""The HTML report: the reporting views as one self-contained page with inline SVG charts.

For people without a workspace. Every number comes from the views (read through the
Lakehouse); the page loads nothing from the network, so it opens from a file anywhere.

"Overdue" is measured at the business time monitoring used (see ``monitoring_clock``), not at
the time the report is made: on data from the past, the wall clock would find everything late.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dealdesk.config import DEAL_STATUSES, FINAL_STATUSES
from dealdesk.core.whatif import Comparison, Outcome
from dealdesk.lakehouse.gateway import Lakehouse

# Deals that are neither pre-submission nor closed.
ACTIVE_STATUSES = tuple(
    s for s in DEAL_STATUSES if s not in (*FINAL_STATUSES, "draft", "scoping", "converted")
)
# Cycle-time histogram: (label, upper bound in days, exclusive).
CYCLE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 1 day", 1),
    ("1-2 days", 2),
    ("2-3 days", 3),
    ("3-5 days", 5),
    ("5-10 days", 10),
    ("10 days or more", math.inf),
)
BUSIEST_APPROVERS = 12
LIST_LIMIT = 25
REASONS_SHOWN = 1  # reasons written out per rejected document; the rest as "+N more" (all on hover)
BLUE, RED, ORANGE, GREY = "#2f6db5", "#c8372d", "#e08a1e", "#9aa5b1"
# job_runs.job of the runs that monitor as of a business time (monitor, and the scheduled run).
MONITORING_JOBS = ("monitor", "run")
TOTAL = "_total"  # the window count a listing takes before its cut

Row = dict[str, Any]


# -- the business time "overdue" is measured at ---------------------------------------------------
LATEST_RUN = "the business time of the latest monitoring run"
LATEST_DOCUMENT = "the business time of the latest applied document"
REPORT_TIME = "the time of this report (no document applied yet)"


@dataclass(frozen=True)
class Clock:
    """The business "now" of the report: when an open approval counts as overdue, and whose time it is."""

    at: datetime  # naive UTC
    source: str

    @property
    def text(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M UTC")

    def column(self) -> Column:
        return F.lit(self.at.replace(tzinfo=UTC))


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def journal_as_of(parts: Sequence[str]) -> datetime | None:
    """Monitoring's business "now" as a run recorded it: ``effects.as_of`` of its run_journal
    entry (the body parts in order, joined: JSON, zlib-compressed, base64 text; a time is
    written {"$ts": ISO-8601}). None when the run did not monitor or the entry cannot be read."""
    try:
        data = json.loads(zlib.decompress(base64.b64decode("".join(parts))))
        stamp = data["effects"]["as_of"]
        return _naive_utc(datetime.fromisoformat(stamp["$ts"])) if stamp else None
    except (binascii.Error, zlib.error, ValueError, KeyError, TypeError):
        return None


def monitoring_clock(lakehouse: Lakehouse, now: datetime | None = None) -> Clock:
    """The business time monitoring used: the as-of of the latest successful monitoring run (in
    its journal entry; a run that had nothing to write left none), else the latest business time
    of an applied document (what ``--as-of latest-event`` monitors at), else ``now``."""
    runs = lakehouse.read("job_runs").where(
        F.col("job").isin(*MONITORING_JOBS) & (F.col("status") == "succeeded")
    )
    latest = runs.orderBy(F.desc("started_at"), F.desc("run_id")).limit(1).select("run_id")
    entry = latest.join(lakehouse.read("run_journal").select("run_id", "part", "body"), "run_id")
    parts = sorted(lakehouse.collect(entry), key=lambda row: row["part"])
    at = journal_as_of([row["body"] for row in parts]) if parts else None
    if at is not None:
        return Clock(at, LATEST_RUN)
    applied = lakehouse.read("processed_events").where(F.col("outcome") == "applied")
    found = lakehouse.collect(applied.agg(F.max("occurred_at").alias("at")))
    if found and found[0]["at"] is not None:
        return Clock(found[0]["at"], LATEST_DOCUMENT)
    return Clock(_naive_utc(now or datetime.now(UTC)), REPORT_TIME)


# -- lists cut short --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Listing:
    """The first rows of a list and how many there are in all."""

    rows: list[Row]
    total: int
    totals: dict[str, Any] = field(default_factory=dict)  # other figures over the whole list

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def listing(
    lakehouse: Lakehouse,
    df: DataFrame,
    order: Sequence[str],
    limit: int,
    totals: Mapping[str, Column] | None = None,
) -> Listing:
    """The first ``limit`` rows of ``df`` in ``order`` (column names, "-name" for descending), with
    the number of rows of ``df`` (and any other ``totals``, aggregates over all of ``df``) taken by
    a window before the cut: one query."""
    whole = Window.partitionBy(F.lit(0))
    extra = dict(totals or {})
    counted = df.select(
        "*",
        F.count(F.lit(1)).over(whole).alias(TOTAL),
        *(aggregate.over(whole).alias(name) for name, aggregate in extra.items()),
    )
    sort = [F.desc(name[1:]) if name.startswith("-") else F.asc(name) for name in order]
    rows = lakehouse.collect(counted.orderBy(*sort).limit(limit))
    hidden = {TOTAL, *extra}
    first = rows[0] if rows else {}
    return Listing(
        [{k: v for k, v in row.items() if k not in hidden} for row in rows],
        int(first.get(TOTAL) or 0),
        {name: first.get(name) or 0 for name in extra},
    )


# -- reading the views: pure DataFrame transformations --------------------------------
def pipeline_by_status(pipeline: DataFrame) -> DataFrame:
    return (
        pipeline.groupBy("status", "status_order")
        .agg(F.sum("deals").alias("deals"), F.sum("total_deal_value").alias("deal_value"))
        .orderBy("status_order")
    )


def cycle_summary(cycle_times: DataFrame) -> DataFrame:
    approved = cycle_times.where(F.col("approved_at").isNotNull())
    return approved.agg(
        F.count(F.lit(1)).alias("approved_deals"),
        F.percentile("cycle_hours", 0.5).alias("median_hours"),
        F.percentile("cycle_hours", 0.9).alias("p90_hours"),
    )


def cycle_trend(cycle_by_month: DataFrame) -> DataFrame:
    return (
        cycle_by_month.where(F.col("approval_level") == "all")
        .select(
            F.date_format("month", "yyyy-MM").alias("month"),
            "approved_deals",
            "median_cycle_hours",
            "p90_cycle_hours",
        )
        .orderBy("month")
    )


def queue_counts(queue: DataFrame) -> DataFrame:
    return queue.agg(F.count(F.lit(1)).alias("open"))


def bottlenecks_as_of(bottlenecks: DataFrame, queue: DataFrame, as_of: Column) -> DataFrame:
    """approval_bottlenecks with its overdue figures measured at ``as_of`` (the view measures them
    at the wall clock): overdue_open_approvals counted from the queue's due dates, overdue_rate
    again from it: (overdue open + decided late) / (open + decided)."""
    overdue = (
        queue.where(F.col("due_date") < as_of)
        .groupBy(F.col("department").alias("_department"), F.col("assigned_to").alias("_approver"))
        .agg(F.count(F.lit(1)).alias("_overdue"))
    )
    same = (F.col("department") == F.col("_department")) & F.col("approver_id").eqNullSafe(F.col("_approver"))
    overdue_open = F.coalesce(F.col("_overdue"), F.lit(0)).cast("bigint")
    return bottlenecks.join(overdue, same, "left").select(
        "department",
        "department_name",
        "approver_id",
        "approver_name",
        "open_approvals",
        overdue_open.alias("overdue_open_approvals"),
        "decided_approvals",
        "median_hours_to_decision",
        "decided_late",
        (
            (overdue_open + F.col("decided_late")) / (F.col("open_approvals") + F.col("decided_approvals"))
        ).alias("overdue_rate"),
    )


APPROVER_ORDER = (
    "-open_approvals",
    "-overdue_open_approvals",
    "-decided_approvals",
    "approver_name",
    "department_name",
)


def sla_breaches_by_department(bottlenecks: DataFrame) -> DataFrame:
    return (
        bottlenecks.groupBy("department_name")
        .agg(
            F.sum("overdue_open_approvals").alias("overdue_open"),
            F.sum("decided_late").alias("decided_late"),
            F.sum(F.col("open_approvals") + F.col("decided_approvals")).alias("approvals"),
        )
        .orderBy(F.desc(F.col("overdue_open") + F.col("decided_late")), "department_name")
    )


def overdue_approvals(queue: DataFrame, as_of: Column) -> DataFrame:
    """Open approvals past their due date at ``as_of``, and by how many hours."""
    return queue.where(F.col("due_date") < as_of).select(
        "approval_id",
        "reference_number",
        "deal_name",
        "department_name",
        "stage_name",
        "assignee",
        "due_date",
        ((F.unix_timestamp(as_of) - F.unix_timestamp("due_date")) / 3600).alias("hours_overdue"),
    )


OVERDUE_ORDER = ("due_date", "reference_number", "department_name", "approval_id")  # most overdue first


def rejected_documents(reasons: DataFrame) -> DataFrame:
    """One row per rejected document (rejection_reasons has one per reason), its reasons gathered."""
    reason = F.when(
        F.col("rule").isNotNull() | F.col("message").isNotNull(), F.struct("field", "rule", "message")
    )
    return reasons.groupBy("event_id").agg(
        F.max("kind").alias("kind"),
        F.max("source_file").alias("source_file"),
        F.max("line_number").alias("line_number"),
        F.max("rejected_at").alias("rejected_at"),
        F.max(F.col("is_open").cast("int")).alias("is_open"),
        F.collect_list(reason).alias("reasons"),
    )


REJECTED_ORDER = ("-is_open", "-rejected_at", "event_id")  # still rejected first, latest first
STILL_REJECTED = "still_rejected"


def reject_rules(rejects_summary: DataFrame) -> DataFrame:
    return rejects_summary.groupBy("kind", "rule").agg(
        F.sum("documents").alias("documents"), F.sum("open_documents").alias("open_documents")
    )


RULE_ORDER = ("-open_documents", "-documents", "kind", "rule")


def cycle_time_buckets(hours: Sequence[float]) -> list[tuple[str, int]]:
    """How many approved deals fall in each cycle-time bucket."""
    counts = dict.fromkeys((label for label, _ in CYCLE_BUCKETS), 0)
    for value in hours:
        label = next(label for label, upper in CYCLE_BUCKETS if value / 24 < upper)
        counts[label] += 1
    return list(counts.items())


# -- the figures ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A headline figure, what it counts in one short line, and the detail a hover adds."""

    label: str
    value: str
    definition: str
    detail: str = ""

    @property
    def hover(self) -> str:
        return f"{self.definition} {self.detail}".strip()


def headline_figures(
    pipeline: Sequence[Row],
    summary: Row | None,
    open_approvals: int,
    overdue: int,
    still_rejected: int,
    clock: Clock,
) -> list[Figure]:
    active = [row for row in pipeline if row["status"] in ACTIVE_STATUSES]
    approved = summary or {}
    cycle = "From the first entry into submitted to the first into approved, by the status history."
    return [
        Figure(
            "Deals in the pipeline",
            format_count(sum(row["deals"] for row in active)),
            "Deals submitted and not yet signed or lost.",
            f"Status {', '.join(ACTIVE_STATUSES)}; drafts and scoping requests left out.",
        ),
        Figure(
            "Pipeline value",
            format_money(sum(row["deal_value"] or 0 for row in active)),
            "Sum of the deal values of the deals in the pipeline.",
            "A deal's value is the annual revenue of its tiers, USD.",
        ),
        Figure(
            "Deals approved",
            format_count(approved.get("approved_deals")),
            "Submitted deals that reached approved, whatever their status now.",
        ),
        Figure(
            "Median cycle time",
            format_hours(approved.get("median_hours")),
            "Half the approved deals took at most this from submission to approval.",
            cycle,
        ),
        Figure(
            "p90 cycle time",
            format_hours(approved.get("p90_hours")),
            "Nine in ten approved deals took at most this from submission to approval.",
            f"{cycle} Interpolated between the two nearest deals.",
        ),
        Figure(
            "Open approvals",
            format_count(open_approvals),
            "Approvals waiting for a decision.",
            "Pending, in the deal's current round, on a deal neither signed nor lost.",
        ),
        Figure(
            "Overdue approvals",
            format_count(overdue),
            f"Open approvals past their due date at {clock.text}.",
            f"That is {clock.source}.",
        ),
        Figure(
            "Documents still rejected",
            format_count(still_rejected),
            "Rejected documents no replay has accepted since.",
            "Each counted once, however many rules it failed.",
        ),
    ]


@dataclass(frozen=True)
class ReportData:
    schema: str
    generated_at: datetime
    clock: Clock
    headline: list[Figure]
    pipeline: list[Row]
    cycle_hours: list[float]
    cycle_trend: list[Row]
    approvers: Listing
    sla: list[Row]
    overdue: Listing
    rejected: Listing  # one row per document; totals[STILL_REJECTED]
    reject_rules: Listing
    whatif: WhatIfReport | None = None  # a proposal compared, when asked (dealdesk report --whatif)


@dataclass(frozen=True)
class WhatIfReport:
    """A proposal's replay beside the rules in force (``dealdesk report --whatif``)."""

    proposal: str  # its file's name
    comparison: Comparison
    emails: dict[int, str]  # user id -> e-mail, for the approvers
    documents: int


def gather(
    lakehouse: Lakehouse,
    *,
    limit: int = LIST_LIMIT,
    approvers: int = BUSIEST_APPROVERS,
    now: datetime | None = None,
) -> ReportData:
    """Everything the report shows, read from the views through ``lakehouse``; lists keep their
    first ``limit`` rows (the approvers chart ``approvers``) and count the rest."""
    generated = now or datetime.now(UTC)
    clock = monitoring_clock(lakehouse, generated)
    as_of = clock.column()
    pipeline = lakehouse.collect(pipeline_by_status(lakehouse.read("deal_pipeline")))
    cycle_times = lakehouse.read("deal_cycle_times")
    summary = next(iter(lakehouse.collect(cycle_summary(cycle_times))), None)
    queue = lakehouse.read("approval_queue")
    counts = next(iter(lakehouse.collect(queue_counts(queue))), {})
    bottlenecks = bottlenecks_as_of(lakehouse.read("approval_bottlenecks"), queue, as_of)
    overdue = listing(lakehouse, overdue_approvals(queue, as_of), OVERDUE_ORDER, limit)
    rejected = listing(
        lakehouse,
        rejected_documents(lakehouse.read("rejection_reasons")),
        REJECTED_ORDER,
        limit,
        {STILL_REJECTED: F.sum("is_open")},
    )
    return ReportData(
        schema=f"{lakehouse.target.catalog}.{lakehouse.target.schema}",
        generated_at=generated,
        clock=clock,
        headline=headline_figures(
            pipeline, summary, counts.get("open") or 0, overdue.total, rejected.totals[STILL_REJECTED], clock
        ),
        pipeline=pipeline,
        cycle_hours=[
            row["cycle_hours"]
            for row in lakehouse.collect(
                cycle_times.where(F.col("cycle_hours").isNotNull()).select("cycle_hours")
            )
        ],
        cycle_trend=lakehouse.collect(cycle_trend(lakehouse.read("cycle_time_by_month"))),
        approvers=listing(lakehouse, bottlenecks, APPROVER_ORDER, approvers),
        sla=lakehouse.collect(sla_breaches_by_department(bottlenecks)),
        overdue=overdue,
        rejected=rejected,
        reject_rules=listing(lakehouse, reject_rules(lakehouse.read("rejects_summary")), RULE_ORDER, limit),
    )


# -- formatting -----------------------------------------------------------------------
def format_count(value: float | None) -> str:
    return f"{int(value or 0):,}"


def format_money(value: float | None) -> str:
    return f"${value or 0:,.0f}"


def format_hours(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def format_share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def format_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def plural(count: float | None, noun: str) -> str:
    return f"{format_count(count)} {noun}{'' if count == 1 else 's'}"


def approver_caption(row: Row) -> str:
    """After an approver's bar: what is open, how fast they decide, how often they missed the SLA."""
    waiting = f"{format_count(row['open_approvals'])} open"
    if row["median_hours_to_decision"] is None:
        return f"{waiting}, no decisions yet"
    return (
        f"{waiting}, median {format_hours(row['median_hours_to_decision'])} to decide, "
        f"{format_share(row['overdue_rate'])} missed SLA"
    )


def reasons_text(reasons: Sequence[Row] | None) -> tuple[str, str]:
    """A rejected document's reasons: the first written out and "+N more", and all of them (a hover)."""
    found = sorted(reasons or [], key=lambda r: (r["field"] or "", r["rule"] or "", r["message"] or ""))
    if not found:
        return "-", "no reason recorded"
    words = [r["message"] or r["rule"] for r in found]
    shown = "; ".join(words[:REASONS_SHOWN])
    more = len(found) - REASONS_SHOWN
    every = "\n".join(f"{r['rule'] or '?'} ({r['field'] or '?'}): {r['message'] or '-'}" for r in found)
    return (f"{shown}; +{more} more" if more > 0 else shown), every


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# -- charts: inline SVG -----------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


def _empty_chart(name: str, title: str, empty: str) -> str:
    return (
        f'<svg class="chart" data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        'viewBox="0 0 760 60" width="760" height="60">'
        f'<text x="10" y="35" class="muted">{_e(empty)}</text></svg>'
    )


def hbar_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    captions: Sequence[str],
    empty: str = "No data yet.",
) -> str:
    """Horizontal bars, one per label, with the series stacked and a caption after each bar."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    if not labels or max(totals) <= 0:
        return _empty_chart(name, title, empty)
    width, label_width, bar_area, row_height, top = 860, 230, 300, 28, 10
    legend = len(series) > 1
    height = top + row_height * len(labels) + (30 if legend else 6)
    scale = bar_area / max(totals)
    parts = [
        f'<svg class="chart" data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    ]
    for i, label in enumerate(labels):
        y = top + i * row_height
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{_e(label)}</text>')
        x = float(label_width)
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            bar = value * scale
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{bar:.1f}" height="{row_height - 8}" '
                f'fill="{s.color}" data-label="{_e(label)}" data-series="{_e(s.name)}" data-value="{value:.15g}">'
                f"<title>{_e(label)} - {_e(s.name)}: {format_number(value)}</title></rect>"
            )
            x += bar
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 17}" class="value">{_e(captions[i])}</text>')
    if legend:
        y = top + row_height * len(labels) + 12
        for j, s in enumerate(series):
            x = label_width + j * 170
            parts.append(
                f'<rect x="{x}" y="{y}" width="12" height="12" fill="{s.color}"/>'
                f'<text x="{x + 18}" y="{y + 11}" class="legend">{_e(s.name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    name: str, title: str, columns: Sequence[tuple[str, int]], color: str = BLUE, empty: str = "No data yet."
) -> str:
    """Vertical columns (a histogram), the count above each column."""
    if not columns or max(count for _, count in columns) <= 0:
        return _empty_chart(name, title, empty)
    width, height, left, bottom, top = 760, 240, 20, 40, 24
    slot = (width - 2 * left) / len(columns)
    scale = (height - bottom - top) / max(count for _, count in columns)
    parts = [
        f'<svg class="chart" data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="{GREY}"/>',
    ]
    for i, (label, count) in enumerate(columns):
        x = left + i * slot
        bar_height = count * scale
        y = height - bottom - bar_height
        center = x + slot / 2
        if count > 0:
            parts.append(
                f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{bar_height:.1f}" fill="{color}" data-label="{_e(label)}" data-series="deals" '
                f'data-value="{count}"><title>{_e(label)}: {count}</title></rect>'
            )
        parts.append(
            f'<text x="{center:.1f}" y="{y - 6:.1f}" text-anchor="middle" class="value">{count}</text>'
        )
        parts.append(
            f'<text x="{center:.1f}" y="{height - bottom + 18}" text-anchor="middle">{_e(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- tables and lines -------------------------------------------------------------------
Cell = str | tuple[str, str]  # a text, or (text, what a hover over it says)


def _hover(cell: Cell) -> tuple[str, str]:
    text, title = cell if isinstance(cell, tuple) else (cell, "")
    return _e(text), f' title="{_e(title)}"' if title else ""


def _table(columns: Sequence[Cell], rows: Sequence[Sequence[Cell]]) -> str:
    head = "".join("<th{1}>{0}</th>".format(*_hover(c)) for c in columns)
    body = "".join(
        "<tr>" + "".join("<td{1}>{0}</td>".format(*_hover(v)) for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _line(text: str, kind: str = "muted") -> str:
    return f'<p class="{kind}">{_e(text)}</p>'


def _empty(text: str) -> str:
    """What a section says, in one line, when it has nothing to show."""
    return _line(text, "empty")


def more_note(shown: Listing, noun: str) -> str:
    """Under a list cut short: how many of its rows it shows and how many it left out."""
    if shown.hidden <= 0:
        return ""
    return _line(
        f"showing {format_count(len(shown.rows))} of {plural(shown.total, noun)}; "
        f"{format_count(shown.hidden)} not shown",
        "more",
    )


# -- the page ---------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 24px auto; max-width: 860px;
       color: #1f2933; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; }
.muted, .empty, .more { color: #66788a; } .more { font-size: 12px; margin-top: 4px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.tile { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px; cursor: help; }
.tile .number { font-size: 20px; font-weight: 600; } .tile .label { font-size: 12px; color: #66788a; }
.tile .definition { font-size: 11px; color: #7b8794; margin-top: 4px; }
svg.chart { display: block; margin: 8px 0; font-size: 12px; } svg text { fill: #1f2933; }
svg text.value { fill: #52606d; } table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 6px; text-align: left; } th[title] { cursor: help; }
"""


def _tiles(data: ReportData) -> str:
    if not data.pipeline:
        return ""  # no deal: the sections say so, each in one line
    tiles = "".join(
        f'<div class="tile" title="{_e(f.hover)}"><div class="number">{_e(f.value)}</div>'
        f'<div class="label">{_e(f.label)}</div><div class="definition">{_e(f.definition)}</div></div>'
        for f in data.headline
    )
    as_of = _line(f"Overdue means past the due date as of {data.clock.text}, {data.clock.source}.")
    return f'{as_of}\n<div class="tiles">{tiles}</div>'


def _pipeline_section(data: ReportData) -> str:
    if not data.pipeline:
        return _empty("No deal yet.")
    chart = hbar_chart(
        "pipeline",
        "Pipeline by status",
        [row["status"] for row in data.pipeline],
        [Series("deal value", BLUE, [row["deal_value"] or 0 for row in data.pipeline])],
        [f"{format_money(row['deal_value'])} ({plural(row['deals'], 'deal')})" for row in data.pipeline],
        empty="No deal has a value yet.",
    )
    return _line("Deal value (USD) by current status; the number of deals follows each bar.") + "\n" + chart


def _cycle_section(data: ReportData) -> str:
    if not data.cycle_hours:
        return _empty("No deal approved yet.")
    chart = column_chart("cycle-time", "Cycle time distribution", cycle_time_buckets(data.cycle_hours))
    trend = _table(
        [
            "Month approved",
            ("Deals", "Deals first approved that month"),
            ("Median", "Half of that month's approved deals took at most this long from submission"),
            ("p90", "Nine in ten of that month's approved deals took at most this long from submission"),
        ],
        [
            [
                row["month"],
                format_count(row["approved_deals"]),
                format_hours(row["median_cycle_hours"]),
                format_hours(row["p90_cycle_hours"]),
            ]
            for row in data.cycle_trend
        ],
    )
    intro = _line("Approved deals by the time from their first submission to their first approval.")
    return f"{intro}\n{chart}\n{trend}"


def _bottlenecks_section(data: ReportData) -> str:
    approvers = data.approvers.rows
    if not approvers:
        return _empty("No approval routed yet.")
    chart = hbar_chart(
        "bottlenecks",
        "Open approvals by department and approver",
        [f"{row['department_name']} - {row['approver_name']}" for row in approvers],
        [
            Series(
                "open, on time",
                BLUE,
                [row["open_approvals"] - row["overdue_open_approvals"] for row in approvers],
            ),
            Series("open, overdue", RED, [row["overdue_open_approvals"] for row in approvers]),
        ],
        [approver_caption(row) for row in approvers],
        empty="No approval is waiting.",
    )
    intro = _line(
        "Open approvals per department and assignee, busiest first, with the median time from routing "
        "to decision and the share of their open and decided approvals that missed the due date "
        f"(open past it as of {data.clock.text}, or decided after it)."
    )
    return f"{intro}\n{chart}\n{more_note(data.approvers, 'approver')}"


def _sla_section(data: ReportData) -> str:
    if not data.sla:
        return _empty("No approval routed yet, so no SLA breach.")
    as_of = data.clock.text
    if not any(row["overdue_open"] or row["decided_late"] for row in data.sla):
        return _empty(
            f"No SLA breach: no approval is open past its due date as of {as_of}, none was decided late."
        )
    chart = hbar_chart(
        "sla-breaches",
        "SLA breaches by department",
        [row["department_name"] for row in data.sla],
        [
            Series("open past due", RED, [row["overdue_open"] for row in data.sla]),
            Series("decided late", ORANGE, [row["decided_late"] for row in data.sla]),
        ],
        [
            f"{format_count(row['overdue_open'] + row['decided_late'])} of {plural(row['approvals'], 'approval')}"
            for row in data.sla
        ],
        empty="No SLA breach.",
    )
    intro = _line(
        f"Approvals open past their due date as of {as_of}, and approvals decided after it, by department; "
        "after each bar, the breaches of all its open and decided approvals."
    )
    overdue = data.overdue
    if not overdue.rows:
        listed = _empty(f"No approval is open past its due date as of {as_of}.")
    else:
        listed = _table(
            [
                "Deal",
                "Name",
                "Department",
                "Stage",
                "Assignee",
                "Due (UTC)",
                ("Overdue by", f"Time from the due date to {as_of}"),
            ],
            [
                [
                    row["reference_number"],
                    row["deal_name"],
                    row["department_name"],
                    row["stage_name"],
                    row["assignee"],
                    format_time(row["due_date"]),
                    format_hours(row["hours_overdue"]),
                ]
                for row in overdue.rows
            ],
        )
    heading = f"<h3>Overdue approvals as of {_e(as_of)} ({format_count(overdue.total)})</h3>"
    return f"{intro}\n{chart}\n{heading}\n{listed}\n{more_note(overdue, 'overdue approval')}"


def _rejected_section(data: ReportData) -> str:
    documents = data.rejected
    if not documents.rows:
        return _empty("No rejected documents.")
    still = documents.totals[STILL_REJECTED]
    intro = _line(
        f"{plural(documents.total, 'document')} rejected, {format_count(still)} still rejected (no replay "
        "has accepted them); one row per document, still rejected first, with its first reason "
        "(every reason on hover)."
    )
    rows = []
    for row in documents.rows:
        reasons, every = reasons_text(row["reasons"])
        source = row["source_file"] or ""
        where = f"{Path(source).name}:{row['line_number']}" if source else "-"
        rows.append(
            [
                row["event_id"],
                row["kind"],
                (where, source),
                format_time(row["rejected_at"]),
                "yes" if row["is_open"] else "no, replayed",
                (reasons, every),
            ]
        )
    table = _table(
        [
            "Document",
            "Kind",
            ("File:line", "The landing file and line it came from"),
            ("Rejected (UTC)", "When a run last rejected it (the run's own time, not a business time)"),
            ("Still rejected", "No replay has accepted it since"),
            "Reasons",
        ],
        rows,
    )
    rules = data.reject_rules
    by_rule = _table(
        [
            "Kind",
            "Rule",
            ("Documents", "Documents the rule rejected"),
            ("Still rejected", "Of those, documents no replay has accepted since"),
        ],
        [
            [row["kind"], row["rule"], format_count(row["documents"]), format_count(row["open_documents"])]
            for row in rules.rows
        ],
    )
    rules_intro = _line(
        "A document that fails several rules counts under each, so these add up to more than the documents."
    )
    return (
        f"{intro}\n{table}\n{more_note(documents, 'rejected document')}\n"
        f"<h3>By rule</h3>\n{rules_intro}\n{by_rule}\n{more_note(rules, 'rule')}"
    )


def _changes(title: str, now: dict[str, int], proposal: dict[str, int], limit: int, noun: str) -> str:
    """A table of counts now and under the proposal, the largest changes first, cut at ``limit``."""
    keys = sorted(set(now) | set(proposal), key=lambda k: (-abs(proposal.get(k, 0) - now.get(k, 0)), k))
    rows = [(k, format_count(now.get(k, 0)), format_count(proposal.get(k, 0)),
             f"{proposal.get(k, 0) - now.get(k, 0):+,}") for k in keys]  # fmt: skip
    listing = Listing(rows=rows[:limit], total=len(rows))
    return _table([title, "now", "proposal", "change"], listing.rows) + more_note(listing, noun)


def _whatif_section(whatif: WhatIfReport) -> str:
    now, proposal = whatif.comparison.now, whatif.comparison.proposal
    rerouted = whatif.comparison.rerouted
    approvers = {whatif.emails.get(k, str(k)): v for k, v in now.by_approver.items()}
    proposed = {whatif.emails.get(k, str(k)): v for k, v in proposal.by_approver.items()}

    def cycle(outcome: Outcome) -> str:
        return format_hours(outcome.median_cycle_hours)

    names = ", ".join(rerouted[:LIST_LIMIT]) + (f", and {format_count(len(rerouted) - LIST_LIMIT)} more"
                                                 if len(rerouted) > LIST_LIMIT else "")  # fmt: skip
    return "\n".join(
        [
            _line(
                f"{format_count(whatif.documents)} documents decided again under the rules in force and under "
                f"{whatif.proposal}, in memory (nothing written); {plural(now.deals, 'deal')} first submitted "
                "in the period."
            ),
            _changes("approval level", dict(now.levels), dict(proposal.levels), LIST_LIMIT, "level"),
            _changes("department", dict(now.asked), dict(proposal.asked), LIST_LIMIT, "department"),
            _changes("approver", approvers, proposed, LIST_LIMIT, "approver"),
            _table(
                ["", "now", "proposal"],
                [
                    ("deals whose routing changes", "", format_count(len(rerouted))),
                    (
                        "approvals carried over",
                        format_count(now.carried_over),
                        format_count(proposal.carried_over),
                    ),
                    (
                        (
                            "median submission to approval",
                            "a step nobody decided under the proposal takes the median "
                            "time that step took under the rules in force",
                        ),
                        cycle(now),
                        cycle(proposal),
                    ),
                    (
                        "deals approved (of them estimated)",
                        format_count(len(now.cycle_hours)),
                        f"{format_count(len(proposal.cycle_hours))} ({format_count(len(proposal.estimated))})",
                    ),
                ],
            ),
            _line(f"Routing changes: {names}.") if rerouted else _empty("No deal's routing changes."),
        ]
    )


def render_html(data: ReportData) -> str:
    """The whole page (pure: data in, text out)."""
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    count = data.rejected.total
    rejected_heading = f"Rejected documents ({format_count(count)})" if count else "Rejected documents"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Deal Desk report - {_e(data.schema)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Deal Desk report</h1>
<p class="muted">{_e(data.schema)}, generated {_e(generated)}. Times are business times of the events, in UTC.</p>
{_tiles(data)}
<h2>Pipeline by status</h2>
{_pipeline_section(data)}
<h2>Approval cycle time</h2>
{_cycle_section(data)}
<h2>Bottlenecks</h2>
{_bottlenecks_section(data)}
<h2>SLA breaches</h2>
{_sla_section(data)}
<h2>{_e(rejected_heading)}</h2>
{_rejected_section(data)}
{f"<h2>What if: {_e(data.whatif.proposal)}</h2>{chr(10)}{_whatif_section(data.whatif)}" if data.whatif else ""}
</body></html>
"""


def write_report(lakehouse: Lakehouse, path: Path, whatif: WhatIfReport | None = None) -> Path:
    """Write the report to ``path`` (with ``whatif``'s section when given); its absolute path."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(replace(gather(lakehouse), whatif=whatif)), encoding="utf-8")
    return path
