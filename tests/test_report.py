"""The HTML report: charts computed from the views on the known scenario of test_views."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dealdesk.cli.main import main
from dealdesk.core.model import Effects
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.operations.report import (
    ACTIVE_STATUSES,
    LATEST_DOCUMENT,
    LATEST_RUN,
    REPORT_TIME,
    Clock,
    Listing,
    Series,
    column_chart,
    cycle_time_buckets,
    format_hours,
    gather,
    hbar_chart,
    journal_as_of,
    listing,
    monitoring_clock,
    render_html,
    write_report,
)
from dealdesk.pipeline import journal
from dealdesk.pipeline.runs import JobRun
from tests.conftest import copy_of, new_target
from tests.test_views import Scenario, build_scenario

CHARTS = ("pipeline", "cycle-time", "bottlenecks", "sla-breaches")


class ReportPage(HTMLParser):
    """The charts (their bars and texts), the headline tiles, the headings, lines and table cells
    of a report, with the hovers (title attributes) of tiles, header and body cells."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.bars: dict[str, list[tuple[str, str, float]]] = {}
        self.texts: dict[str, list[str]] = {}
        self.cells: list[str] = []
        self.tiles: list[str] = []
        self.external: list[str] = []
        self.headings: list[str] = []
        self.lines: list[tuple[str, str]] = []  # (class, text) of each paragraph
        self.hovers: dict[str, str] = {}  # text of a tile label, header or cell -> its title
        self.definitions: dict[str, str] = {}  # tile label -> the line under it
        self._chart: str | None = None
        self._capture: str | None = None
        self._kind = ""
        self._title: str | None = None
        self._tile_title: str | None = None
        self._label = ""
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.external.append(attributes[name] or "")
        if tag == "script":
            self.external.append("script")
        if tag == "svg":
            self._chart = attributes["data-chart"]
            self.bars.setdefault(self._chart, [])
            self.texts.setdefault(self._chart, [])
        elif tag == "rect" and self._chart and attributes.get("class") == "bar":
            self.bars[self._chart].append(
                (attributes["data-label"], attributes["data-series"], float(attributes["data-value"]))
            )
        kind = attributes.get("class") or ""
        if tag == "div" and kind == "tile":
            self._tile_title = attributes.get("title")
        captured = tag in ("text", "td", "th", "p", "h2", "h3") or kind in ("number", "label", "definition")
        self._capture = (kind if tag == "div" else tag) if captured else None
        self._kind, self._title, self._text = kind, attributes.get("title"), []

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text)
        if self._capture == "text" and self._chart:
            self.texts[self._chart].append(text)
        elif self._capture in ("td", "th"):
            if self._capture == "td":
                self.cells.append(text)
            if self._title:
                self.hovers[text] = self._title
        elif self._capture in ("number", "label"):
            self.tiles.append(text)
            if self._capture == "label":
                self._label = text
                self.hovers[text] = self._tile_title or ""
        elif self._capture == "definition":
            self.definitions[self._label] = text
        elif self._capture == "p":
            self.lines.append((self._kind, text))
        elif self._capture in ("h2", "h3"):
            self.headings.append(text)
        if tag == "svg":
            self._chart = None
        self._capture, self._text = None, []

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._text.append(data)

    def lines_of(self, kind: str) -> list[str]:
        return [text for k, text in self.lines if k == kind]


@pytest.fixture(scope="module")
def scenario(lakehouse_home: Path) -> Iterator[Scenario]:
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "report"))
    MigrationRunner(lakehouse).migrate()
    yield build_scenario(lakehouse)


