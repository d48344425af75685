"""Running a copied recipe the way a learner would: its own folder, its own venv, no ``helpers``.

The files in ``helpers/recipes/`` are meant to be copied into another project. These fixtures
check that a copy works there:

- ``recipe_python`` (session): the Python of a fresh virtual environment, outside the
  repository, holding only the pinned libraries a recipe may use (their versions read from
  ``requirements.txt``), not this project: ``import helpers`` fails in it.
- ``local_okta_cli`` (session): ``python -m helpers.local_okta`` in a subprocess, as a learner
  runs it in a terminal; ``.env`` holds what it printed (the ``.env`` block, and the trust
  variables read from its bash trust line), ``.users`` the test users (login, password);
  :func:`running_local_okta_cli` runs it with other arguments (``--as-tenant``).
- :func:`run_recipe`: copy a recipe into an empty folder, write ``main.py`` beside it, run it
  there with only the given environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from child_output import Lines

__all__ = ["LocalOktaCLI", "RECIPE_LIBRARIES", "local_okta_cli", "pinned", "recipe_python", "run_recipe",
           "running_local_okta_cli"]

ROOT = Path(__file__).resolve().parent.parent
#: What a recipe may import besides the standard library (PyPI names as requirements.txt spells them).
RECIPE_LIBRARIES = ("fastmcp", "mcp", "requests", "requests-oauthlib", "oauthlib", "PyJWT[crypto]", "cryptography",
                    "uvicorn", "starlette", "fastmcp-slim", "mcp-types", "pydantic", "pydantic_core")


def pinned(names: tuple[str, ...] = RECIPE_LIBRARIES) -> list[str]:
    """``name==version`` for each of ``names``, as requirements.txt pins it."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;]+)", line.strip())
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    missing = [name for name in names if name.lower() not in pins]
    assert not missing, f"requirements.txt pins no {missing}"
    return [pins[name.lower()] for name in names]


@pytest.fixture(scope="session")
def recipe_python(tmp_path_factory) -> Path:
    """A venv outside the repository with only the pinned recipe libraries; its python."""
    venv = tmp_path_factory.mktemp("recipe-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pinned()],
        capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    probe = subprocess.run([str(python), "-c", "import helpers"], capture_output=True, text=True, cwd=venv,
                           env={"PATH": os.environ.get("PATH", "")})  # not the PYTHONPATH the tests run with
    assert probe.returncode != 0, "the recipe venv must not see this project"
    return python


@dataclass
class LocalOktaCLI:
    """What ``python -m helpers.local_okta`` printed: settings, trust lines, test users."""

    process: subprocess.Popen
    lines: list[str]
    env: dict[str, str] = field(default_factory=dict)
    users: list[tuple[str, str]] = field(default_factory=list)
    bash_trust_line: str = ""
    powershell_trust_line: str = ""


@contextlib.contextmanager
def running_local_okta_cli(*args: str) -> Iterator[LocalOktaCLI]:
    """``python -m helpers.local_okta *args`` in a subprocess until the block ends; what it printed."""
    process = subprocess.Popen([sys.executable, "-m", "helpers.local_okta", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        lines, output = [], Lines(process.stdout, seconds=60)
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = output.next()
            assert line, "python -m helpers.local_okta ended before it was ready:\n" + "".join(lines)
            lines.append(line.rstrip("\n"))
        cli = LocalOktaCLI(process, lines)
        for index, line in enumerate(lines):
            if re.match(r"^[A-Z][A-Z0-9_]*=", line):
                name, value = line.split("=", 1)
                cli.env[name] = value
            elif match := re.match(r"^#\s+(\S+@\S+) / (\S+)", line):
                cli.users.append((match.group(1), match.group(2)))
            elif line.startswith("export "):
                cli.bash_trust_line = line
                for word in shlex.split(line)[1:]:
                    name, value = word.split("=", 1)
                    cli.env[name] = value
            elif line.startswith("$env:"):
                cli.powershell_trust_line = line
        assert cli.bash_trust_line and cli.powershell_trust_line, "no trust lines printed:\n" + "\n".join(lines)
        yield cli
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def local_okta_cli():
    """``python -m helpers.local_okta`` running in a subprocess for the whole session."""
    with running_local_okta_cli() as cli:
        yield cli


def run_recipe(python: Path, recipe: Path | None, script: str, env: dict[str, str], timeout: float = 90,
               args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Copy ``recipe`` into an empty folder outside the repository, write ``script`` as ``main.py``
    beside it, and run ``python main.py`` there with only ``env`` (plus ``PATH``)."""
    folder = Path(tempfile.mkdtemp(prefix="copied-recipe-"))
    try:
        if recipe is not None:
            shutil.copy(recipe, folder / recipe.name)
        (folder / "main.py").write_text(script)
        child_env = {"PATH": os.environ.get("PATH", ""), **env}
        return subprocess.run([str(python), "main.py", *args], cwd=folder, env=child_env, capture_output=True,
                              text=True, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
