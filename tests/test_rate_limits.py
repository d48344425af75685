"""Okta's rate limits: the local server's scenario, and how every client handles a 429 (issue 22 #9).

Okta answers a request over a limit with 429, ``X-Rate-Limit-Limit/Remaining/Reset`` and
``invalid_grant`` "API call exceeded rate limit due to too many requests." at a token endpoint
(catalogue ``user_rate_limited``) or the API error ``E0000047`` (``reference/rl2-monitor``).
A client must not retry before ``X-Rate-Limit-Reset``: the local server counts, per client
and endpoint, the 429s it sent before one reset, and a well-behaved client gets at most one.
"""

from __future__ import annotations

import math
import threading
import time

import pytest
import requests

from helpers.backoff import SharedBackoff
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.settings import ANY_PORT_REDIRECT_URI
from helpers.tokens import TokenManager, TokenRequestError
from helpers.tokens.fetching import fetch_token_with_requests, fetch_token_with_requests_oauthlib
from helpers.user_login import UserLogin, sign_in_with_password
from helpers.verification import Protection

pytestmark = pytest.mark.anyio
SUMMARY = "API call exceeded rate limit due to too many requests."


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-rate-limits-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-rate-limits-calculator")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_limit(okta):
    okta.set_rate_limit(None)
    yield
    okta.set_rate_limit(None)


def limit_from_window_start(okta, limit: int, window: int = 5) -> float:
    """Switch the limit on just after a window starts (so the reset is ``window`` s away); the reset."""
    now = time.time()
    time.sleep(math.ceil(now / window) * window - now + 0.05)
    okta.set_rate_limit(limit, window)
    return math.ceil(time.time() / window) * window


def token_request(okta, label="write_service"):
    client = okta.clients[label]
    return requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret), timeout=10,
                         data={"grant_type": "client_credentials", "scope": "calculator.add"})


# -- the local server's scenario ----------------------------------------------------------------

def test_the_scenario_answers_with_oktas_headers_and_bodies(okta):
    reset = limit_from_window_start(okta, 1, 5)
    first, second = token_request(okta), token_request(okta)
    assert first.status_code == 200 and second.status_code == 429
    assert second.json() == {"error": "invalid_grant", "error_description": SUMMARY}
    for answer, remaining in ((first, "0"), (second, "0")):
        assert answer.headers["X-Rate-Limit-Limit"] == "1"
        assert answer.headers["X-Rate-Limit-Remaining"] == remaining
        assert int(answer.headers["X-Rate-Limit-Reset"]) == reset
        assert 0 < int(answer.headers["X-Rate-Limit-Reset"]) - time.time() <= 5
    client = okta.clients["write_service"]
    introspected = [requests.post(okta.introspection_endpoint, auth=(client.client_id, client.client_secret),
                                  data={"token": "x"}, timeout=10) for _ in range(2)]
    assert introspected[1].status_code == 429
    body = introspected[1].json()
    assert body["errorCode"] == "E0000047" and body["errorSummary"] == SUMMARY and body["errorCauses"] == []
    assert token_request(okta, "read_service").status_code == 200  # another client has its own bucket
    assert okta.rate_limit_report() == {f"introspect {client.client_id}": 1, f"token {client.client_id}": 1}


def test_the_scenario_is_switched_on_by_the_environment(monkeypatch):
    from helpers.local_okta.rate_limits import from_environment

    assert from_environment({}) is None
    limiter = from_environment({"LOCAL_OKTA_RATE_LIMIT": "3/2"})
    assert (limiter.limit, limiter.window) == (3, 2)
    with pytest.raises(ValueError, match="window 1 to 5"):
        from_environment({"LOCAL_OKTA_RATE_LIMIT": "3/60"})
    monkeypatch.setenv("LOCAL_OKTA_RATE_LIMIT", "1/5")
    from helpers.authorization_server import connect_authorization_server

    notebooks_server = connect_authorization_server(name="test-rate-limits-from-environment")
    private = start_local_okta(name="test-rate-limits-private")  # a grader's own server: never limited
    try:  # three requests: at most two windows, so at least one 429
        assert 429 in [token_request(notebooks_server.local).status_code for _ in range(3)]
        assert [token_request(private).status_code for _ in range(3)] == [200, 200, 200]
        with notebooks_server.local.rate_limit_suspended():
            assert [token_request(notebooks_server.local).status_code for _ in range(3)] == [200, 200, 200]
    finally:
        notebooks_server.stop()
        private.stop()