@pytest.fixture(scope="module")
def page(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> ReportPage:
    path = write_report(scenario.lakehouse, tmp_path_factory.mktemp("report") / "report.html")
    return ReportPage(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data(scenario: Scenario):
    return gather(scenario.lakehouse)


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def record_run(lakehouse: Lakehouse, job: str, as_of: datetime | None, status: str = "succeeded") -> JobRun:
    """A job run as the jobs record it: its job_runs row and, unless ``as_of`` is None and the job
    did not monitor, its journal entry with monitoring's business "now"."""
    run = JobRun(job)
    run.save(lakehouse, status)
    if as_of is not None:
        record = journal.RunRecord(run.run_id, naive(datetime.now(UTC)), Effects(as_of=naive(as_of)))
        journal.write_journal(lakehouse, record)
    return run


def applied(lakehouse: Lakehouse, event_id: str, occurred_at: datetime, outcome: str = "applied") -> None:
    row = {
        "event_id": event_id,
        "kind": "deal_submission",
        "outcome": outcome,
        "occurred_at": naive(occurred_at),
        "run_id": "run-1",
        "processed_at": naive(datetime.now(UTC)),
    }
    lakehouse.append(lakehouse.frame("processed_events", [row]), "processed_events")


# The scenario again, on a lakehouse whose latest monitoring run was as of 100 hours after it
# was written: every open approval is overdue then (the latest is due 62 hours after).
AHEAD = timedelta(hours=100)


@pytest.fixture(scope="module")
def monitored(lakehouse_home: Path, prepared_schema: str) -> Scenario:
    scenario = build_scenario(copy_of(lakehouse_home, prepared_schema, "monitored"))
    applied(scenario.lakehouse, "ev-latest", scenario.now - timedelta(hours=5))
    record_run(scenario.lakehouse, "run", scenario.now + AHEAD)
    return scenario


@pytest.fixture(scope="module")
def monitored_page(monitored: Scenario) -> ReportPage:
    return ReportPage(render_html(gather(monitored.lakehouse, limit=2, approvers=2)))


def test_the_report_is_self_contained_with_its_four_charts(page: ReportPage):
    assert list(page.bars) == list(CHARTS)
    assert page.external == []


def test_pipeline_by_status(page: ReportPage):
    # Deal value by status, in workflow order; the draft has no value, so no bar but its label.
    assert page.bars["pipeline"] == [
        ("under_review", "deal value", 100_000),
        ("approved", "deal value", 635_000),  # A 150,000 + B 40,000 + C 400,000 + H 45,000
        ("lost", "deal value", 70_000),
    ]
    texts = page.texts["pipeline"]
    assert texts[:2] == ["draft", "$0 (1 deal)"]
    assert "$635,000 (4 deals)" in texts


def test_cycle_time_distribution(page: ReportPage):
    # H 12 h, A 54 h, B 60 h, C 312 h.
    assert page.bars["cycle-time"] == [
        ("under 1 day", "deals", 1),
        ("2-3 days", "deals", 2),
        ("10 days or more", "deals", 1),
    ]


def test_bottlenecks(page: ReportPage):
    assert page.bars["bottlenecks"] == [
        ("Finance - Fiona Finance", "open, on time", 1),
        ("Finance - Fiona Finance", "open, overdue", 1),
        ("Legal - Unassigned", "open, on time", 1),
    ]
    texts = page.texts["bottlenecks"]
    # Approvers with nothing open are listed too, busiest first.
    assert [t for t in texts if " - " in t] == [
        "Finance - Fiona Finance",
        "Legal - Unassigned",
        "Trading - Theo Trading",
        "Trading - Maya Director",
    ]
    assert "2 open, median 27.0 h to decide, 43% missed SLA" in texts
    assert "1 open, no decisions yet" in texts


def test_sla_breaches(page: ReportPage):
    # Finance: one open approval past due, two decided late, of seven approvals.
    assert page.bars["sla-breaches"] == [("Finance", "open past due", 1), ("Finance", "decided late", 2)]
    assert page.texts["sla-breaches"][:4] == ["Finance", "3 of 7 approvals", "Legal", "0 of 1 approval"]


def test_headline_and_tables(page: ReportPage):
    tiles = dict(zip(page.tiles[1::2], page.tiles[::2], strict=True))
    assert tiles == {
        "Deals in the pipeline": "6",  # two under review, four approved
        "Pipeline value": "$735,000",
        "Deals approved": "4",
        "Median cycle time": format_hours(57),  # 12, 54, 60, 312
        "p90 cycle time": tiles["p90 cycle time"],
        "Open approvals": "3",
        "Overdue approvals": "1",
        "Documents still rejected": "3",
    }
    # p90 at rank 2.7: 60 + 0.7 * 252 = 236.4 hours, 9.85 days (one decimal shown).
    p90_days, unit = tiles["p90 cycle time"].split()
    assert (float(p90_days), unit) == (pytest.approx(9.85, abs=0.051), "days")
    overdue = page.cells[page.cells.index("DEAL-2026-004") :][:7]
    assert overdue[:5] == ["DEAL-2026-004", "Deal 4", "Finance", "department review", "Fiona Finance"]
    assert overdue[6].startswith("28.")
    enumeration = page.cells.index("enumeration")
    assert page.cells[enumeration - 1 : enumeration + 3] == ["deal_submission", "enumeration", "2", "1"]


def test_headline_figures_are_defined_on_hover_and_in_a_line(page: ReportPage):
    labels = page.tiles[1::2]
    assert len(labels) == 8
    for label in labels:
        # A short line under the figure; the hover says the same and may add detail.
        line = page.definitions[label]
        assert 20 < len(line) <= 80 and "\n" not in line
        assert page.hovers[label].startswith(line)
    # What the pipeline figures count: the statuses the hover names are the ones summed.
    assert page.definitions["Deals in the pipeline"] == "Deals submitted and not yet signed or lost."
    assert (
        f"Status {', '.join(ACTIVE_STATUSES)}; drafts and scoping requests left out."
        in (page.hovers["Deals in the pipeline"])
    )
    assert set(ACTIVE_STATUSES) == {
        "submitted",
        "under_review",
        "revision_requested",
        "negotiating",
        "approved",
        "contract_drafting",
        "client_review",
    }
    assert "whatever their status now" in page.definitions["Deals approved"]
    assert "first entry into submitted to the first into approved" in page.hovers["Median cycle time"]
    assert "Each counted once" in page.hovers["Documents still rejected"]
    # The computed columns of the tables are defined on hover too.
    assert page.hovers["Overdue by"].startswith("Time from the due date to ")
    assert page.hovers["Documents"] == "Documents the rule rejected"


def test_overdue_is_measured_at_now_when_nothing_was_applied(page: ReportPage, scenario: Scenario):
    (as_of,) = [line for line in page.lines_of("muted") if line.startswith("Overdue means")]
    stamp = as_of.removeprefix("Overdue means past the due date as of ").split(",")[0]
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    assert scenario.now - timedelta(minutes=1) <= moment <= datetime.now(UTC)
    assert as_of.endswith(f", {REPORT_TIME}.")
    assert page.definitions["Overdue approvals"] == f"Open approvals past their due date at {stamp}."
    assert page.hovers["Overdue approvals"].endswith(f"That is {REPORT_TIME}.")


def test_overdue_is_measured_at_the_latest_monitoring_runs_business_time(
    monitored: Scenario, monitored_page: ReportPage
):
    as_of = Clock(naive(monitored.now + AHEAD), LATEST_RUN).text
    assert (
        f"Overdue means past the due date as of {as_of}, the business time of the latest monitoring run."
        in monitored_page.lines_of("muted")
    )
    tiles = dict(zip(monitored_page.tiles[1::2], monitored_page.tiles[::2], strict=True))
    assert (tiles["Open approvals"], tiles["Overdue approvals"]) == ("3", "3")
    # D's finance review was due 28 hours before the scenario was written: 128 hours before the run.
    overdue = monitored_page.cells[monitored_page.cells.index("DEAL-2026-004") :][:7]
    assert overdue[6] == format_hours(128)
    assert f"Overdue approvals as of {as_of} (3)" in monitored_page.headings
    # The charts count the same: all of Fiona's open approvals and the unassigned legal one.
    assert monitored_page.bars["bottlenecks"] == [
        ("Finance - Fiona Finance", "open, overdue", 2),
        ("Legal - Unassigned", "open, overdue", 1),
    ]
    assert monitored_page.bars["sla-breaches"][:3] == [
        ("Finance", "open past due", 2),
        ("Finance", "decided late", 2),
        ("Legal", "open past due", 1),
    ]
    assert "2 open, median 27.0 h to decide, 57% missed SLA" in monitored_page.texts["bottlenecks"]


def test_the_business_time_falls_back_to_the_latest_applied_document_then_to_now(fresh_lakehouse: Lakehouse):
    lakehouse, now = fresh_lakehouse, datetime(2026, 3, 1, 9, 30)
    assert monitoring_clock(lakehouse, now) == Clock(now, REPORT_TIME)
    applied(lakehouse, "ev-1", datetime(2025, 11, 30, 12, tzinfo=UTC))
    applied(lakehouse, "ev-2", datetime(2025, 12, 1, 8, tzinfo=UTC), outcome="rejected")  # moves no clock
    assert monitoring_clock(lakehouse, now) == Clock(datetime(2025, 11, 30, 12), LATEST_DOCUMENT)
    record_run(lakehouse, "monitor", datetime(2025, 11, 30, 17, tzinfo=UTC))
    record_run(lakehouse, "ingest", None)  # does not monitor
    record_run(lakehouse, "monitor", datetime(2026, 1, 1, tzinfo=UTC), status="failed")
    clock = monitoring_clock(lakehouse, now)
    assert clock == Clock(datetime(2025, 11, 30, 17), LATEST_RUN)
    assert clock.text == "2025-11-30 17:00 UTC"
    # The latest monitoring run had nothing to write, so no journal entry tells its time.
    record_run(lakehouse, "run", None)
    assert monitoring_clock(lakehouse, now) == Clock(datetime(2025, 11, 30, 12), LATEST_DOCUMENT)


def test_a_journal_entry_that_cannot_be_read_gives_no_time():
    assert journal_as_of(["not base64 !"]) is None
    assert journal_as_of([]) is None
    entry = journal.encode(journal.RunRecord("r", datetime(2026, 1, 1), Effects(as_of=None)))
    assert journal_as_of(entry) is None
    entry = journal.encode(
        journal.RunRecord("r", datetime(2026, 1, 1), Effects(as_of=datetime(2026, 2, 3, 4, 5)))
    )
    assert journal_as_of(entry) == datetime(2026, 2, 3, 4, 5)


def test_a_listing_counts_every_row_in_the_same_query(scenario: Scenario):
    lakehouse = scenario.lakehouse
    before = lakehouse.queries
    found = listing(lakehouse, lakehouse.read("approval_details").select("approval_id"), ["approval_id"], 3)
    assert lakehouse.queries - before == 1
    assert found == Listing([{"approval_id": 201}, {"approval_id": 202}, {"approval_id": 203}], 16, {})
    assert found.hidden == 13
    nothing = lakehouse.read("approval_details").where("false")
    assert listing(lakehouse, nothing, ["approval_id"], 3) == Listing([], 0, {})


def test_lists_cut_short_say_how_many_rows_they_left_out(monitored_page: ReportPage, page: ReportPage):
    assert monitored_page.lines_of("more") == [
        "showing 2 of 4 approvers; 2 not shown",
        "showing 2 of 3 overdue approvals; 1 not shown",
        "showing 2 of 4 rejected documents; 2 not shown",
        "showing 2 of 4 rules; 2 not shown",
    ]
    # The approvers chart keeps the busiest two; the tables their first two rows.
    assert [t for t in monitored_page.texts["bottlenecks"] if " - " in t] == [
        "Finance - Fiona Finance",
        "Legal - Unassigned",
    ]
    # The most overdue first: D's finance review, then E's two (due together), finance before legal.
    deals = [cell for cell in monitored_page.cells if cell.startswith("DEAL-")]
    assert deals == ["DEAL-2026-004", "DEAL-2026-005"]
    assert monitored_page.cells[monitored_page.cells.index("DEAL-2026-005") + 2] == "Finance"
    # Nothing cut: nothing said.
    assert page.lines_of("more") == []


def test_rejected_documents_are_counted_once_each(page: ReportPage, data):
    # Four documents with six reasons between them: r1 and r2 failed two rules each.
    assert "Rejected documents (4)" in page.headings
    assert [
        line for line in page.lines_of("muted") if line.startswith("4 documents rejected, 3 still rejected")
    ]
    assert [row["event_id"] for row in data.rejected.rows] == ["r4", "r3", "r1", "r2"]
    start = page.cells.index("r4")
    table = [page.cells[start + 6 * i : start + 6 * i + 6] for i in range(4)]
    assert [row[0] for row in table] == ["r4", "r3", "r1", "r2"]
    assert [row[4] for row in table] == ["yes", "yes", "yes", "no, replayed"]
    assert [row[5] for row in table] == [
        "not JSON",
        "not the assignee",
        "unknown region; +1 more",
        "deal_name is missing; +1 more",
    ]
    assert table[2][2] == "batch-1.jsonl:1"
    # Every reason is on hover.
    assert page.hovers["unknown region; +1 more"] == (
        "enumeration (region): unknown region\nenumeration (sales_channel): unknown channel"
    )
    # The rules table counts a document under each rule it failed: more than four in all.
    assert sum(int(row["documents"]) for row in data.reject_rules.rows) == 5


def test_the_page_escapes_what_the_documents_say(data):
    hostile = {
        "event_id": "<script>alert(1)</script>",
        "kind": "deal_submission",
        "source_file": 'landing/"><img src=x>.jsonl',
        "line_number": 3,
        "rejected_at": datetime(2026, 2, 1),
        "is_open": 1,
        "reasons": [{"field": "deal_name", "rule": "required", "message": "<b>bold</b> & 'quoted'"}],
    }
    text = render_html(dataclasses.replace(data, rejected=Listing([hostile], 1, {"still_rejected": 1})))
    reread = ReportPage(text)
    assert reread.external == []
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "<script>alert(1)</script>" in reread.cells
    assert "<b>bold</b> & 'quoted'" in reread.cells


def test_an_empty_lakehouse_says_each_thing_once_in_one_line(fresh_lakehouse: Lakehouse, tmp_path: Path):
    text = write_report(fresh_lakehouse, tmp_path / "empty.html").read_text(encoding="utf-8")
    empty = ReportPage(text)
    assert empty.bars == {} and empty.tiles == [] and empty.cells == []
    assert len(re.findall("no deal approved yet", text, flags=re.IGNORECASE)) == 1
    # Each section: its heading, then one short line.
    sections = re.split(r"<h2>", text.split("</h1>", 1)[1])[1:]
    assert len(sections) == 5
    for section in sections:
        body = section.split("</h2>", 1)[1].split("</body>")[0].strip()
        assert re.fullmatch(r'<p class="empty">[^<]{1,60}</p>', body), body
    assert empty.lines_of("empty") == [
        "No deal yet.",
        "No deal approved yet.",
        "No approval routed yet.",
        "No approval routed yet, so no SLA breach.",
        "No rejected documents.",
    ]


def test_report_command_writes_the_page_and_prints_its_path(scenario: Scenario, tmp_path: Path):
    target = scenario.lakehouse.target
    env = {**os.environ, "DEALDESK_HOME": str(target.home), "DEALDESK_SCHEMA": target.schema}
    out = tmp_path / "out" / "deal-desk.html"
    result = subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", "report", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert list(ReportPage(out.read_text(encoding="utf-8")).bars) == list(CHARTS)


def test_report_goes_to_the_home_by_default(scenario: Scenario, capsys: pytest.CaptureFixture[str]):
    target = scenario.lakehouse.target
    assert main(["--home", str(target.home), "--schema", target.schema, "report"]) == 0
    assert capsys.readouterr().out.strip() == str(target.home / "report.html")
    assert "Deal Desk report" in (target.home / "report.html").read_text(encoding="utf-8")


def test_cycle_time_buckets_have_exclusive_upper_bounds():
    assert cycle_time_buckets([23.9, 24, 47.9, 48, 240]) == [
        ("under 1 day", 1),
        ("1-2 days", 2),
        ("2-3 days", 1),
        ("3-5 days", 0),
        ("5-10 days", 0),
        ("10 days or more", 1),
    ]


def test_charts_scale_bars_to_the_largest_total():
    series = [Series("s1", "#000", [2, 0]), Series("s2", "#111", [2, 1])]
    svg = hbar_chart("x", "X", ["a", "b"], series, ["four", "one"])
    chart = ReportPage(svg)
    assert chart.bars["x"] == [("a", "s1", 2), ("a", "s2", 2), ("b", "s2", 1)]
    # Row a totals 4 and fills the bar area; row b totals 1.
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([0-9.]+)"', svg)]
    assert widths[0] == widths[1] == pytest.approx(2 * widths[2])
    assert widths[0] + widths[1] == pytest.approx(300)
    assert chart.texts["x"] == ["a", "four", "b", "one", "s1", "s2"]  # labels, captions, legend
    assert ReportPage(
        hbar_chart("y", "Y", ["a"], [Series("s", "#000", [0])], ["zero"], empty="Nothing")
    ).texts == {"y": ["Nothing"]}
    assert ReportPage(column_chart("z", "Z", [("a", 0)])).bars == {"z": []}
