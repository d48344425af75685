"""The two installs: the learner's (requirements.txt, what the notebooks need) and the tests'
(requirements-dev.txt, that and the test tools). Both pinned; on a Python older than 3.11 pip
stops with one line ("requires a different Python") instead of a wall of versions it cannot find.
"""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
MARKER = '; python_version >= "3.11"'
TEST_TOOLS = {"pytest", "nbval", "playwright", "okta-jwt-verifier"}


def requirements(name: str) -> dict[str, str]:
    """name -> the whole line, for every package line of a requirements file."""
    lines = [line.strip() for line in (ROOT / name).read_text().splitlines()]
    return {re.split(r"[=\[;< ]", line, maxsplit=1)[0].lower(): line for line in lines if re.match(r"[A-Za-z]", line)}


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_package_is_pinned_and_skipped_on_an_old_python(name):
    for package, line in requirements(name).items():
        assert re.match(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^ ;]*\s*" + re.escape(MARKER) + "$", line), (
            f"{name}: {line!r} must be pinned with == and end with {MARKER!r}"
        )


def test_the_learner_install_has_the_notebooks_and_no_test_tools():
    learner = requirements("requirements.txt")
    assert {"fastmcp", "jupyterlab", "ipykernel", "requests-oauthlib", "pyjwt"} <= set(learner)
    assert not TEST_TOOLS & set(learner), "test tools belong in requirements-dev.txt"
    assert (ROOT / "requirements.txt").read_text().splitlines().count("-e .") == 1


def test_the_test_install_is_the_learner_install_plus_the_test_tools():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    assert TEST_TOOLS <= set(requirements("requirements-dev.txt"))
    assert not set(requirements("requirements.txt")) & set(requirements("requirements-dev.txt")), "pinned twice"


def test_an_old_python_stops_at_requires_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    fastmcp = next(dependency for dependency in project["dependencies"] if dependency.startswith("fastmcp"))
    # Without the marker, pip on 3.10 looks for a fastmcp for 3.10 before it checks requires-python.
    assert fastmcp.endswith("; python_version >= '3.11'")
