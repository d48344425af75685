"""Mutation testing of the security core: does a test fail when its code is broken?

    .venv/bin/python benchmarks/mutation.py                    # run (resumes an interrupted run), then report
    .venv/bin/python benchmarks/mutation.py --recheck --quick  # recheck survivors against the test_mutants_* files
    .venv/bin/python benchmarks/mutation.py --recheck          # ... and against every test file of their module
    .venv/bin/python benchmarks/mutation.py --report --markdown  # report the last run, with MUTANTS.md's tables

mutmut (pinned in requirements-dev.txt, configured in pyproject.toml under ``[tool.mutmut]``)
copies the tree into ``mutants/``, makes one small change at a time ("mutant") in the modules of
:data:`MODULES` (discovery, urls, backoff, bearer_auth, verification, tokens/manager, the
user_login package, and the local server's validator and policy), and runs the tests that reach
the changed function. A mutant is *killed* when a test fails (or it times out), and *survives*
when every test still passes; a survivor is then run again against the tests written to kill
survivors (``tests/test_mutants_*.py``) and, without ``--quick``, every test file of its module
(see ``RECHECK_TESTS``). The report gives each module's score (killed / mutants) and names every
survivor with the reason it changes nothing observable (``benchmarks/equivalent_mutants.json``),
or UNEXPLAINED.

It is not part of ``.ci/run``: on two shared cores the 3,118 mutants took about 110 minutes with
4 workers (``--children 4``). The report is also written to ``benchmarks/results/mutation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "helpers/discovery.py",
    "helpers/urls.py",
    "helpers/backoff.py",
    "helpers/bearer_auth.py",
    "helpers/verification.py",
    "helpers/tokens/manager.py",
    "helpers/user_login",
    "helpers/local_okta/validator.py",
    "helpers/local_okta/policy.py",
)
_USER_LOGIN = [
    "tests/test_user_login.py", "tests/test_user_login_iss.py", "tests/test_user_login_cimd.py",
    "tests/test_device_sign_in.py", "tests/test_bound_clients.py", "tests/test_rate_limits.py",
    "tests/test_client_resilience.py", "tests/test_client_trust.py", "tests/test_shared_host.py",
    "tests/test_offline_access_rule.py", "tests/test_debug_logging.py",
    "tests/test_security_review_23.py", "tests/test_discovery_root_metadata.py", "tests/test_mutation_survivors.py",
]
_LOCAL_OKTA = [
    "tests/test_local_okta.py", "tests/test_local_okta_user_flows.py", "tests/test_okta_fidelity.py",
    "tests/test_okta_fidelity_requests.py", "tests/test_local_okta_scenarios.py", "tests/test_okta_fidelity_review3.py",
    "tests/test_okta_fidelity_device.py", "tests/test_okta_fidelity_private_key_jwt.py",
    "tests/test_okta_fidelity_id_jag.py", "tests/test_okta_fidelity_mcp_clients.py", "tests/test_okta_fidelity_iss.py",
    "tests/test_okta_body_only.py", "tests/test_mutation_survivors.py",
]
#: Every test file that exercises each module. mutmut runs a mutant only against the tests it saw
#: reach the mutated function, and it credits a module-scoped fixture's work (a server started once
#: per test file) to the first test that asked for it; a mutant that "survives" that selection is
#: therefore run again against all of these files before it is counted as a survivor.
RECHECK_TESTS = {
    "helpers/discovery.py": [
        "tests/test_discovery_legacy.py", "tests/test_client_trust.py", "tests/test_display_and_discovery.py",
        "tests/test_user_login.py", "tests/test_discovery_limits.py", "tests/test_discovery_root_metadata.py",
        "tests/test_bound_clients.py", "tests/test_mutation_survivors.py",
    ],
    "helpers/urls.py": [
        "tests/test_client_review.py", "tests/test_tokens.py", "tests/test_bound_clients.py",
        "tests/test_mutation_survivors.py", "tests/test_no_proxy.py", "tests/test_local_okta.py",
        "tests/test_user_login.py",
    ],
    "helpers/backoff.py": ["tests/test_rate_limits.py", "tests/test_client_resilience.py", "tests/test_mutation_survivors.py",
                           "tests/test_token_manager.py"],
    "helpers/bearer_auth.py": ["tests/test_server_edges.py", "tests/test_verification.py", "tests/test_client_trust.py"],
    "helpers/verification.py": ["tests/test_verification.py", "tests/test_jwks_discovery.py", "tests/test_client_trust.py",
                                "tests/test_server_edges.py"],
    "helpers/tokens/manager.py": [
        "tests/test_token_manager.py", "tests/test_client_resilience.py", "tests/test_client_review.py",
        "tests/test_bound_clients.py", "tests/test_rate_limits.py", "tests/test_private_key_client.py",
        "tests/test_mutation_survivors.py",
    ],
    "helpers/user_login": _USER_LOGIN,
    "helpers/local_okta/validator.py": _LOCAL_OKTA,
    "helpers/local_okta/policy.py": _LOCAL_OKTA,
}
#: Tests written to kill each module's survivors (fast, unit-level): run first in its recheck, and
#: alone with ``--quick``.
MUTANT_TESTS = {
    "helpers/discovery.py": ["tests/test_mutants_clients.py"],
    "helpers/urls.py": ["tests/test_mutants_clients.py"],
    "helpers/backoff.py": ["tests/test_mutants_clients.py"],
    "helpers/bearer_auth.py": ["tests/test_mutants_server.py"],
    "helpers/verification.py": ["tests/test_mutants_server.py"],
    "helpers/tokens/manager.py": ["tests/test_mutants_clients.py"],
    "helpers/user_login": [
        "tests/test_mutants_device.py", "tests/test_mutants_device_2.py", "tests/test_mutants_remote.py",
        "tests/test_mutants_gateway.py", "tests/test_mutants_gateway_2.py", "tests/test_mutants_gateway_3.py",
        "tests/test_mutants_gateway_4.py", "tests/test_mutants_pending.py", "tests/test_mutants_pending_2.py",
        "tests/test_mutants_pending_3.py",
    ],
    "helpers/local_okta/validator.py": ["tests/test_mutants_server.py"],
    "helpers/local_okta/policy.py": ["tests/test_mutants_server.py"],
}
_PENDING = ["tests/test_mutants_pending.py", "tests/test_mutants_pending_2.py", "tests/test_mutants_pending_3.py"]
_GATEWAY = ["tests/test_mutants_gateway.py", "tests/test_mutants_gateway_2.py", "tests/test_mutants_gateway_3.py",
            "tests/test_mutants_gateway_4.py"]
#: Within user_login, the test_mutants_* files of each file of the package (the rest: the gateway's).
USER_LOGIN_FILES = {
    "device": ["tests/test_mutants_device.py", "tests/test_mutants_device_2.py"], "remote": ["tests/test_mutants_remote.py"],
    "pending": _PENDING, "token_requests": _PENDING, "callback": _PENDING, "transport": _PENDING,
}
RECHECKED = ROOT / "mutants" / "recheck.json"
#: Survivors that change nothing a caller, a user or the network can observe, each with the reason.
EQUIVALENT = ROOT / "benchmarks" / "equivalent_mutants.json"
#: mutmut's exit codes by outcome (mutmut/stats.py); killed and timed out both mean "caught"
KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}


def run_mutmut(children: int) -> None:
    """``mutmut run`` in the repository (it keeps its results in mutants/, so a rerun resumes)."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    subprocess.run(command, cwd=ROOT, check=False)