# -- reading a 429 ------------------------------------------------------------------------------

def test_a_429_is_read_as_a_rate_limit_with_its_reset():
    from helpers.tokens import TokenRateLimitedError

    body = '{"errorCode":"E0000047","errorSummary":"%s","errorLink":"E0000047","errorId":"oae1","errorCauses":[]}' % SUMMARY
    error = TokenRequestError.from_body(429, body, "https://x.okta.com/oauth2/default/v1/token",
                                        {"X-Rate-Limit-Reset": str(int(time.time()) + 42)})
    assert isinstance(error, TokenRateLimitedError) and 40 < error.retry_after <= 42
    assert "not JSON" not in str(error)
    assert str(error).startswith("rate limited by Okta, retry after 4")
    assert error.error == "E0000047" and error.error_description == SUMMARY


def test_the_shared_backoff_waits_for_the_reset():
    class Limited(Exception):
        retry_after = 7.0

    backoff = SharedBackoff(first_delay=1.0)
    backoff.failed(Limited())
    assert backoff.retry_in > 6.5


# -- the clients --------------------------------------------------------------------------------

@pytest.mark.parametrize("fetch", [fetch_token_with_requests, fetch_token_with_requests_oauthlib])
def test_a_fetch_waits_for_a_near_reset_then_asks_once_more(okta, fetch):
    client = okta.clients["write_service"]
    reset = limit_from_window_start(okta, 1, 2)
    fetch(okta.token_endpoint, client, "calculator.add")
    token = fetch(okta.token_endpoint, client, "calculator.add")  # 429, waits for the reset, once more
    assert token.access_token and time.time() >= reset
    assert okta.rate_limit_report() == {f"token {client.client_id}": 1}
    okta.set_rate_limit(1, 5)
    with pytest.raises(TokenRequestError, match=r"^rate limited by Okta, retry after [1-5] s"):
        for _ in range(3):  # three: a window boundary between them leaves two in one window
            fetch(okta.token_endpoint, client, "calculator.add", max_wait=0)  # a reset too far to wait for


def test_the_manager_keeps_a_valid_token_and_asks_once_per_reset(okta):
    client = okta.clients["write_service"]
    offset = [0.0]
    manager = TokenManager(lambda scopes: fetch_token_with_requests(okta.token_endpoint, client, scopes, max_wait=0),
                           ("calculator.add",), clock=lambda: time.monotonic() + offset[0], mcp_servers="https://mcp.example.com/mcp")
    first = manager.get_token()
    limit_from_window_start(okta, 1, 5)
    token_request(okta)  # another process of this client used the bucket up
    offset[0] = manager.seconds_until_renewal() + 1  # due for renewal, still valid for minutes
    started, handed_out = time.monotonic(), []

    def caller():
        for _ in range(6):
            handed_out.append(manager.get_token())
            time.sleep(0.4)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(handed_out) == {first}  # the still-valid token, at once
    assert time.monotonic() - started < 4
    assert okta.rate_limit_report() == {f"token {client.client_id}": 1}  # one 429, no retry before the reset


@pytest.fixture
def signed_in(okta, calculator):
    login = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=ANY_PORT_REDIRECT_URI)
    pending = login.begin(timeout=10)
    user = okta.users[0]
    sign_in_with_password(pending, user.login, user.password)
    pending.wait_blocking(10)
    yield login
    okta.set_rate_limit(None)
    login.sign_out()


