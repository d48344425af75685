"""Benchmarks: what authentication costs, how caches hold, how long things take.

    python benchmarks/run.py                # everything but the test suite (about a minute)
    python benchmarks/run.py --with-suite   # also times `python -m pytest`

Every ratio compares two measurements taken in this one run on this one machine.
Prints a table and writes benchmarks/results/benchmark.json. Everything runs on
127.0.0.1 against the local authorization server; request loops are bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["TUTORIAL_AUTH_SERVER"] = "local"

from helpers.calculator import start_calculator, quiet_server_logs  # noqa: E402
from helpers.local_okta import start_local_okta  # noqa: E402
from fastmcp.server.auth import AccessToken  # noqa: E402

from helpers.verification import OktaJWTVerifier, Protection  # noqa: E402

ACCEPT = {"Accept": "application/json, text/event-stream"}
ADD = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}


def client_credentials_token(okta) -> str:
    client = okta.clients["write_service"]
    response = requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                             data={"grant_type": "client_credentials", "scope": "calculator.add calculator.subtract"},
                             timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def timed_calls(session: requests.Session, url: str, headers: dict, count: int) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.post(url, json=ADD, headers=headers, timeout=10)
        durations.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"benchmark call failed: HTTP {response.status_code} {response.text[:200]}")
    return durations


def latency(targets: dict[str, tuple[str, dict]], calls: int = 200, rounds: int = 15) -> dict:
    """Median latency of one call to each target (name -> (url, headers)), in ``rounds`` rounds.

    Each round makes ``calls`` warm calls to every target, in an order that alternates from one
    round to the next (forwards, then backwards), so that drift on a busy machine hits all alike.
    A round's ratio is its median for a target over its median for the first target; the
    reported ratio is the median of the rounds' ratios, with their range.
    """
    names = list(targets)
    per_round: dict[str, list[float]] = {name: [] for name in names}
    everything: dict[str, list[float]] = {name: [] for name in names}
    with requests.Session() as session:
        for url, headers in targets.values():
            timed_calls(session, url, headers, 100)  # warm up servers and the connection pool
        for round_number in range(rounds):
            order = names if round_number % 2 == 0 else list(reversed(names))
            medians = {}
            for name in order:
                url, headers = targets[name]
                durations = timed_calls(session, url, headers, calls)
                medians[name] = statistics.median(durations)
                everything[name] += durations
            for name in names:
                per_round[name].append(medians[name] / medians[names[0]])
    result = {}
    for name in names:
        ratios = per_round[name]
        result[name] = {
            "median_ms": round(statistics.median(everything[name]) * 1000, 3),
            "ratio": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "rounds": rounds,
        }
    return result


def guard_microseconds(repeats: int = 20_000) -> dict:
    """What ToolScopeGuard's decision costs per request: parsing a tools/call body (both parsers)."""
    from helpers.scope_guard import called_tools

    body = json.dumps(ADD).encode()
    began = time.perf_counter()
    for _ in range(repeats):
        called_tools(body)
    return {"called_tools_us": round((time.perf_counter() - began) / repeats * 1e6, 2), "body_bytes": len(body)}


class InstantVerifier(OktaJWTVerifier):
    """Accepts every token at once: what FastMCP's auth layers cost with free verification."""

    async def load_access_token(self, token):
        return AccessToken(token=token, client_id="benchmark", scopes=["calculator.add", "calculator.subtract"],
                           expires_at=None, claims={})


class FreeVerification(Protection):
    def verifier(self):
        return InstantVerifier(issuer=self.issuer, audience=self.audience, jwks_uri=self.jwks_uri)


def throughput(targets: dict[str, tuple[str, dict]], clients: int = 20, calls_per_client: int = 50,
               rounds: int = 3) -> dict:
    """Calls per second with ``clients`` concurrent clients (own connection each), alternating
    between the targets for ``rounds`` rounds after a warm-up; ratios against the first."""
    def work(target):
        url, headers = target
        with requests.Session() as session:
            timed_calls(session, url, headers, calls_per_client)

    elapsed = {name: 0.0 for name in targets}
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for target in targets.values():
            list(pool.map(work, [target] * clients))  # warm-up
        for _ in range(rounds):
            for name, target in targets.items():
                started = time.perf_counter()
                list(pool.map(work, [target] * clients))
                elapsed[name] += time.perf_counter() - started
    rates = {name: rounds * clients * calls_per_client / seconds for name, seconds in elapsed.items()}
    baseline = next(iter(rates.values()))
    return {name: {"calls_per_s": round(rate, 1), "ratio": round(rate / baseline, 3)} for name, rate in rates.items()}


@contextlib.contextmanager
def servers_in_another_process():
    """The servers under test run in their own process, so the load generator's threads do
    not compete with them for this process's GIL."""
    process = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2:  # servers on one core, the load generator on another: less scheduler noise
        os.sched_setaffinity(process.pid, {cpus[-1]})
        os.sched_setaffinity(0, set(cpus[:-1]))
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def serve_for_benchmark() -> int:
    """``--serve``: start the servers, print their addresses and a token as JSON, serve until stdin closes."""
    quiet_server_logs()
    okta = start_local_okta(name="bench-okta")
    protection = Protection.from_settings(okta.settings())
    servers = {
        "unauthenticated": start_calculator(None, name="bench-open"),
        "authenticated": start_calculator(protection, name="bench-auth"),
        "auth_layers_with_free_verification": start_calculator(
            FreeVerification(protection.issuer, protection.audience, protection.jwks_uri), name="bench-auth-floor"),
    }
    print(json.dumps({"urls": {name: server.mcp_url for name, server in servers.items()},
                      "token": client_credentials_token(okta)}), flush=True)
    sys.stdin.read()
    return 0


