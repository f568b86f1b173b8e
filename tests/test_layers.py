"""The folders show the architecture: every import points one way, and there is no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("api", "worker", "flows", "devices", "simulator", "contract")
# Higher layers may import lower ones, never the other way round.
LAYERS = [
    ("api", 0),  # the package itself: only its docstring
    ("contract", 0),
    ("devices", 1),
    ("simulator", 2),
    ("flows", 2),
    ("worker", 3),
    ("api.gateways", 4),
    ("api.domain", 5),
    ("api.rest", 6),
    ("api.settings", 7),
    ("api.supervision", 7),
    ("api.__main__", 8),
]
FORBIDDEN = {
    "api": {"adbutils", "tests"},
    "api.domain": {"falcon", "waitress", "adbutils"},
    "api.gateways": {"falcon", "waitress"},
    "contract": {"api", "worker", "flows", "devices", "simulator", "falcon", "waitress", "adbutils", "tests"},
    "flows": {"api", "worker", "simulator", "falcon", "waitress", "tests"},
    "worker": {"api", "simulator", "falcon", "waitress", "tests"},
    "devices": {"api", "worker", "flows", "simulator", "falcon", "waitress", "prefect", "tests"},
    "simulator": {"api", "worker", "flows", "contract", "falcon", "waitress", "prefect", "tests"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for top in PRODUCT for p in (REPO / top).rglob("*.py")}


def parse(path: Path) -> ast.Module:
    # CPython 3.11's AST builder keeps its recursion count in state shared by the interpreter's
    # threads (gh-106905): a parse while the in-process apps' threads compile can fail with
    # "AST constructor recursion depth mismatch" (seen once from a fresh clone). A second parse is right.
    try:
        return ast.parse(path.read_text(), str(path))
    except SystemError:
        return ast.parse(path.read_text(), str(path))


def imports_of(path: Path, name: str) -> set[str]:
    """Every module named in an import anywhere in the file (function-level ones too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str):
    best = None
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return best


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


MODULES = product_modules()
GRAPH = {name: {i for i in imports_of(path, name) if i in MODULES and i != name} for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    mine = layer_of(name)
    assert mine is not None, f"{name} belongs to no layer of the map"
    upward = [i for i in GRAPH[name] if layer_of(i)[1] > mine[1]]
    assert not upward, f"{name} ({mine[0]}) imports a higher layer: {upward}"
    every_import = imports_of(MODULES[name], name)
    for prefix, banned in FORBIDDEN.items():
        if within(name, prefix):
            bad = [i for i in every_import if any(within(i, b) for b in banned)]
            assert not bad, f"{name} must not import {sorted(banned)}: {bad}"


def test_no_import_cycle():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in GRAPH[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test above would pass on a checker that finds nothing: show it finds a planted one."""
    planted = tmp_path / "bad.py"
    planted.write_text("from api.rest.app import create_app\nimport adbutils\n")
    found = imports_of(planted, "api.domain.bad")
    assert "api.rest.app" in found and "adbutils" in found
    assert layer_of("api.rest.app")[1] > layer_of("api.domain.bad")[1]
