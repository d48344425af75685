"""Load and faults, on loopback only and bounded in count and time: the protected calculator
stays correct under concurrency, survives its issuer going away, and answers abuse with 4xx."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from helpers.bad_tokens import typical_claims
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.verification import Protection

ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def okta():
    okta = start_local_okta(name="test-load-okta")
    yield okta
    okta.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-load-calculator")
    yield server
    server.stop()


def token_for(okta, scope="calculator.add calculator.subtract"):
    client = okta.clients["write_service"]
    response = requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                             data={"grant_type": "client_credentials", "scope": scope}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def call(url, token, a, b, tool="add", timeout=30):
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"a": a, "b": b}}}
    return requests.post(url, json=body, headers=headers, timeout=timeout)


def value(response):
    line = next(line for line in response.text.splitlines() if line.startswith("data: "))
    import json
    return json.loads(line[6:])["result"]["structuredContent"]["result"]


def test_200_concurrent_calls_with_valid_tokens_are_all_correct(okta, calculator):
    tokens = [token_for(okta) for _ in range(5)]
    jobs = [(tokens[i % 5], i, 1000 - i, "add" if i % 2 else "subtract") for i in range(200)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda job: call(calculator.mcp_url, job[0], job[1], job[2], job[3]), jobs))
    assert [r.status_code for r in responses] == [200] * 200
    expected = [a + b if tool == "add" else a - b for _, a, b, tool in jobs]
    assert [value(r) for r in responses] == expected


def test_concurrent_unknown_kids_fetch_the_jwks_at_most_once_per_cooldown(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-kid-flood-calculator")
    try:
        assert call(server.mcp_url, token_for(okta), 1, 1).status_code == 200  # JWKS now cached
        okta.request_counts.clear()
        claims = typical_claims(issuer=okta.issuer, audience=okta.audience, client_id="0oa1calcwritesvc7kpz",
                                scopes=["calculator.add"])
        forged = [okta.sign_token(claims, headers={"kid": uuid.uuid4().hex}) for _ in range(100)]
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda t: call(server.mcp_url, t, 1, 1).status_code, forged))
        assert statuses == [401] * 100
        assert okta.request_counts["keys"] <= 1
    finally:
        server.stop()


def test_issuer_stopped_mid_run_then_restarted(okta):
    issuer = start_local_okta(name="test-flaky-okta")
    port = issuer.port
    server = start_calculator(Protection.from_settings(issuer.settings(), jwks_refresh_interval=1),
                              name="test-flaky-calculator")
    try:
        known = token_for(issuer)
        assert call(server.mcp_url, known, 2, 2).status_code == 200
        issuer.stop()
        # A token already verified, or signed with a cached key, needs no issuer.
        assert call(server.mcp_url, known, 3, 3).status_code == 200
        issuer.rotate_keys()  # the key published ahead signs now (the server may have fetched it)...
        issuer.rotate_keys()  # ...so rotate again: a key made after the stop, never published
        fresh = issuer.sign_token(typical_claims(issuer=issuer.issuer, audience=issuer.audience,
                                                 client_id="0oa1calcwritesvc7kpz", scopes=["calculator.add"]))
        started = time.monotonic()
        assert call(server.mcp_url, fresh, 1, 1).status_code == 401
        assert time.monotonic() - started < 5
        issuer.start(port=port, name="test-flaky-okta")  # back, same address, same keys
        time.sleep(1.1)  # the verifier's refetch cooldown in this test
        assert call(server.mcp_url, fresh, 4, 4).status_code == 200  # recovered, MCP server untouched
    finally:
        server.stop()
        issuer.stop()


@pytest.mark.parametrize("case", ["malformed JSON", "not JSON-RPC", "wrong content type", "10 MB body",
                                  "huge Authorization header", "GET instead of POST"])
@pytest.mark.parametrize("authenticated", [True, False], ids=["with token", "without token"])
def test_abuse_gets_a_4xx_quickly(okta, calculator, case, authenticated):
    headers = dict(ACCEPT)
    if authenticated:
        headers["Authorization"] = f"Bearer {token_for(okta)}"
    body, method = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', "POST"
    headers["Content-Type"] = "application/json"
    if case == "malformed JSON":
        body = b'{"jsonrpc": "2.0", "id": 1, "method": '
    elif case == "not JSON-RPC":
        body = b'[1, 2, 3]'
    elif case == "wrong content type":
        headers["Content-Type"] = "text/plain"
    elif case == "10 MB body":
        body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "pad": "' + b"x" * 10_000_000 + b'"}'
    elif case == "huge Authorization header":
        headers["Authorization"] = "Bearer " + "a" * 60_000
    elif case == "GET instead of POST":
        method, body = "GET", None
        headers["Accept"] = "application/json"
    started = time.monotonic()
    response = requests.request(method, calculator.mcp_url, data=body, headers=headers, timeout=30)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text[:200])
    assert time.monotonic() - started < 10
    assert '"result"' not in response.text
