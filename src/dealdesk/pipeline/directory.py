"""Users from the Databricks workspace directory (which the identity provider feeds).

Group membership gives a user's role, department and approval level (with the
default prefix ``dealdesk-``):

====================================  =====================  ==============  ==============
group                                 role                   department      approval_level
====================================  =====================  ==============  ==============
``dealdesk-admins``                   admin                  (see below)     -
``dealdesk-approvers-<level>``        approver               trading         ``<level>``
``dealdesk-reviewers-<department>``   department_reviewer    ``<department>``  -
``dealdesk-sellers``                  seller                 -               -
====================================  =====================  ==============  ==============

A user in several groups takes the strongest role (admin, approver, reviewer, seller),
the highest level and the first department in the configured order. Someone in no
Deal Desk group is not a Deal Desk user: if they were one, they are made inactive
(never deleted). Only differences from the users table become documents, and they go
through the same validation and MERGE as users landed in files, so a sync of an
unchanged directory writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from dealdesk.config import APPROVAL_LEVELS, DEPARTMENTS, BusinessRules, load_rules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.job import process
from dealdesk.pipeline.runs import JobRun

if TYPE_CHECKING:  # the SDK takes seconds to import: only the sync that calls it loads it
    from databricks.sdk.service import iam

SOURCE = "databricks-workspace-directory"
USER_ATTRIBUTES = "id,userName,name,emails,active,groups,externalId"
MAPPED_FIELDS = ("role", "department", "approval_level", "first_name", "last_name", "is_active")


class _UsersLister(Protocol):
    def list(self, *, attributes: str | None = None) -> Iterable[iam.User]: ...


class DirectoryClient(Protocol):
    """What the sync needs of ``databricks.sdk.WorkspaceClient``."""

    @property
    def users(self) -> _UsersLister: ...


@dataclass(frozen=True)
class Membership:
    role: str
    department: str | None
    approval_level: str | None


def membership(groups: Iterable[str], prefix: str = "dealdesk-") -> Membership | None:
    """The role, department and level that a user's group names give; None for no Deal Desk group."""
    names = {g.lower() for g in groups if g}
    levels = [lvl for lvl in APPROVAL_LEVELS if f"{prefix}approvers-{lvl}" in names]
    departments = [d for d in DEPARTMENTS if f"{prefix}reviewers-{d}" in names]
    level = levels[-1] if levels else None  # the highest
    department = departments[0] if departments else None
    if f"{prefix}admins" in names:
        return Membership("admin", department, level)
    if level:
        return Membership("approver", department or "trading", level)
    if department:
        return Membership("department_reviewer", department, None)
    if f"{prefix}sellers" in names:
        return Membership("seller", None, None)
    return None


def _email(user: iam.User) -> str | None:
    primary = next((e.value for e in user.emails or [] if e.primary and e.value), None)
    address = user.user_name if user.user_name and "@" in user.user_name else primary
    return address.strip().lower() if address else None


def directory_users(users: Iterable[iam.User], prefix: str = "dealdesk-") -> dict[str, dict]:
    """Directory users with a Deal Desk group, as user-document bodies keyed by e-mail."""
    result: dict[str, dict] = {}
    for user in users:
        member = membership((g.display or "" for g in user.groups or []), prefix)
        email = _email(user)
        if member is None or email is None:
            continue
        result[email] = {
            "email": email,
            "username": email.split("@")[0],
            "first_name": user.name.given_name if user.name else None,
            "last_name": user.name.family_name if user.name else None,
            "role": member.role,
            "department": member.department,
            "approval_level": member.approval_level,
            "is_active": user.active is not False,
            "external_id": user.external_id or user.id,
        }
    return result


def user_documents(directory: dict[str, dict], current: dict[str, dict], occurred_at: datetime) -> list[str]:
    """JSON lines for the users whose directory entry differs from the table (``current``, by e-mail),
    plus deactivations for active users who are no longer in any Deal Desk group."""
    bodies = [
        body
        for email, body in sorted(directory.items())
        if any(current.get(email, {}).get(f) != body[f] for f in MAPPED_FIELDS)
    ]
    bodies += [
        {**row, "is_active": False}
        for email, row in sorted(current.items())
        if email not in directory and row.get("is_active")
    ]
    stamp = occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = []
    for body in bodies:
        digest = hashlib.sha256(json.dumps([body, stamp], sort_keys=True).encode()).hexdigest()
        event_id = f"directory-{digest[:32]}"
        lines.append(json.dumps({"event_id": event_id, "kind": "user", "occurred_at": stamp, "user": body}))
    return lines


def _current_users(lakehouse: Lakehouse) -> dict[str, dict]:
    columns = ("email", "username", *MAPPED_FIELDS, "external_id")
    return {r["email"]: r for r in lakehouse.collect(lakehouse.read("users").select(*columns))}


def sync_users(
    lakehouse: Lakehouse,
    client: DirectoryClient | None = None,
    *,
    group_prefix: str = "dealdesk-",
    profile: str | None = None,
    rules: BusinessRules | None = None,
) -> JobRun:
    """Merge the workspace directory's Deal Desk users into ``users`` (a fresh client when none is given)."""
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient(profile=profile)
    directory = directory_users(client.users.list(attributes=USER_ATTRIBUTES), group_prefix)
    now = datetime.now(UTC).replace(tzinfo=None)
    lines = user_documents(directory, _current_users(lakehouse), now)

    source = f"{SOURCE}/{now:%Y%m%dT%H%M%S%f}"
    return process(lakehouse, rules or load_rules(None), job="sync-users", lines=[(source, lines)])
