"""The learner edition of the notebooks: no outputs, no answers, the exercises left to do.

The notebooks in ``notebooks/`` are committed executed, with every exercise's solution in place
(strict nbval runs them that way). A workshop hands learners another copy::

    python -m helpers.handouts                 # writes handouts/ (git-ignored)
    python -m helpers.handouts --out /tmp/workshop --notebooks notebooks

Each notebook is copied with

- every output and execution count removed, and the cell metadata that records when a cell
  ran (``execution``, ``ExecuteTime``) dropped;
- every cell tagged ``solution`` removed (the collapsed answer of an exercise);
- every other cell kept, the exercise cells (still holding their ``...``) and the check cells
  among them, so the learner writes the answer and the check says what is right or wrong
  (see `helpers.exercises` for the four-cell convention);
- the Markdown that describes the removed cells rewritten (`handout_text`): "four cells: the task;
  your cell; a folded solution; a check" becomes three cells, "the cell after the folded solution"
  becomes "the cell after yours", and any other sentence about a folded solution or "click to
  reveal" is dropped (a code comment line about one too), so a handout never points at a cell it
  lacks.

A ``README.md`` in the output says what the folder is. Bad input (no such folder, a file that is
not a notebook) stops with one line naming the file and the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["HandoutError", "BuiltHandout", "handout_text", "learner_edition", "build_handouts", "main", "MENTIONS_SOLUTION"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "handouts"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

# Cell metadata that only says when and how long a cell ran (nbclient, jupyterlab-execute-time,
# the classic notebook's collapsed output state); meaningless in a notebook nobody has run.
RUN_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")

README = """\
# Learner edition of the notebooks

This folder was made by `python -m helpers.handouts` from the repository's `notebooks/`. It holds
the same notebooks, ready for a workshop:

- no outputs: you run every cell yourself, top to bottom;
- the exercises are left for you. Each exercise is a task (a heading "Exercise N.k"), a code
  cell with `...` where your answer goes, and a check cell that says what is right, or what is
  wrong and a hint. The answers are not in this copy; they are in `notebooks/` in the
  repository, folded away under "Solution (click to reveal)".
- each notebook ends with a checkpoint that passes once its exercises are done.

Open them with `.venv/bin/python -m helpers.workshop` (Windows: `.venv\\Scripts\\python -m
helpers.workshop`) from the repository's top folder, or `.venv/bin/jupyter lab {folder}/` from
there, so that `import helpers` and your `.env` are found. Words you
do not know are in `GLOSSARY.md` in the repository's top folder.

Rebuilding this folder (`python -m helpers.handouts`, or `python -m helpers.workshop --rebuild`)
overwrites these notebooks: save your work under another name first.
"""


# Markdown that refers to the solution cells a handout does not have. A sentence that still matches
# this after the rewrites below is dropped (tests/test_handouts.py asserts none is left).
MENTIONS_SOLUTION = re.compile(r"(?i)folded\s+solution|click\s+to\s+reveal|solution\s+cell|(?:open|opening|reveal)\s+(?:its|the)\s+solution")
_SPACE = r"\s+"
# (pattern, replacement), applied in order to every Markdown cell that mentions a folded solution.
REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "the check (the cell after the folded solution)" -> "the check (the cell after yours)"
    (re.compile(r"after\s+the\s+folded\s+solution"), "after yours"),
    # "; a folded solution (running it replaces your answer); and a check" -> "; and a check"
    (re.compile(r"[;,]?\s+an?\s+folded\s+solution(?:\s*\([^)]*\))?(?=\s*[;,])"), ""),
    # "... four cells: the task, ..." -> three, once the solution is out of the list
    (re.compile(r"\b(ha(?:s|ve))\s+four\s+cells"), r"\1 three cells"),
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\[`(])")


def handout_text(markdown: str) -> str:
    """``markdown`` with every mention of a folded solution rewritten or, failing that, dropped.

    The exercise description "four cells: the task; your cell; a folded solution; a check" loses
    the solution and becomes three cells; other sentences that mention a folded solution or
    "click to reveal" are removed whole. Text that mentions neither is returned unchanged.
    """
    if not MENTIONS_SOLUTION.search(markdown):
        return markdown
    text = markdown
    for pattern, replacement in REWRITES:
        if MENTIONS_SOLUTION.search(text) or "four cells" in text:
            text = pattern.sub(replacement, text)
    if not MENTIONS_SOLUTION.search(text):
        return text
    paragraphs = []
    for paragraph in re.split(r"(\n\s*\n)", text):
        sentences = _SENTENCE.split(paragraph)
        kept = [sentence for sentence in sentences if not MENTIONS_SOLUTION.search(sentence)]
        paragraphs.append(paragraph if len(kept) == len(sentences) else " ".join(kept))
    return "".join(paragraphs)


class HandoutError(Exception):
    """The handouts cannot be built: a missing folder, or a notebook that does not parse."""


@dataclass(frozen=True)
class BuiltHandout:
    """One notebook of the learner edition: where it went and what was taken out."""

    source: Path
    target: Path
    solutions_removed: int
    exercises: int
    checks: int


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def learner_edition(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without outputs, execution counts, run metadata and solution cells,
    its Markdown no longer mentioning the solutions (`handout_text`)."""
    edition = nbformat.from_dict(notebook)  # a deep copy: the caller's notebook is untouched
    kept = []
    for cell in edition.cells:
        if "solution" in _tags(cell):
            continue
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "markdown":
            cell.source = handout_text(cell.source)
        elif MENTIONS_SOLUTION.search(cell.source):  # a code comment pointing at the solution: drop that line
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if not (line.lstrip().startswith("#") and MENTIONS_SOLUTION.search(line)))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        kept.append(cell)
    edition.cells = kept
    return edition


