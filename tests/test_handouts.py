"""The learner edition (``python -m helpers.handouts``): no outputs, no answers, every exercise left.

Two kinds of test here:

- on a small notebook built in the test, so the builder is tested whatever the notebooks hold:
  what is removed, what is kept, bad input, and a learner's kernel running a handout;
- on the committed notebooks: the handouts keep every exercise and check cell, and putting the
  solutions back gives exactly the cells strict nbval runs. ``test_every_notebook_has_two_exercises``
  asks each notebook 01-06 for at least two exercises (it passes once they have them).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.handouts import HandoutError, build_handouts, handout_text, learner_edition, main

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_HEADER = "# Solution (click to reveal). Running it replaces your answer."


def tagged(cell, *tags, **metadata):
    cell.metadata.update({"tags": list(tags), **metadata})
    return cell


def executed(cell, count, text="out\n"):
    cell.execution_count = count
    cell.outputs = [new_output("stream", name="stdout", text=text)]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-11-30T15:19:34.986566Z"}
    cell.metadata["ExecuteTime"] = {"start_time": "2026-11-30T15:19:34"}
    return cell


def synthetic_notebook():
    """One exercise in the four-cell convention, as a committed notebook holds it: executed, solved."""
    return new_notebook(
        cells=[
            new_markdown_cell("# 09 · A synthetic notebook"),
            executed(new_code_cell("from helpers.exercises import require_answer, require_done"), 1, ""),
            tagged(new_markdown_cell("### Exercise 9.1: the answer\n\nSet `x` to 42."), "exercise"),
            executed(tagged(new_code_cell("x = ..."), "exercise"), 2, ""),
            executed(tagged(new_code_cell(SOLUTION_HEADER + "\nx = 42"), "solution", jupyter={"source_hidden": True}), 3, ""),
            executed(tagged(new_code_cell(
                "from helpers.exercises import check_that\n"
                "require_answer('Exercise 9.1', 'x', x)\n"
                "check_that('Exercise 9.1', x == 42, problem=f'x is {x!r}.', hint='42.', success='x is 42.')"
            ), "check"), 4, "✅ Exercise 9.1: x is 42.\n"),
            executed(new_code_cell("require_done('Exercise 9.1')\nassert x == 42\nprint('Checkpoint passed')"), 5, "Checkpoint passed\n"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def cells_with(notebook, tag):
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def handed_out(cell):
    """(type, source) of ``cell`` as the handout holds it: Markdown no longer mentions the solutions."""
    return cell.cell_type, handout_text(cell.source) if cell.cell_type == "markdown" else cell.source


def put_solutions_back(handout, source):
    """The handout with each of ``source``'s solution cells re-inserted after its exercise cell."""
    restored = list(handout.cells)
    for index, cell in enumerate(source.cells):
        if "solution" not in cell.metadata.get("tags", []):
            continue
        before = source.cells[index - 1]
        assert before.cell_type == "code" and "exercise" in before.metadata.get("tags", []), (
            f"solution cell {cell.id} does not follow its exercise's code cell"
        )
        position = next(i for i, kept in enumerate(restored) if kept.get("id") == before.get("id"))
        restored.insert(position + 1, cell)
    return restored


# The builder, on a notebook made here


