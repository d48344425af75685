"""How fast does the local Okta issue client-credentials tokens, and how much of that is RS256?

    python benchmarks/local_okta_tokens.py [--requests N] [--warmup W] [--signatures S]

Starts the local authorization server, requests N client-credentials tokens one after the
other over one ``requests.Session`` (after W warm-up requests), and in the same run times
one RS256 signature with PyJWT over the same claims. Prints a small table and writes JSON to
``benchmarks/results/local_okta_tokens.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

import jwt
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import background  # noqa: E402
from helpers.local_okta import start_local_okta  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "local_okta_tokens.json"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def listening_socket_has_nodelay(name: str) -> bool | None:
    """Whether accepted connections get TCP_NODELAY (Linux copies it from the listening socket).

    Without it, keep-alive requests wait ~40 ms for a delayed ACK (Nagle's algorithm), which
    dominates every figure below; the benchmark reports it instead of hiding it.
    """
    try:
        sock = background._registry[name]._server.servers[0].sockets[0]
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except (KeyError, IndexError, AttributeError, OSError):
        return None


def measure_tokens(okta, count: int, warmup: int) -> tuple[list[float], str]:
    creds = okta.clients["write_service"]
    data = {"grant_type": "client_credentials", "scope": "calculator.add calculator.subtract"}
    latencies: list[float] = []
    token = ""
    with requests.Session() as session:
        session.auth = (creds.client_id, creds.client_secret)
        for i in range(warmup + count):
            start = time.perf_counter()
            response = session.post(okta.token_endpoint, data=data, timeout=10)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"token request failed: {response.status_code} {response.text}")
            if i >= warmup:
                latencies.append(elapsed)
            token = response.json()["access_token"]
    return latencies, token


def measure_signature(okta, token: str, count: int) -> list[float]:
    """Time ``jwt.encode`` (RS256) over the claims of a token the server just issued."""
    claims = jwt.decode(token, options={"verify_signature": False})
    key = okta._state.keys["default"].current  # the server's own signing key
    headers = {"kid": key.kid, "typ": None}
    for _ in range(10):  # warm-up
        jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)
        timings.append(time.perf_counter() - start)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured token requests (default 1000)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests (default 50)")
    parser.add_argument("--signatures", type=int, default=1000, help="timed RS256 signatures (default 1000)")
    args = parser.parse_args(argv)

    okta = start_local_okta(name="benchmark-local-okta")
    nodelay = listening_socket_has_nodelay("benchmark-local-okta")
    try:
        wall = time.perf_counter()
        latencies, token = measure_tokens(okta, args.requests, args.warmup)
        wall = time.perf_counter() - wall
        signatures = measure_signature(okta, token, args.signatures)
    finally:
        okta.stop()

    total = sum(latencies)
    sign_ms = statistics.median(signatures) * 1000
    token_ms = statistics.median(latencies) * 1000
    result = {
        "requests": args.requests,
        "warmup": args.warmup,
        "tokens_per_second": args.requests / total,
        "latency_ms": {
            "median": token_ms,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "mean": total / args.requests * 1000,
        },
        "rs256_sign_ms": {
            "median": sign_ms,
            "mean": statistics.fmean(signatures) * 1000,
            "samples": args.signatures,
        },
        "signature_share_of_request": sign_ms / token_ms,
        "tcp_nodelay": nodelay,
        "wall_seconds_including_warmup": wall,
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "oauthlib": version("oauthlib"),
            "pyjwt": version("PyJWT"),
            "cryptography": version("cryptography"),
            "uvicorn": version("uvicorn"),
            "starlette": version("starlette"),
            "requests": version("requests"),
        },
    }

    rows = [
        ("client-credentials tokens / s (sequential)", f"{result['tokens_per_second']:.0f}"),
        ("token request latency, median", f"{token_ms:.2f} ms"),
        ("token request latency, p90 / p99",
         f"{result['latency_ms']['p90']:.2f} / {result['latency_ms']['p99']:.2f} ms"),
        ("one RS256 signature (PyJWT), median", f"{sign_ms:.3f} ms"),
        ("signature share of a token request", f"{result['signature_share_of_request']:.0%}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"local Okta token benchmark: {args.requests} requests after {args.warmup} warm-up")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>14}")
    if nodelay is False:
        print("  note: the server socket lacks TCP_NODELAY, so keep-alive requests wait for delayed ACKs"
              " (~40 ms each); helpers.background should set it")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
