"""An advertiser: created or updated by name (business rules, section 9)."""

from __future__ import annotations

from pyspark.sql import Column

from dealdesk.checks.company import company_errors, read_body_of, schema_of
from dealdesk.checks.kind import DocumentKind
from dealdesk.config import BusinessRules


def errors(doc: Column, rules: BusinessRules) -> Column:
    return company_errors(doc["advertiser"], "advertiser", agency=False)


KIND = DocumentKind("advertiser", read_body_of("advertiser"), schema=schema_of("advertiser"), errors=errors)
