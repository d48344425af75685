"""The wire trace (helpers/wire_trace.py) against real traffic: what it draws, and what it never records.

One local Okta, one protected calculator and one gateway (a callback listener that exchanges the
code from its own server thread) per module. One trace records a whole day's traffic: client
credentials with HTTP Basic and with the secret in the body, an authorization-code + PKCE sign-in
on the sign-in page, a refresh, a revocation, tool calls with FastMCP's client (httpx2) and with
requests, a refused token, the MCP server fetching the JWKS, and PyJWT's PyJWKClient (urllib). The
trace is given no secrets: the whitelist alone must keep every secret, code, verifier, state,
password and token out of the drawing and out of every recorded field.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import threading
from urllib.parse import parse_qs, quote, quote_plus, urlencode, urlsplit

import httpx2
import jwt
import pytest
import requests
from fastmcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from loopback import reserve_port
from helpers import background, wire_hooks
from helpers.calculator import start_calculator
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.verification import Protection
from helpers.wire_masking import Masker, body_summary, masked_target
from helpers.wire_trace import WireTrace

JWT = re.compile(r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}")
USER_SCOPES = "openid offline_access calculator.add"
ACCEPT = {"Accept": "application/json, text/event-stream"}


class Gateway:
    """A web app's callback: checks ``state`` and exchanges the code (sync: in a worker thread)."""

    def __init__(self) -> None:
        self.expected_state = self.verifier = ""
        self.tokens: dict = {}
        self.client = None
        self.server = background.start(
            Starlette(routes=[Route("/callback", self.callback)]), name="test-wire-gateway")
        self.redirect_uri = self.server.url + "/callback"

    def callback(self, request: Request) -> PlainTextResponse:
        if request.query_params.get("state") != self.expected_state:
            return PlainTextResponse("state mismatch", status_code=400)
        self.tokens = requests.post(self.token_url, auth=(self.client.client_id, self.client.client_secret), data={
            "grant_type": "authorization_code", "code": request.query_params["code"],
            "redirect_uri": self.redirect_uri, "code_verifier": self.verifier}, timeout=10).json()
        return PlainTextResponse("signed in")


@pytest.fixture(scope="module")
def gateway():
    gateway = Gateway()
    yield gateway
    gateway.server.stop()


@pytest.fixture(scope="module")
def okta(gateway):
    server = start_local_okta(tenant=default_tenant(redirect_uris=(gateway.redirect_uri,)), name="test-wire-okta")
    gateway.token_url, gateway.client = server.token_endpoint, server.clients["web"]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-wire-calculator")
    yield server
    server.stop()


def actors(okta, calculator, gateway) -> dict[str, str]:
    return {okta.issuer: "Okta", calculator.url: "MCP server", gateway.server.url: "Gateway"}


async def call_add(url: str, token: str) -> int:
    async with Client(url, auth=token) as client:
        return (await client.call_tool("add", {"a": 2, "b": 3})).data