def test_the_learner_edition_has_no_outputs_counts_timings_or_solutions():
    source = synthetic_notebook()
    edition = learner_edition(source)
    code = [cell for cell in edition.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert not any(key in cell.metadata for cell in edition.cells for key in ("execution", "ExecuteTime"))
    assert cells_with(edition, "solution") == []
    assert len(cells_with(edition, "exercise")) == 2 and len(cells_with(edition, "check")) == 1
    assert cells_with(edition, "exercise")[1].source == "x = ..."
    assert len(edition.cells) == len(source.cells) - 1
    assert source.cells[4].metadata["tags"] == ["solution"] and source.cells[1].outputs, "the source is untouched"


def test_putting_the_solution_back_gives_the_source_cells():
    source = synthetic_notebook()
    restored = put_solutions_back(learner_edition(source), source)
    assert [(c.cell_type, c.source) for c in restored] == [(c.cell_type, c.source) for c in source.cells]


def test_build_writes_every_notebook_and_a_readme(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(synthetic_notebook(), notebooks / "09_synthetic.ipynb")
    (notebooks / "scratch.ipynb").write_text("not a numbered notebook: ignored")
    built = build_handouts(notebooks, tmp_path / "handouts")
    assert [(b.target.name, b.exercises, b.checks, b.solutions_removed) for b in built] == [("09_synthetic.ipynb", 1, 1, 1)]
    assert sorted(p.name for p in (tmp_path / "handouts").iterdir()) == ["09_synthetic.ipynb", "README.md"]
    assert "learner edition" in (tmp_path / "handouts" / "README.md").read_text().lower()
    written = nbformat.read(tmp_path / "handouts" / "09_synthetic.ipynb", as_version=4)
    nbformat.validate(written)
    assert cells_with(written, "solution") == []


@pytest.mark.parametrize("problem", ["missing folder", "not json", "not a notebook", "empty folder", "out is source"])
def test_bad_input_is_one_clear_line(tmp_path, capsys, problem):
    notebooks = tmp_path / "notebooks"
    if problem != "missing folder":
        notebooks.mkdir()
    if problem == "not json":
        (notebooks / "01_broken.ipynb").write_text('{"cells": [')
    if problem == "not a notebook":
        (notebooks / "01_broken.ipynb").write_text('{"cells": "no", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    out = notebooks if problem == "out is source" else tmp_path / "out"
    if problem == "out is source":
        nbformat.write(synthetic_notebook(), notebooks / "09_synthetic.ipynb")
    assert main(["--notebooks", str(notebooks), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("handouts: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    if problem != "out is source":
        assert not (tmp_path / "out").exists(), "nothing is written when the input is bad"
    with pytest.raises(HandoutError):
        build_handouts(notebooks, out)


def test_the_command_line_runs_as_a_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "helpers.handouts", "--out", str(tmp_path / "handouts")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert sorted(p.name for p in (tmp_path / "handouts").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    missing = subprocess.run(
        [sys.executable, "-m", "helpers.handouts", "--notebooks", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1 and "Traceback" not in missing.stderr


def test_a_learner_running_the_handout_sees_the_hint_not_a_traceback(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(synthetic_notebook(), notebooks / "09_synthetic.ipynb")
    build_handouts(notebooks, tmp_path / "handouts")
    handout = nbformat.read(tmp_path / "handouts" / "09_synthetic.ipynb", as_version=4)
    client = NotebookClient(handout, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    check = cells_with(handout, "check")[0]
    errors = [output for output in check.outputs if output.output_type == "error"]
    assert len(errors) == 1
    assert errors[0].traceback == [
        "✋ Exercise 9.1: `x` is still `...`.",
        "   hint: replace the `...` in the exercise cell above with your answer, run that cell, then this one.",
    ]
    assert "Traceback" not in "\n".join(errors[0].traceback)


# The committed notebooks


@pytest.fixture(scope="module")
def handouts(tmp_path_factory):
    out = tmp_path_factory.mktemp("handouts")
    build_handouts(ROOT / "notebooks", out)
    return {path.name: (nbformat.read(path, as_version=4), nbformat.read(out / path.name, as_version=4)) for path in NOTEBOOKS}


def test_there_are_notebooks_to_hand_out():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_unauthenticated_server.ipynb"] and len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_handout_has_no_outputs_counts_or_solutions(handouts, name):
    _, handout = handouts[name]
    code = [cell for cell in handout.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert not any("execution" in cell.metadata for cell in handout.cells)
    assert cells_with(handout, "solution") == []


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_handout_keeps_every_exercise_and_check_cell(handouts, name):
    source, handout = handouts[name]
    for tag in ("exercise", "check"):
        assert [handed_out(c) for c in cells_with(handout, tag)] == [handed_out(c) for c in cells_with(source, tag)], tag


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_putting_the_solutions_back_gives_the_committed_cells(handouts, name):
    source, handout = handouts[name]
    restored = put_solutions_back(handout, source)
    assert [handed_out(c) for c in restored] == [handed_out(c) for c in source.cells]


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS if p.name[:2] in {"01", "02", "03", "04", "05", "06"}])
def test_every_notebook_has_two_exercises(handouts, name):
    """Waits for the notebooks' exercises: each of 01-06 has at least two, kept in the handout."""
    source, handout = handouts[name]
    headings = [cell.source for cell in cells_with(handout, "exercise") if cell.cell_type == "markdown"]
    assert len(headings) >= 2, f"{name} has {len(headings)} exercise(s); the course asks for at least 2"
    assert len(cells_with(source, "solution")) == len(headings), f"{name}: one solution cell per exercise"


EXERCISE_HEADING = re.compile(r"^### Exercise (\d+)\.(\d+): \S", re.MULTILINE)


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_exercises_follow_the_four_cell_convention(handouts, name):
    """Every exercise (if any) is task, stub with `...`, collapsed solution, check via helpers.exercises."""
    source, _ = handouts[name]
    number = int(name[:2])
    cells = source.cells
    seen = []
    for index, cell in enumerate(cells):
        if not (cell.cell_type == "markdown" and "exercise" in cell.metadata.get("tags", [])):
            continue
        heading = EXERCISE_HEADING.search(cell.source)
        assert heading, f"{name}: an exercise's markdown starts with '### Exercise N.k: <title>'"
        assert int(heading.group(1)) == number, f"{name}: {heading.group(0)!r} is numbered for another notebook"
        seen.append(int(heading.group(2)))
        stub, solution, check = cells[index + 1 : index + 4]
        label = f"{name}, Exercise {number}.{heading.group(2)}"
        assert stub.cell_type == "code" and "exercise" in stub.metadata.get("tags", []), f"{label}: stub cell"
        assert "..." in stub.source, f"{label}: the committed stub keeps its `...`, not the answer"
        assert "solution" in solution.metadata.get("tags", []), f"{label}: solution cell"
        assert solution.source.startswith(SOLUTION_HEADER), f"{label}: solution starts with {SOLUTION_HEADER!r}"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, f"{label}: solution is collapsed"
        assert "check" in check.metadata.get("tags", []), f"{label}: check cell"
        assert re.search(r"check_prediction|check_that|require_answer|helpers\.graders", check.source), f"{label}: helpers.exercises"
        assert not re.search(r"^\s*assert\b", check.source, re.MULTILINE), f"{label}: feedback, not a bare assert"
    assert seen == list(range(1, len(seen) + 1)), f"{name}: exercises numbered {seen}, expected 1, 2, ..."
    if seen:
        last = [cell for cell in cells if cell.cell_type == "code"][-1].source
        for k in seen:
            assert f"Exercise {number}.{k}" in last and "require_done" in last, f"{name}: the checkpoint asks for Exercise {number}.{k}"