def _read(path: Path) -> nbformat.NotebookNode:
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # JSON errors, validation errors, unreadable files: one line each
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise HandoutError(f"{path} is not a readable notebook: {reason}") from None
    return notebook


def build_handouts(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> list[BuiltHandout]:
    """Write the learner edition of every ``NN_*.ipynb`` in ``source`` into ``out``, plus a README.

    Every notebook is read and checked before anything is written, so a bad one leaves ``out``
    as it was.
    """
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise HandoutError(f"no notebooks folder at {source}: pass --notebooks with the folder that holds 01_*.ipynb ...")
    paths = sorted(source.glob(NOTEBOOK_GLOB))
    if not paths:
        raise HandoutError(f"{source} holds no numbered notebooks (NN_name.ipynb)")
    if out.resolve() == source.resolve():
        raise HandoutError(f"--out {out} is the notebooks folder itself: the committed notebooks would be overwritten")
    notebooks = {path: _read(path) for path in paths}

    try:
        out.mkdir(parents=True, exist_ok=True)
        built = []
        for path, notebook in notebooks.items():
            edition = learner_edition(notebook)
            target = out / path.name
            nbformat.write(edition, target)
            built.append(BuiltHandout(
                source=path,
                target=target,
                solutions_removed=len(notebook.cells) - len(edition.cells),
                exercises=sum(1 for cell in edition.cells if cell.cell_type == "markdown" and "exercise" in _tags(cell)),
                checks=sum(1 for cell in edition.cells if "check" in _tags(cell)),
            ))
        shown = out.resolve().relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out.resolve()
        (out / "README.md").write_text(README.format(folder=shown.as_posix()), encoding="utf-8")
    except OSError as error:
        raise HandoutError(f"cannot write the handouts into {out}: {error.strerror or error}") from None
    return built


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.handouts [--out DIR] [--notebooks DIR]``; exit status 1 on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.handouts",
        description="Build the learner edition of the notebooks: no outputs, no solution cells.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--notebooks", type=Path, default=DEFAULT_SOURCE, help=f"source folder (default: {DEFAULT_SOURCE})")
    args = parser.parse_args(argv)
    try:
        built = build_handouts(args.notebooks, args.out)
    except HandoutError as error:
        print(f"handouts: {error}", file=sys.stderr)
        return 1
    for handout in built:
        print(f"{handout.target}: {handout.exercises} exercise(s), {handout.checks} check(s), "
              f"{handout.solutions_removed} solution(s) removed")
    print(f"{args.out / 'README.md'}: what this folder is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
