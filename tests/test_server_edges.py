"""The servers' HTTP edges: what reaches the tools, and who may send it.

Points of the client-security review (issue 11), each failing on the code before the fix:

3. ``ToolScopeGuard`` decides from parsed JSON: ``"tools\\/call"``, ``"tools\\u002fcall"``, an
   escaped tool name, a byte-order mark or UTF-16 do not slip past it (alone, or in the server);
5. DNS rebinding: the calculator (with or without auth), the local authorization server and the
   gateway's callback listener refuse a foreign ``Host`` (421) and a foreign ``Origin`` (403),
   while loopback names and a configured public host keep working;
11. deeply nested JSON in a ``tools/call`` gets 400, never a 500 with a traceback.
"""

from __future__ import annotations

import json

import httpx2
import pytest
import requests
from fastmcp.server.auth import AccessToken
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from helpers import background
from helpers.calculator import calculator_app, start_calculator
from helpers.local_okta import start_local_okta
from helpers.scope_guard import ToolScopeGuard, called_tools
from helpers.user_login.callback import callback_app
from helpers.verification import Protection

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
SUBTRACT = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"subtract","arguments":{"a":5,"b":3}}}'
ESCAPED_BODIES = {
    "escaped slash": SUBTRACT.replace("tools/call", "tools\\/call").encode(),
    "unicode slash": SUBTRACT.replace("tools/call", "tools\\u002fcall").encode(),
    "escaped name": SUBTRACT.replace('"subtract"', '"sub\\u0074ract"').encode(),
    "all escaped": SUBTRACT.replace("tools/call", "\\u0074ools\\u002Fcall").replace('"subtract"', '"\\u0073ubtract"').encode(),
    "byte-order mark": b"\xef\xbb\xbf" + SUBTRACT.encode(),
    "UTF-16": SUBTRACT.encode("utf-16"),
    "in a batch": ("[" + SUBTRACT + "]").encode(),
}


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-edges-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-edges-calculator")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def add_only(okta):
    client = okta.clients["write_service"]
    response = requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                             data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    return response.json()["access_token"]


# -- 3. the guard reads JSON, not bytes ------------------------------------------------------------


@pytest.mark.parametrize("body", ESCAPED_BODIES.values(), ids=ESCAPED_BODIES.keys())
def test_3_escaped_calls_without_the_scope_get_403_from_the_server(calculator, add_only, body):
    response = requests.post(calculator.mcp_url, data=body, timeout=10,
                             headers={**ACCEPT, "Authorization": f"Bearer {add_only}"})
    assert response.status_code == 403, response.text[:200]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="calculator.subtract"' in response.headers["WWW-Authenticate"]


async def call_guard_alone(body: bytes, scopes: list[str]) -> tuple[int, list[bytes]]:
    """The guard in front of an app that records what reaches it, with a verified token in scope."""
    reached: list[bytes] = []

    async def tools(scope, receive, send):
        reached.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ran"})

    guard = ToolScopeGuard(tools, tool_scopes={"add": ("calculator.add",), "subtract": ("calculator.subtract",)},
                           mcp_path="/mcp", resource_metadata_url="http://127.0.0.1/.well-known/oauth-protected-resource/mcp")
    user = AuthenticatedUser(AccessToken(token="t", client_id="c", scopes=scopes))

    async def authenticated(scope, receive, send):
        await guard({**scope, "user": user}, receive, send)

    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(authenticated), base_url="http://127.0.0.1") as http:
        response = await http.post("/mcp", content=body)
    return response.status_code, reached


@pytest.mark.anyio
@pytest.mark.parametrize("body", ESCAPED_BODIES.values(), ids=ESCAPED_BODIES.keys())
async def test_3_the_guard_alone_stops_escaped_calls(body):
    status, reached = await call_guard_alone(body, ["calculator.add"])
    assert (status, reached) == (403, [])
    status, reached = await call_guard_alone(body, ["calculator.add", "calculator.subtract"])
    assert (status, reached) == (200, [body])  # with the scope, the body reaches the tools as it came


def test_3_called_tools_agrees_with_both_parsers_of_the_mcp_sdk():
    duplicate = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","name":"subtract"}}'
    assert called_tools(duplicate) == ["subtract"]  # both parsers keep the last duplicate key
    assert called_tools(b'{"method":"tools/list"}') == [] and called_tools(b"not json") == []