def recheck(module: str, names: list[str], children: int = 2, quick: bool = False) -> None:
    """Run each of ``names`` (survivors of ``module``) against all of the module's test files,
    in mutants/ with the mutant switched on, ``children`` at a time; record "killed" or "survived"."""
    done = json.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
    todo = [name for name in names if done.get(name) != "killed"]  # survivors again: tests may be new

    shutil.copytree(ROOT / "tests", ROOT / "mutants" / "tests", dirs_exist_ok=True)  # tests written since the run
    targeted = [path for path in MUTANT_TESTS[module] if (ROOT / path).exists()]
    tests = targeted if quick else [*targeted, *(path for path in RECHECK_TESTS[module] if path not in targeted)]

    def run(name: str) -> tuple[str, str]:
        env = {**os.environ, "MUTANT_UNDER_TEST": name, "PY_IGNORE_IMPORTMISMATCH": "1"}
        chosen = tests
        if module == "helpers/user_login":  # the files written for this mutant's file first (alone with --quick)
            own = USER_LOGIN_FILES.get(name.split(".")[2], _GATEWAY)
            chosen = own if quick else [*own, *(path for path in tests if path not in own)]
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-o", "addopts=-p no:cacheprovider",
                   *chosen]
        exit_code = subprocess.run(command, cwd=ROOT / "mutants", env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, check=False).returncode
        return name, "killed" if exit_code == 1 else "survived" if exit_code == 0 else f"exit {exit_code}"

    with ThreadPoolExecutor(max_workers=children) as pool:
        for name, outcome in pool.map(run, todo):
            done[name] = outcome
            print(f"  recheck {name}: {outcome}", flush=True)
            RECHECKED.write_text(json.dumps(done, indent=1))


