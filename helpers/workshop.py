"""The workshop command: build the learner edition once, then open its first notebook in JupyterLab.

In a workshop learners work in ``handouts/`` (no outputs, no solutions: `helpers.handouts`), not in
``notebooks/`` (the answer key, committed executed with every solution). One line does it all, from
the repository's top folder::

    .venv/bin/python -m helpers.workshop             # Linux, macOS
    .venv\\Scripts\\python -m helpers.workshop         # Windows

It builds ``handouts/`` if it holds no notebook 01 yet, and never overwrites a learner's work
otherwise (``--rebuild`` starts over, after saving nothing: say so to learners first). Then it runs
JupyterLab with the same Python, from the repository's top folder (so ``import helpers``, ``.env``
and ``GLOSSARY.md`` are found), opening ``handouts/01_...``. Every argument it does not know goes to
JupyterLab unchanged (``--no-browser``, ``--port=8888``, ``--ip=127.0.0.1``). ``--dry-run`` builds
the handouts and prints the command and the notebook it would open, without starting anything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from helpers.handouts import DEFAULT_OUT, DEFAULT_SOURCE, NOTEBOOK_GLOB, ROOT, HandoutError, build_handouts

__all__ = ["first_handout", "lab_command", "main"]


def first_handout(out: Path = DEFAULT_OUT) -> Path | None:
    """The lowest-numbered notebook in ``out``, or None when the handouts are not built."""
    found = sorted(Path(out).glob(NOTEBOOK_GLOB))
    return found[0] if found else None


def lab_command(notebook: Path, extra: list[str]) -> list[str]:
    """The JupyterLab command line that opens ``notebook`` (relative to the repository's top folder)."""
    relative = notebook.resolve().relative_to(ROOT).as_posix()
    return [sys.executable, "-m", "jupyterlab", f"--LabApp.default_url=/lab/tree/{relative}", *extra]


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.workshop [--rebuild] [--dry-run] [JupyterLab options]``; 1 on a build error."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.workshop",
        description="Build the learner edition (handouts/) if needed, then open its notebook 01 in JupyterLab. "
        "Other options go to JupyterLab (e.g. --no-browser, --port=8888).",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild handouts/ even if it exists (overwrites your work there)")
    parser.add_argument("--dry-run", action="store_true", help="build, then print the JupyterLab command instead of running it")
    args, extra = parser.parse_known_args(argv)

    notebook = first_handout()
    if notebook is None or args.rebuild:
        try:
            built = build_handouts(DEFAULT_SOURCE, DEFAULT_OUT)
        except HandoutError as error:
            print(f"workshop: {error}", file=sys.stderr)
            return 1
        print(f"workshop: built the learner edition in {DEFAULT_OUT.relative_to(ROOT)}/ ({len(built)} notebooks)")
        notebook = first_handout()
    else:
        print(f"workshop: {DEFAULT_OUT.relative_to(ROOT)}/ is already built; your work there is kept "
              "(--rebuild starts over from the repository's notebooks)")
    assert notebook is not None  # build_handouts wrote at least one, or raised
    command = lab_command(notebook, extra)
    print(f"workshop: opens {notebook.relative_to(ROOT).as_posix()}")
    if args.dry_run:
        print("workshop: would run " + subprocess.list2cmdline(command))
        return 0
    sys.stdout.flush()
    os.chdir(ROOT)
    if os.name == "posix":  # JupyterLab takes this process's place: Ctrl+C and signals reach it directly
        os.execv(command[0], command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # Ctrl+C stops JupyterLab; no traceback for that
        return 0


if __name__ == "__main__":
    sys.exit(main())
