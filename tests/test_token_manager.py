"""The token manager: one token request for many callers, renewal, and retry after a 401."""

import asyncio
import threading
import time

import httpx2
import jwt
import pytest
from fastmcp import Client

from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.tokens import (
    StepUpRefusedError, TokenManager, TokenRejectedError, TokenRequestError, TokenResponse,
    fetch_token_with_requests, fetch_token_with_requests_oauthlib,
)
from helpers.verification import Protection

SCOPES = ["calculator.add", "calculator.subtract"]
MCP = "https://calculator.example.com/mcp"  # the MCP server a manager is bound to (mcp_servers=)
SSE = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-manager-okta")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_counts(okta):
    okta.set_access_token_lifetime(None)
    okta.request_counts.clear()
    yield
    okta.set_access_token_lifetime(None)


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-manager-calculator")
    yield server
    server.stop()


def manager_for(okta, **options):
    options.setdefault("mcp_servers", MCP)
    return TokenManager.for_client_credentials(okta.token_endpoint, okta.clients["write_service"], SCOPES, **options)


def call_from_threads(function, calls=1000, threads=8):
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def work():
        barrier.wait()
        try:
            results.extend(function() for _ in range(calls // threads))
        except Exception as exc:  # pragma: no cover - reported by the assertion
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return results


def test_many_threads_one_token_request_then_one_renewal_after_expiry(okta):
    okta.set_access_token_lifetime(2)
    clock = FakeClock()  # the manager's clock moves only when the test moves it: no race with the load
    manager = fetching_manager(okta, renew_before=0.5, clock=clock)

    first = call_from_threads(manager.get_token)
    assert len(first) == 1000 and len(set(first)) == 1
    assert okta.request_counts["token"] == 1 and manager.token_requests == 1
    assert manager.seconds_until_renewal() == 1.5  # expires_in 2, renewed 0.5 s before

    start = clock.now
    clock.now = start + 1.49
    assert set(call_from_threads(manager.get_token, calls=80)) == {first[0]}
    clock.now = start + 1.5
    second = call_from_threads(manager.get_token)
    assert len(set(second)) == 1 and second[0] != first[0]
    assert okta.request_counts["token"] == 2 and manager.token_requests == 2


class HeldFetch:
    """A token fetch that waits, once started, until the test lets it finish, so that every
    caller provably arrives while it is in flight. It gives up after 5 s: a caller that
    blocks the event loop keeps the test from ever letting it finish, and fails the test."""

    def __init__(self, okta):
        self.okta, self.started, self.release = okta, threading.Event(), threading.Event()

    def __call__(self, scopes):
        self.started.set()
        if not self.release.wait(5):
            self.release.set()  # callers after this one fail at once instead of 5 s each
            raise AssertionError("the fetch was never let go: the event loop was blocked")
        return fetch_token_with_requests_oauthlib(self.okta.token_endpoint, self.okta.clients["write_service"], scopes)

    async def started_async(self):
        """Wait (on the event loop, without blocking it) until the fetch is in flight."""
        deadline = time.monotonic() + 5
        while not self.started.is_set():
            assert time.monotonic() < deadline, "no fetch started"
            await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_aget_token_keeps_the_event_loop_running_while_it_fetches(okta):
    fetch = HeldFetch(okta)
    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP)
    ticks = 0

    async def ticker():  # runs only if aget_token left the loop free
        nonlocal ticks
        await fetch.started_async()
        while ticks < 5:
            ticks += 1
            await asyncio.sleep(0.01)
        fetch.release.set()

    token, _ = await asyncio.gather(manager.aget_token(), ticker())
    assert ticks == 5 and token == manager.current.access_token
    assert okta.request_counts["token"] == 1


@pytest.mark.anyio
async def test_concurrent_async_callers_make_one_token_request(okta):
    fetch = HeldFetch(okta)
    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP)
    callers = [asyncio.ensure_future(manager.aget_token()) for _ in range(50)]
    await fetch.started_async()
    await asyncio.sleep(0.2)  # every caller has asked by now; the one fetch is still held
    assert not any(caller.done() for caller in callers)
    fetch.release.set()
    tokens = await asyncio.gather(*callers)
    assert len(set(tokens)) == 1
    assert okta.request_counts["token"] == 1
    assert await manager.aget_token() == tokens[0] and okta.request_counts["token"] == 1


