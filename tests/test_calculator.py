"""The calculator MCP server: tools, bad input, the wire format, auth as a parameter, the CLI."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from fastmcp import Client
from fastmcp.exceptions import ToolError

from child_output import Lines
from loopback import reserve_port
from helpers import background
from helpers.calculator import describe_caller, start_calculator

pytestmark = pytest.mark.anyio

ISSUER = "https://example.okta.com/oauth2/default"
AUDIENCE = "https://calculator-mcp-server.example.com"
SSE_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def calculator():
    server = start_calculator(name="test-calculator")
    yield server
    server.stop()


def rpc(url, method, params=None, headers=None, request_id=1):
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
    return requests.post(url, json=body, headers={**SSE_HEADERS, **(headers or {})}, timeout=10)


def sse_payload(response):
    data = [line[len("data: "):] for line in response.text.splitlines() if line.startswith("data: ")]
    assert len(data) == 1, response.text
    return json.loads(data[0])


async def test_lists_add_and_subtract_without_get_me(calculator):
    async with Client(calculator.mcp_url) as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
    assert sorted(tools) == ["add", "subtract"]
    assert tools["add"].input_schema["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}


@pytest.mark.parametrize("tool, a, b, expected", [
    ("add", 2, 3, 5), ("add", -7, 7, 0), ("subtract", 10, 4, 6), ("subtract", 4, 10, -6),
    ("add", 10**20, 1, 10**20 + 1),
])
async def test_tools_compute(calculator, tool, a, b, expected):
    async with Client(calculator.mcp_url) as client:
        result = await client.call_tool(tool, {"a": a, "b": b})
    assert result.data == expected


@pytest.mark.parametrize("arguments, message", [
    ({"a": "two", "b": 3}, "valid integer"),
    ({"a": 1.5, "b": 3}, "valid integer"),
    ({"a": 1}, "Missing required argument"),
    ({"a": 1, "b": 2, "c": 3}, "Unexpected keyword argument"),
])
async def test_bad_arguments_give_an_mcp_error_result(calculator, arguments, message):
    async with Client(calculator.mcp_url) as client:
        result = await client.call_tool("add", arguments, raise_on_error=False)
        assert result.is_error
        assert message.lower() in result.content[0].text.lower()
        assert (await client.call_tool("add", {"a": 1, "b": 1})).data == 2  # still serving


async def test_unknown_tool_is_an_error_not_a_crash(calculator):
    async with Client(calculator.mcp_url) as client:
        with pytest.raises(ToolError, match="Unknown tool: 'multiply'"):
            await client.call_tool("multiply", {"a": 1, "b": 2})
        assert (await client.call_tool("subtract", {"a": 1, "b": 1})).data == 0


def test_raw_json_rpc_wire_format(calculator):
    response = rpc(calculator.mcp_url, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    payload = sse_payload(response)
    assert payload["id"] == 1
    assert payload["result"]["structuredContent"] == {"result": 5}
    assert payload["result"]["isError"] is False


@pytest.mark.parametrize("body, headers", [
    (b"{not json", {"Content-Type": "application/json"}),
    (b'{"jsonrpc": "2.0", "id": 1}', {"Content-Type": "application/json"}),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', {"Content-Type": "text/plain"}),
])
def test_malformed_requests_get_a_4xx(calculator, body, headers):
    response = requests.post(calculator.mcp_url, data=body, headers={**SSE_HEADERS, **headers}, timeout=10)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


def test_restarting_gives_a_working_server():
    first = start_calculator(name="test-restart")
    second = start_calculator(name="test-restart")
    try:
        assert "test-restart" in background.running()
        response = rpc(second.mcp_url, "tools/call", {"name": "subtract", "arguments": {"a": 5, "b": 2}})
        assert sse_payload(response)["result"]["structuredContent"] == {"result": 3}
        if first.port != second.port:
            with pytest.raises(requests.ConnectionError):
                rpc(first.mcp_url, "tools/list")
    finally:
        second.stop()


def test_describe_caller_for_a_user_token():
    me = describe_caller({
        "sub": "ada@example.com", "uid": "00u1", "cid": "0oaweb", "scp": "calculator.add openid",
        "iat": 0, "exp": 3600, "iss": ISSUER, "aud": AUDIENCE, "jti": "AT.x",
    })
    assert me["uid"] == "00u1" and me["sub"] == "ada@example.com"
    assert me["scopes"] == ["calculator.add", "openid"]
    assert (me["issued_at"], me["expires_at"]) == ("1970-01-01T00:00:00Z", "1970-01-01T01:00:00Z")


# --- python -m helpers.calculator -------------------------------------------------------------

def cli_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OAUTH_", "M2M_", "CLIENT_"))}
    env.pop("TUTORIAL_AUTH_SERVER", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def running_cli(*args, env=None, cwd=None):
    reservation = reserve_port()  # held until the child listens on it: no other process takes it
    port = reservation.port
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.calculator", "--port", str(port), *args],
        env=env or cli_env(), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            with contextlib.closing(socket.socket()) as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.terminate()
        process.wait(timeout=10)
        reservation.close()


async def test_cli_serves_mcp_to_the_official_sdk_client(tmp_path):
    from mcp import Client as SdkClient

    with running_cli("--no-auth", cwd=tmp_path) as (url, _):
        async with SdkClient(url) as client:
            tools = await client.list_tools()
            result = await client.call_tool("add", {"a": 1, "b": 2})
    assert sorted(tool.name for tool in tools.tools) == ["add", "subtract"]
    assert result.structured_content == {"result": 3}


@pytest.mark.parametrize("env, missing", [
    ({"OAUTH_ISSUER": ISSUER}, "OAUTH_AUDIENCE"),
    ({"OAUTH_AUDIENCE": AUDIENCE}, "OAUTH_ISSUER"),
    ({"OAUTH_JWKS_URI": ISSUER + "/v1/keys"}, "OAUTH_ISSUER"),
])
def test_cli_refuses_half_a_configuration(tmp_path, env, missing):
    with reserve_port() as reservation:
        done = subprocess.run(
            [sys.executable, "-m", "helpers.calculator", "--port", str(reservation.port)],
            env=cli_env(**env), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 2
    assert f"error: {missing} is not set" in done.stderr
    assert "Traceback" not in done.stderr


def read_env_block(process, deadline_seconds=30):
    """The NAME=value lines the CLI prints to stderr before it serves."""
    values, lines = {}, Lines(process.stderr, seconds=deadline_seconds)
    while "OAUTH_CA_FILE" not in values:
        line = lines.next()  # never blocks past the deadline, even if the CLI hangs silently
        assert line, "the CLI ended before printing the client settings"
        if "=" in line and not line.startswith("#"):
            name, _, value = line.strip().partition("=")
            values[name] = value
    return values


def test_cli_without_settings_protects_itself_with_the_local_issuer(tmp_path):
    with running_cli(cwd=tmp_path) as (url, process):
        block = read_env_block(process)
        assert block["OAUTH_AUDIENCE"] == "https://calculator-mcp-server.example.com"
        assert rpc(url, "tools/list").status_code == 401
        token = requests.post(
            block["OAUTH_ISSUER"] + "/v1/token",
            auth=(block["M2M_CLIENT_ID"], block["M2M_CLIENT_SECRET"]),
            data={"grant_type": "client_credentials", "scope": "calculator.add calculator.subtract"},
            timeout=10,
            verify=block["OAUTH_CA_FILE"],  # the CA the CLI's local authorization server made for this run
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert sse_payload(rpc(url, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 2}}, headers))["result"]["structuredContent"] == {"result": 4}
