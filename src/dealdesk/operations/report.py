"""The HTML report: the reporting views as one self-contained page with inline SVG charts.

For people without a workspace. Every number comes from the views (read through the
Lakehouse); the page loads nothing from the network, so it opens from a file anywhere.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.config import DEAL_STATUSES, FINAL_STATUSES
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
BLUE, RED, ORANGE, GREY = "#2f6db5", "#c8372d", "#e08a1e", "#9aa5b1"

Row = dict[str, Any]


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


def busiest_approvers(bottlenecks: DataFrame, limit: int = BUSIEST_APPROVERS) -> DataFrame:
    return bottlenecks.orderBy(
        F.desc("open_approvals"),
        F.desc("overdue_open_approvals"),
        F.desc("decided_approvals"),
        "approver_name",
    ).limit(limit)


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


def overdue_approvals(queue: DataFrame, limit: int = LIST_LIMIT) -> DataFrame:
    return (
        queue.where(F.col("is_overdue"))
        .orderBy("hours_until_due")
        .limit(limit)
        .select(
            "reference_number",
            "deal_name",
            "department_name",
            "stage_name",
            "assignee",
            F.date_format("due_date", "yyyy-MM-dd HH:mm").alias("due"),
            (-F.col("hours_until_due")).alias("hours_overdue"),
        )
    )


def top_reject_rules(rejects_summary: DataFrame, limit: int = LIST_LIMIT) -> DataFrame:
    return (
        rejects_summary.groupBy("kind", "rule")
        .agg(F.sum("documents").alias("documents"), F.sum("open_documents").alias("open_documents"))
        .orderBy(F.desc("open_documents"), F.desc("documents"), "kind", "rule")
        .limit(limit)
    )


def cycle_time_buckets(hours: Sequence[float]) -> list[tuple[str, int]]:
    """How many approved deals fall in each cycle-time bucket."""
    counts = dict.fromkeys((label for label, _ in CYCLE_BUCKETS), 0)
    for value in hours:
        label = next(label for label, upper in CYCLE_BUCKETS if value / 24 < upper)
        counts[label] += 1
    return list(counts.items())


@dataclass(frozen=True)
class ReportData:
    schema: str
    generated_at: datetime
    headline: list[tuple[str, str]]
    pipeline: list[Row]
    cycle_hours: list[float]
    cycle_trend: list[Row]
    approvers: list[Row]
    sla: list[Row]
    overdue: list[Row]
    reject_rules: list[Row]


def _rows(df: DataFrame) -> list[Row]:
    return [row.asDict() for row in df.collect()]


def gather(lakehouse: Lakehouse) -> ReportData:
    """Everything the report shows, read from the views."""
    pipeline = _rows(pipeline_by_status(lakehouse.read("deal_pipeline")))
    cycle_times = lakehouse.read("deal_cycle_times")
    summary = cycle_summary(cycle_times).first()
    queue = lakehouse.read("approval_queue")
    queue_counts = queue.agg(
        F.count(F.lit(1)).alias("open"), F.sum(F.col("is_overdue").cast("int")).alias("overdue")
    ).first()
    open_rejects = (
        lakehouse.read("rejection_reasons").where(F.col("is_open")).select("event_id").distinct().count()
    )
    active = [row for row in pipeline if row["status"] in ACTIVE_STATUSES]
    headline = [
        ("Deals in the pipeline", format_count(sum(row["deals"] for row in active))),
        ("Pipeline value", format_money(sum(row["deal_value"] or 0 for row in active))),
        ("Deals approved", format_count(summary["approved_deals"] if summary else 0)),
        ("Median cycle time", format_hours(summary["median_hours"] if summary else None)),
        ("p90 cycle time", format_hours(summary["p90_hours"] if summary else None)),
        ("Open approvals", format_count(queue_counts["open"] if queue_counts else 0)),
        ("Overdue approvals", format_count((queue_counts["overdue"] or 0) if queue_counts else 0)),
        ("Documents still rejected", format_count(open_rejects)),
    ]
    bottlenecks = lakehouse.read("approval_bottlenecks")
    return ReportData(
        schema=f"{lakehouse.target.catalog}.{lakehouse.target.schema}",
        generated_at=datetime.now(UTC),
        headline=headline,
        pipeline=pipeline,
        cycle_hours=[
            row["cycle_hours"]
            for row in cycle_times.where(F.col("cycle_hours").isNotNull()).select("cycle_hours").collect()
        ],
        cycle_trend=_rows(cycle_trend(lakehouse.read("cycle_time_by_month"))),
        approvers=_rows(busiest_approvers(bottlenecks)),
        sla=_rows(sla_breaches_by_department(bottlenecks)),
        overdue=_rows(overdue_approvals(queue)),
        reject_rules=_rows(top_reject_rules(lakehouse.read("rejects_summary"))),
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
                f'fill="{s.color}" data-label="{_e(label)}" data-series="{_e(s.name)}" data-value="{value:g}">'
                f"<title>{_e(label)} - {_e(s.name)}: {value:,g}</title></rect>"
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


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- the page ---------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 24px auto; max-width: 860px;
       color: #1f2933; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; }
.muted { color: #66788a; } .tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.tile { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px; }
.tile .number { font-size: 20px; font-weight: 600; } .tile .label { font-size: 12px; color: #66788a; }
svg.chart { display: block; margin: 8px 0; font-size: 12px; } svg text { fill: #1f2933; }
svg text.value { fill: #52606d; } table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 6px; text-align: left; }
"""


