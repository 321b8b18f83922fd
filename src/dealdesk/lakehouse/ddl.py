"""The DDL files of ddl/: found, parsed and rendered, without an engine.

Numbered migrations (``NNN_name.sql``, ``*.databricks.sql`` for Unity-Catalog-only statements)
and the reporting views of ``ddl/views/``; the runner (``migrations``) applies them, and the
table types (``table_types``) read the columns of every table from them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dealdesk.errors import MigrationError

FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)(\.databricks)?\.sql$")
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)(?::([a-z_]+))?\}")
ADD_CHECK = re.compile(r"^ALTER\s+TABLE\s+(\S+)\s+ADD\s+CONSTRAINT\s+(\w+)\s+CHECK\b", re.IGNORECASE)
# A CHECK constraint replaced by a later file: dropped there (IF EXISTS), then added anew.
DROP_CHECK = re.compile(r"^ALTER\s+TABLE\s+(\S+)\s+DROP\s+CONSTRAINT\s+IF\s+EXISTS\s+(\w+)$", re.IGNORECASE)
TABLE_CREATED = re.compile(r"CREATE TABLE IF NOT EXISTS \$\{catalog\}\.\$\{schema\}\.(\w+)", re.IGNORECASE)
CREATE_TABLE = re.compile(
    r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\$\{catalog\}\.\$\{schema\}\.(\w+)", re.IGNORECASE
)
LEDGER = "schema_migrations"
VIEW_FILE_NAME = re.compile(r"^\d{3}_([a-z0-9_]+)\.sql$")
CREATE_VIEW = re.compile(
    r"^CREATE\s+OR\s+REPLACE\s+VIEW\s+\$\{catalog\}\.\$\{schema\}\.(\w+)\s*\(.*\)\s*COMMENT\s+'",
    re.IGNORECASE | re.DOTALL,
)
# Group names in Unity Catalog may hold spaces and punctuation, but never a backtick.
PRINCIPAL = re.compile(r"^[A-Za-z0-9 _.@+-]{1,255}$")
# ${param:NAME} (a back-quoted principal) and ${param_string:NAME} (a string literal) in DDL.
PARAMETER_NAME = re.compile(r"^[a-z_]+$")
PARAMETER_KEYS = ("param", "param_string")


def ddl_directory() -> Path:
    """ddl/ inside the installed wheel, or at the root of a source checkout."""
    packaged = resources.files("dealdesk") / "ddl"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "ddl"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str
    databricks_only: bool

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.text)

    @property
    def create_table_statements(self) -> list[str]:
        return [s for s in self.statements if CREATE_TABLE.match(s)]

    @property
    def table_names(self) -> list[str]:
        """The tables this file creates."""
        return [m[1] for s in self.create_table_statements if (m := TABLE_CREATED.search(s))]

    @property
    def parameter_names(self) -> set[str]:
        return {m[2] for m in PLACEHOLDER.finditer(self.text) if m[1] in PARAMETER_KEYS and m[2]}


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or ddl_directory()
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: DDL files are named NNN_name.sql or NNN_name.databricks.sql")
        migrations.append(Migration(int(match[1]), path.name, path.read_text(), bool(match[3])))
    versions = [m.version for m in migrations]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:
        raise MigrationError(f"two DDL files share version {duplicates[0]:03d}")
    return migrations


def table_names(directory: Path | None = None) -> set[str]:
    """Every table the DDL files create."""
    return {name for migration in discover(directory) for name in migration.table_names}


@dataclass(frozen=True)
class ViewDefinition:
    name: str
    file_name: str
    statement: str


def discover_views(directory: Path | None = None) -> list[ViewDefinition]:
    """The reporting views in file order: one commented CREATE OR REPLACE VIEW per file, named like it."""
    directory = directory or ddl_directory() / "views"
    views = []
    for path in sorted(directory.glob("*.sql")):
        match = VIEW_FILE_NAME.match(path.name)
        statements = split_statements(path.read_text())
        create = CREATE_VIEW.match(statements[0]) if len(statements) == 1 else None
        if not match or not create or create[1] != match[1]:
            raise MigrationError(
                f"views/{path.name}: a view file is NNN_<view>.sql holding one "
                "CREATE OR REPLACE VIEW ${catalog}.${schema}.<view> (columns with comments) COMMENT '...'"
            )
        views.append(ViewDefinition(match[1], path.name, statements[0]))
    return views


def split_statements(text: str) -> list[str]:
    """Split SQL on semicolons outside quotes and comments; drop comment-only pieces."""
    statements, current, i, quote = [], [], 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'`\"":
            quote = ch
            current.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        elif ch == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def parse_parameters(pairs: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs (``--param``, ``DEALDESK_DDL_PARAMS``) as validated DDL parameters."""
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise MigrationError(f"DDL parameter '{pair}' is not NAME=VALUE")
        parameters[name.strip()] = value.strip()
    return validate_parameters(parameters)


def validate_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """Values are principal names that go into SQL text, so only a strict character set passes."""
    for name, value in parameters.items():
        if not PARAMETER_NAME.match(name):
            raise MigrationError(f"DDL parameter name '{name}' is not lower-case letters and _")
        if not PRINCIPAL.match(value):
            raise MigrationError(
                f"DDL parameter {name}: '{value}' is not a principal name (letters, digits, space, _ . @ + -)"
            )
    return dict(parameters)
