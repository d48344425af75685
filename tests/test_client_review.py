"""What a security review of the hardened clients found, each reproduced and then fixed.

The review (issue 11's follow-up) broke the first version of the fixes in these ways; each
test failed on that version:

- the legacy discovery path let the MCP server choose the token endpoint (it only had to
  repeat the pinned issuer's name, which is public);
- a backslash in a URL (``http://192.0.2.2\\@127.0.0.1/``) looked like loopback to Python and
  was another host to urllib3;
- step-up attempts were not shared: 20 callers made 20 failing token requests, 5 tool calls
  showed the user 5 sign-ins;
- the two ``OAUTHLIB_INSECURE_TRANSPORT`` switches could leave the variable set (since the
  local authorization server is HTTPS, no switch exists: see ``test_local_https.py``);
- the challenge's ``resource_metadata`` made the client fetch any URL (and follow redirects);
- ``--public-url http://...`` was accepted for a server bound to every interface;
- token requests followed redirects, re-sending codes and refresh tokens;
- a 200 answer that is not JSON was quoted in the error (it may hold a token).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.calculator.serve import public_base_url
from helpers.discovery import DiscoveryError, discover
from helpers.local_okta import start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.settings import ClientCredentials, ConfigurationError
from helpers.tokens import (
    StepUpRefusedError, TokenEndpointUnreachable, TokenError, TokenManager, TokenRequestError, TokenResponse,
    fetch_token_with_requests, fetch_token_with_requests_oauthlib,
)
from helpers.urls import is_secure_or_loopback
from helpers.user_login import LoginError, StepUpError, UserLogin
from helpers.user_login.token_requests import refresh_tokens

SCOPES = ("calculator.add",)
MCP = "https://calculator.example.com/mcp"  # the MCP server a manager is bound to (mcp_servers=)


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-review-okta")
    yield server
    server.stop()


class Recorder:
    """A server on 127.0.0.1 whose routes are given per test; it counts every request."""

    def __init__(self, name: str, routes) -> None:
        self.seen: Counter[str] = Counter()
        self.bodies: list[str] = []

        async def record(request: Request) -> Response:
            self.seen[f"{request.method} {request.url.path}"] += 1
            self.bodies.append((await request.body()).decode("latin-1"))
            handler = routes(self.url).get(request.url.path)
            return handler(request) if handler else Response(status_code=404)

        self.server = background.start(Starlette(routes=[Route("/{p:path}", record, methods=["GET", "POST"])]), name=name, tls=True)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()


# -- the legacy path cannot choose endpoints ------------------------------------------------------


def test_legacy_metadata_that_repeats_the_pinned_issuer_cannot_choose_the_token_endpoint(okta):
    attacker = Recorder("test-review-attacker", lambda url: {
        "/token": lambda r: JSONResponse({"access_token": "stolen", "token_type": "Bearer"}),
    })
    impostor = Recorder("test-review-legacy", lambda url: {
        "/mcp": lambda r: Response(status_code=401),
        "/.well-known/oauth-authorization-server": lambda r: JSONResponse({
            "issuer": okta.issuer, "token_endpoint": attacker.url + "/token",
            "authorization_endpoint": attacker.url + "/authorize", "code_challenge_methods_supported": ["S256"],
        }),
    })
    try:
        found = discover(impostor.url + "/mcp", issuer=okta.issuer)
        assert found.token_endpoint == okta.token_endpoint  # from the issuer's own metadata
        login = UserLogin(impostor.url + "/mcp", okta.clients["web"], issuer=okta.issuer, discovered=found)
        assert login.authorization_endpoint == okta.authorization_endpoint
        fetch_token_with_requests(found.token_endpoint, okta.clients["write_service"], SCOPES)
        assert sum(attacker.seen.values()) == 0
    finally:
        attacker.stop()
        impostor.stop()


def test_legacy_redirect_to_another_document_is_not_followed(okta):
    impostor = Recorder("test-review-legacy-redirect", lambda url: {
        "/.well-known/oauth-authorization-server": lambda r: RedirectResponse(url + "/evil/metadata"),
        "/evil/metadata": lambda r: JSONResponse({"issuer": okta.issuer, "token_endpoint": url + "/token"}),
    })
    try:
        with pytest.raises(DiscoveryError, match="points to the authorization server"):
            discover(impostor.url + "/mcp", issuer=okta.issuer)
        assert impostor.seen["GET /evil/metadata"] == 0
    finally:
        impostor.stop()


def test_endpoints_off_the_issuers_host_are_refused():
    evil = Recorder("test-review-offhost", lambda url: {
        "/.well-known/oauth-protected-resource/mcp": lambda r: JSONResponse(
            {"resource": url + "/mcp", "authorization_servers": [url + "/oauth2/x"]}),
        "/oauth2/x/.well-known/oauth-authorization-server": lambda r: JSONResponse(
            {"issuer": url + "/oauth2/x", "token_endpoint": "https://collector.example.com/token"}),
    })
    try:
        with pytest.raises(DiscoveryError, match="not on the issuer's host"):
            discover(evil.url + "/mcp", issuer=evil.url + "/oauth2/x")
    finally:
        evil.stop()


# -- URLs every parser reads the same way -----------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://192.0.2.2:80\\@127.0.0.1/token", "http://user@127.0.0.1/token", "http://127.0.0.1 /token",
    "http://127.0.0.1\t/token", "https://okta.example.com\\@x/token",
])
def test_urls_that_parsers_read_differently_carry_no_secret(url, monkeypatch):
    assert not is_secure_or_loopback(url)
    sent = []
    monkeypatch.setattr(requests, "post", lambda *a, **k: sent.append(a))
    with pytest.raises(TokenError, match="Refusing"):
        fetch_token_with_requests(url, ClientCredentials("svc", "TOP-SECRET"), SCOPES)
    assert sent == []


# -- step-up failures are shared ---------------------------------------------------------------------


def test_concurrent_step_ups_make_one_request_when_the_endpoint_is_down():
    calls = []

    def fetch(scopes):
        calls.append(scopes)
        if len(calls) == 1:
            return TokenResponse("t1", "Bearer", 3600, "calculator.add")
        time.sleep(0.2)
        raise TokenEndpointUnreachable("https://okta.example.com/oauth2/default/v1/token", "down")

    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP, allowed_scopes=(*SCOPES, "calculator.subtract"))
    manager.get_token()
    barrier, outcomes = threading.Barrier(20), []

    def work():
        barrier.wait()
        try:
            outcomes.append(manager.step_up(["calculator.subtract"]))
        except TokenError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 2 and len(outcomes) == 20  # the first token, and one step-up attempt
    assert all(isinstance(o, TokenEndpointUnreachable) for o in outcomes)
    assert time.monotonic() - started < 5


def test_a_refused_step_up_is_shared_too():
    calls = []

    def fetch(scopes):
        calls.append(scopes)
        if len(calls) == 1:
            return TokenResponse("t1", "Bearer", 3600, "calculator.add")
        raise TokenRequestError(400, "access_denied", "Policy evaluation failed for this request.", "https://x/token")

    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP, allowed_scopes=(*SCOPES, "calculator.subtract"))
    manager.get_token()
    for _ in range(3):
        with pytest.raises(StepUpRefusedError):
            manager.step_up(["calculator.subtract"])
    assert len(calls) == 2


def mcp_server_naming(issuer: str, name: str):
    """A stand-in MCP server that only publishes metadata naming ``issuer`` (and its scopes)."""
    return background.start(Starlette(routes=[Route(
        "/.well-known/oauth-protected-resource/mcp",
        lambda r: JSONResponse({"resource": str(r.base_url) + "mcp", "authorization_servers": [issuer],
                                "scopes_supported": ["calculator.add", "calculator.subtract"]}),
    )]), name=name)


@pytest.mark.anyio
async def test_concurrent_tool_calls_show_the_user_one_sign_in(okta):
    calculator = mcp_server_naming(okta.issuer, "test-review-stepup-mcp")
    try:
        login = UserLogin(calculator.url + "/mcp", okta.clients["web"], issuer=okta.issuer)
        prompts = []

        def sign_in(pending):  # the user closes the tab: nothing ever comes back
            prompts.append(pending.url)
            pending.cancel("the user closed the tab")

        outcomes = await asyncio.gather(*(login.astep_up(("calculator.subtract",), sign_in) for _ in range(5)),
                                        return_exceptions=True)
        assert len(prompts) == 1
        assert all(isinstance(o, StepUpError) for o in outcomes)
    finally:
        calculator.stop()


# -- the challenge's metadata URL, and redirects ------------------------------------------------------


def test_a_challenge_cannot_send_the_client_to_another_origin(okta):
    elsewhere = Recorder("test-review-elsewhere", lambda url: {})
    impostor = Recorder("test-review-ssrf", lambda url: {
        "/mcp": lambda r: Response(status_code=401, headers={
            "WWW-Authenticate": f'Bearer resource_metadata="{elsewhere.url}/admin/delete?all=1"'}),
    })
    try:
        with pytest.raises(DiscoveryError):
            discover(impostor.url + "/mcp", issuer=okta.issuer)
        assert sum(elsewhere.seen.values()) == 0
    finally:
        elsewhere.stop()
        impostor.stop()


def test_token_requests_do_not_follow_redirects(okta):
    collector = Recorder("test-review-collector", lambda url: {
        "/token": lambda r: JSONResponse({"access_token": "x", "token_type": "Bearer"}),
    })
    redirecting = Recorder("test-review-redirecting", lambda url: {
        "/token": lambda r: RedirectResponse(collector.url + "/token", status_code=307),
    })
    try:
        with pytest.raises(TokenEndpointUnreachable, match="redirect"):
            fetch_token_with_requests_oauthlib(redirecting.url + "/token", okta.clients["write_service"], SCOPES)
        with pytest.raises(TokenRequestError, match="HTTP 307"):
            fetch_token_with_requests(redirecting.url + "/token", okta.clients["write_service"], SCOPES)
        with pytest.raises(LoginError):
            refresh_tokens(token_endpoint=redirecting.url + "/token", client=okta.clients["web"],
                           refresh_token="a-refresh-token", resource=None, timeout=5)
        assert sum(collector.seen.values()) == 0
    finally:
        collector.stop()
        redirecting.stop()


# -- odds and ends -----------------------------------------------------------------------------------


def test_a_public_bind_needs_an_https_public_url():
    with pytest.raises(ConfigurationError, match="not an https:// URL"):
        public_base_url("0.0.0.0", 8000, "http://127.0.0.1:8000")
    assert public_base_url("127.0.0.1", 8000, "http://localhost:8000") == "http://localhost:8000"


def test_a_success_answer_that_is_not_json_is_not_quoted():
    error = TokenRequestError.from_body(200, "access_token=eyJhbGciOiJSUzI1NiJ9.secret-part&token_type=bearer", "https://x/token")
    assert "eyJ" not in str(error) and "not JSON" in str(error)


@pytest.mark.anyio
async def test_a_pasted_address_that_is_not_the_redirect_uri_spends_nothing(okta):
    # Security review: an address with the right state but another host marked the sign-in used
    # before the address was checked, so a wrong paste (or a planted link) ended the sign-in.
    calculator = mcp_server_naming(okta.issuer, "test-review-paste-mcp")
    try:
        login = UserLogin(calculator.url + "/mcp", okta.clients["web"], issuer=okta.issuer,
                          redirect_uri="http://127.0.0.1:8765/callback")  # registered; nothing listens
        pending = login.begin(listen=False, timeout=30)
        state = dict(parse_qsl(urlsplit(pending.url).query))["state"]
        with pytest.raises(LoginError, match="not a redirect to this gateway's redirect URI"):
            pending.complete(f"https://attacker.example/callback?code=x&state={state}")
        user = okta.users[0]
        tokens = pending.complete(sign_in(pending.url, user.login, user.password))  # still waiting: it works
        assert tokens.access_token
    finally:
        calculator.stop()
