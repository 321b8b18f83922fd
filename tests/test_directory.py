"""Users from the workspace directory: group names map to role, department and level.

The workspace cannot be reached from the tests; the directory is a fake client that
returns the SDK's own ``iam.User`` objects, and everything after it is real.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from databricks.sdk.service import iam

from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.directory import Membership, directory_users, membership, sync_users
from tests.intake_builders import rows


def directory_user(email: str, *groups: str, active: bool = True, user_id: str = "1") -> iam.User:
    return iam.User(
        id=user_id,
        user_name=email,
        active=active,
        name=iam.Name(given_name=email.split(".")[0].title(), family_name="Example"),
        emails=[iam.ComplexValue(value=email, primary=True)],
        groups=[iam.ComplexValue(display=g, value=f"g-{g}") for g in groups],
    )


class FakeUsers:
    def __init__(self, users: list[iam.User]) -> None:
        self.users = users
        self.asked: list[str | None] = []

    def list(self, *, attributes: str | None = None) -> Iterable[iam.User]:
        self.asked.append(attributes)
        return iter(self.users)


class FakeWorkspace:
    """Stands in for databricks.sdk.WorkspaceClient: only ``users.list`` is used."""

    def __init__(self, users: list[iam.User]) -> None:
        self.users = FakeUsers(users)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (["dealdesk-sellers"], Membership("seller", None, None)),
        (["dealdesk-reviewers-finance"], Membership("department_reviewer", "finance", None)),
        (["dealdesk-approvers-vp"], Membership("approver", "trading", "vp")),
        (["dealdesk-approvers-manager", "dealdesk-approvers-svp"], Membership("approver", "trading", "svp")),
        (["dealdesk-admins", "dealdesk-reviewers-legal"], Membership("admin", "legal", None)),
        (["dealdesk-sellers", "dealdesk-reviewers-legal"], Membership("department_reviewer", "legal", None)),
        (["DealDesk-Reviewers-Legal"], Membership("department_reviewer", "legal", None)),
        (["dealdesk-reviewers-catering", "finance-all"], None),
        ([], None),
    ],
)
def test_group_names_map_to_membership(groups: list[str], expected: Membership | None):
    assert membership(groups) == expected


def test_directory_users_keep_only_deal_desk_members_with_lower_case_emails():
    found = directory_users(
        [
            directory_user("Fin.Reviewer@Example.com", "dealdesk-reviewers-finance", user_id="42"),
            directory_user("someone@example.com", "all-staff"),
        ]
    )
    assert list(found) == ["fin.reviewer@example.com"]
    assert found["fin.reviewer@example.com"]["external_id"] == "42"
    assert found["fin.reviewer@example.com"]["first_name"] == "Fin"


def test_sync_merges_changes_deactivates_leavers_and_is_idempotent(lakehouse: Lakehouse):
    workspace = FakeWorkspace(
        [
            directory_user("sam.seller@example.com", "dealdesk-sellers"),
            directory_user("vp@example.com", "dealdesk-approvers-vp"),
            directory_user("gone@example.com", "dealdesk-sellers"),
        ]
    )
    first = sync_users(lakehouse, workspace)
    assert (first.lines_read, first.accepted, first.rejected) == (3, 3, 0)
    assert workspace.users.asked and "groups" in workspace.users.asked[0]

    workspace.users.users = [
        directory_user("sam.seller@example.com", "dealdesk-sellers"),
        directory_user("vp@example.com", "dealdesk-approvers-svp"),  # promoted
        directory_user("gone@example.com", "all-staff"),  # left the desk
    ]
    second = sync_users(lakehouse, workspace)
    assert second.lines_read == 2  # only the changes
    assert rows(lakehouse, "users", "email", "role", "approval_level", "is_active") == [
        ("gone@example.com", "seller", None, False),
        ("sam.seller@example.com", "seller", None, True),
        ("vp@example.com", "approver", "svp", True),
    ]

    third = sync_users(lakehouse, workspace)
    assert third.lines_read == 0
    assert lakehouse.read("raw_documents").count() == 5