@pytest.mark.anyio
async def test_threads_and_async_callers_together_make_one_request(okta):
    fetch = HeldFetch(okta)
    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP)
    thread_results = []
    thread = threading.Thread(target=lambda: thread_results.extend(manager.get_token() for _ in range(200)))
    thread.start()
    await fetch.started_async()  # the thread's fetch is in flight: the async callers must wait for it
    callers = [asyncio.ensure_future(manager.aget_token()) for _ in range(50)]
    await asyncio.sleep(0.2)
    fetch.release.set()
    tokens = await asyncio.gather(*callers)
    thread.join(10)
    assert set(tokens) == set(thread_results) and len(set(tokens)) == 1 and len(thread_results) == 200
    assert okta.request_counts["token"] == 1


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fake_fetcher(expires_in=3600):
    issued = []

    def fetch():
        issued.append(f"token-{len(issued) + 1}")
        return TokenResponse(issued[-1], "Bearer", expires_in, "calculator.add")

    return fetch, issued


@pytest.mark.parametrize("expires_in, renew_before, renews_at", [
    (3600, 60, 3540),  # the margin before expiry
    (3600, 0, 3600),  # no margin: exactly at expiry
    (10, 60, 5),  # never more than half the lifetime early
])
def test_renews_the_configured_margin_before_expiry(expires_in, renew_before, renews_at):
    fetch, issued = fake_fetcher(expires_in)
    clock = FakeClock()
    manager = TokenManager(lambda scopes: fetch(), renew_before=renew_before, clock=clock, mcp_servers=MCP)
    start = clock.now
    assert manager.get_token() == "token-1"
    clock.now = start + renews_at - 0.01
    assert manager.get_token() == "token-1"
    clock.now = start + renews_at
    assert manager.get_token() == "token-2"
    assert issued == ["token-1", "token-2"]


def test_renew_after_rejection_happens_once_for_many_callers():
    fetch, issued = fake_fetcher()
    manager = TokenManager(lambda scopes: fetch(), clock=FakeClock(), mcp_servers=MCP)
    rejected = manager.get_token()
    results = call_from_threads(lambda: manager.renew(rejected=rejected), calls=80)
    assert set(results) == {"token-2"} and issued == ["token-1", "token-2"]
    assert manager.renew() == "token-3"  # without rejected: renew now


def test_a_failed_fetch_raises_and_caches_nothing(okta):
    client = okta.clients["write_service"]
    manager = TokenManager.for_client_credentials(okta.token_endpoint, client, ["calculator.multiply"], mcp_servers=MCP)
    for _ in range(2):  # the second call, within the pause after a failure, gets the same error
        with pytest.raises(TokenRequestError, match="invalid_scope"):
            manager.get_token()
    assert manager.current is None and manager.token_requests == 0
    assert okta.request_counts["token"] == 1


@pytest.mark.parametrize("way", ["curl", "requests", "requests_oauthlib"])
def test_each_way_can_feed_the_manager(okta, way):
    manager = manager_for(okta, way=way)
    assert manager.get_token() == manager.get_token()
    assert manager.current.scopes == tuple(SCOPES) and okta.request_counts["token"] == 1


def test_unknown_way_and_negative_margin_are_refused(okta):
    with pytest.raises(ValueError, match="choose one of curl, requests, requests_oauthlib"):
        manager_for(okta, way="wget")
    with pytest.raises(ValueError, match=r"^renew_before is a number of seconds >= 0\.$"):
        TokenManager(lambda scopes: None, renew_before=-1, mcp_servers=MCP)


def test_repr_masks_the_token(okta):
    manager = manager_for(okta)
    token = manager.get_token()
    assert token not in repr(manager) and token not in repr(manager.current)
    assert f"<{len(token)} chars>" in repr(manager) and "token_requests=1" in repr(manager)


@pytest.mark.anyio
async def test_fastmcp_client_calls_tools_with_one_token(okta, calculator):
    manager = manager_for(okta, mcp_servers=calculator.mcp_url)
    async with Client(calculator.mcp_url, auth=manager) as client:
        for i in range(5):
            assert (await client.call_tool("add", {"a": i, "b": 1})).data == i + 1
        assert (await client.call_tool("subtract", {"a": 5, "b": 3})).data == 2
        me = (await client.call_tool("get_me", {})).data
    assert me["client_id"] == okta.clients["write_service"].client_id
    assert okta.request_counts["token"] == 1


