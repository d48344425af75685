"""The shape of ``helpers``: small modules with one job, and no import circles.

An import circle (a imports b, b imports a, even lazily inside a function or only for type
checking) makes a module impossible to read or test alone; a module over about 300 lines has
more than one job. Both are checked from the source, so a new circle or an overgrown module
fails here with the names to look at.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
MAX_LINES = 320  # "about 300"


def module_name(path: Path) -> str:
    parts = path.relative_to(HELPERS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(HELPERS.rglob("*.py"))}


def imports_of(name: str, path: Path) -> set[str]:
    """Every helpers module ``name`` imports, anywhere in the file (top level, functions, TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def test_the_graph_sees_imports():
    assert "helpers.settings" in GRAPH["helpers.verification"]
    assert "helpers.user_login.pending" in GRAPH["helpers.user_login.gateway"]  # a relative import


def test_no_import_circles():
    circles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "visiting"
        for target in sorted(GRAPH[node]):
            if target.startswith(node + "."):
                continue  # a package importing its own submodules is how packages work
            if state.get(target) == "visiting":
                circles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [name])
    assert circles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(HELPERS.parent)} has {lines} lines: split it by job"
