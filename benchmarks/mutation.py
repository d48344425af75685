"""Mutation testing of the security core: does a test fail when its code is broken?

    .venv/bin/python benchmarks/mutation.py            # run (resumes an interrupted run), then report
    .venv/bin/python benchmarks/mutation.py --report   # report the last run only

mutmut (pinned in requirements-dev.txt, configured in pyproject.toml under ``[tool.mutmut]``)
copies the tree into ``mutants/``, makes one small change at a time ("mutant") in
``helpers/verification.py``, ``helpers/tokens/manager.py``, ``helpers/discovery.py`` and
``helpers/local_okta/validator.py``, and runs the tests that reach the changed function. A mutant
is *killed* when a test fails (or it times out), and *survives* when every test still passes.
The report gives each module's score (killed / mutants) and names every survivor; the ones
judged equivalent (no behaviour changes) are explained in ``benchmarks/MUTANTS.md``.

It is not part of ``.ci/run``: on two cores it takes about half an hour. The report is also
written to ``benchmarks/results/mutation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "helpers/verification.py",
    "helpers/tokens/manager.py",
    "helpers/discovery.py",
    "helpers/local_okta/validator.py",
)
#: mutmut's exit codes by outcome (mutmut/stats.py); killed and timed out both mean "caught"
KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}


def run_mutmut(children: int) -> None:
    """``mutmut run`` in the repository (it keeps its results in mutants/, so a rerun resumes)."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    subprocess.run(command, cwd=ROOT, check=False)


def results() -> dict[str, dict]:
    """Per module: counts by outcome and the names of the surviving mutants."""
    report = {}
    for module in MODULES:
        meta = ROOT / "mutants" / (module + ".meta")
        if not meta.exists():
            raise SystemExit(f"No mutation results for {module} ({meta} is missing): run without --report first.")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        outcome = Counter(
            "killed" if code in KILLED else "survived" if code in SURVIVED else "no tests" if code in (5, 33)
            else "not checked" if code is None else f"other ({code})"
            for code in codes.values()
        )
        survivors = sorted(name for name, code in codes.items() if code in SURVIVED or code in (5, 33))
        report[module] = {"total": len(codes), **outcome, "survivors": survivors}
    return report


def print_report(report: dict[str, dict]) -> None:
    print(f"\n{'module':36} {'killed':>7} {'total':>6} {'score':>7}  survivors")
    for module, counts in report.items():
        killed, total = counts.get("killed", 0), counts["total"]
        score = f"{100 * killed / total:.1f}%" if total else "-"
        print(f"{module:36} {killed:>7} {total:>6} {score:>7}  {len(counts['survivors'])}")
        for name in counts["survivors"]:
            print(f"    {name}")
    print("\nShow a survivor's change with: .venv/bin/python -m mutmut show <name>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    args = parser.parse_args(argv)
    if not args.report:
        run_mutmut(args.children)
    report = results()
    print_report(report)
    out = ROOT / "benchmarks" / "results" / "mutation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
