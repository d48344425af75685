"""Clients that keep working when things fail, and ask for more scope when a tool needs it.

Points of the client-security review (issue 11), each failing on the code before the fix:

4. (a) during a token-endpoint outage one request is made per attempt and its failure is
   shared by every caller that waited, with a pause before the next attempt; (b) a token that
   is still valid is served while its renewal fails, and the error comes only once it expires.
   Both for the service's ``TokenManager`` and the gateway's ``UserLogin``.
6. step-up authorization: a 403 ``insufficient_scope`` gets one step-up to the union of the
   scopes and one retry, for a user (a new sign-in) and for a service (a token with the union
   if its client may); a refusal is a clear error; never more than one step-up per call.
"""

from __future__ import annotations

import threading
import time

import httpx2
import pytest
from fastmcp import Client

from loopback import reserve_port
from helpers.calculator import start_calculator
from helpers.local_okta import default_tenant, start_local_okta
from helpers.tokens import StepUpRefusedError, TokenEndpointUnreachable, TokenManager, TokenResponse
from helpers.user_login import USER_SCOPES, LoginError, StepUpError, UserLogin, login_error_in, sign_in_with_password
from helpers.user_login import gateway as gateway_module
from helpers.verification import Protection

SCOPES = ("calculator.add", "calculator.subtract")
MCP = "https://calculator.example.com/mcp"  # the MCP server a manager is bound to (mcp_servers=)
TOKEN_URL = "https://okta.example.com/oauth2/default/v1/token"


#: The redirect URI's port, held for the whole run (a listener binds it once per sign-in):
#: no other process can take it between two sign-ins (see tests/loopback.py).
REDIRECT_PORT = reserve_port()
REDIRECT = f"http://127.0.0.1:{REDIRECT_PORT.port}/callback"
LISTENER = "test-resilience-callback"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def from_threads(function, threads: int) -> list:
    """Run ``function`` in ``threads`` threads released together; each one's result or exception."""
    barrier, outcomes, lock = threading.Barrier(threads), [], threading.Lock()

    def work():
        barrier.wait()
        try:
            outcome = function()
        except Exception as exc:  # the outcome under test
            outcome = exc
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(outcomes) == threads
    return outcomes


# -- 4. the token manager during an outage ---------------------------------------------------------


