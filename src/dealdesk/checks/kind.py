"""What a document kind declares: its body's schema, its checks and how its body is read.

Each kind lives in one module of ``checks/kinds`` named after it, holding ``KIND``; the order in
which kinds of the same instant are applied is their order in ``config.DOCUMENT_KINDS``, and the
decision core holds one registered handler per kind (``core.desk``). A kind without its module
or its handler fails at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame

from dealdesk.config import BusinessRules

ColumnCheck = Callable[[Column, BusinessRules], Column]
BodyReader = Callable[[dict[str, Any], Mapping[str, Any], BusinessRules], dict[str, Any]]


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document.

    - ``schema``: the document as the engine reads it (every leaf STRING), or None when the
      core alone judges it (workflow documents: every rule of theirs depends on state);
    - ``errors`` / ``warnings``: the stateless checks of a readable document, as Columns over
      the document read with ``schema``;
    - ``error_sets``: for a kind whose applicable errors depend on state (a deal submission is
      checked as a draft or in full: the core picks), a transform adding those error columns;
    - ``read_body``: the parsed JSON, the checked row and the rules -> what the core applies.
    """

    name: str
    read_body: BodyReader
    schema: str | None = None
    errors: ColumnCheck | None = None
    warnings: ColumnCheck | None = None
    error_sets: Callable[[BusinessRules, str], Callable[[DataFrame], DataFrame]] | None = None
    error_set_columns: tuple[str, ...] = ()