def just_after_a_whole_second():
    """Sleep until just after a whole second. The local server's ``exp`` is the whole second of
    issue plus the lifetime, so a token requested right after this lives at least ``lifetime -
    0.05`` s from here, wherever the second boundaries fall during the test."""
    time.sleep(1.05 - time.time() % 1)


@pytest.mark.anyio
async def test_a_401_renews_once_and_retries(okta, calculator):
    okta.set_access_token_lifetime(3)
    manager = frozen_clock_manager(okta, calculator.mcp_url)  # it believes the token is fresh; the server does not
    just_after_a_whole_second()  # the first token lives at least 2.95 s: the first call is in time
    statuses = []

    async def record(response):
        statuses.append(response.status_code)

    factory = lambda **kwargs: httpx2.AsyncClient(event_hooks={"response": [record]}, **kwargs)
    async with Client(_transport(calculator.mcp_url, manager, factory)) as client:
        assert (await client.call_tool("add", {"a": 1, "b": 1})).data == 2
        first = manager.current.access_token
        expires = jwt.decode(first, options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, expires - time.time()) + 0.3)  # past its exp: the server now refuses it
        statuses.clear()
        assert (await client.call_tool("add", {"a": 2, "b": 2})).data == 4
    assert statuses[:2] == [401, 200]
    assert manager.current.access_token != first
    assert okta.request_counts["token"] == 2 and manager.token_requests == 2


def exception_chain(exc):
    """exc and every exception it was raised from, in context of, or grouped with."""
    seen, todo = [], [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, *getattr(current, "exceptions", ())]
    return seen


def fetching_manager(okta, **options):
    """A manager fetching from the local server, built with ``options`` (a ``clock`` of the test's)."""
    client, url = okta.clients["write_service"], okta.token_endpoint
    options.setdefault("mcp_servers", MCP)
    return TokenManager(lambda scopes: fetch_token_with_requests_oauthlib(url, client, scopes), SCOPES, **options)


def frozen_clock_manager(okta, mcp_url):
    return fetching_manager(okta, clock=FakeClock(), mcp_servers=mcp_url)


def _transport(url, auth, factory):
    from fastmcp.client.transports import StreamableHttpTransport

    return StreamableHttpTransport(url, auth=auth, httpx_client_factory=factory)


@pytest.mark.anyio
async def test_a_second_401_is_a_clear_error(okta):
    wrong_audience = Protection(issuer=okta.issuer, audience="api://another-api", jwks_uri=okta.jwks_uri)
    server = start_calculator(wrong_audience, name="test-manager-wrong-audience")
    try:
        manager = manager_for(okta, mcp_servers=server.mcp_url)
        with pytest.raises(Exception) as info:
            async with Client(server.mcp_url, auth=manager) as client:
                await client.list_tools()
        # at connect time fastmcp wraps it: "Client failed to connect: <our message>"
        rejected = [e for e in exception_chain(info.value) if isinstance(e, TokenRejectedError)]
        assert rejected and rejected[0].url == server.mcp_url
        assert rejected[0].www_authenticate.startswith("Bearer ") and 'error="invalid_token"' in rejected[0].www_authenticate
        assert "rejected a freshly fetched access token too (HTTP 401" in str(info.value)
        assert 'error="invalid_token"' in str(info.value)
        assert okta.request_counts["token"] == 2  # the first token, and one renewal
    finally:
        server.stop()


@pytest.mark.anyio
async def test_a_second_401_during_a_session_raises_token_rejected_error(okta, calculator):
    client_credentials, tamper = okta.clients["write_service"], {"on": False}

    def fetch(scopes):  # after the switch, every new token is damaged (its signature no longer matches)
        token = fetch_token_with_requests(okta.token_endpoint, client_credentials, scopes)
        if tamper["on"]:
            return TokenResponse(token.access_token[:-6] + "AAAAAA", "Bearer", 3600, token.scope)
        return token

    manager = TokenManager(fetch, SCOPES, mcp_servers=calculator.mcp_url)
    with pytest.raises(Exception) as info:
        async with Client(calculator.mcp_url, auth=manager) as client:
            assert (await client.call_tool("add", {"a": 1, "b": 1})).data == 2
            tamper["on"] = True
            manager.renew()
            await client.call_tool("add", {"a": 1, "b": 1})
    # the call may fail first with "Connection closed"; leaving the client raises our error
    rejected = [e for e in exception_chain(info.value) if isinstance(e, TokenRejectedError)]
    assert rejected and 'error="invalid_token"' in str(rejected[0])
    assert okta.request_counts["token"] == 3  # first, forced renewal, renewal after the 401