def test_4a_an_outage_costs_one_request_shared_by_every_waiting_caller():
    clock, calls = FakeClock(), []

    def fetch(scopes):
        calls.append(clock.now)
        time.sleep(0.2)  # a slow failure, while every other caller waits for it
        raise TokenEndpointUnreachable(TOKEN_URL, "no answer in time")

    manager = TokenManager(fetch, SCOPES, clock=clock, mcp_servers=MCP)
    started = time.monotonic()
    outcomes = from_threads(manager.get_token, threads=50)
    elapsed = time.monotonic() - started
    assert len(calls) == 1, "one request for 50 waiting callers"
    assert all(isinstance(o, TokenEndpointUnreachable) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 1  # the same failure, shared
    assert elapsed < 5, f"50 callers waited {elapsed:.1f} s for one failed request"

    with pytest.raises(TokenEndpointUnreachable):  # during the pause: no request at all
        manager.get_token()
    assert len(calls) == 1
    clock.now += 1.0  # the first pause (1 s) is over: one more attempt
    with pytest.raises(TokenEndpointUnreachable):
        manager.get_token()
    clock.now += 1.0  # the pause doubled to 2 s: not yet
    with pytest.raises(TokenEndpointUnreachable):
        manager.get_token()
    assert len(calls) == 2


def test_4a_after_the_outage_a_success_ends_the_pause():
    clock, answers = FakeClock(), iter([TokenEndpointUnreachable(TOKEN_URL, "down"), None, None])

    def fetch(scopes):
        error = next(answers)
        if error is not None:
            raise error
        return TokenResponse("token", "Bearer", 3600, " ".join(scopes))

    manager = TokenManager(fetch, SCOPES, clock=clock, mcp_servers=MCP)
    with pytest.raises(TokenEndpointUnreachable):
        manager.get_token()
    clock.now += 1.0
    assert manager.get_token() == "token" and manager.renew() == "token"  # no pause after a success
    assert manager.token_requests == 2


def test_4b_a_valid_token_is_served_while_its_renewal_fails():
    clock, calls = FakeClock(), []

    def fetch(scopes):
        calls.append(clock.now)
        if len(calls) == 1:
            return TokenResponse("token-1", "Bearer", 100, " ".join(scopes))  # renewal due at 50 s
        raise TokenEndpointUnreachable(TOKEN_URL, "connection failed")

    manager = TokenManager(fetch, SCOPES, clock=clock, mcp_servers=MCP)
    start = clock.now
    assert manager.get_token() == "token-1"
    clock.now = start + 60  # renewal due, the endpoint is down, the token has 40 s left
    assert manager.get_token() == "token-1"
    assert from_threads(manager.get_token, threads=8) == ["token-1"] * 8
    assert len(calls) == 2  # one failed renewal; the pause keeps the others from asking
    clock.now = start + 100  # expired: now the failure is the caller's
    with pytest.raises(TokenEndpointUnreachable):
        manager.get_token()


def test_4b_a_rejected_token_is_never_served_again():
    clock = FakeClock()
    fetches = iter([TokenResponse("token-1", "Bearer", 3600, "")])

    def fetch(scopes):
        try:
            return next(fetches)
        except StopIteration:
            raise TokenEndpointUnreachable(TOKEN_URL, "down") from None

    manager = TokenManager(fetch, SCOPES, clock=clock, mcp_servers=MCP)
    assert manager.get_token() == "token-1"
    with pytest.raises(TokenEndpointUnreachable):  # the server said 401 to token-1: no fallback to it
        manager.renew(rejected="token-1")


# -- 4. the gateway during an outage ---------------------------------------------------------------


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant(redirect_uris=(REDIRECT,))
    tenant.app(label="web").consent_required = True  # so that a user can refuse a step-up:
    subtract = tenant.server("default").scope("calculator.subtract")  # Okta asks only for scopes that need
    subtract.consent_required, subtract.block_services = True, False   # consent, once; services may still ask
    server = start_local_okta(tenant=tenant, name="test-resilience-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-resilience-calculator")
    yield server
    server.stop()


@pytest.fixture
def ada(okta):
    return next(user for user in okta.users if user.login == "ada@example.com")


def test_4_gateway_refreshes_once_during_an_outage_and_keeps_the_valid_token(okta, calculator, monkeypatch):
    clock, calls = FakeClock(), []
    login = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT, clock=clock)
    login.store_tokens({"access_token": "user-token", "refresh_token": "r1", "expires_in": 100, "scope": "openid"})

    def refresh_tokens(**request):
        calls.append(clock.now)
        time.sleep(0.2)
        raise LoginError("Could not refresh the token at the token endpoint (ConnectionError).")

    monkeypatch.setattr(gateway_module, "refresh_tokens", refresh_tokens)
    clock.now += 75  # 25 s left: inside the 30 s refresh margin
    assert from_threads(login.access_token, threads=8) == ["user-token"] * 8
    assert len(calls) == 1
    clock.now += 25  # expired
    with pytest.raises(LoginError, match="Could not refresh"):
        login.access_token()
    assert login.tokens is not None  # a network failure does not end the session


# -- 6. step-up ------------------------------------------------------------------------------------


async def signed_in_with(login, user, scopes=None):
    pending = login.begin(scopes=scopes, listener_name=LISTENER, timeout=10)
    sign_in_with_password(pending, user.login, user.password)
    return await pending.wait()


def gateway_for(okta, calculator, scopes=(*USER_SCOPES, "calculator.add")):
    return UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT, scopes=scopes)


@pytest.mark.anyio
async def test_6_a_user_steps_up_once_then_the_call_is_retried(okta, calculator, ada):
    login = gateway_for(okta, calculator)
    await signed_in_with(login, ada)
    assert "calculator.subtract" not in login.tokens.scopes
    asked = []

    def sign_in(pending):  # what a real gateway does: show the user pending.url
        asked.append(pending.scopes)
        sign_in_with_password(pending, ada.login, ada.password)

    async with Client(calculator.mcp_url, auth=login.auth(sign_in=sign_in)) as client:
        assert (await client.call_tool("subtract", {"a": 5, "b": 3})).data == 2
        assert (await client.call_tool("add", {"a": 1, "b": 2})).data == 3  # kept: the union
        assert (await client.call_tool("subtract", {"a": 1, "b": 1})).data == 0
    assert login.stats["step-ups"] == 1 and len(asked) == 1
    assert set(asked[0]) == {*USER_SCOPES, "calculator.add", "calculator.subtract"}
    assert {"calculator.add", "calculator.subtract"} <= set(login.tokens.scopes)


