"""Each document kind has one home: its module in checks/kinds and its handler in the core,
both found from config.DOCUMENT_KINDS, and a kind missing either fails at import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dealdesk.checks.kinds import KINDS
from dealdesk.config import DOCUMENT_KINDS
from dealdesk.core.desk import HANDLERS


def test_every_kind_has_its_module_and_its_handler_in_the_order_of_application():
    assert list(KINDS) == list(DOCUMENT_KINDS)
    assert sorted(HANDLERS) == sorted(DOCUMENT_KINDS)
    assert all(kind.name == name for name, kind in KINDS.items())


def test_a_kind_the_engine_reads_declares_its_schema_and_the_others_leave_it_to_the_core():
    for kind in KINDS.values():
        if kind.errors or kind.warnings or kind.error_sets:
            assert kind.schema, kind.name
        if kind.error_sets:
            assert kind.error_set_columns, kind.name


def _import_with_an_extra_kind(module: str) -> subprocess.CompletedProcess[str]:
    code = (
        f"import dealdesk.config as c; c.DOCUMENT_KINDS = (*c.DOCUMENT_KINDS, 'sabbatical'); import {module}"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("dealdesk.core.desk", "document kinds without a handler in the core: ['sabbatical']"),
        ("dealdesk.checks.kinds", "document kind 'sabbatical' (config.DOCUMENT_KINDS) has no KIND"),
    ],
)
def test_a_kind_without_its_handler_or_its_module_fails_at_import(module: str, message: str):
    result = _import_with_an_extra_kind(module)
    assert result.returncode != 0
    assert message in result.stderr
