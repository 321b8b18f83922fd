"""Synthetic landing files: realistic volumes and mixes, reproducible from a seed.

``generate`` writes one JSON Lines file per business day, starting with the reference
data (users, advertisers, agencies). Each deal follows a life drawn from the mix below:
submitted, reviewed by its departments, approved with or without the business
approval, sent back for revision and resubmitted, rejected, or drafted and left to
expire; approved deals go on to contract and signature. A share of documents is
invalid in one of several ways. The generator predicts the reference numbers intake
will assign (``DEAL-<year>-<n>`` in business-time order), so follow-up events name
their deals the way the app would.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from dealdesk.checks.kinds.deal_submission import submission_body
from dealdesk.config import (
    APPROVAL_LEVELS,
    DEAL_PRIORITIES,
    DEAL_TYPES,
    INCENTIVE_CATEGORIES,
    REGIONS,
    BusinessRules,
    reference_for,
)
from dealdesk.core import reapproval, routing


@dataclass(frozen=True)
class Mix:
    """Shares of deal outcomes and of invalid documents (seed figures, tunable)."""

    deals_per_month: int = 1_000
    revised: float = 0.15
    rejected: float = 0.08
    drafts_abandoned: float = 0.04
    signed_after_approval: float = 0.6
    invalid: float = 0.02
    away_per_month: float = 0.08  # share of reviewers and approvers who name a delegate each month
    users: int = 500
    advertisers: int = 2_000
    agencies: int = 500


@dataclass
class _Event:
    at: datetime
    doc: dict[str, Any]


@dataclass
class _People:
    sellers: list[str] = field(default_factory=list)
    reviewers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    approvers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    admins: list[str] = field(default_factory=list)


# What a revised submission changes, with its weight: the deal name alone (no review asked
# again), one incentive value (finance and that category's department), one tier's revenue
# (trading and finance) or the contract dates (trading, and legal for a custom deal).
REVISION_CHANGES = (("description", 0.25), ("incentive_value", 0.3), ("tier_revenue", 0.3), ("terms", 0.15))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Generator:
    def __init__(self, seed: int = 7, mix: Mix | None = None, rules: BusinessRules | None = None) -> None:
        self.random = random.Random(seed)
        self.away_random = random.Random(f"{seed}-away")  # absences draw apart: deals stay as they were
        self.mix = mix or Mix()
        self.rules = rules or BusinessRules()
        self.seeded = routing.seeded_departments(self.rules)
        self.people = _People()
        self.advertisers: list[str] = []
        self.agencies: list[str] = []
        self.spoiled_ids: set[str] = set()  # event ids of the broken copies (unreadable ones excluded)

    # -- ids and people --------------------------------------------------------------------------
    def event_id(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def envelope(self, kind: str, at: datetime, **body: Any) -> dict[str, Any]:
        return {"event_id": self.event_id(), "kind": kind, "occurred_at": _stamp(at), **body}

    def reference_data(self, at: datetime) -> list[dict[str, Any]]:
        """Users for every role and department, advertisers and agencies."""
        docs, mix, departments = (
            [],
            self.mix,
            sorted(self.seeded),
        )
        per_department = max(2, mix.users // 25)
        per_level = max(2, mix.users // 50)
        plan = [("admin", None, None, f"admin{i}") for i in range(3)]
        plan += [
            ("department_reviewer", d, None, f"{d}.reviewer{i}")
            for d in departments
            for i in range(per_department)
        ]
        plan += [
            ("approver", self.rules.business_approval_department, lvl, f"{lvl}.approver{i}")
            for lvl in APPROVAL_LEVELS
            for i in range(per_level)
        ]
        plan += [
            ("seller", self.rules.business_approval_department, None, f"seller{i}")
            for i in range(max(1, mix.users - len(plan)))
        ]
        for role, department, level, name in plan:
            email = f"{name}@example.com"
            if role == "admin":
                self.people.admins.append(email)
            elif role == "department_reviewer":
                self.people.reviewers[department].append(email)
            elif role == "approver":
                self.people.approvers[level].append(email)
            else:
                self.people.sellers.append(email)
            body = {"email": email, "username": name, "first_name": name.split(".")[0].title(),
                    "last_name": "Example", "role": role, "department": department,
                    "approval_level": level, "is_active": True, "external_id": f"00u{len(docs):06d}"}  # fmt: skip
            docs.append(self.envelope("user", at, user=body))
        for i in range(mix.advertisers):
            name = f"Advertiser {i:05d}"
            self.advertisers.append(name)
            docs.append(self.envelope("advertiser", at, advertiser=self._company(name)))
        for i in range(mix.agencies):
            name = f"Agency {i:04d}"
            self.agencies.append(name)
            body = {**self._company(name), "type": self.random.choice(["holding_company", "independent"])}
            docs.append(self.envelope("agency", at, agency=body))
        return docs

    def _company(self, name: str) -> dict[str, Any]:
        revenue = round(self.random.uniform(50_000, 5_000_000), 2)
        return {"name": name, "region": self.random.choice(REGIONS), "previous_year_revenue": revenue,
                "previous_year_margin": round(self.random.uniform(0.1, 0.5), 3),
                "previous_year_profit": round(revenue * 0.3, 2),
                "previous_year_incentive_cost": round(revenue * 0.03, 2),
                "previous_year_client_value": round(revenue * 0.1, 2)}  # fmt: skip

    # -- one deal ---------------------------------------------------------------------------------
    def submission(self, at: datetime, seller: str, *, reference: str | None = None,
                   status: str = "submitted") -> dict[str, Any]:  # fmt: skip
        rnd = self.random
        channel = rnd.choice(["holding_company", "independent_agency", "client_direct"])
        structure = rnd.choice(["tiered", "tiered", "flat_commit"])
        tiers = []
        for n in range(1, (1 if structure == "flat_commit" else rnd.randint(1, 4)) + 1):
            incentives = [
                {"category": rnd.choice(INCENTIVE_CATEGORIES), "sub_category": "standard",
                 "option": rnd.choice(["Volume Discount", "Added Value", "Custom Dashboard", "Free Creative"]),
                 "value": round(rnd.uniform(1_000, 40_000), 2), "notes": None}
                for _ in range(rnd.randint(1, 2))
            ]  # fmt: skip
            revenue = round(rnd.lognormvariate(11.5, 1.1), 2)  # median about 100 K
            tiers.append({"tier_number": n, "annual_revenue": revenue,
                          "annual_gross_margin": round(rnd.uniform(0.15, 0.5), 3), "incentives": incentives})  # fmt: skip
        start = (at + timedelta(days=rnd.randint(10, 60))).date()
        end = start + timedelta(days=rnd.choice([182, 364, 729]))
        deal = {"deal_name": f"Deal {self.event_id()[:8]}", "deal_type": rnd.choice(DEAL_TYPES),
                "sales_channel": channel, "deal_structure": structure, "region": rnd.choice(REGIONS),
                "advertiser_name": rnd.choice(self.advertisers) if channel == "client_direct" else None,
                "agency_name": None if channel == "client_direct" else rnd.choice(self.agencies),
                "business_summary": "Synthetic deal", "growth_opportunity_miq": "Grow share",
                "growth_opportunity_client": "Reach", "client_asks": "Better rates",
                "growth_ambition": rnd.choice([None, 1_000_000, 2_500_000]),
                "term_start_date": start.isoformat(), "term_end_date": end.isoformat(),
                "previous_year_revenue": round(rnd.uniform(0, 2_000_000), 2),
                "previous_year_margin": round(rnd.uniform(0.1, 0.4), 3),
                "priority": rnd.choices(DEAL_PRIORITIES, weights=[1, 3, 8, 3])[0]}  # fmt: skip
        return self.envelope("deal_submission", at, submitted_by=seller, reference_number=reference,
                             status=status, scoping_request_id=None, deal=deal, tiers=tiers)  # fmt: skip

    def departments(self, doc: dict[str, Any]) -> list[str]:
        """The stage-1 departments the desk will route this submission to (the core's routing,
        over the departments as seeded)."""
        categories = [i["category"] for tier in doc["tiers"] for i in tier["incentives"]]
        return routing.stage1_departments(doc["deal"]["deal_type"], categories, self.seeded, self.rules)

    def level(self, doc: dict[str, Any]) -> str | None:
        return self.rules.level_for(sum(t["annual_revenue"] for t in doc["tiers"]))

    def action(self, at: datetime, reference: str, stage: int, department: str, action: str,
               performer: str, comments: str | None = None) -> dict[str, Any]:  # fmt: skip
        return self.envelope("approval_action", at, reference_number=reference, approval_stage=stage,
                             department=department, action=action, performed_by=performer,
                             comments=comments, assign_to=None)  # fmt: skip

    def status_change(self, at: datetime, reference: str, status: str, performer: str) -> dict[str, Any]:
        return self.envelope("status_change", at, reference_number=reference, new_status=status,
                             performed_by=performer, comments=f"moved to {status}")  # fmt: skip

    def revision(self, at: datetime, doc: dict[str, Any], reference: str) -> dict[str, Any]:
        """The resubmission of ``doc`` after a revision request: the same deal with one change,
        drawn from REVISION_CHANGES (so that some reviews carry over, business rules section 6)."""
        rnd = self.random
        again = copy.deepcopy(doc)
        again.update(self.envelope("deal_submission", at), reference_number=reference, status="submitted",
                     revision_reason="Revised terms")  # fmt: skip
        change = rnd.choices([c for c, _ in REVISION_CHANGES], weights=[w for _, w in REVISION_CHANGES])[0]
        tier = rnd.choice(again["tiers"])
        if change == "description":
            again["deal"]["deal_name"] = f"{doc['deal']['deal_name']} (revised)"
        elif change == "incentive_value":
            line = rnd.choice(tier["incentives"])
            line["value"] = round(line["value"] * rnd.uniform(0.5, 0.95), 2)
        elif change == "tier_revenue":
            tier["annual_revenue"] = round(tier["annual_revenue"] * rnd.uniform(0.7, 0.95), 2)
        else:  # the terms: a later start
            start = date.fromisoformat(again["deal"]["term_start_date"]) + timedelta(days=14)
            end = date.fromisoformat(again["deal"]["term_end_date"]) + timedelta(days=14)
            again["deal"].update(term_start_date=start.isoformat(), term_end_date=end.isoformat())
        return again

    def carried_over(self, before: dict[str, Any], after: dict[str, Any], approved: set[str]) -> set[str]:
        """The reviews approved on ``before`` that the desk carries over to ``after`` (the core's rule)."""
        if not self.rules.reapproval.carry_over_reviews:
            return set()
        old, new = submission_body(before, self.rules), submission_body(after, self.rules)
        return {
            department
            for department in approved
            if reapproval.judged(department, old, self.seeded, self.rules)[1]
            == reapproval.judged(department, new, self.seeded, self.rules)[1]
        }

    def review_round(self, start: datetime, reference: str, doc: dict[str, Any], *, outcome: str,
                     carried: set[str] = frozenset()) -> tuple[list[_Event], datetime]:  # fmt: skip
        """The department reviews of one round (those ``carried`` over take no action) and, if all
        approve, the business approval."""
        rnd, events, at = self.random, [], start
        departments = [d for d in self.departments(doc) if d not in carried]
        deciding = rnd.choice(departments)
        for department in departments:
            at += timedelta(hours=rnd.uniform(1, 30))
            reviewer = rnd.choice(self.people.reviewers[department])
            if outcome != "approve" and department == deciding:
                verb = "request_revision" if outcome == "revise" else "reject"
                events.append(
                    _Event(at, self.action(at, reference, 1, department, verb, reviewer, "Needs changes"))
                )
                return events, at
            if rnd.random() < 0.2:  # a comment a little before the decision
                said = at - timedelta(minutes=5)
                events.append(
                    _Event(said, self.action(said, reference, 1, department, "comment", reviewer, "Looking"))
                )
            events.append(_Event(at, self.action(at, reference, 1, department, "approve", reviewer, "Fine")))
        level = self.level(doc)
        if level:
            at += timedelta(hours=rnd.uniform(2, 48))
            eligible = APPROVAL_LEVELS[APPROVAL_LEVELS.index(level) :]
            approver = rnd.choice(self.people.approvers[rnd.choice(eligible)])
            events.append(
                _Event(
                    at,
                    self.action(
                        at,
                        reference,
                        2,
                        self.rules.business_approval_department,
                        "approve",
                        approver,
                        "Approved",
                    ),
                )
            )
        return events, at

    def life(self, created: _Event, reference: str, fate: str) -> list[_Event]:
        """Follow-up events of a deal created by ``created`` (its reference predicted)."""
        rnd, doc = self.random, created.doc
        if fate == "abandoned_draft":
            return []
        events: list[_Event] = []
        at = created.at
        if doc["status"] == "draft":
            at += timedelta(days=rnd.uniform(0.5, 5))
            promoted = self.submission(at, doc["submitted_by"], reference=reference)
            events.append(_Event(at, promoted))
            doc = promoted
        outcome = {"revised": "revise", "rejected": "reject"}.get(fate, "approve")
        round_events, at = self.review_round(at, reference, doc, outcome=outcome)
        events += round_events
        if outcome == "revise":
            at += timedelta(days=rnd.uniform(1, 6))
            again = self.revision(at, doc, reference)
            events.append(_Event(at, again))
            approved = {e.doc["department"] for e in round_events if e.doc.get("action") == "approve"}
            carried = self.carried_over(doc, again, approved)
            round_events, at = self.review_round(at, reference, again, outcome="approve", carried=carried)
            events += round_events
        if outcome == "reject" or fate != "signed":
            return events
        legal = self.people.reviewers["legal"]
        for status, who in (("contract_drafting", legal), ("client_review", legal)):
            at += timedelta(days=rnd.uniform(0.5, 4))
            events.append(_Event(at, self.status_change(at, reference, status, rnd.choice(who))))
        at += timedelta(days=rnd.uniform(1, 10))
        approver = rnd.choice(self.people.approvers[APPROVAL_LEVELS[-1]])
        events.append(_Event(at, self.status_change(at, reference, "signed", approver)))
        return events

    def absences(self, start: datetime, days: int) -> list[_Event]:
        """Each month a share of the reviewers and approvers is away 2 to 10 days and names a
        colleague who may take their approvals (same department; same or higher level), 1 to 7
        days ahead."""
        rnd, events = self.away_random, []
        groups = [*self.people.reviewers.values(), *self.people.approvers.values()]
        for month in range(max(1, round(days / 30))):
            for group_index, group in enumerate(groups):
                for person in group:
                    if rnd.random() >= self.mix.away_per_month:
                        continue
                    colleagues = [p for p in group if p != person]
                    if group_index >= len(self.people.reviewers):  # approvers: this level or higher
                        level = next(k for k, v in self.people.approvers.items() if v is group)
                        colleagues += [p for k in APPROVAL_LEVELS[APPROVAL_LEVELS.index(level) + 1 :]
                                       for p in self.people.approvers[k]]  # fmt: skip
                    if not colleagues:
                        continue
                    begins = start + timedelta(days=month * 30 + rnd.uniform(0, 30))
                    said = begins - timedelta(days=rnd.uniform(1, 7))
                    doc = {
                        "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                        "kind": "delegation",
                        "occurred_at": _stamp(said),
                        "delegator": person,
                        "delegate": rnd.choice(colleagues),
                        "starts_at": _stamp(begins),
                        "ends_at": _stamp(begins + timedelta(days=rnd.uniform(2, 10))),
                        "reason": rnd.choice(["holiday", "conference", "parental leave", "training"]),
                    }
                    events.append(_Event(said, doc))
        return events

    def fate(self) -> str:
        mix, draw = self.mix, self.random.random()
        for name, share in (("revised", mix.revised), ("rejected", mix.rejected),
                            ("abandoned_draft", mix.drafts_abandoned)):  # fmt: skip
            if draw < share:
                return name
            draw -= share
        return "signed" if self.random.random() < mix.signed_after_approval else "approved"

    def spoil(self, doc: dict[str, Any]) -> dict[str, Any] | str:
        """An invalid copy of a document: a rule broken, or a line that is not JSON at all."""
        broken = json.loads(json.dumps(doc))
        # a draft is checked for its name and enumerations only: break one of those
        way = self.random.randrange(2 if doc.get("status") == "draft" else 5)
        if way == 0:
            return json.dumps(doc)[: self.random.randint(5, 60)]  # cut off mid-line
        if doc["kind"] == "deal_submission":
            if way == 1:
                broken["deal"]["region"] = "atlantis"
            elif way == 2:
                broken["tiers"] = []
            elif way == 3:
                broken["deal"]["term_end_date"] = broken["deal"]["term_start_date"]
            else:
                broken["tiers"][0]["annual_gross_margin"] = 1.5
        elif doc["kind"] == "delegation":
            broken["delegate"] = "nobody@example.com"
        else:
            broken["performed_by"] = "nobody@example.com"
        return broken

    # -- many deals --------------------------------------------------------------------------------
    def deals(self, start: datetime, days: int, count: int, *, first_numbers: dict[int, int] | None = None,
              invalid: float | None = None) -> list[_Event | Any]:  # fmt: skip
        """``count`` deals created over ``days`` days from ``start``, with their lives and spoiled copies."""
        rnd = self.random
        creations: list[tuple[_Event, str]] = []
        for _ in range(count):
            at = start + timedelta(seconds=rnd.uniform(0, days * 86_400))
            fate = self.fate()
            status = "draft" if fate == "abandoned_draft" or rnd.random() < 0.05 else "submitted"
            creations.append(
                (_Event(at, self.submission(at, rnd.choice(self.people.sellers), status=status)), fate)
            )
        # intake numbers new deals per year in (occurred_at, event_id) order, after the highest used
        numbers = dict(first_numbers or {})
        events: list[_Event] = []
        for created, fate in sorted(creations, key=lambda c: (c[0].doc["occurred_at"], c[0].doc["event_id"])):
            year = created.at.year
            numbers[year] = numbers.get(year, 0) + 1
            reference = reference_for(year, numbers[year])
            events.append(created)
            events += self.life(created, reference, fate)
        if self.mix.away_per_month:
            events += self.absences(start, days)
        share = self.mix.invalid if invalid is None else invalid
        spoiled = []
        for event in events:
            if rnd.random() < share:
                # a bad copy under a new id, so the good one still carries the deal
                bad = self.spoil({**event.doc, "event_id": self.event_id()})
                if isinstance(bad, dict):
                    self.spoiled_ids.add(bad["event_id"])
                spoiled.append(_Event(event.at, bad if isinstance(bad, dict) else {"_raw": bad}))
        return events + spoiled


def _line(event: _Event) -> str:
    raw = event.doc.get("_raw")
    return raw if isinstance(raw, str) else json.dumps(event.doc, separators=(",", ":"))


def write_days(events: list[_Event], out: Path, prefix: str = "deal_desk") -> list[Path]:
    """One file per business day (UTC), lines in business-time order; returns the files."""
    by_day: dict[date, list[_Event]] = defaultdict(list)
    for event in events:
        by_day[event.at.date()].append(event)
    written = []
    for day in sorted(by_day):
        folder = out / f"{day:%Y}" / f"{day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}_{day:%Y%m%d}.jsonl"
        lines = [_line(e) for e in sorted(by_day[day], key=lambda e: e.at)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class Generated:
    files: int
    documents: int
    deals: int
    first_day: date
    last_day: date


def generate(out: Path, *, years: float, seed: int = 7, mix: Mix | None = None,
             start: date | None = None) -> Generated:  # fmt: skip
    """Landing files for ``years`` years of deals at the mix's volume, reference data first."""
    generator = Generator(seed, mix)
    begin = datetime.combine(start or date(2026 - max(1, round(years)), 1, 1), datetime.min.time())
    reference = [
        _Event(begin - timedelta(hours=1), doc)
        for doc in generator.reference_data(begin - timedelta(hours=1))
    ]
    days = max(1, round(years * 365))
    count = max(1, round(generator.mix.deals_per_month * 12 * years))
    events = reference + generator.deals(begin, days, count)
    files = write_days(events, out)
    return Generated(len(files), len(events), count, events[0].at.date(), max(e.at for e in events).date())


def peak_day(out: Path, day: date, *, documents: int = 10_000, seed: int = 11,
             first_numbers: dict[int, int] | None = None, mix: Mix | None = None) -> Generated:  # fmt: skip
    """One busy day: about ``documents`` documents, every deal's life compressed into the day,
    written to ``out/peak``; the users and companies they name go to ``out/reference``.

    Nobody resubmits within the day (intake takes a resubmission only once the revision
    request is applied), so the peak mix has no revisions. ``first_numbers`` (year -> highest
    reference number already used) lets the new deals' references follow an existing lakehouse.
    """
    base = mix or Mix()
    generator = Generator(seed, Mix(**{**base.__dict__, "revised": 0.0, "away_per_month": 0.0}))
    start = datetime.combine(day, datetime.min.time())
    reference = generator.reference_data(start)  # the people and companies the documents name
    per_deal = 7.5  # documents per deal in this mix, measured
    events = generator.deals(start, 1, max(1, round(documents / per_deal)), first_numbers=first_numbers)
    if not events:
        raise ValueError("no documents")
    first, last = min(e.at for e in events), max(e.at for e in events)
    span = max((last - first).total_seconds(), 1.0)
    for event in events:  # keep the order, squeeze the times into the day
        event.at = start + timedelta(seconds=(event.at - first).total_seconds() / span * 86_000)
        if "occurred_at" in event.doc:
            event.doc["occurred_at"] = _stamp(event.at)
    _write_reference(reference, out / "reference")
    files = write_days(events, out / "peak")
    return Generated(len(files), len(events), round(documents / per_deal), day, day)


def _write_reference(docs: list[dict[str, Any]], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reference_data.jsonl"
    path.write_text("\n".join(json.dumps(d, separators=(",", ":")) for d in docs) + "\n", encoding="utf-8")
    return path
