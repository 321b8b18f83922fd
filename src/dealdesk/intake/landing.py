"""Landing files: find the JSON Lines files not taken before and read their lines as they came."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

LANDING_PATTERNS = ("*.jsonl", "*.json", "*.ndjson")


@dataclass(frozen=True)
class LandedFile:
    path: str
    size_bytes: int
    sha256: str
    lines: tuple[str, ...]


def find_files(landing: Path) -> list[Path]:
    """Every JSON Lines file under the landing folder, in name order (files land named by time)."""
    if not landing.is_dir():
        from dealdesk.errors import DealDeskError

        raise DealDeskError(f"landing folder {landing} does not exist")
    found = {p for pattern in LANDING_PATTERNS for p in landing.rglob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: str(p.relative_to(landing)))


def read_file(path: Path) -> LandedFile:
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    # JSON Lines ends lines with \n (or \r\n) only: str.splitlines() would also split inside a
    # value at \x0b, \x1c, \x85, \u2028 ... and turn one document into several broken lines
    lines = tuple(line.removesuffix("\r") for line in text.split("\n"))
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return LandedFile(str(path.resolve()), len(data), hashlib.sha256(data).hexdigest(), lines)


def new_files(landing: Path, taken_checksums: set[str]) -> list[LandedFile]:
    """Files whose content was not taken before: the same file landed twice is read once."""
    files, seen = [], set(taken_checksums)
    for path in find_files(landing):
        landed = read_file(path)
        if landed.sha256 not in seen:
            seen.add(landed.sha256)
            files.append(landed)
    return files