@pytest.mark.anyio
async def test_6_without_a_way_to_ask_the_user_the_error_says_what_to_do(okta, calculator, ada):
    login = gateway_for(okta, calculator)
    await signed_in_with(login, ada)
    with pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=login.auth()) as client:
            await client.call_tool("subtract", {"a": 5, "b": 3})
    error = login_error_in(caught.value)
    assert isinstance(error, StepUpError) and error.needed == ("calculator.subtract",)
    assert "Pass sign_in= to login.auth()" in str(error)


@pytest.mark.anyio
async def test_6_a_refused_step_up_is_a_clear_error(okta, calculator, ada):
    okta.forget_consents()  # an earlier test's step-up gave consent to calculator.subtract
    login = gateway_for(okta, calculator)
    await signed_in_with(login, ada)

    def refuse(pending):
        sign_in_with_password(pending, ada.login, ada.password, allow=False)  # "Don't Allow"

    with pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=login.auth(sign_in=refuse)) as client:
            await client.call_tool("subtract", {"a": 5, "b": 3})
    error = login_error_in(caught.value)
    assert isinstance(error, StepUpError)
    assert "needs the scope calculator.subtract; asking the user for it failed" in str(error)
    assert "access_denied" in str(error)


@pytest.mark.anyio
async def test_6_never_more_than_one_step_up_per_call(okta, calculator, ada):
    """A server that keeps answering 403 for a scope the user now holds gets its 403 back."""
    login = gateway_for(okta, calculator)
    await signed_in_with(login, ada)
    seen = []

    def always_forbidden(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(403, headers={
            "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="calculator.subtract"'})

    def sign_in(pending):
        sign_in_with_password(pending, ada.login, ada.password)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(always_forbidden), auth=login.auth(sign_in=sign_in)) as http:
        response = await http.post(calculator.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call"})
        assert response.status_code == 403 and len(seen) == 2 and seen[0] != seen[1]
        response = await http.post(calculator.mcp_url, json={})  # the scope is held now: no step-up
        assert response.status_code == 403 and len(seen) == 3
    assert login.stats["step-ups"] == 1


@pytest.mark.anyio
async def test_6_a_service_steps_up_to_the_union_when_its_client_may(okta, calculator):
    manager = TokenManager.for_client_credentials(okta.token_endpoint, okta.clients["write_service"], ["calculator.add"],
                                                   mcp_servers=calculator.mcp_url, allowed_scopes=SCOPES)
    async with Client(calculator.mcp_url, auth=manager) as client:
        assert (await client.call_tool("add", {"a": 1, "b": 2})).data == 3
        assert (await client.call_tool("subtract", {"a": 5, "b": 3})).data == 2
        assert (await client.call_tool("add", {"a": 2, "b": 2})).data == 4
    assert manager.scopes == SCOPES and manager.granted_scopes() == set(SCOPES)
    assert manager.token_requests == 2  # the first token, and one step-up


@pytest.mark.anyio
async def test_6_a_service_whose_client_may_not_gets_a_clear_error(okta, calculator):
    manager = TokenManager.for_client_credentials(okta.token_endpoint, okta.clients["read_service"], ["calculator.add"],
                                                   mcp_servers=calculator.mcp_url, allowed_scopes=SCOPES)
    with pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=manager) as client:
            await client.call_tool("subtract", {"a": 5, "b": 3})
    chain, error = [caught.value], None
    while chain:
        current = chain.pop()
        if isinstance(current, StepUpRefusedError):
            error = current
            break
        chain += [e for e in (current.__cause__, current.__context__) if e] + list(getattr(current, "exceptions", ()))
    assert error is not None and error.needed == ("calculator.subtract",)
    assert "asked for calculator.add calculator.subtract" in str(error) and "access_denied" in str(error)
    assert manager.scopes == ("calculator.add",) and manager.token_requests == 1


def test_6_step_up_can_be_turned_off():
    manager = TokenManager(lambda scopes: TokenResponse("t", "Bearer", 3600, "calculator.add"), ["calculator.add"], step_up=False, mcp_servers=MCP)
    manager.get_token()
    response = httpx2.Response(403, headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="calculator.subtract"'})
    assert manager.scopes_to_step_up(response) is None
    manager.step_up_enabled = True
    assert manager.scopes_to_step_up(response) == ("calculator.subtract",)
