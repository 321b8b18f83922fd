"""The package's layers, read from the code's own imports: each layer imports only the ones below
it, nothing imports in a circle, and no import hides inside a function to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dealdesk"

# Top to bottom. A module imports from its own folder or from a lower layer, never sideways or up.
LAYERS = {
    "cli": 5,  # the command line and the jobs' entry points
    "pipeline": 4,  # landing, parse, read state, journal, write, read models, serving sync
    "operations": 4,  # recovery, maintenance, the report, the sample generator
    "checks": 3,  # per document kind: schema, errors, warnings, body reader (Column functions)
    "core": 2,  # pure decisions: model, desk, routing, status machine, timers
    "lakehouse": 1,  # the gateway: engines, the counted Lakehouse, DDL, migrations, local servers
    "base": 0,  # config (the typed business constants) and errors
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "base"


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.AST, known: set[str]) -> list[str]:
    """The package's modules an import statement names (``from a import b`` names a.b when b is one)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [f"{node.module}.{alias.name}" for alias in node.names]
        names = [n if n in known else node.module for n in names]
    return sorted({n for n in names if n in known and n != "dealdesk"})


def _top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks
            found.extend(n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: {target for node in ast.walk(tree) for target in _imported(node, known)} - {name}
        for name, tree in modules.items()
    }


def test_every_folder_of_the_package_is_a_named_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders - {"sample_data"} == set(LAYERS) - {"base"}


def test_each_layer_imports_only_the_layers_below_it():
    offenders = []
    for module, targets in _graph().items():
        for target in targets:
            here, there = _layer(module), _layer(target)
            if here != there and LAYERS[there] >= LAYERS[here]:
                offenders.append(f"{module} ({here}) imports {target} ({there})")
    assert offenders == []


def test_no_modules_import_each_other_in_a_circle():
    graph = _graph()
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert circles == []


def test_no_import_of_the_package_hides_inside_a_function():
    modules = _modules()
    known = set(modules)
    offenders = []
    for name, tree in modules.items():
        top = {id(node) for node in _top_level_imports(tree)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Import | ast.ImportFrom)
                and id(node) not in top
                and _imported(node, known)
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_nothing_below_the_command_line_imports_it():
    offenders = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) == "cli" and _layer(module) != "cli"
    ]
    assert offenders == []


# Actions that make the engine run a query; outside the gateway a module asks the gateway for them
# (Lakehouse.collect, execute, merge, append), so every run counts every query it pays for.
ENGINE_ACTIONS = {
    "collect",
    "toArrow",
    "toPandas",
    "first",
    "take",
    "head",
    "show",
    "saveAsTable",
    "toLocalIterator",
}


def test_every_engine_query_goes_through_the_counting_gateway():
    gateway = "dealdesk.lakehouse.gateway"
    offenders = []
    for name, tree in _modules().items():
        if name == gateway:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            action = node.func.attr
            if action in ENGINE_ACTIONS and not node.args and not node.keywords:
                offenders.append(f"{name}:{node.lineno} .{action}()")
    assert offenders == []