@pytest.fixture(scope="module")
def day(okta, calculator, gateway):
    """The traffic of a day, traced, and every secret value it involved."""
    m2m, web = okta.clients["write_service"], okta.clients["web"]
    ada = next(user for user in okta.users if user.login == "ada@example.com")
    seen: dict[str, str] = {"m2m secret": m2m.client_secret, "web secret": web.client_secret, "password": ada.password}
    with WireTrace(actors=actors(okta, calculator, gateway)) as wire:
        basic = requests.post(okta.token_endpoint, auth=(m2m.client_id, m2m.client_secret),
                              data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
        in_body = requests.post(okta.token_endpoint, data={
            "grant_type": "client_credentials", "scope": "calculator.add",
            "client_id": m2m.client_id, "client_secret": m2m.client_secret}, timeout=10)
        wrong = requests.post(okta.token_endpoint, auth=(m2m.client_id, m2m.client_secret[:-1]),
                              data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
        assert (basic.status_code, in_body.status_code, wrong.status_code) == (200, 200, 401)
        token = basic.json()["access_token"]

        # authorization code + PKCE: the sign-in page, then the browser's redirect to the gateway
        gateway.verifier = secrets.token_urlsafe(48)
        gateway.expected_state = secrets.token_urlsafe(16)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(gateway.verifier.encode()).digest()).rstrip(b"=").decode()
        authorize = okta.authorization_endpoint + "?" + urlencode({
            "client_id": web.client_id, "response_type": "code", "scope": USER_SCOPES,
            "redirect_uri": gateway.redirect_uri, "state": gateway.expected_state,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        location = sign_in(authorize, ada.login, ada.password)
        assert requests.get(location, timeout=10).text == "signed in"
        user_tokens = gateway.tokens
        refreshed = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), data={
            "grant_type": "refresh_token", "refresh_token": user_tokens["refresh_token"]}, timeout=10).json()
        revoked = requests.post(okta.revocation_endpoint, auth=(web.client_id, web.client_secret), data={
            "token": refreshed["refresh_token"], "token_type_hint": "refresh_token"}, timeout=10)
        assert revoked.status_code == 200

        assert asyncio.run(call_add(calculator.mcp_url, token)) == 5
        raw = requests.post(calculator.mcp_url, headers={**ACCEPT, "Authorization": f"Bearer {token}"}, json={
            "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 1}}},
            timeout=10)
        assert raw.status_code == 200
        refused = httpx2.post(calculator.mcp_url, headers={**ACCEPT, "Authorization": f"Bearer {token[:-4]}AAAA"},
                              json={"jsonrpc": "2.0", "id": 8, "method": "tools/list"}, timeout=10)
        assert refused.status_code == 401
        assert jwt.PyJWKClient(okta.jwks_uri).get_signing_key_from_jwt(token).key_id
        requests.get(f"{okta.issuer}/v1/userinfo?access_token={quote(user_tokens['access_token'])}", timeout=10)
        requests.get(f"{calculator.url}/tokens/{token}", timeout=10)  # a token in a path
    code = parse_qs(urlsplit(location).query)["code"][0]
    seen |= {"code": code, "verifier": gateway.verifier, "state": gateway.expected_state, "challenge": challenge,
             "access token": token, "user access token": user_tokens["access_token"],
             "id token": user_tokens["id_token"], "refresh token": user_tokens["refresh_token"],
             "new refresh token": refreshed["refresh_token"]}
    return wire, seen, (m2m, web)


def everything_recorded(wire: WireTrace) -> list[str]:
    """Every text the trace holds: the drawing, each record's repr and fields, the trace's repr."""
    texts = [wire.mermaid(), repr(wire), *(repr(record) for record in wire.exchanges)]
    texts += [str(value) for record in wire.exchanges for value in vars(record).values()]
    return texts


def forms_of(value: str) -> set[str]:
    raw = value.encode()
    return {value, quote(value, safe=""), quote_plus(value), base64.b64encode(raw).decode(),
            base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}


def test_no_secret_code_verifier_state_password_or_token_is_recorded(day):
    wire, seen, clients = day
    forbidden = {f"{name} ({form!r})": form for name, value in seen.items() for form in forms_of(value)}
    for client in clients:  # what HTTP Basic sends, and its URL-encoded form
        pair = f"{client.client_id}:{client.client_secret}".encode()
        forbidden[f"Basic of {client.client_id}"] = base64.b64encode(pair).decode()
        forbidden[f"Basic of {client.client_id}, form-encoded"] = quote_plus(base64.b64encode(pair).decode())
    texts = everything_recorded(wire)
    assert len(wire.exchanges) >= 15
    for text in texts:
        assert not JWT.search(text), f"a three-part JWT in {text!r}"
        leaked = [name for name, form in forbidden.items() if form in text]
        assert leaked == [], f"{leaked} in {text!r}"


def test_the_drawing_names_who_called_whom_with_what(day):
    lines = day[0].mermaid().splitlines()
    expected = [
        "sequenceDiagram",
        "    participant Notebook",
        "    participant Okta",
        "    Notebook->>Okta: POST /oauth2/default/v1/token<br/>Basic client credentials, "
        "grant_type=client_credentials scope=calculator.add",
        "    Okta-->>Notebook: 200 access_token=… expires_in=3600 token_type=Bearer scope=calculator.add",
        "    Notebook->>Okta: POST /oauth2/default/v1/token<br/>"
        "grant_type=client_credentials scope=calculator.add client_id=… client_secret=…",
        "    Okta-->>Notebook: 401 error=invalid_client error_description=…",
        "    Notebook->>Gateway: GET /callback?code=…&state=…",
        "    Gateway->>Okta: POST /oauth2/default/v1/token<br/>Basic client credentials, "
        "grant_type=authorization_code code=… redirect_uri=… code_verifier=…",
        "    Notebook->>Okta: POST /oauth2/default/v1/token<br/>Basic client credentials, "
        "grant_type=refresh_token refresh_token=…",
        "    Notebook->>Okta: POST /oauth2/default/v1/revoke<br/>Basic client credentials, "
        "token=… token_type_hint=refresh_token",
        "    MCP_server->>Okta: GET /oauth2/default/v1/keys",
        "    Notebook->>MCP_server: POST /mcp<br/>Bearer token, tools/call add",
        "    MCP_server-->>Notebook: 401 error=invalid_token error_description=…",
        "    Notebook->>Okta: GET /oauth2/default/v1/userinfo?access_token=…",
        "    Notebook->>MCP_server: GET /tokens/…",
    ]
    missing = [line for line in expected if line not in lines]
    assert missing == [], "\n".join(lines)
    assert "    participant MCP_server as MCP server" in lines and "    participant Gateway" in lines
    authorize = next(line for line in lines if "/v1/authorize" in line)
    assert authorize == ("    Notebook->>Okta: GET /oauth2/default/v1/authorize?client_id=…&response_type=code&"
                         "scope=openid offline_access calculator.add&redirect_uri=…&state=…&code_challenge=…&"
                         "code_challenge_method=S256")
    assert any(line.startswith("    Okta-->>Notebook: 302 to /callback?code=…&state=…") for line in lines), lines
    assert "    Gateway-->>Notebook: 200 a text/plain body" in lines


def test_the_servers_call_sits_inside_the_call_that_caused_it(day):
    """The MCP server fetches the JWKS while it answers the first tool call: between request and answer."""
    lines = day[0].mermaid().splitlines()
    keys = lines.index("    MCP_server->>Okta: GET /oauth2/default/v1/keys")
    assert lines[keys - 1].startswith("    Notebook->>MCP_server: POST /mcp<br/>Bearer token")
    assert lines[keys + 1].startswith("    Okta-->>MCP_server: 200 keys=…")
    assert lines[keys + 2].startswith("    MCP_server-->>Notebook: 200")


def test_each_library_is_heard(day):
    records = day[0].exchanges
    assert {record.library for record in records} == {"requests", "httpx2", "urllib"}
    urllib = [record for record in records if record.library == "urllib"]
    assert [(r.caller, r.callee, r.method, r.path, r.status) for r in urllib] == [
        ("Notebook", "Okta", "GET", "/oauth2/default/v1/keys", 200)]
    tool_calls = [r for r in records if r.request.endswith("tools/call add")]
    assert {r.library for r in tool_calls} == {"requests", "httpx2"} and all(r.status == 200 for r in tool_calls)


def test_a_servers_own_urllib_fetch_comes_from_that_server(okta):
    """A learner's verifier fetching the JWKS with PyJWKClient (urllib) inside their server's event loop."""
    async def keys(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(jwt.PyJWKClient(okta.jwks_uri).get_signing_keys())))

    api = background.start(Starlette(routes=[Route("/keys", keys)]), name="test-wire-api")
    try:
        with WireTrace(actors={okta.issuer: "Okta", api.url: "MCP server"}) as wire:
            assert requests.get(api.url + "/keys", timeout=10).status_code == 200
    finally:
        api.stop()
    assert wire.mermaid().splitlines()[4:7] == [
        "    Notebook->>MCP_server: GET /keys",
        "    MCP_server->>Okta: GET /oauth2/default/v1/keys",
        "    Okta-->>MCP_server: 200",
    ]


def test_the_drawing_is_the_same_on_every_run(day):
    text = day[0].mermaid()
    assert "127.0.0.1" not in text and not re.search(r":\d{2,5}\b", text), "a port or loopback address is drawn"


def test_given_secrets_are_masked_even_where_a_value_is_shown(okta):
    """``secrets=`` hides a value a whitelisted field would show, raw, URL-encoded and in base64."""
    secret = "Zebra/Crossing+421"  # its base64 has no padding: a plain value the whitelist would show
    data = {"grant_type": "client_credentials", "scope": secret}
    target = f"{okta.issuer}/v1/authorize?scope={quote_plus(secret)}&prompt={base64.b64encode(secret.encode()).decode()}"
    for given, shown in (([], True), ([secret], False)):
        with WireTrace(actors={okta.issuer: "Okta"}, secrets=given) as wire:
            requests.post(okta.token_endpoint, data=data, timeout=10)
            requests.get(target, allow_redirects=False, timeout=10)
        text = wire.mermaid()
        assert (f"scope={secret}" in text) is shown, text  # the whitelist shows a scope
        assert not any(form in text for form in forms_of(secret)) or shown, text


def test_the_masker_hides_every_form_of_a_secret():
    secret = "s3cret/value with+signs"
    text = " ".join(["x", *sorted(forms_of(secret)), "y"])
    assert Masker([secret, None, ""])(text) == "x " + " ".join(["…"] * len(forms_of(secret))) + " y"
    assert Masker()("a eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln b") == "a … b"


def test_paths_names_and_fragments_are_shown_only_when_plain():
    assert masked_target("/v1/apps/0oa1calcwritesvc7kpz0000XYZ/lifecycle?x=1#access_token=abc") == "/v1/apps/…/lifecycle?x=…#…"
    assert masked_target("/.well-known/oauth-authorization-server/oauth2/default") == (
        "/.well-known/oauth-authorization-server/oauth2/default")
    assert body_summary(b'{"sk_live_0123 456": "x", "scope": "a b"}', "application/json") == "field=… scope=a b"
    assert body_summary(b"scope=calculator.add&scope2=%3Cscript%3E", "application/x-www-form-urlencoded") == (
        "scope=calculator.add scope2=…")


def test_a_trace_never_breaks_the_request_it_cannot_describe(okta, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a summary")

    monkeypatch.setattr("helpers.wire_trace.request_summary", broken)
    with WireTrace() as wire:
        assert requests.get(okta.metadata_url, timeout=10).status_code == 200
        assert httpx2.get(okta.metadata_url, timeout=10).status_code == 200
    assert wire.exchanges == []


def test_hooks_are_removed_after_the_block_and_on_error(okta):
    originals = (requests.Session.send, httpx2.HTTPTransport.handle_request,
                 httpx2.AsyncHTTPTransport.handle_async_request)
    with WireTrace() as wire:
        assert requests.Session.send is not originals[0] and wire_hooks.installed()
        requests.get(okta.metadata_url, timeout=10)
    requests.get(okta.metadata_url, timeout=10)
    httpx2.get(okta.metadata_url, timeout=10)
    assert len(wire.exchanges) == 1 and not wire.active
    with pytest.raises(ZeroDivisionError):
        with WireTrace() as failed:
            1 / 0
    requests.get(okta.metadata_url, timeout=10)
    assert failed.exchanges == [] and not wire_hooks.installed()
    assert (requests.Session.send, httpx2.HTTPTransport.handle_request,
            httpx2.AsyncHTTPTransport.handle_async_request) == originals


def test_nested_traces_both_record_until_the_last_one_ends(okta):
    with WireTrace() as outer:
        requests.get(okta.metadata_url, timeout=10)
        with WireTrace() as inner:
            requests.get(okta.jwks_uri, timeout=10)
        requests.get(okta.metadata_url, timeout=10)
        assert wire_hooks.installed()
    assert [r.path for r in inner.exchanges] == ["/oauth2/default/v1/keys"]
    assert len(outer.exchanges) == 3 and not wire_hooks.installed()


def test_requests_from_many_threads_are_all_recorded(okta):
    def fetch(number: int) -> None:
        with requests.Session() as session:
            session.get(f"{okta.metadata_url}?n={number}", timeout=10)

    with WireTrace(actors={okta.url: "Okta"}) as wire:
        threads = [threading.Thread(target=fetch, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    records = wire.exchanges
    assert len(records) == 8 and {(r.caller, r.callee, r.status) for r in records} == {("Notebook", "Okta", 200)}
    assert [r.sent for r in records] == sorted(r.sent for r in records)


def test_unknown_hosts_are_named_by_host_and_failures_drawn(okta):
    with reserve_port() as closed, WireTrace() as wire:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{closed.port}/nothing", timeout=5)
        requests.get(okta.metadata_url, timeout=10)
    first, second = wire.exchanges
    assert (first.callee, first.status, first.answer) == ("127.0.0.1", None, "no answer: ConnectionError")
    assert second.callee == "test-wire-okta"  # a server this process runs: its name
    assert "127_0_0_1" in wire.mermaid()


def test_an_actor_names_its_whole_origin(okta):
    """A request to another path of an actor's server is still drawn as that actor, not as a new one."""
    with WireTrace(actors={okta.issuer + "/v1/token": "Okta token endpoint"}) as wire:
        requests.get(okta.jwks_uri, timeout=10)
    assert [record.callee for record in wire.exchanges] == ["Okta token endpoint"]


def test_bad_actors_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="maps a URL"):
        WireTrace(actors={"127.0.0.1:8000": "Okta"})
    with pytest.raises(TypeError, match="strings"):
        WireTrace(secrets=[b"bytes"])


def test_the_display_offers_mermaid_and_the_same_text(capsys):
    wire = WireTrace()
    bundle = wire._repr_mimebundle_()
    assert bundle["text/vnd.mermaid"] == bundle["text/plain"] == wire.mermaid()
    assert wire.mermaid().startswith("sequenceDiagram\n") and "no HTTP requests" in wire.mermaid()
    wire.show()  # no IPython here: prints the text
    assert capsys.readouterr().out == wire.mermaid()
    assert repr(wire) == "<WireTrace: 0 exchanges, stopped>"