def exit_codes(module: str) -> dict[str, int | None]:
    """mutmut's outcome for each mutant of ``module`` (a file, or a package: all of its files)."""
    if module.endswith(".py"):
        metas = [ROOT / "mutants" / (module + ".meta")]
    else:
        metas = sorted((ROOT / "mutants" / module).glob("*.py.meta"))
    missing = [meta for meta in metas if not meta.exists()] or ([] if metas else [ROOT / "mutants" / module])
    if missing:
        raise SystemExit(f"No mutation results for {module} ({missing[0]} is missing): run without --report first.")
    codes: dict[str, int | None] = {}
    for meta in metas:
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def results() -> dict[str, dict]:
    """Per module: counts by outcome and the names of the surviving mutants."""
    rechecked = json.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
    report = {}
    for module in MODULES:
        codes = exit_codes(module)
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
    """Each module's score, and every survivor with its change and, if recorded, why it is equivalent."""
    reasons = equivalent_reasons()
    print(f"\n{'module':36} {'killed':>7} {'total':>6} {'score':>7}  survivors (unexplained)")
    for module, counts in report.items():
        killed, total = counts.get("killed", 0), counts["total"]
        score = f"{100 * killed / total:.1f}%" if total else "-"
        unexplained = [name for name in counts["survivors"] if name not in reasons]
        print(f"{module:36} {killed:>7} {total:>6} {score:>7}  {len(counts['survivors'])} ({len(unexplained)})")
        for name in counts["survivors"]:
            print(f"    {name}: {reasons.get(name, 'UNEXPLAINED')}")
            for line in counts["changes"].get(name, "").splitlines():
                print(f"        {line.strip()[:150]}")
    print("\nA survivor in context: .venv/bin/python -m mutmut show <name>")


def equivalent_reasons() -> dict[str, str]:
    """``{mutant name: why it changes nothing observable}`` from :data:`EQUIVALENT`."""
    return json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}


def short(name: str) -> str:
    """A mutant's name without ``helpers.``, the module path and the class part (``xǁClassǁ``)."""
    function = name.rsplit(".", 1)[-1].removeprefix("x_").removeprefix("x")
    return function.split("ǁ")[-1] if "ǁ" in function else function


def survivor_table(report: dict[str, dict]) -> str:
    """benchmarks/MUTANTS.md's tables: per module, each survivor, its change and why it survives."""
    reasons = equivalent_reasons()
    parts = []
    for module, counts in report.items():
        killed, total = counts.get("killed", 0), counts["total"]
        parts.append(f"## {module} ({killed} of {total} killed, {100 * killed / total:.1f} %)\n")
        if not counts["survivors"]:
            parts.append("No survivor.\n")
            continue
        parts.append("| mutant | change | why it survives |\n|---|---|---|")
        for name in counts["survivors"]:
            change = " / ".join(line.strip() for line in counts["changes"].get(name, "").splitlines())
            change = change.replace("|", "\\|")[:220]
            where = name.split(".")[-2] if module.endswith("user_login") else ""
            label = f"`{where + '.' if where else ''}{short(name)}`"
            parts.append(f"| {label} | `{change}` | {reasons.get(name, '**Unexplained.**')} |")
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--recheck", action="store_true", help="only recheck the last run's survivors, then report")
    parser.add_argument("--quick", action="store_true",
                        help="recheck against each module's test_mutants_* files only (minutes, not hours)")
    parser.add_argument("--markdown", action="store_true", help="also print MUTANTS.md's survivor tables")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    args = parser.parse_args(argv)
    if not args.report:
        if not args.recheck:
            run_mutmut(args.children)
        for module, counts in results().items():
            recheck(module, counts["survivors"], args.children, args.quick)
    report = results()
    changes = survivor_changes(report)
    for counts in report.values():
        counts["changes"] = {name: changes[name] for name in counts["survivors"]}
    print_report(report)
    if args.markdown:
        print("\n" + survivor_table(report))
    out = ROOT / "benchmarks" / "results" / "mutation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
