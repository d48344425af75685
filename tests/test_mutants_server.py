"""The calculator's protection and the clients' bearer flow, each built inside its test (mutation survivors).

The calculator's other tests start one server per module, so the code that builds its auth
(``Protection.auth_provider``, ``Protection.middleware``) runs in a fixture and mutation testing
cannot tell which test would notice a change there. These tests build the pieces themselves,
with no network, and check what a client sees:

- the RFC 9728 protected resource metadata names the resource ("Calculator MCP server");
- a tool call without its scope gets 403 ``insufficient_scope`` whose challenge points at the
  metadata of exactly this MCP endpoint (``resource_metadata``), so a client can step up.

And of ``RenewingBearerAuth`` (``helpers/bearer_auth.py``), with the token manager behind it:

- the async flow, like the blocking one, reports a 401 that comes while no renewal is allowed
  with the URL and the reason (renewed moments ago), not as a token that was renewed in vain;
- only a 403 ``insufficient_scope`` leads to a step-up: a 403 with another error that happens
  to name a scope is handed to the caller as it is.

And of the local Okta's validator (``helpers/local_okta/validator.py``): a token request that
carries an ``Authorization`` header is authenticated with it, even when its ``client_id`` is a
public app's (which Okta refuses: public apps have no credentials), never waved through as public.
"""

from __future__ import annotations

import anyio
import httpx2
import pytest
import requests
from fastmcp.server.auth import AccessToken
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.applications import Starlette

from helpers.local_okta import start_local_okta
from helpers.tokens import TokenManager, TokenRejectedError
from helpers.verification import Protection
from test_bound_clients import MCP, SCOPES, answering, counting_fetch

ISSUER = "https://okta.example.com/oauth2/default"
BASE_URL = "https://calculator.example.com"
METADATA = BASE_URL + "/.well-known/oauth-protected-resource/mcp"
ADD = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}'


def protection() -> Protection:
    return Protection(issuer=ISSUER, audience="api://calculator", jwks_uri=ISSUER + "/v1/keys")


async def get(app, path: str) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=BASE_URL) as http:
        return await http.get(path)


# -- the protected resource metadata -----------------------------------------------------------


@pytest.mark.anyio
async def test_the_protected_resource_metadata_names_the_calculator_and_its_issuer():
    provider = protection().auth_provider(BASE_URL, ["calculator.add"])
    app = Starlette(routes=provider.get_routes(mcp_path="/mcp"))
    metadata = (await get(app, "/.well-known/oauth-protected-resource/mcp")).json()
    assert metadata["resource_name"] == "Calculator MCP server"
    assert metadata["resource"] == BASE_URL + "/mcp"
    assert metadata["authorization_servers"] == [ISSUER]
    assert metadata["scopes_supported"] == ["calculator.add"]


# -- the 403 of a tool call without its scope --------------------------------------------------


async def call_behind_middleware(base_url: str, scopes: list[str]) -> httpx2.Response:
    """``add`` called through the middleware :meth:`Protection.middleware` builds, as a user with ``scopes``."""

    async def tools(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ran"})

    [middleware] = protection().middleware(base_url=base_url, mcp_path="/mcp", tool_scopes={"add": ("calculator.add",)})
    guard = middleware.cls(tools, *middleware.args, **middleware.kwargs)
    user = AuthenticatedUser(AccessToken(token="t", client_id="c", scopes=scopes))

    async def authenticated(scope, receive, send):
        await guard({**scope, "user": user}, receive, send)

    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(authenticated), base_url=BASE_URL) as http:
        return await http.post("/mcp", content=ADD)


@pytest.mark.anyio
@pytest.mark.parametrize("base_url", [BASE_URL, BASE_URL + "/"])
async def test_a_call_without_its_scope_points_at_this_endpoints_metadata(base_url):
    response = await call_behind_middleware(base_url, ["calculator.subtract"])
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="calculator.add"' in challenge
    assert f'resource_metadata="{METADATA}"' in challenge


@pytest.mark.anyio
async def test_the_middleware_lets_a_call_with_its_scope_through():
    response = await call_behind_middleware(BASE_URL, ["calculator.add"])
    assert (response.status_code, response.text) == (200, "ran")


