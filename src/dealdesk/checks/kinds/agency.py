"""An agency: created or updated by name (business rules, section 9)."""

from __future__ import annotations

from pyspark.sql import Column

from dealdesk.checks.company import company_errors, read_body_of, schema_of
from dealdesk.checks.kind import DocumentKind
from dealdesk.config import BusinessRules


def errors(doc: Column, rules: BusinessRules) -> Column:
    return company_errors(doc["agency"], "agency", agency=True)


KIND = DocumentKind("agency", read_body_of("agency"), schema=schema_of("agency"), errors=errors)