def test_a_429_at_refresh_keeps_the_users_tokens_and_waits_for_the_reset(okta, signed_in):
    before = signed_in.tokens
    reset = limit_from_window_start(okta, 1, 2)
    token_request(okta, "web")
    refreshed = signed_in.refresh()  # 429: waits for the near reset, then refreshes once
    assert time.time() >= reset and refreshed.access_token != before.access_token
    assert okta.rate_limit_report() == {f"token {okta.clients['web'].client_id}": 1}


def test_a_far_reset_raises_the_rate_limit_message_and_drops_nothing(okta, signed_in, monkeypatch):
    from helpers import rate_limits

    monkeypatch.setattr(rate_limits, "MAX_WAIT", 0.0)
    before = signed_in.tokens
    limit_from_window_start(okta, 1, 5)
    token_request(okta, "web")
    with pytest.raises(Exception, match=r"^rate limited by Okta, retry after [1-5] s") as raised:
        signed_in.refresh()
    assert "sign the user in again" not in str(raised.value)
    assert signed_in.tokens == before and signed_in.access_token() == before.access_token


def test_a_429_at_the_code_exchange_is_waited_out(okta, calculator):
    login = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=ANY_PORT_REDIRECT_URI)
    pending = login.begin(timeout=15)
    reset = limit_from_window_start(okta, 1, 2)
    token_request(okta, "web")
    user = okta.users[0]
    sign_in_with_password(pending, user.login, user.password)
    tokens = pending.wait_blocking(15)
    assert tokens.access_token and time.time() >= reset
    assert okta.rate_limit_report() == {f"token {okta.clients['web'].client_id}": 1}
    login.sign_out()


@pytest.mark.parametrize("error, description", [("invalid_grant", SUMMARY), ("E0000047", SUMMARY)])
def test_the_checks_explain_a_rate_limit(error, description):
    from helpers.okta_checks.diagnosis import token_error

    found = token_error(error, description, "calculator.add")
    assert "rate limit" in found.cause and "X-Rate-Limit-Reset" in found.fix and "OAUTH_ISSUER" not in found.fix


def test_the_checks_say_when_to_retry(okta):
    from helpers.okta_checks.checks import run_checks

    okta.set_rate_limit(1, 5)
    token_request(okta)  # the service's bucket is used up
    token = next(result for result in run_checks(okta.settings()).results if result.name == "token:calculator.add")
    assert "rate limited by Okta, retry after" in token.seen and "X-Rate-Limit-Reset" in token.fix


def test_a_manager_without_a_token_waits_for_a_near_reset_once(okta):
    client = okta.clients["write_service"]
    manager = TokenManager.for_client_credentials(okta.token_endpoint, client, "calculator.add", mcp_servers="https://mcp.example.com/mcp")
    reset = limit_from_window_start(okta, 1, 2)
    token_request(okta)
    with __import__("concurrent.futures").futures.ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: manager.get_token(), range(16)))
    assert len(tokens) == 1 and time.time() >= reset and manager.token_requests == 1
    assert okta.rate_limit_report() == {f"token {client.client_id}": 1}


def test_a_rate_limited_step_up_says_so(okta, monkeypatch):
    from helpers import rate_limits
    from helpers.tokens import StepUpRefusedError

    monkeypatch.setattr(rate_limits, "MAX_WAIT", 0.0)
    client = okta.clients["write_service"]
    manager = TokenManager.for_client_credentials(
        okta.token_endpoint, client, "calculator.add", mcp_servers="https://mcp.example.com/mcp",
        allowed_scopes=("calculator.add", "calculator.subtract"))
    manager.get_token()
    limit_from_window_start(okta, 1, 5)
    token_request(okta)
    with pytest.raises(StepUpRefusedError, match="rate limited by Okta, retry after [1-5] s"):
        manager.step_up(["calculator.subtract"])
    assert okta.rate_limit_report() == {f"token {client.client_id}": 1}
