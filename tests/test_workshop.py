"""The workshop command (``python -m helpers.workshop``) on a fresh clone opens the learner edition.

A fresh clone has no ``handouts/`` (git-ignored). The command must build it and open
``handouts/01_...``: no outputs, no execution counts, no ``solution`` cells, no text about the
solutions it lacks. One test runs the command's dry run, one starts the real JupyterLab it would
start (``--no-browser``, a free port) and asks that server what it opens, then stops it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests

from helpers.handouts import MENTIONS_SOLUTION

ROOT = Path(__file__).resolve().parent.parent
FIRST = "handouts/01_unauthenticated_server.ipynb"


@pytest.fixture
def clone(tmp_path):
    """The repository as a fresh clone would have it: the files git tracks (or would), nothing ignored."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    target = tmp_path / "clone"
    for name in filter(None, listing.stdout.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    assert not (target / "handouts").exists()
    return target


def run_workshop(clone: Path, *args: str, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(clone)}
    return subprocess.run([sys.executable, "-m", "helpers.workshop", *args], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def assert_learner_edition(path: Path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code), "outputs or counts left"
    assert [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])] == [], "a solution cell is left"
    mentions = [c.source for c in notebook.cells if c.cell_type == "markdown" and MENTIONS_SOLUTION.search(c.source)]
    mentions += [line for c in notebook.cells if c.cell_type == "code" for line in c.source.split("\n")
                 if line.lstrip().startswith("#") and MENTIONS_SOLUTION.search(line)]
    assert mentions == [], f"the handout's text still mentions a solution: {mentions}"


def test_on_a_fresh_clone_the_workshop_command_builds_and_opens_the_learner_edition(clone):
    result = run_workshop(clone, "--dry-run", "--no-browser")
    assert result.returncode == 0, result.stderr
    assert f"workshop: opens {FIRST}" in result.stdout
    command = re.search(r"(?m)^workshop: would run (.+)$", result.stdout).group(1)
    assert f"-m jupyterlab --LabApp.default_url=/lab/tree/{FIRST} --no-browser" in command
    assert_learner_edition(clone / FIRST)
    committed = nbformat.read(clone / "notebooks" / Path(FIRST).name, as_version=4)
    assert any(c.get("outputs") for c in committed.cells), "the answer key in notebooks/ is untouched"


def test_a_second_run_keeps_the_learners_work(clone):
    assert run_workshop(clone, "--dry-run").returncode == 0
    handout = clone / FIRST
    handout.write_text(handout.read_text().replace("x = ...", "x = 42"), encoding="utf-8")
    marker = handout.read_text()
    again = run_workshop(clone, "--dry-run")
    assert again.returncode == 0 and "your work there is kept" in again.stdout
    assert handout.read_text() == marker
    rebuilt = run_workshop(clone, "--dry-run", "--rebuild")
    assert rebuilt.returncode == 0 and "built the learner edition" in rebuilt.stdout


def test_a_missing_notebooks_folder_is_one_line(clone):
    shutil.rmtree(clone / "notebooks")
    result = run_workshop(clone, "--dry-run")
    assert result.returncode == 1 and result.stderr.startswith("workshop: no notebooks folder")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(os.name != "posix", reason="stops JupyterLab's whole process group (POSIX only)")
def test_the_jupyterlab_it_starts_serves_the_handout(clone, tmp_path):
    """The real command, with --no-browser on a free loopback port: / leads to handouts/01_..., served clean."""
    port, token = free_port(), "workshop-test-token"
    log = (tmp_path / "lab.log").open("w")
    env = {**os.environ, "PYTHONPATH": str(clone), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    lab = subprocess.Popen(
        [sys.executable, "-m", "helpers.workshop", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()
            try:
                home = requests.get(f"{base}/?token={token}", allow_redirects=False, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
                time.sleep(0.5)
        assert home.status_code in (301, 302) and f"/lab/tree/{FIRST}" in home.headers["Location"]
        served = requests.get(f"{base}/api/contents/{FIRST}", headers={"Authorization": f"token {token}"}, timeout=10)
        assert served.status_code == 200
        notebook = nbformat.from_dict(served.json()["content"])
        assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in notebook.cells)
        assert not [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)  # the session this test started, JupyterLab and its kernels
            try:
                lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
                lab.wait()
        log.close()
    assert lab.returncode is not None, "no JupyterLab left running"


# The handout's text: no sentence about the solution cells it lacks


@pytest.mark.parametrize("text, expected", [
    ("**Exercises** have four cells: the task; your cell, with `...` to fill in; a folded solution\n"
     "(running it replaces your answer); and a check that says what to change.",
     "**Exercises** have three cells: the task; your cell, with `...` to fill in; and a check that says what to change."),
    ("Each\n**exercise** has four cells: the task, your answer (replace each `...`), a folded solution, and a\ncheck.",
     "Each\n**exercise** has three cells: the task, your answer (replace each `...`), and a\ncheck."),
    ("Run it, then run the check (the cell after\nthe folded solution) and read what it says.",
     "Run it, then run the check (the cell after yours) and read what it says."),
    ("Try it first. If you are stuck, open the folded solution below. Then run the check.",
     "Try it first. Then run the check."),
    ("Click to reveal the answer.\n\nThe next section is about scopes.", "\n\nThe next section is about scopes."),
    ("No solutions mentioned here: four cells of output.", "No solutions mentioned here: four cells of output."),
])
def test_handout_text_rewrites_or_drops_what_mentions_a_solution(text, expected):
    from helpers.handouts import handout_text
    assert handout_text(text) == expected


def test_a_code_comment_about_the_solution_is_dropped_and_the_code_kept():
    from nbformat.v4 import new_code_cell, new_notebook

    from helpers.handouts import learner_edition
    stub = new_code_cell("# Fill in the body; the folded solution below has one answer.\nx = ...  # your answer")
    stub.metadata["tags"] = ["exercise"]
    assert learner_edition(new_notebook(cells=[stub])).cells[0].source == "x = ...  # your answer"


def test_no_handout_mentions_a_solution_it_lacks(tmp_path):
    from helpers.handouts import build_handouts
    built = build_handouts(ROOT / "notebooks", tmp_path)
    assert len(built) >= 6
    for handout in built:
        assert_learner_edition(handout.target)


def test_the_workshop_dev_container_opens_the_learner_edition():
    import json
    load = lambda path: json.loads(re.sub(r"(?m)^\s*//.*$", "", path.read_text()))  # noqa: E731
    workshop = load(ROOT / ".devcontainer" / "workshop" / "devcontainer.json")
    self_study = load(ROOT / ".devcontainer" / "devcontainer.json")
    assert workshop["postCreateCommand"] == self_study["postCreateCommand"], "the same learner install"
    start = workshop["postAttachCommand"]["jupyterlab"]
    assert start.startswith(".venv/bin/python -m helpers.workshop ") and "--no-browser" in start
    assert "--ip=127.0.0.1" in start and workshop["forwardPorts"] == [int(re.search(r"--port=(\d+)", start).group(1))]
    assert "--IdentityProvider.token=" not in start and "--rebuild" not in start
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".devcontainer/workshop/devcontainer.json" in readme and "python -m helpers.workshop" in readme
    assert ".venv\\Scripts\\python -m helpers.workshop" in readme, "the Windows form"