def jwks_fetches(okta, token: str, calls: int = 1000) -> int:
    server = start_calculator(Protection.from_settings(okta.settings()), name="bench-jwks-calculator")
    try:
        okta.request_counts.clear()
        headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
        with requests.Session() as session:
            timed_calls(session, server.mcp_url, headers, calls)
        return okta.request_counts["keys"]
    finally:
        server.stop()


def token_requests_by_manager(okta, calls: int = 1000) -> int:
    """Token requests the token manager makes for ``calls`` get-token calls."""
    from helpers.tokens import TokenManager

    manager = TokenManager.for_client_credentials(okta.token_endpoint, okta.clients["write_service"], ["calculator.add"],
                                                  mcp_servers="https://calculator.example.com/mcp")  # get_token only
    okta.request_counts.clear()
    for _ in range(calls):
        manager.get_token()
    return okta.request_counts["token"]


def start_stop_seconds(start, repeats: int = 10) -> dict:
    starts, stops = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        server = start()
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        server.stop()
        stops.append(time.perf_counter() - began)
    return {"start_ms": round(statistics.median(starts) * 1000, 1), "stop_ms": round(statistics.median(stops) * 1000, 1)}


def notebook_seconds() -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    times = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        began = time.perf_counter()
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        times[path.name] = round(time.perf_counter() - began, 1)
    return times


def suite_seconds() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - began, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-suite", action="store_true", help="also time the whole test suite")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not time the notebooks")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve_for_benchmark()

    results: dict = {"machine": {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
    }}
    with servers_in_another_process() as served:
        bearer = {**ACCEPT, "Authorization": f"Bearer {served['token']}"}
        targets = {name: (url, dict(ACCEPT) if name == "unauthenticated" else bearer)
                   for name, url in served["urls"].items()}
        results["latency"] = latency(targets)
        results["scope_guard"] = guard_microseconds()
        results["throughput_20_clients"] = throughput(
            {name: targets[name] for name in ("unauthenticated", "authenticated")})

    quiet_server_logs()
    okta = start_local_okta(name="bench-okta")
    protection = Protection.from_settings(okta.settings())
    token = client_credentials_token(okta)
    results["jwks_fetches_per_1000_calls"] = jwks_fetches(okta, token)
    results["token_requests_per_1000_get_token"] = token_requests_by_manager(okta)
    results["calculator_start_stop"] = start_stop_seconds(
        lambda: start_calculator(protection, name="bench-start-stop"))
    results["local_okta_start_stop"] = start_stop_seconds(lambda: start_local_okta(name="bench-okta-start-stop"))
    okta.stop()
    if not args.skip_notebooks:
        results["notebook_seconds"] = notebook_seconds()
        results["notebooks_total_seconds"] = round(sum(results["notebook_seconds"].values()), 1)
    if args.with_suite:
        results["test_suite_seconds"] = suite_seconds()

    print_table(results)
    out = ROOT / "benchmarks" / "results" / "benchmark.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


def print_table(results: dict) -> None:
    lat, thr = results["latency"], results["throughput_20_clients"]
    floor = lat["auth_layers_with_free_verification"]
    rows = [
        ("median latency, unauthenticated call", f"{lat['unauthenticated']['median_ms']:.3f} ms", ""),
        ("median latency, authenticated call", f"{lat['authenticated']['median_ms']:.3f} ms", ""),
        ("  ratio authenticated / unauthenticated", f"{lat['authenticated']['ratio']:.3f}",
         f"target <= 1.05 (median of {lat['authenticated']['rounds']} alternating rounds, "
         f"{lat['authenticated']['ratio_range'][0]:.3f} to {lat['authenticated']['ratio_range'][1]:.3f})"),
        ("  same, verification made free (floor)", f"{floor['ratio']:.3f}", "FastMCP's auth layers alone"),
        ("  ToolScopeGuard's JSON decision", f"{results['scope_guard']['called_tools_us']:.2f} us",
         f"per {results['scope_guard']['body_bytes']}-byte tools/call"),
        ("throughput, 20 clients, unauthenticated", f"{thr['unauthenticated']['calls_per_s']:.0f} calls/s", ""),
        ("throughput, 20 clients, authenticated", f"{thr['authenticated']['calls_per_s']:.0f} calls/s", ""),
        ("  ratio authenticated / unauthenticated", f"{thr['authenticated']['ratio']:.3f}", "target >= 0.85"),
        ("JWKS fetches during 1000 calls", str(results["jwks_fetches_per_1000_calls"]), "target 1"),
        ("token requests for 1000 get-token calls", str(results["token_requests_per_1000_get_token"]), "target 1"),
        ("calculator start / stop", "{start_ms} / {stop_ms} ms".format(**results["calculator_start_stop"]), ""),
        ("local Okta start / stop", "{start_ms} / {stop_ms} ms".format(**results["local_okta_start_stop"]), ""),
    ]
    for name, seconds in results.get("notebook_seconds", {}).items():
        rows.append((f"notebook {name}", f"{seconds} s", ""))
    if "notebooks_total_seconds" in results:
        rows.append(("all notebooks", f"{results['notebooks_total_seconds']} s", "target < 60 s"))
    if "test_suite_seconds" in results:
        rows.append(("whole test suite (python -m pytest)", f"{results['test_suite_seconds']} s", ""))
    width = max(len(r[0]) for r in rows)
    print(f"machine: {results['machine']['platform']}, Python {results['machine']['python']}, "
          f"{results['machine']['cpus']} CPUs")
    for name, value, target in rows:
        print(f"  {name.ljust(width)}  {value:>18}  {target}")


if __name__ == "__main__":
    sys.exit(main())
