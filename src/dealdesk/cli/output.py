"""Rendering for the terminal: query results (an aligned table, JSON Lines or CSV) and job run summaries."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMATS = ("text", "json", "csv")  # every command's --format: text (for reading) first, the default
TEXT = ("text", "table")  # what render calls an aligned table, by either name


def _plain(value: Any) -> Any:
    """Spark values as JSON-friendly Python values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    """One value as text, exactly (nested values as JSON, None as nothing); ``table`` escapes it."""
    if value is None:
        return ""
    plain = _plain(value)
    return json.dumps(plain) if isinstance(plain, dict | list) else str(plain)


# C0 and C1 control characters and DEL: a cell must never move the cursor or recolour the terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str) -> str:
    """``text`` with every control character written as an escape (\\n, \\r, \\t, \\x1b)."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def _csv_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Each row as one CSV record. The writer ends records with CR LF, so that it quotes every value
    holding a CR or an LF (its minimal quoting looks at the record terminator's characters); the
    records are then joined with LF, as the other formats' lines are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    lines = []
    for row in rows:
        writer.writerow(row)
        lines.append(buffer.getvalue().removesuffix("\r\n"))
        buffer.seek(0)
        buffer.truncate()
    return lines


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "text") -> str:
    """Query results as text, without a final newline.

    - ``text`` (also called ``table``; for a terminal): aligned columns, then the row count. Every
      control character of a name or a value (C0, DEL and C1: ESC, CR, LF, TAB, NUL, CSI ...) is shown as a visible
      escape (``\\x1b``, ``\\r``, ``\\n``, ``\\t``), so a cell can never move the cursor, recolour the
      terminal or break its row across lines.
    - ``json``: one JSON object per row per line; ``json.dumps`` escapes every control character
      (and every non-ASCII one) already, and ``json.loads`` gives the values back exactly.
    - ``csv`` (for files and programs): a header, then one record per row, every value exactly as
      it is, control characters included; a value holding a comma, a quote, a CR or an LF is
      quoted, so a CSV reader gets the rows back as they were. Read it with a program (or use
      ``table``) when values may hold control characters.
    """
    if fmt == "json":
        return "\n".join(json.dumps(dict(zip(columns, map(_plain, row), strict=True))) for row in rows)
    if fmt == "csv":
        return "\n".join(_csv_lines([list(columns), *([_cell(v) for v in row] for row in rows)]))
    if fmt not in TEXT:
        raise ValueError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    columns = [visible(c) for c in columns]  # the table is for a terminal
    cells = [[visible(_cell(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


# -- job run summaries ------------------------------------------------------------------------------


def _counts(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def describe_run(summary: Mapping[str, Any]) -> str:
    """One line for a job's summary (``JobRun.summary()``): the job, then what it did.

    Documents in, accepted and rejected (for the steps that read documents), the rows written per
    table, the seconds and engine queries when the summary has them, and the landing files the
    run did not read (another extension, empty), each with the reason.
    """
    parts = []
    read, accepted, rejected = (int(summary.get(k) or 0) for k in ("lines_read", "accepted", "rejected"))
    if read or accepted or rejected:
        documents = f"{_plural(read, 'document')} in: {accepted:,} accepted, {rejected:,} rejected"
        by_kind = {k: v for k, v in (summary.get("rejected_by_kind") or {}).items() if v}
        parts.append(documents + (f" ({_counts(by_kind)})" if rejected and by_kind else ""))
    written = {table: n for table, n in (summary.get("rows_merged") or {}).items() if n}
    parts.append(f"rows written: {_counts(written)}" if written else "no rows written")
    if summary.get("seconds") is not None:
        parts.append(f"{float(summary['seconds']):.1f} s")
    if summary.get("engine_queries") is not None:
        queries = int(summary["engine_queries"])
        parts.append(f"{queries:,} engine {'query' if queries == 1 else 'queries'}")
    if summary.get("files_not_read"):
        parts.append(f"not read: {', '.join(summary['files_not_read'])}")
    return f"{summary.get('job', '?'):<8} " + "; ".join(parts)


def render_runs(summaries: Sequence[Mapping[str, Any]], fmt: str = "text") -> str:
    """Job summaries: one readable line per step (text), one JSON object per step per line (json),
    or a header and one record per step (csv: every key a column, nested counts as JSON)."""
    if fmt == "json":
        return "\n".join(json.dumps(_plain(dict(summary))) for summary in summaries)
    if fmt == "csv":
        columns = list(dict.fromkeys(key for summary in summaries for key in summary))
        return render(columns, [[summary.get(c) for c in columns] for summary in summaries], "csv")
    if fmt not in TEXT:
        raise ValueError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    return "\n".join(describe_run(summary) for summary in summaries)
