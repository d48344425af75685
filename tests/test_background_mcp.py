"""helpers.background_mcp: a FastMCP server built in a cell, served like helpers.calculator."""

import pytest
import requests
from fastmcp import Client, FastMCP

from helpers import background
from helpers.background_mcp import start_mcp_server
from helpers.calculator import start_calculator

ACCEPT = {"Accept": "application/json, text/event-stream"}


def calculator() -> FastMCP:
    """The calculator as notebook 01 has the learner write it."""
    mcp = FastMCP("Calculator")

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add two integers and return the sum."""
        return a + b

    @mcp.tool
    def subtract(a: int, b: int) -> int:
        """Subtract b from a and return the difference."""
        return a - b

    return mcp


@pytest.fixture
def served():
    mcp = calculator()
    server = start_mcp_server(mcp, name="test-background-mcp")
    yield mcp, server
    server.stop()


def tools_of(listed):
    return {tool.name: (tool.description, tool.input_schema, tool.output_schema) for tool in listed}


@pytest.mark.anyio
async def test_serves_the_tools_at_mcp_on_loopback(served):
    _, server = served
    assert server.mcp_url == f"http://127.0.0.1:{server.port}/mcp"
    async with Client(server.mcp_url) as client:
        assert sorted(tool.name for tool in await client.list_tools()) == ["add", "subtract"]
        assert (await client.call_tool("subtract", {"a": 2, "b": 5})).data == -3


@pytest.mark.anyio
async def test_the_same_tools_as_helpers_calculator(served):
    _, server = served
    series = start_calculator(name="test-background-mcp-series")
    try:
        async with Client(series.mcp_url) as client:
            expected = tools_of(await client.list_tools())
    finally:
        series.stop()
    async with Client(server.mcp_url) as client:
        assert tools_of(await client.list_tools()) == expected


@pytest.mark.anyio
async def test_a_tool_added_after_the_start_is_served_at_once(served):
    mcp, server = served

    @mcp.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        return a * b

    async with Client(server.mcp_url) as client:
        assert (await client.call_tool("multiply", {"a": 6, "b": 7})).data == 42


def test_stateless_a_single_tools_call_needs_no_session(served):
    _, server = served
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
    response = requests.post(server.mcp_url, json=body, headers=ACCEPT, timeout=10)
    assert response.status_code == 200
    assert '"structuredContent":{"result":5}' in response.text


def test_a_foreign_host_or_origin_is_refused(served):
    _, server = served
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}

    def status(**headers):
        return requests.post(server.mcp_url, json=body, headers={**ACCEPT, **headers}, timeout=10).status_code

    assert status() == 200
    assert status(Host=f"localhost:{server.port}") == 200
    assert status(Host="evil.example.com") == 421
    assert status(Origin="https://evil.example.com") == 403


def test_starting_again_restarts_and_the_same_instance_serves_twice(served):
    mcp, first = served
    second = start_mcp_server(mcp, name="test-background-mcp")
    try:
        assert not first.server.is_running
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        assert requests.post(second.mcp_url, json=body, headers=ACCEPT, timeout=10).status_code == 200
        assert list(background.running()).count("test-background-mcp") == 1
    finally:
        second.stop()
    assert "test-background-mcp" not in background.running()


def test_anything_but_a_fastmcp_server_is_a_clear_type_error():
    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(TypeError, match=r"FastMCP server itself .* not function"):
        start_mcp_server(add)
