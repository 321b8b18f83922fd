"""What-if in the core: one replay's outcome, and the estimate of a step nobody decided."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dealdesk.core import whatif
from dealdesk.core.desk import decide
from dealdesk.core.model import LatestApplied
from tests.core_builders import APPROVERS, FINANCE, RULES, TRADING, World, action, at, submission

SMALL, LARGE = "DEAL-2026-001", "DEAL-2026-002"
PROPOSAL = replace(RULES, ladder={**RULES.ladder, "manager": 25_000.0})


def documents(rules=RULES) -> list:
    """A $40,000 deal (no business approval today) and an $80,000 one whose manager took 10 hours;
    the submissions read under ``rules`` (their approval level), as the replay reads them."""
    return [
        submission(at(0), value=40_000, event_id="small", rules=rules),
        submission(at(0.5), value=80_000, event_id="large", rules=rules),
        action(SMALL, 1, "trading", "approve", TRADING, at(2)),
        action(SMALL, 1, "finance", "approve", FINANCE, at(3)),
        action(LARGE, 1, "trading", "approve", TRADING, at(2)),
        action(LARGE, 1, "finance", "approve", FINANCE, at(4)),
        action(LARGE, 2, None, "approve", APPROVERS["manager"], at(14)),
    ]


def replay(rules) -> whatif.Outcome:
    baseline = decide(World().snapshot(), documents(), RULES, LatestApplied())
    medians = whatif.step_hours(baseline)
    if rules is RULES:
        return whatif.outcome(baseline, None, None, medians)
    approved = set(whatif.outcome(baseline, None, None, medians).cycle_hours)
    effects = decide(World(rules=rules).snapshot(), documents(rules), rules, LatestApplied())
    return whatif.outcome(effects, None, None, medians, approved)


def test_the_median_time_of_each_step_comes_from_the_decisions_people_made():
    baseline = decide(World().snapshot(), documents(), RULES, LatestApplied())
    assert whatif.step_hours(baseline) == {
        "review:trading": pytest.approx(1.75),  # 2 h and 1.5 h
        "review:finance": pytest.approx(3.25),  # 3 h and 3.5 h
        "business:manager": pytest.approx(10.0),
    }


def test_the_rules_in_force_replay_what_happened():
    now = replay(RULES)
    assert now.levels == {"none": 1, "manager": 1}
    assert now.asked == {"trading": 2, "finance": 2, "business approval": 1}
    assert now.cycle_hours == {SMALL: pytest.approx(3.0), LARGE: pytest.approx(13.5)} and not now.estimated


def test_a_step_nobody_decided_takes_its_median_time():
    proposal = replay(PROPOSAL)
    assert proposal.levels == {"manager": 2}
    # the small deal now waits for a manager from hour 3 (stage 1 done): 10 h, the median
    assert proposal.cycle_hours[SMALL] == pytest.approx(13.0) and proposal.estimated == {SMALL}
    comparison = whatif.compare(replay(RULES), proposal)
    assert comparison.rerouted == [SMALL]
