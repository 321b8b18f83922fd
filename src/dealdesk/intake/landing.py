"""Landing files: find the JSON Lines files not taken before and read their lines as they came."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from dealdesk.errors import DealDeskError

log = logging.getLogger(__name__)

LANDING_PATTERNS = ("*.jsonl", "*.json", "*.ndjson")
BOM = b"\xef\xbb\xbf"
# Documents are a few levels deep; the engine's JSON reader misreads lines nested past ~128
# levels, so deeper lines are rejected here with the true reason (and their event_id kept).
NESTING_LIMIT = 64
EVENT_ID = re.compile(r'"event_id"\s*:\s*"([^"\\]{1,200})"')


@dataclass(frozen=True)
class LandedFile:
    path: str
    size_bytes: int
    sha256: str
    lines: tuple[str, ...]
    # line number -> where its bytes stop being UTF-8 ("byte 12"): kept as text, rejected
    encoding_errors: dict[int, str] | None = None
    # line number -> (nesting depth, event_id read from the text) for lines nested too deep
    too_deep: dict[int, tuple[int, str | None]] | None = None


def find_files(landing: Path) -> list[Path]:
    """Every JSON Lines file under the landing folder, in name order (files land named by time)."""
    if landing.is_file():
        raise DealDeskError(f"landing path {landing} is a file: give the folder the files land in")
    if not landing.is_dir():
        raise DealDeskError(f"landing folder {landing} does not exist")
    found = set()
    for pattern in LANDING_PATTERNS:
        for path in landing.rglob(pattern):
            if path.is_symlink() and not path.exists():
                log.warning("skipped %s: a symbolic link to nothing", path)
            elif path.is_file():
                found.add(path)
    return sorted(found, key=lambda p: str(p.relative_to(landing)))


def read_file(path: Path) -> LandedFile:
    data = path.read_bytes()
    # JSON Lines ends lines with \n (or \r\n) only: str.splitlines() would also split inside a
    # value at \x0b, \x1c, \x85, \u2028 ... and turn one document into several broken lines
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines = raw_lines[:-1]
    if raw_lines and raw_lines[0].startswith(BOM):  # a byte-order mark is no part of the document
        raw_lines[0] = raw_lines[0][len(BOM) :]
    lines, problems, deep = [], {}, {}
    for number, raw in enumerate(raw_lines, start=1):
        raw = raw.removesuffix(b"\r")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            # kept with the bad bytes written out as \\xNN, and rejected: never silently replaced
            lines.append(raw.decode("utf-8", errors="backslashreplace"))
            problems[number] = f"byte {exc.start}"
        line = lines[-1]
        if (
            line.count("[") + line.count("{") > NESTING_LIMIT
            and (depth := nesting_depth(line)) > NESTING_LIMIT
        ):
            found = EVENT_ID.search(line)
            deep[number] = (depth, found.group(1).strip() if found else None)
    return LandedFile(
        str(path.resolve()),
        len(data),
        hashlib.sha256(data).hexdigest(),
        tuple(lines),
        problems or None,
        deep or None,
    )


def nesting_depth(line: str) -> int:
    """The deepest nesting of JSON arrays and objects in a line (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in line:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def new_files(landing: Path, taken_checksums: set[str]) -> tuple[list[LandedFile], list[str]]:
    """(files whose content was not taken before, files that could not be read: left for the
    next run). The same file landed twice is read once."""
    files, unreadable, seen = [], [], set(taken_checksums)
    for path in find_files(landing):
        try:
            landed = read_file(path)
        except OSError as exc:
            log.warning("could not read %s: %s; left for the next run", path, exc.strerror or exc)
            unreadable.append(f"{path} ({exc.strerror or exc})")
            continue
        if landed.sha256 not in seen:
            seen.add(landed.sha256)
            files.append(landed)
    return files, unreadable
