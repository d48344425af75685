"""How many requests does each notebook make to the authorization server, per learner?

    python benchmarks/requests_per_notebook.py [--notebooks DIR] [NN ...]

Runs each numbered notebook (all, or the numbers given) top to bottom under nbclient in a fresh
kernel against the local authorization server (``TUTORIAL_AUTH_SERVER=local``), and counts the
requests that server received, by endpoint: ``token`` (every grant: client credentials, code
exchange, refresh), ``authorize`` (the start of a user sign-in), ``keys`` (JWKS), ``metadata``
(discovery), and the rest. It is what one learner running the notebook once sends to Okta's
rate-limited endpoints, to set beside Okta's limits (INSTRUCTORS.md, "Requests per learner").

How it counts: a first cell, run in the notebook's kernel before the notebook's own cells and
not saved anywhere, makes every local server the kernel starts (``helpers.local_okta``'s state)
also add its per-endpoint request counts to one running total that survives a server being
restarted or reset; a last cell prints that total. The notebook files are not changed.

Caveats, printed with the table: against a real org some cells are local-only (the scenarios of
notebook 02, forged tokens), so the real count can be lower; a learner who re-runs cells sends
more. Prints a Markdown table and writes JSON to ``benchmarks/results/requests_per_notebook.json``
(git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "requests_per_notebook.json"
MARK = "REQUEST_COUNTS "
COLUMNS = ("token", "authorize", "keys", "metadata")

# Run first in the kernel: every OktaState the kernel makes tallies its requests into _RPN_TOTAL too.
INSTALL_TALLY = '''
from collections import Counter as _RPN_Counter
import helpers.local_okta.state as _rpn_state

_RPN_TOTAL = _RPN_Counter()


class _RPN_Tally(_RPN_Counter):
    """A request counter that also adds every increase to _RPN_TOTAL (clear() leaves the total)."""

    def __setitem__(self, key, value):
        increase = value - self.get(key, 0)
        if increase > 0:
            _RPN_TOTAL[key] += increase
        super().__setitem__(key, value)


_rpn_init = _rpn_state.OktaState.__init__


def _rpn_counting_init(self, *args, **kwargs):
    _rpn_init(self, *args, **kwargs)
    self.request_counts = _RPN_Tally(self.request_counts)


_rpn_state.OktaState.__init__ = _rpn_counting_init
'''
REPORT_TALLY = f"import json as _rpn_json\nprint({MARK!r} + _rpn_json.dumps(dict(_RPN_TOTAL), sort_keys=True))"


def kernel_environment() -> dict[str, str]:
    """This process's environment, set to the local server and this checkout's ``helpers``."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "TUTORIAL_AUTH_SERVER": "local", "PYTHONPATH": path}  # never a real org


def count_requests(path: Path, timeout: int = 300) -> dict[str, int]:
    """Run the notebook at ``path`` in a fresh kernel; the local server's requests by endpoint."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [new_code_cell(INSTALL_TALLY), *notebook.cells, new_code_cell(REPORT_TALLY)]
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=kernel_environment())
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    line = next(line for line in printed.splitlines() if line.startswith(MARK))
    return json.loads(line[len(MARK):])


def table(rows: dict[str, dict[str, int]]) -> str:
    """A Markdown table: one row per notebook, the main endpoints, the rest, and the total."""
    lines = ["| notebook | " + " | ".join(COLUMNS) + " | other | all |", "|---|" + "---:|" * (len(COLUMNS) + 2)]
    for name, counts in rows.items():
        other = sum(value for key, value in counts.items() if key not in COLUMNS)
        cells = [str(counts.get(column, 0)) for column in COLUMNS] + [str(other), str(sum(counts.values()))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers to run (default: all), e.g. 04 06")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="folder of NN_*.ipynb")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the JSON (default {RESULTS})")
    args = parser.parse_args(argv)

    paths = sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))
    if args.numbers:
        paths = [path for path in paths if path.name[:2] in args.numbers]
    if not paths:
        print(f"requests_per_notebook: no notebooks to run in {args.notebooks}", file=sys.stderr)
        return 1
    rows: dict[str, dict[str, int]] = {}
    for path in paths:
        started = time.monotonic()
        rows[path.stem] = count_requests(path, timeout=args.timeout)
        print(f"{path.name}: {sum(rows[path.stem].values())} requests ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    print(table(rows))
    print("\nOne learner, each notebook run once top to bottom against the local server; a real org skips the"
          " local-only cells, and re-running cells adds requests.")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
