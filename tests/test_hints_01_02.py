"""Notebooks 01 and 02, run as a learner who answers each exercise wrong twice before the solution.

Each notebook runs top to bottom in one kernel; at each exercise the stub is replaced by a typical
wrong answer and the check runs twice, then the folded solution and the check run as committed.
The feedback must come in two steps (what is wrong and the idea first, the specific change only
from the second wrong try) and never print the answer: no line of the folded solution that the
stub does not already hold, nor the value such a line assigns.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

#: For each exercise: the wrong answer typed in place of the stub (None: the stub itself, as the
#: notebook asks for Exercise 1.1) and whether the check has a fix to give on the second try (a
#: planned failure, the untouched stub or step 2 of Exercise 2.3, counts no wrong try: no fix).
WRONG = {
    "01_unauthenticated_server.ipynb": {
        "1.1": (None, False),  # the stub as given, run as the task asks: not a wrong try
        "1.2": ('multiply_request = {"jsonrpc": "2.0", "id": 7, "method": "multiply", "params": {"a": 6, "b": 7}}', True),
        "1.3": ("divide_request = dict(multiply_request)\npredicted_status = 404", True),  # still calls multiply
    },
    "02_okta_setup_checks.ipynb": {
        "2.1": ('predicted_first_failure = {"policy_not_assigned": "metadata", "default_policy_catches_all": "jwks"}', True),
        "2.2": ('write_rule_grant_types = ("client_credentials",)\nwrite_rule_scopes = ("calculator.add",)', True),
        # step 1 done, the audience not touched yet: the failure step 2 says to expect
        "2.3": ('my_env = dict(pasted_env)\nmy_env["OAUTH_ISSUER"] = pasted_env["OAUTH_ISSUER"].rstrip("/")', False),
    },
}
PREDICTIONS = {"2.1"}  # from the second wrong try a prediction is told what happened: not a leak
#: What the first wrong try of a prediction must not show yet (the observed first failures).
NOT_ON_FIRST_TRY = {"2.1": ["token:calculator.add", "read_only", "Client-credentials token for", "Read-only app gets"]}


def tagged(cell, tag: str) -> bool:
    return tag in cell.metadata.get("tags", [])


def answer_fragments(solution: str, stub: str) -> set[str]:
    """The lines the solution adds to the stub, and what each assigns (``= value``, ``"key": value``)."""
    def code_lines(source: str) -> set[str]:
        lines = (re.sub(r"\s+#.*$", "", line).strip().rstrip(",") for line in source.splitlines())
        return {line for line in lines if line and not line.startswith("#")}

    fragments = set()
    for line in code_lines(solution) - code_lines(stub):
        fragments.add(line)
        value = re.split(r" = |\": ", line, maxsplit=1)
        if len(value) == 2:
            fragments.add(value[1])
    return {fragment for fragment in fragments if len(fragment) >= 8}


def run_as_a_wrong_learner(name: str):
    """Run the notebook with the wrong tries put in; return {exercise: (feedback of try 1, of try 2,
    the answer's fragments)} and the outputs of the last cell (the checkpoint)."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    cells, wrong_tries, pending = [], {}, None
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and tagged(cell, "exercise"):
            pending = re.search(r"### Exercise (\d+\.\d+)", cell.source)[1]
        elif cell.cell_type == "code" and tagged(cell, "exercise"):
            wrong, _ = WRONG[name][pending]
            solution, check = notebook.cells[index + 1], notebook.cells[index + 2]
            assert tagged(solution, "solution") and tagged(check, "check"), (name, pending)
            cells.append(nbformat.v4.new_code_cell(cell.source if wrong is None else wrong))
            tries = [nbformat.v4.new_code_cell(check.source) for _ in range(2)]
            cells += tries
            wrong_tries[pending] = (tries, answer_fragments(solution.source, cell.source))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source))
    run = nbformat.v4.new_notebook(metadata=notebook.metadata)
    run.cells = cells
    NotebookClient(run, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()

    def feedback(cell) -> list[str]:
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert len(errors) == 1, f"{name}: a wrong answer must stop its check with feedback: {cell.outputs}"
        return errors[0].traceback

    def shown(cell) -> str:
        return "".join(output.get("text", "") for output in cell.outputs) + "\n".join(feedback(cell))

    found = {exercise: (feedback(tries[0]), feedback(tries[1]), fragments, shown(tries[0]))
             for exercise, (tries, fragments) in wrong_tries.items()}
    return found, "".join(output.get("text", "") for output in run.cells[-1].outputs)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(WRONG))
def test_two_wrong_tries_get_the_idea_then_the_fix_and_never_the_answer(name):
    found, checkpoint = run_as_a_wrong_learner(name)
    assert sorted(found) == sorted(WRONG[name])
    for exercise, (first, second, fragments, first_shown) in found.items():
        _, has_fix = WRONG[name][exercise]
        assert first[0].startswith(f"✋ Exercise {exercise}: ") and first[1].startswith("   hint: "), first
        assert not any(line.startswith("   fix") for line in first), (exercise, first)  # the idea first
        assert any(line.startswith("   fix (your try 2): ") for line in second) == has_fix, (exercise, second)
        assert [words for words in NOT_ON_FIRST_TRY.get(exercise, []) if words in first_shown] == [], first_shown
        if exercise not in PREDICTIONS:
            told = "\n".join(first + second)
            assert [fragment for fragment in fragments if fragment in told] == [], (exercise, told)
            assert fragments, f"{exercise}: the solution adds nothing to the stub?"
    assert "Checkpoint passed" in checkpoint  # the solutions, run after the wrong tries, pass