# -- 11. nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 2_000, 100_000])
def test_11_deeply_nested_json_gets_400_not_500(calculator, add_only, depth):
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":' + "[" * depth + "]" * depth + ',"b":1}}}'
    response = requests.post(calculator.mcp_url, data=body, timeout=30, headers={**ACCEPT, "Authorization": f"Bearer {add_only}"})
    assert response.status_code == 400, response.text[:200]
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert error["code"] == -32700 or "nested" in error["message"] or "Parse" in error["message"]


@pytest.mark.anyio
async def test_11_the_guard_answers_a_json_rpc_parse_error():
    status, reached = await call_guard_alone(b"[" * 100_000 + b"]" * 100_000, ["calculator.add"])
    assert (status, reached) == (400, [])


# -- 5. DNS rebinding ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_calculator():
    server = start_calculator(name="test-edges-open-calculator")  # notebook 01: no auth at all
    yield server
    server.stop()


def list_tools(url: str, **headers) -> requests.Response:
    return requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={**ACCEPT, **headers}, timeout=10)


def test_5_an_unauthenticated_calculator_refuses_a_foreign_host_and_origin(open_calculator):
    port = open_calculator.port
    assert list_tools(open_calculator.mcp_url).status_code == 200
    assert list_tools(open_calculator.mcp_url, Host=f"localhost:{port}", Origin=f"http://localhost:{port}").status_code == 200
    assert list_tools(open_calculator.mcp_url, Host=f"evil.example.com:{port}").status_code == 421
    assert list_tools(open_calculator.mcp_url, Origin="http://evil.example.com").status_code == 403


def test_5_the_protected_calculator_and_its_metadata_too(calculator):
    assert list_tools(calculator.mcp_url, Host="evil.example.com").status_code == 421
    assert list_tools(calculator.mcp_url, Origin="https://evil.example.com").status_code == 403
    metadata = calculator.url + "/.well-known/oauth-protected-resource/mcp"
    assert requests.get(metadata, headers={"Host": "evil.example.com"}, timeout=10).status_code == 421
    assert requests.get(metadata, timeout=10).status_code == 200


def test_5_a_configured_public_host_keeps_working():
    server = background.start(calculator_app(base_url="https://calculator.example.com"), name="test-edges-public")
    try:
        url = server.url + "/mcp"
        assert list_tools(url, Host="calculator.example.com", Origin="https://calculator.example.com").status_code == 200
        assert list_tools(url).status_code == 200  # loopback still works (a health check on the host)
        assert list_tools(url, Host="other.example.com").status_code == 421
        assert list_tools(url, Host="calculator.example.com", Origin="https://evil.example.com").status_code == 403
    finally:
        server.stop()


def test_5_the_local_authorization_server_refuses_a_foreign_host_and_origin(okta):
    client = okta.clients["write_service"]
    token = {"grant_type": "client_credentials", "scope": "calculator.add"}
    auth = (client.client_id, client.client_secret)
    assert requests.get(okta.metadata_url, headers={"Host": "evil.example.com"}, timeout=10).status_code == 421
    assert requests.post(okta.token_endpoint, data=token, auth=auth, headers={"Origin": "http://evil.example.com"}, timeout=10).status_code == 403
    assert requests.post(okta.token_endpoint, data=token, auth=auth, timeout=10).status_code == 200
    # its own sign-in page posts from its own origin: allowed (400 only because the transaction is unknown)
    page = requests.post(okta.authorization_endpoint, data={"transaction": "x"}, headers={"Origin": okta.url}, timeout=10)
    assert page.status_code == 400 and "Sign-in expired" in page.text


def test_5_the_gateway_callback_listener_refuses_a_foreign_host():
    server = background.start(callback_app("/callback", lambda query: (200, "ok")), name="test-edges-callback")
    try:
        assert requests.get(server.url + "/callback", timeout=10).status_code == 200
        assert requests.get(server.url + "/callback", headers={"Host": "evil.example.com"}, timeout=10).status_code == 421
    finally:
        server.stop()


def test_5_json_is_what_the_servers_answer_with(calculator, add_only):
    """A control: the allowed path still answers a normal call (the guard is not refusing everything)."""
    body = json.loads(SUBTRACT)
    body["params"]["name"] = "add"
    response = requests.post(calculator.mcp_url, json=body, timeout=10, headers={**ACCEPT, "Authorization": f"Bearer {add_only}"})
    assert response.status_code == 200 and '"result":8' in response.text.replace(" ", "")