# -- RenewingBearerAuth ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_async_flow_says_a_401_came_while_no_renewal_was_allowed():
    fetch, requests_made = counting_fetch()
    manager = TokenManager(fetch, SCOPES, mcp_servers=MCP)
    transport, _ = answering(lambda request: (401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}))
    async with httpx2.AsyncClient(auth=manager, transport=transport) as http:
        with pytest.raises(TokenRejectedError, match="freshly fetched access token too"):
            await http.post(MCP, json={})  # rejected, renewed, rejected again
        with pytest.raises(TokenRejectedError) as info:
            await http.post(MCP, json={})  # rejected again: no renewal within the pause
    message = str(info.value)
    assert MCP in message and "renews after a 401 at most once every 10 s" in message
    assert "freshly fetched" not in message
    assert len(requests_made) == 2  # the first token and one renewal


def post_once(client: str, manager: TokenManager, transport: httpx2.MockTransport) -> httpx2.Response:
    """One POST to the MCP server through ``manager``, with httpx2's blocking or async client."""
    if client == "sync":
        with httpx2.Client(auth=manager, transport=transport) as http:
            return http.post(MCP, json={})

    async def post():
        async with httpx2.AsyncClient(auth=manager, transport=transport) as http:
            return await http.post(MCP, json={})

    return anyio.run(post)


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_403_with_another_error_naming_a_scope_is_no_step_up(client):
    fetch, requests_made = counting_fetch()
    manager = TokenManager(fetch, ["calculator.add"], mcp_servers=MCP, allowed_scopes=SCOPES)
    challenge = 'Bearer error="invalid_token", scope="calculator.subtract"'
    transport, seen = answering(lambda request: (403, {"WWW-Authenticate": challenge}))
    response = post_once(client, manager, transport)
    assert response.status_code == 403 and response.headers["WWW-Authenticate"] == challenge
    assert requests_made == [("calculator.add",)] and len(seen) == 1  # no second token, no second request


# -- the local Okta: an Authorization header always means client authentication -------------------


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-mutants-server-okta")
    yield server
    server.stop()


def test_a_public_apps_client_id_with_an_authorization_header_is_refused_as_invalid_client(okta):
    public = okta.tenant.app(label="mcp_client")
    assert public.is_public
    response = requests.post(okta.token_endpoint, auth=(public.client_id, "a-secret-it-does-not-have"), timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": "not-a-refresh-token", "client_id": public.client_id})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_token_error_never_echoes_a_posted_state(okta):
    """oauthlib copies a ``state`` posted to /token into its error JSON; a token endpoint's error has
    no ``state`` (RFC 6749 5.2), and Okta's catalogue shows none: the local server drops it."""
    service = okta.clients["read_service"]
    for form, expected in (({"scope": "calculator.multiply"}, "invalid_scope"),
                           ({"grant_type": "refresh_token", "refresh_token": "not-one"}, "unauthorized_client")):
        response = requests.post(okta.token_endpoint, auth=(service.client_id, service.client_secret), timeout=10,
                                 data={"grant_type": "client_credentials", "state": "S123", **form})
        assert response.json()["error"] == expected
        assert "state" not in response.json(), response.json()
    wrong = requests.post(okta.token_endpoint, auth=(service.client_id, "wrong"), timeout=10,
                          data={"grant_type": "client_credentials", "scope": "calculator.add", "state": "S123"})
    assert wrong.status_code == 401 and "state" not in wrong.json()


# -- the header's spelling on the wire ----------------------------------------------------------------


def spelled(request: httpx2.Request) -> list[bytes]:
    """The names of the request's Authorization headers as they go on the wire (``raw`` keeps their case)."""
    return [name for name, _ in request.headers.raw if name.lower() == b"authorization"]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_every_request_spells_authorization_as_rfc_9110_does(client):
    """Header names are case-insensitive, but the token goes out as ``Authorization`` (some proxies and
    servers compare names by their bytes): on the first call, after a 401's renewal, after a step-up."""
    fetch, _ = counting_fetch()
    manager = TokenManager(fetch, ["calculator.add"], mcp_servers=MCP, allowed_scopes=SCOPES)
    answers = iter([(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}),
                    (403, {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="calculator.subtract"'}),
                    (200, {})])
    seen: list[list[bytes]] = []  # read when each request is sent: a retry reuses the request object

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(spelled(request))
        status, headers = next(answers)
        return httpx2.Response(status, headers=headers)

    transport = httpx2.MockTransport(handle)
    response = post_once(client, manager, transport)
    assert response.status_code == 200  # first token, renewed after the 401, stepped up after the 403
    assert seen == [[b"Authorization"]] * 3
