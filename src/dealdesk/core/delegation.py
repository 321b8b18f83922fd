"""Delegation while someone is away (business rules, section 4b), in plain Python.

A delegation names, for a period, who takes the approvals that would go to its delegator. It
counts from its start or from the business time of its document, whichever is later, until its
end (excluded). While it counts:

- an approval routed to the delegator goes to the delegate, when the delegate is active and may
  decide it (``routing.may_decide``: same department and role for a review, an approver of the
  same or a higher level for a business approval); otherwise it goes to the delegator as usual;
- at its start, the delegator's open approvals the delegate may decide are reassigned to the
  delegate (an ``assign`` action each, by the system); the others stay.

Routing weighs a person away by their delegate's open approvals (where the approval would
land), so the least-loaded choice does not keep picking someone whose own queue stops growing
while they are away. A delegate's own delegation is not followed (one step only). When the
period ends, new approvals go to the delegator again; the ones reassigned stay with the
delegate (an ``assign`` action moves one back). When several delegations of one person count at once, the one whose
document came last decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from dealdesk.core import routing
from dealdesk.core.model import Approval, Delegation, User

# What an approval asks of whoever decides it: (stage, department, required role, level).
Asked = tuple[int, str, str, str | None]

# The event id of the reassignment at a delegation's start when it happens after its document.
START_EVENT_PREFIX = "delegation-start:"


def by_delegator(delegations: Iterable[Delegation]) -> dict[int, list[Delegation]]:
    """The delegations of each person away (what ``in_force`` and ``stand_in`` look through)."""
    found: dict[int, list[Delegation]] = {}
    for known in delegations:
        found.setdefault(known.delegator_id, []).append(known)
    return found


def in_force(mine: Iterable[Delegation], at: datetime) -> Delegation | None:
    """Of one person's delegations, the one that counts at ``at``, if any."""
    counting = [d for d in mine if d.begins <= at < d.ends_at]
    return max(counting, key=lambda d: (d.created_at, d.source_event_id), default=None)


def asked(approval: Approval) -> Asked:
    return (approval.approval_stage, approval.department, approval.required_role, approval.approval_level)


def may_take(delegate: User | None, approval: Asked) -> bool:
    """Whether ``delegate`` can take an approval over: active and allowed to decide it."""
    return delegate is not None and delegate.is_active and routing.may_decide(delegate, *approval)


def stand_in(
    delegations_of: Mapping[int, list[Delegation]],
    person: int | None,
    approval: Asked,
    people: dict[int, User],
    at: datetime,
) -> Delegation | None:
    """The delegation under which an approval routed to ``person`` at ``at`` goes to the
    delegate instead; None when it goes to ``person``."""
    if person is None:
        return None
    delegation = in_force(delegations_of.get(person, ()), at)
    if delegation is None or not may_take(people.get(delegation.delegate_id), approval):
        return None
    return delegation


def note(delegation: Delegation, delegator: str) -> str:
    """The comment of an assignment made because of ``delegation``."""
    until = delegation.ends_at.isoformat(sep=" ")
    why = f": {delegation.reason}" if delegation.reason else ""
    return f"delegated by {delegator}, away until {until}{why}"


class EffectiveLoad(Mapping[int, int]):
    """Open approvals per person as routing weighs them for one approval (``asked``) at ``at``: a
    person away counts with the load of the delegate who would take it."""

    def __init__(
        self,
        counts: Mapping[int, int],
        delegations_of: Mapping[int, list[Delegation]],
        people: dict[int, User],
        asked: Asked,
        at: datetime,
    ) -> None:
        self.counts, self.delegations_of, self.people, self.asked, self.at = (
            counts, delegations_of, people, asked, at,
        )  # fmt: skip

    def __getitem__(self, person: int) -> int:
        standing = stand_in(self.delegations_of, person, self.asked, self.people, self.at)
        return self.counts[standing.delegate_id if standing is not None else person]

    def get(self, person: int, default: int = 0) -> int:  # type: ignore[override]
        try:
            return self[person]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[int]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)
