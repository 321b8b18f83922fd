"""The HTML report: charts computed from the views on the known scenario of test_views."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dealdesk.cli.main import main
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.operations.report import (
    Series,
    column_chart,
    cycle_time_buckets,
    format_hours,
    hbar_chart,
    write_report,
)
from tests.conftest import new_target
from tests.test_views import Scenario, build_scenario

CHARTS = ("pipeline", "cycle-time", "bottlenecks", "sla-breaches")


class ReportPage(HTMLParser):
    """The charts (their bars and texts), the headline tiles and the table cells of a report."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.bars: dict[str, list[tuple[str, str, float]]] = {}
        self.texts: dict[str, list[str]] = {}
        self.cells: list[str] = []
        self.tiles: list[str] = []
        self.external: list[str] = []
        self._chart: str | None = None
        self._capture: str | None = None
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
        self._capture = (
            tag if tag in ("text", "td") or attributes.get("class") in ("number", "label") else None
        )

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture == "text" and self._chart:
            self.texts[self._chart].append(data)
        elif self._capture == "td":
            self.cells.append(data)
        elif self._capture == "div":
            self.tiles.append(data)


@pytest.fixture(scope="module")
def scenario(lakehouse_home: Path) -> Iterator[Scenario]:
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "report"))
    MigrationRunner(lakehouse).migrate()
    yield build_scenario(lakehouse)


@pytest.fixture(scope="module")
def page(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> ReportPage:
    path = write_report(scenario.lakehouse, tmp_path_factory.mktemp("report") / "report.html")
    return ReportPage(path.read_text(encoding="utf-8"))


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
