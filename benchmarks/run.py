"""Benchmarks: what authentication costs, how caches hold, how long things take.

    python benchmarks/run.py                # everything but the test suite (about a minute)
    python benchmarks/run.py --with-suite   # also times `python -m pytest`

Every ratio compares two measurements taken in this one run on this one machine.
Prints a table and writes benchmarks/results/benchmark.json. Everything runs on
127.0.0.1 against the local authorization server; request loops are bounded.
"""

from __future__ import annotations

import argparse
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
from helpers.verification import Protection  # noqa: E402

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


def latency(open_url: str, auth_url: str, token: str, calls: int = 500, block: int = 25, rounds: int = 3) -> dict:
    """Median latency of one call, with and without auth: ``rounds`` x ``calls`` each, warm,
    interleaved in blocks of ``block`` so that drift on a busy machine hits both alike."""
    plain, bearer = dict(ACCEPT), {**ACCEPT, "Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        timed_calls(session, open_url, plain, 100)  # warm up both servers and the connection pool
        timed_calls(session, auth_url, bearer, 100)
        open_times, auth_times = [], []
        for _ in range(rounds * calls // block):
            open_times += timed_calls(session, open_url, plain, block)
            auth_times += timed_calls(session, auth_url, bearer, block)
    open_ms, auth_ms = statistics.median(open_times) * 1000, statistics.median(auth_times) * 1000
    return {"unauthenticated_ms": round(open_ms, 3), "authenticated_ms": round(auth_ms, 3),
            "ratio": round(auth_ms / open_ms, 3)}


def throughput(url: str, headers: dict, clients: int = 20, calls_per_client: int = 50) -> float:
    """Calls per second with ``clients`` concurrent clients, each on its own connection."""
    def work(_):
        with requests.Session() as session:
            timed_calls(session, url, headers, calls_per_client)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(work, range(clients)))  # warm-up round
        started = time.perf_counter()
        list(pool.map(work, range(clients)))
        elapsed = time.perf_counter() - started
    return clients * calls_per_client / elapsed


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

    manager = TokenManager.for_client_credentials(okta.token_endpoint, okta.clients["write_service"], ["calculator.add"])
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
    args = parser.parse_args(argv)

    quiet_server_logs()
    okta = start_local_okta(name="bench-okta")
    protection = Protection.from_settings(okta.settings())
    open_server = start_calculator(None, name="bench-open")
    auth_server = start_calculator(protection, name="bench-auth")
    token = client_credentials_token(okta)
    bearer = {**ACCEPT, "Authorization": f"Bearer {token}"}

    results: dict = {"machine": {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
    }}
    results["latency"] = latency(open_server.mcp_url, auth_server.mcp_url, token)
    open_rate = throughput(open_server.mcp_url, dict(ACCEPT))
    auth_rate = throughput(auth_server.mcp_url, bearer)
    results["throughput_20_clients"] = {"unauthenticated_per_s": round(open_rate, 1),
                                        "authenticated_per_s": round(auth_rate, 1),
                                        "ratio": round(auth_rate / open_rate, 3)}
    results["jwks_fetches_per_1000_calls"] = jwks_fetches(okta, token)
    results["token_requests_per_1000_get_token"] = token_requests_by_manager(okta)
    results["calculator_start_stop"] = start_stop_seconds(
        lambda: start_calculator(protection, name="bench-start-stop"))
    results["local_okta_start_stop"] = start_stop_seconds(lambda: start_local_okta(name="bench-okta-start-stop"))
    for server in (open_server, auth_server):
        server.stop()
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
    rows = [
        ("median latency, unauthenticated call", f"{lat['unauthenticated_ms']:.3f} ms", ""),
        ("median latency, authenticated call", f"{lat['authenticated_ms']:.3f} ms", ""),
        ("  ratio authenticated / unauthenticated", f"{lat['ratio']:.3f}", "target <= 1.05"),
        ("throughput, 20 clients, unauthenticated", f"{thr['unauthenticated_per_s']:.0f} calls/s", ""),
        ("throughput, 20 clients, authenticated", f"{thr['authenticated_per_s']:.0f} calls/s", ""),
        ("  ratio authenticated / unauthenticated", f"{thr['ratio']:.3f}", "target >= 0.85"),
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
