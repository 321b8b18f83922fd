"""Landing files: find the JSON Lines files not taken before and read their lines as they came."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dealdesk.config import NESTING_LIMIT
from dealdesk.errors import DealDeskError

log = logging.getLogger(__name__)

LANDING_EXTENSIONS = (".jsonl", ".json", ".ndjson")  # compared without case: .JSONL is read too
BOM = b"\xef\xbb\xbf"
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

    def derived_id(self, line_number: int) -> str:
        """The event id of a line that gives none: from the file's content and the line number,
        so the same file gives the same ids wherever and whenever it lands."""
        return "derived-" + hashlib.sha256(f"{self.sha256}:{line_number}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class NotRead:
    """A file in the landing folder that a run does not read, and why (named in the run summary)."""

    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.path} ({self.why})"


def find_files(landing: Path) -> tuple[list[Path], list[NotRead]]:
    """(every JSON Lines file under the landing folder in name order — files land named by
    time —, the other files found there with the reason they are not read)."""
    if landing.is_file():
        raise DealDeskError(f"landing path {landing} is a file: give the folder the files land in")
    if not landing.is_dir():
        raise DealDeskError(f"landing folder {landing} does not exist")
    found, other = [], []
    for path in landing.rglob("*"):
        name = str(path.relative_to(landing))
        if path.is_symlink() and not path.exists():
            log.warning("skipped %s: a symbolic link to nothing", path)
            other.append(NotRead(name, "a symbolic link to nothing"))
        elif not path.is_file():
            continue
        elif path.suffix.lower() in LANDING_EXTENSIONS:
            found.append(path)
        else:
            extension = f"extension {path.suffix}" if path.suffix else "no extension"
            other.append(NotRead(name, f"{extension}: only {', '.join(LANDING_EXTENSIONS)} files are read"))
    key = lambda p: str(p.relative_to(landing))  # noqa: E731
    return sorted(found, key=key), sorted(other, key=lambda n: n.path)


def read_file(path: Path) -> LandedFile:
    data = path.read_bytes()
    # JSON Lines ends lines with \n (or \r\n) only: str.splitlines() would also split inside a
    # value at \x0b, \x1c, \x85, \u2028 ... and turn one document into several broken lines
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines = raw_lines[:-1]
    if raw_lines and raw_lines[0].startswith(BOM):  # a byte-order mark is no part of the document
        raw_lines[0] = raw_lines[0][len(BOM) :]
    if _one_json_value(raw_lines):  # a pretty-printed document or array: one line of the file's text
        raw_lines = [b"\n".join(line.removesuffix(b"\r") for line in raw_lines).strip()]
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


def _one_json_value(raw_lines: list[bytes]) -> bool:
    """The file is one JSON object or array written over several lines (pretty-printed), not
    JSON Lines: its first line opens it and is no document by itself."""
    lines = [line for line in raw_lines if line.strip()]
    if len(lines) < 2 or lines[0].strip() not in (b"[", b"{"):
        return False
    try:
        value = json.loads(b"\n".join(raw_lines))
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict | list)


def made_file(source: str, lines: Sequence[str]) -> LandedFile:
    """Documents a job made itself, as a landed file named ``source``."""
    text = "\n".join(lines).encode()
    return LandedFile(source, 0, hashlib.sha256(text).hexdigest(), tuple(lines))


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


def new_files(landing: Path, taken_checksums: set[str]) -> tuple[list[LandedFile], list[str], list[NotRead]]:
    """(files whose content was not taken before, files that could not be read: left for the
    next run, files not read at all: another extension, or empty). The same file landed twice
    is read once."""
    files, unreadable, seen = [], [], set(taken_checksums)
    paths, not_read = find_files(landing)
    for path in paths:
        try:
            landed = read_file(path)
        except OSError as exc:
            log.warning("could not read %s: %s; left for the next run", path, exc.strerror or exc)
            unreadable.append(f"{path} ({exc.strerror or exc})")
            continue
        if not any(line.strip() for line in landed.lines):
            not_read.append(NotRead(str(path.relative_to(landing)), "empty: no document in it"))
        elif landed.sha256 not in seen:
            seen.add(landed.sha256)
            files.append(landed)
    return files, unreadable, sorted(not_read, key=lambda n: n.path)
