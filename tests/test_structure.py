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


RECIPES = sorted(path for path in (HELPERS / "recipes").glob("*.py") if path.name != "__init__.py")
#: What a copied recipe may import besides the standard library (top-level module names).
RECIPE_IMPORTS = {"fastmcp", "mcp", "requests", "requests_oauthlib", "oauthlib", "jwt", "cryptography", "uvicorn",
                  "starlette", "anyio", "httpx2", "pydantic"}


def top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." if node.level else (node.module or "").split(".")[0])
    return found


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_a_recipe_is_one_file_to_copy(path):
    """A recipe imports only the standard library and the pinned libraries: never helpers, nor a sibling."""
    import sys

    foreign = sorted(top_level_imports(path) - set(sys.stdlib_module_names) - RECIPE_IMPORTS)
    assert foreign == [], f"{path.name} imports {foreign}: a learner's copy would not run without this project"
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} needs a header saying what it is for"


def test_the_recipe_import_check_sees_a_helpers_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import json\nfrom helpers.urls import is_https\nfrom . import y\nimport jwt\n")
    assert top_level_imports(sample) - {"json", "jwt"} == {"helpers", "."}