def test_sync_httpx_client_retries_after_a_401_too(okta, calculator):
    okta.set_access_token_lifetime(3)
    manager = frozen_clock_manager(okta, calculator.mcp_url)
    just_after_a_whole_second()  # the first token lives at least 2.95 s: the first call is in time
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with httpx2.Client(auth=manager, headers=SSE) as http:
        assert http.post(calculator.mcp_url, json=body).status_code == 200
        expires = jwt.decode(manager.current.access_token, options={"verify_signature": False})["exp"]
        time.sleep(max(0.0, expires - time.time()) + 0.3)
        response = http.post(calculator.mcp_url, json=body)
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]
    assert "add" in response.text and okta.request_counts["token"] == 2


# --- step-up and the async wrappers, on the manager's own clock (gaps mutation testing showed) ----

class ScopedFetch:
    """A fake token endpoint: grants what is asked, except the scopes in ``refused``; counts requests."""

    def __init__(self, refused=(), error=None, expires_in=3600):
        self.refused, self.error, self.expires_in, self.requests = set(refused), error, expires_in, []

    def __call__(self, scopes):
        self.requests.append(tuple(scopes))
        if self.error is not None:
            raise self.error
        granted = [scope for scope in scopes if scope not in self.refused]
        return TokenResponse(f"token-{len(self.requests)}", "Bearer", self.expires_in, " ".join(granted))


def test_step_up_is_not_needed_when_the_token_already_has_the_scope():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, ["calculator.add"], clock=FakeClock(), mcp_servers=MCP, allowed_scopes=SCOPES)
    token = manager.get_token()
    assert manager.step_up(["calculator.add"]) == token and len(fetch.requests) == 1


def test_step_up_asks_for_the_union_and_keeps_it():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, ["calculator.add"], clock=FakeClock(), mcp_servers=MCP, allowed_scopes=SCOPES)
    manager.get_token()
    stepped = manager.step_up(["calculator.subtract"])
    assert fetch.requests[-1] == ("calculator.add", "calculator.subtract") and stepped == "token-2"
    assert manager.scopes == ("calculator.add", "calculator.subtract")
    assert manager.granted_scopes() == {"calculator.add", "calculator.subtract"}
    assert manager.step_up(["calculator.subtract"]) == stepped and len(fetch.requests) == 2  # now cached


def test_step_up_fetches_again_once_the_stepped_up_token_expired():
    clock, fetch = FakeClock(), ScopedFetch(expires_in=100)
    manager = TokenManager(fetch, ["calculator.add", "calculator.subtract"], clock=clock, mcp_servers=MCP)
    manager.get_token()
    clock.now += 100  # exactly its expiry: no longer usable
    assert manager.step_up(["calculator.subtract"]) == "token-2"


def test_a_step_up_the_server_grants_only_partly_is_refused_with_what_it_got():
    fetch = ScopedFetch(refused={"calculator.subtract"})
    manager = TokenManager(fetch, ["calculator.add"], clock=FakeClock(), mcp_servers=MCP, allowed_scopes=SCOPES)
    manager.get_token()
    with pytest.raises(StepUpRefusedError, match="asked for calculator.add calculator.subtract and was granted only calculator.add") as info:
        manager.step_up(["calculator.subtract"])
    assert info.value.needed == ("calculator.subtract",) and info.value.requested == ("calculator.add", "calculator.subtract")
    assert manager.scopes == ("calculator.add",)  # not grown by a refused step-up


