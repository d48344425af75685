"""The gateway (``UserLogin``) and client ID metadata documents (CIMD, MCP 2026-07-28).

A client id that is an ``https://`` URL names a metadata document the authorization server
fetches. The gateway uses one only where the authorization server advertises
``client_id_metadata_document_supported`` and only as a public client; elsewhere it refuses before
anyone is sent to sign in (Okta's metadata does not advertise it: its CIMD support is for AI agents
an admin registered, research stage, okta-developer-docs ``guides/ai-agent-cimd-registration``).
The local server accepts CIMD behind a switch that is off by default (``helpers/local_okta/cimd.py``).
"""

from __future__ import annotations

import pytest
from fastmcp import Client

from loopback import reserve_port
from helpers.authorization_server import AuthorizationServer
from helpers.local_okta import start_local_okta
from helpers.local_okta.cimd import set_client_id_metadata_documents
from helpers.mcp_client import host_client_metadata, start_mcp_calculator
from helpers.settings import ClientCredentials
from helpers.user_login import LoginError, UserLogin
from helpers.user_login.automatic import sign_in_with_password
from helpers.user_login.setup import is_client_metadata_url

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def auth_server():
    okta = start_local_okta(name="test-cimd-gateway-okta")
    yield AuthorizationServer(okta.settings(), okta)
    okta.stop()


@pytest.fixture(scope="module")
def calculator(auth_server):
    server = start_mcp_calculator(auth_server, name="test-cimd-gateway-calculator")
    yield server
    server.stop()


@pytest.fixture
def hosted():
    """A public client's metadata document on 127.0.0.1 (HTTPS), naming one loopback redirect URI."""
    with reserve_port() as port:
        redirect_uri = f"http://127.0.0.1:{port.port}/callback"
        document = host_client_metadata("A CIMD gateway", redirect_uri, name="test-cimd-gateway-document")
        yield document, redirect_uri
        document.stop()


@pytest.mark.parametrize("client_id, expected", [
    ("https://agent.example.com/oauth/client.json", True),
    ("0oa1calcmcpclnt9n4vz", False),
    ("https://agent.example.com", False),      # no path: not a document URL (the spec requires one)
    ("https://agent.example.com/", False),
    ("http://agent.example.com/client.json", False),  # https only
])
def test_what_counts_as_a_client_metadata_document_url(client_id, expected):
    assert is_client_metadata_url(client_id) is expected


def test_a_cimd_client_id_is_refused_where_the_server_does_not_advertise_cimd(calculator, auth_server, hosted):
    document, redirect_uri = hosted
    auth_server.local.request_counts.clear()
    with pytest.raises(LoginError, match="does not advertise client_id_metadata_document_supported") as refused:
        UserLogin(calculator.mcp_url, ClientCredentials(document.url, None), issuer=calculator.issuer,
                  redirect_uri=redirect_uri)
    assert "pre-registered app" in str(refused.value)
    assert auth_server.local.request_counts["authorize"] == 0  # nobody was sent to sign in


def test_a_cimd_client_with_a_secret_is_refused(calculator, auth_server, hosted):
    document, redirect_uri = hosted
    set_client_id_metadata_documents(auth_server.local, [document.url])
    try:
        with pytest.raises(LoginError, match="has no secret"):
            UserLogin(calculator.mcp_url, ClientCredentials(document.url, "a-secret"), issuer=calculator.issuer,
                      redirect_uri=redirect_uri)
    finally:
        set_client_id_metadata_documents(auth_server.local, None)


async def test_the_gateway_signs_in_with_its_metadata_document_where_cimd_is_advertised(calculator, auth_server, hosted):
    document, redirect_uri = hosted
    okta = auth_server.local
    set_client_id_metadata_documents(okta, [document.url])
    try:
        login = UserLogin(calculator.mcp_url, ClientCredentials(document.url, None), issuer=calculator.issuer,
                          redirect_uri=redirect_uri)
        pending = login.begin(listener_name="test-cimd-gateway-listener", timeout=10)
        user = okta.users[0]
        sign_in_with_password(pending, user.login, user.password)
        await pending.wait()
        async with Client(calculator.mcp_url, auth=login.auth()) as client:
            me = (await client.call_tool("get_me", {})).data
            assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
    finally:
        set_client_id_metadata_documents(okta, None)
    assert me["client_id"] == document.url and me["sub"] == user.login


def test_a_metadata_document_url_is_used_only_where_cimd_is_advertised(calculator, auth_server, hosted):
    """``client_metadata_url``: the document where the server advertises CIMD, the registered app elsewhere
    (FastMCP's ``OAuth(client_metadata_url=...)`` makes the same choice)."""
    document, redirect_uri = hosted
    okta = auth_server.local
    registered = auth_server.settings.mcp_client
    elsewhere = UserLogin(calculator.mcp_url, registered, issuer=calculator.issuer, redirect_uri=redirect_uri,
                          client_metadata_url=document.url)
    assert elsewhere.client == registered
    set_client_id_metadata_documents(okta, [document.url])
    try:
        advertised = UserLogin(calculator.mcp_url, registered, issuer=calculator.issuer, redirect_uri=redirect_uri,
                               client_metadata_url=document.url)
    finally:
        set_client_id_metadata_documents(okta, None)
    assert advertised.client == ClientCredentials(document.url, None)
    with pytest.raises(LoginError, match="https:// URL with a path"):
        UserLogin(calculator.mcp_url, registered, issuer=calculator.issuer, redirect_uri=redirect_uri,
                  client_metadata_url="http://agent.example.com/client.json")
