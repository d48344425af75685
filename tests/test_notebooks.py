"""The notebooks as committed: executed top to bottom, and safe to run twice in one kernel.

Strict nbval (``python -m pytest`` runs it on ``notebooks/``) re-executes every cell and
compares outputs, but it silently skips a code cell that has no execution count. These
tests make sure there is nothing to skip, and that "Run All" twice in the same kernel,
which learners do, raises nothing.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_unauthenticated_server.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors(path):
    cells = code_cells(path)
    assert [cell["execution_count"] for cell in cells] == list(range(1, len(cells) + 1)), (
        f"{path.name}: re-run it top to bottom in a fresh kernel before committing"
    )
    errors = [o for cell in cells for o in cell["outputs"] if o["output_type"] == "error"]
    assert errors == []
    streams = [o for cell in cells for o in cell["outputs"] if o.get("name") == "stderr"]
    assert streams == [], f"{path.name}: stderr output would make strict nbval flap"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ends_with_a_checkpoint(path):
    last = code_cells(path)[-1]
    assert "assert" in last.source
    assert "Checkpoint passed" in "".join(o.get("text", "") for o in last["outputs"])


@pytest.mark.timeout(900)  # a whole notebook twice: above the per-test limit of pyproject.toml
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_twice_in_one_kernel(path):
    notebook = nbformat.read(path, as_version=4)
    twice = nbformat.v4.new_notebook(metadata=notebook.metadata)
    twice.cells = [cell for cell in notebook.cells if cell.cell_type == "code"] * 2
    client = NotebookClient(twice, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in twice.cells for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("Checkpoint passed" in o.get("text", "") for o in outputs) == 2


@pytest.mark.timeout(900)  # every notebook: above the per-test limit of pyproject.toml
def test_all_notebooks_in_one_kernel_leave_nothing_running():
    """Every notebook, one after another in one kernel, then: no server, thread or port left."""
    combined = nbformat.v4.new_notebook(metadata=nbformat.read(NOTEBOOKS[0], as_version=4).metadata)
    for path in NOTEBOOKS:
        combined.cells += [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    combined.cells.append(nbformat.v4.new_code_cell(
        "import threading\n"
        "from helpers import background\n"
        "print('running:', background.running())\n"
        "print('threads:', sorted(t.name for t in threading.enumerate() if t.name.startswith('helpers-server-')))\n"
    ))
    client = NotebookClient(combined, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS[0].parent)}})
    client.execute()
    report = combined.cells[-1].outputs[0]["text"]
    assert report == "running: {}\nthreads: []\n"
