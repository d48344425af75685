"""Mutation testing of the security core: does a test fail when its code is broken?

    .venv/bin/python benchmarks/mutation.py            # run (resumes an interrupted run), then report
    .venv/bin/python benchmarks/mutation.py --recheck  # recheck the last run's survivors, then report
    .venv/bin/python benchmarks/mutation.py --report   # report the last run only

mutmut (pinned in requirements-dev.txt, configured in pyproject.toml under ``[tool.mutmut]``)
copies the tree into ``mutants/``, makes one small change at a time ("mutant") in
``helpers/verification.py``, ``helpers/tokens/manager.py``, ``helpers/discovery.py`` and
``helpers/local_okta/validator.py``, and runs the tests that reach the changed function. A mutant
is *killed* when a test fails (or it times out), and *survives* when every test still passes;
a survivor is then run again against every test file of its module (see ``RECHECK_TESTS``).
The report gives each module's score (killed / mutants) and names every survivor.

It is not part of ``.ci/run``: on two shared cores it took about 75 minutes (``--children 4``).
The report is also written to ``benchmarks/results/mutation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "helpers/verification.py",
    "helpers/tokens/manager.py",
    "helpers/discovery.py",
    "helpers/local_okta/validator.py",
)
#: Every test file that exercises each module. mutmut runs a mutant only against the tests it saw
#: reach the mutated function, and it credits a module-scoped fixture's work (a server started once
#: per test file) to the first test that asked for it; a mutant that "survives" that selection is
#: therefore run again against all of these files before it is counted as a survivor.
RECHECK_TESTS = {
    "helpers/verification.py": ["tests/test_verification.py", "tests/test_jwks_discovery.py", "tests/test_client_trust.py"],
    "helpers/tokens/manager.py": ["tests/test_token_manager.py", "tests/test_client_resilience.py", "tests/test_client_review.py"],
    "helpers/discovery.py": [
        "tests/test_discovery_legacy.py", "tests/test_client_trust.py", "tests/test_display_and_discovery.py",
        "tests/test_user_login.py",
    ],
    "helpers/local_okta/validator.py": [
        "tests/test_local_okta.py", "tests/test_local_okta_user_flows.py", "tests/test_okta_fidelity.py",
        "tests/test_okta_fidelity_requests.py", "tests/test_local_okta_scenarios.py",
    ],
}
RECHECKED = ROOT / "mutants" / "recheck.json"
#: mutmut's exit codes by outcome (mutmut/stats.py); killed and timed out both mean "caught"
KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}


def run_mutmut(children: int) -> None:
    """``mutmut run`` in the repository (it keeps its results in mutants/, so a rerun resumes)."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    subprocess.run(command, cwd=ROOT, check=False)


def recheck(module: str, names: list[str], children: int = 2) -> None:
    """Run each of ``names`` (survivors of ``module``) against all of the module's test files,
    in mutants/ with the mutant switched on, ``children`` at a time; record "killed" or "survived"."""
    done = json.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
    todo = [name for name in names if done.get(name) != "killed"]  # survivors again: tests may be new

    def run(name: str) -> tuple[str, str]:
        env = {**os.environ, "MUTANT_UNDER_TEST": name, "PY_IGNORE_IMPORTMISMATCH": "1"}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-o", "addopts=-p no:cacheprovider",
                   *RECHECK_TESTS[module]]
        exit_code = subprocess.run(command, cwd=ROOT / "mutants", env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, check=False).returncode
        return name, "killed" if exit_code == 1 else "survived" if exit_code == 0 else f"exit {exit_code}"

    with ThreadPoolExecutor(max_workers=children) as pool:
        for name, outcome in pool.map(run, todo):
            done[name] = outcome
            print(f"  recheck {name}: {outcome}", flush=True)
            RECHECKED.write_text(json.dumps(done, indent=1))


def results() -> dict[str, dict]:
    """Per module: counts by outcome and the names of the surviving mutants."""
    rechecked = json.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
    report = {}
    for module in MODULES:
        meta = ROOT / "mutants" / (module + ".meta")
        if not meta.exists():
            raise SystemExit(f"No mutation results for {module} ({meta} is missing): run without --report first.")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        codes = {name: 1 if rechecked.get(name) == "killed" else code for name, code in codes.items()}
        outcome = Counter(
            "killed" if code in KILLED else "survived" if code in SURVIVED else "no tests" if code in (5, 33)
            else "not checked" if code is None else f"other ({code})"
            for code in codes.values()
        )
        survivors = sorted(name for name, code in codes.items() if code in SURVIVED or code in (5, 33))
        report[module] = {"total": len(codes), **outcome, "survivors": survivors}
    return report


def survivor_changes(report: dict[str, dict]) -> dict[str, str]:
    """Each survivor's change, as the lines mutmut removed (-) and added (+)."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant  # mutmut reads its files from the cwd

    os.chdir(ROOT)
    changes = {}
    for counts in report.values():
        for name in counts["survivors"]:
            diff = get_diff_for_mutant(name, path=find_mutant(name).path)
            changes[name] = "\n".join(
                line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("---", "+++"))
            )
    return changes


def print_report(report: dict[str, dict]) -> None:
    print(f"\n{'module':36} {'killed':>7} {'total':>6} {'score':>7}  survivors")
    for module, counts in report.items():
        killed, total = counts.get("killed", 0), counts["total"]
        score = f"{100 * killed / total:.1f}%" if total else "-"
        print(f"{module:36} {killed:>7} {total:>6} {score:>7}  {len(counts['survivors'])}")
        for name in counts["survivors"]:
            print(f"    {name}")
            for line in counts["changes"].get(name, "").splitlines():
                print(f"        {line.strip()[:150]}")
    print("\nA survivor in context: .venv/bin/python -m mutmut show <name>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--recheck", action="store_true", help="only recheck the last run's survivors, then report")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    args = parser.parse_args(argv)
    if not args.report:
        if not args.recheck:
            run_mutmut(args.children)
        for module, counts in results().items():
            recheck(module, counts["survivors"], args.children)
    report = results()
    changes = survivor_changes(report)
    for counts in report.values():
        counts["changes"] = {name: changes[name] for name in counts["survivors"]}
    print_report(report)
    out = ROOT / "benchmarks" / "results" / "mutation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
