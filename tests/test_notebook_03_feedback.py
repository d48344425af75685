"""Notebook 03's check cells as a learner meets them: a wrong Exercise 3.2, and checks run after the checkpoint.

The notebook runs in one kernel with Exercise 3.2 answered wrong (token C from a clock only 25 s
ahead, which the leeway forgives): the check must stop on token C before it shows any status of
tokens A and B, which would give the prediction away. Then the checkpoint stops the servers, and
both checks, run again, must say so (no wrong try) instead of blaming the learner's code.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_adding_jwt_verification.ipynb"
#: Appended to Exercise 3.2's stub: both predicted 200, and token C from a clock 25 s ahead (forgiven).
WRONG_3_2 = '''
predicted_status_a = predicted_status_b = 200
claims_c = {**claims_b, "iat": now + 25}
'''


def tagged(cell, tag: str) -> bool:
    return tag in cell.metadata.get("tags", [])


def text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def error(cell) -> list[str]:
    errors = [output for output in cell.outputs if output.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return errors[0].traceback


@pytest.mark.timeout(300)
def test_a_wrong_token_c_hides_a_and_b_and_a_stopped_server_is_named():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    checks = [index for index, cell in enumerate(code) if tagged(cell, "check")]
    exercise_3_2 = [index for index, cell in enumerate(code) if tagged(cell, "exercise")][1]
    cells = [nbformat.v4.new_code_cell(cell.source) for cell in code[:exercise_3_2]]
    cells += [nbformat.v4.new_code_cell(code[exercise_3_2].source + WRONG_3_2), wrong := nbformat.v4.new_code_cell(code[checks[1]].source)]
    cells += [nbformat.v4.new_code_cell(cell.source) for cell in code[exercise_3_2 + 1:]]  # the solution, to the checkpoint
    cells += [after_3_1 := nbformat.v4.new_code_cell(code[checks[0]].source),
              after_3_2 := nbformat.v4.new_code_cell(code[checks[1]].source)]
    run = nbformat.v4.new_notebook(metadata=notebook.metadata)
    run.cells = cells
    NotebookClient(run, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()

    assert error(wrong)[0].startswith("✋ Exercise 3.2: token C, issued 25 s from now, was accepted (200)")
    shown = text(wrong).splitlines()
    assert [line.split()[0] for line in shown[2:] if line.strip()] == ["C"], shown  # header, rule, then C's row alone
    assert "Checkpoint passed" in text(cells[-3])
    for after, exercise in ((after_3_1, "3.1"), (after_3_2, "3.2")):
        feedback = error(after)
        assert feedback[0] == f"✋ Exercise {exercise}: the authorization server is not running: the notebook's " \
                              "checkpoint stopped the servers.", feedback
        assert "section 1's cell again" in feedback[1] and not any("fix" in line for line in feedback)