def render_html(data: ReportData) -> str:
    """The whole page (pure: data in, text out)."""
    tiles = "".join(
        f'<div class="tile"><div class="number">{_e(value)}</div><div class="label">{_e(label)}</div></div>'
        for label, value in data.headline
    )
    pipeline = hbar_chart(
        "pipeline",
        "Pipeline by status",
        [row["status"] for row in data.pipeline],
        [Series("deal value", BLUE, [row["deal_value"] or 0 for row in data.pipeline])],
        [f"{format_money(row['deal_value'])} ({plural(row['deals'], 'deal')})" for row in data.pipeline],
        empty="No deals yet.",
    )
    cycle = column_chart(
        "cycle-time",
        "Cycle time distribution",
        cycle_time_buckets(data.cycle_hours),
        empty="No deal approved yet.",
    )
    trend = _table(
        ["Month approved", "Deals", "Median", "p90"],
        [
            [
                row["month"],
                format_count(row["approved_deals"]),
                format_hours(row["median_cycle_hours"]),
                format_hours(row["p90_cycle_hours"]),
            ]
            for row in data.cycle_trend
        ],
        "No deal approved yet.",
    )
    approver_labels = [f"{row['department_name']} - {row['approver_name']}" for row in data.approvers]
    bottlenecks = hbar_chart(
        "bottlenecks",
        "Open approvals by department and approver",
        approver_labels,
        [
            Series(
                "open, on time",
                BLUE,
                [row["open_approvals"] - row["overdue_open_approvals"] for row in data.approvers],
            ),
            Series("open, overdue", RED, [row["overdue_open_approvals"] for row in data.approvers]),
        ],
        [approver_caption(row) for row in data.approvers],
        empty="No approval is waiting.",
    )
    sla = hbar_chart(
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
    overdue = _table(
        ["Deal", "Name", "Department", "Stage", "Assignee", "Due (UTC)", "Overdue by"],
        [
            [
                row["reference_number"],
                row["deal_name"],
                row["department_name"],
                row["stage_name"],
                row["assignee"],
                row["due"],
                format_hours(row["hours_overdue"]),
            ]
            for row in data.overdue
        ],
        "No approval is overdue.",
    )
    rejects = _table(
        ["Kind", "Rule", "Documents", "Still rejected"],
        [
            [row["kind"], row["rule"], format_count(row["documents"]), format_count(row["open_documents"])]
            for row in data.reject_rules
        ],
        "No rejected documents.",
    )
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Deal Desk report - {_e(data.schema)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Deal Desk report</h1>
<p class="muted">{_e(data.schema)}, generated {_e(generated)}. Times are business times of the events.</p>
<div class="tiles">{tiles}</div>
<h2>Pipeline by status</h2>
<p class="muted">Deal value by current status; the number of deals follows each bar.</p>
{pipeline}
<h2>Approval cycle time</h2>
<p class="muted">Approved deals by time from submission to approval.</p>
{cycle}
{trend}
<h2>Bottlenecks</h2>
<p class="muted">Open approvals per department and assignee, with the median time to decide and the share of
approvals that missed their due date.</p>
{bottlenecks}
<h2>SLA breaches</h2>
<p class="muted">Approvals open past their due date, and approvals decided after it, by department.</p>
{sla}
<h3>Overdue approvals</h3>
{overdue}
<h2>Rejected documents</h2>
{rejects}
</body></html>
"""


def write_report(lakehouse: Lakehouse, path: Path) -> Path:
    """Write the report to ``path`` and return its absolute path."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(gather(lakehouse)), encoding="utf-8")
    return path