@pytest.mark.parametrize("description, shown", [
    ("One or more scopes are not configured for the authorization server resource.",
     "(HTTP 400 invalid_scope: One or more scopes are not configured for the authorization server resource.)"),
    (None, "(HTTP 400 invalid_scope)"),
], ids=["with a description", "without"])
def test_a_step_up_the_server_refuses_says_why_and_is_shared_during_the_pause(description, shown):
    clock = FakeClock()
    fetch = ScopedFetch()
    manager = TokenManager(fetch, ["calculator.add"], clock=clock, mcp_servers=MCP, allowed_scopes=SCOPES)
    manager.get_token()
    fetch.error = TokenRequestError(400, "invalid_scope", description, "https://example.okta.com/oauth2/default/v1/token")
    with pytest.raises(StepUpRefusedError) as first:
        manager.step_up(["calculator.subtract"])
    assert f"the authorization server refused it {shown}" in str(first.value)
    with pytest.raises(StepUpRefusedError) as second:  # within the pause: the same refusal, no request
        manager.step_up(["calculator.subtract"])
    assert second.value is first.value and len(fetch.requests) == 2
    clock.now += 1.0  # the pause is over: one more attempt
    fetch.error = None
    assert manager.step_up(["calculator.subtract"]) == "token-3"


@pytest.mark.anyio
async def test_the_async_wrappers_renew_and_step_up():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, ["calculator.add"], clock=FakeClock(), mcp_servers=MCP, allowed_scopes=SCOPES)
    first = await manager.aget_token()
    assert await manager.arenew(rejected=first) == "token-2"
    assert await manager.arenew(rejected=first) == "token-2"  # already renewed: not again
    assert await manager.astep_up(iter(["calculator.subtract"])) == "token-3"


def test_nothing_cached_yet():
    manager = TokenManager(ScopedFetch(), ["calculator.add"], clock=FakeClock(), mcp_servers=MCP)
    assert manager.seconds_until_renewal() is None and manager.current is None
    assert manager.granted_scopes() == frozenset() and "token_requests=0" in repr(manager)
    assert manager.renew() == "token-1"  # renew with nothing cached: just fetch


def test_scopes_may_be_one_string_as_in_a_token_request():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, "calculator.add calculator.subtract", clock=FakeClock(), mcp_servers=MCP)
    assert manager.scopes == ("calculator.add", "calculator.subtract")
    manager.get_token()
    assert fetch.requests == [("calculator.add", "calculator.subtract")]


def test_the_defaults_renew_a_minute_early_and_step_up():
    clock, fetch = FakeClock(), ScopedFetch()
    manager = TokenManager(fetch, ["calculator.add"], clock=clock, mcp_servers=MCP, allowed_scopes=SCOPES)
    assert manager.step_up_enabled is True and manager.renew_before == 60.0
    assert manager.get_token() == "token-1" and manager.seconds_until_renewal() == 3540
    assert TokenManager(fetch, step_up=False, mcp_servers=MCP).step_up_enabled is False


def test_a_token_without_expires_in_is_used_until_it_is_rejected():
    clock = FakeClock()
    manager = TokenManager(lambda scopes: TokenResponse("forever", "Bearer", None, "calculator.add"), clock=clock, mcp_servers=MCP)
    assert manager.get_token() == "forever" and manager.seconds_until_renewal() == float("inf")
    clock.now += 10 ** 9
    assert manager.get_token() == "forever" and manager.token_requests == 1


def test_a_step_up_from_no_scopes_is_granted_exactly_what_it_asked():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, (), clock=FakeClock(), mcp_servers=MCP, allowed_scopes=["calculator.add"])
    assert manager.step_up(["calculator.add"]) == "token-1"  # granted == needed: not a refusal
    assert manager.scopes == ("calculator.add",)


@pytest.mark.parametrize("granted, shown", [
    ("calculator.add calculator.read", "was granted only calculator.add calculator.read"),
    (" ", "was granted only nothing"),  # a scope field that names no scope at all
], ids=["two scopes", "none"])
def test_a_refused_step_up_lists_what_was_granted(granted, shown):
    manager = TokenManager(lambda scopes: TokenResponse("t", "Bearer", 3600, granted),
                           ["calculator.add", "calculator.read"], clock=FakeClock(), mcp_servers=MCP,
                           allowed_scopes=["calculator.add", "calculator.read", "calculator.subtract"])
    with pytest.raises(StepUpRefusedError, match=shown):
        manager.step_up(["calculator.subtract"])
