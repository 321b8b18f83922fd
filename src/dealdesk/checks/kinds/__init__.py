"""The document kinds, one module each, named after the kind; ``KINDS`` in the order of application."""

from __future__ import annotations

import importlib

from dealdesk.checks.kind import DocumentKind
from dealdesk.config import DOCUMENT_KINDS


def _load(name: str) -> DocumentKind:
    try:
        kind = importlib.import_module(f"{__name__}.{name}").KIND
    except (ModuleNotFoundError, AttributeError) as missing:
        raise ImportError(
            f"document kind {name!r} (config.DOCUMENT_KINDS) has no KIND in checks/kinds/{name}.py"
        ) from missing
    if kind.name != name:
        raise ImportError(f"checks/kinds/{name}.py declares the kind {kind.name!r}")
    return kind


KINDS: dict[str, DocumentKind] = {name: _load(name) for name in DOCUMENT_KINDS}
