"""Notebook 04 where cURL, or bash itself, is missing (native Windows, slim containers).

Its first way to a token is a cURL command run with bash. Without either, the cell must say what
is missing and the notebook must go on to its checkpoint, the same request made from Python
standing in for cURL's, not stop at ``CalledProcessError``, ``JSONDecodeError`` or ``NameError``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.tokens.curl import ShellCommandFailed, run_in_bash

NOTEBOOK = next((Path(__file__).resolve().parent.parent / "notebooks").glob("04_*.ipynb"))


def run_notebook_with_path(path_dirs: list[Path], monkeypatch) -> list[str]:
    """Run notebook 04 in a kernel whose PATH is only ``path_dirs``; every text it printed."""
    monkeypatch.setenv("PATH", os.pathsep.join(str(d) for d in path_dirs))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return ["".join(o.get("text", "")) for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


@pytest.mark.timeout(600)
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to leave out cURL alone")
def test_without_curl_the_notebook_says_so_and_reaches_its_checkpoint(tmp_path, monkeypatch):
    only_bash = tmp_path / "bin"
    only_bash.mkdir()
    (only_bash / "bash").symlink_to(shutil.which("bash"))
    printed = run_notebook_with_path([only_bash], monkeypatch)
    assert any(text.startswith("curl not installed here") for text in printed), printed[:12]
    assert any("Checkpoint passed" in text for text in printed)


@pytest.mark.timeout(600)
def test_without_bash_the_notebook_says_so_and_reaches_its_checkpoint(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    printed = run_notebook_with_path([empty], monkeypatch)
    assert any(text.startswith("bash and curl not installed here") for text in printed), printed[:12]
    assert any("Checkpoint passed" in text for text in printed)


def test_run_in_bash_returns_the_output_and_names_a_failure():
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    assert run_in_bash("printf '%s' \"$((6 * 7))\"") == "42"
    with pytest.raises(ShellCommandFailed, match=r"exit code 3: went wrong"):
        run_in_bash("echo went wrong >&2; exit 3")
    assert run_in_bash("echo never", needs=["no-such-program-here"]) is None
