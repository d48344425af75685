"""A standard MCP client (FastMCP's ``OAuth``) connects to the Okta-protected calculator.

Against the local server: the pre-registered public client signs in (headless, through the local
sign-in page) and calls ``add``; the token's audience is the MCP server's URL; a calculator whose
authorization server has another audience is refused (``invalid_target``); without a client id
FastMCP falls back to dynamic client registration, which finds nothing to register at; a redirect
URI on ``localhost`` (not the registered loopback IP) is refused by the sign-in page.
"""

from __future__ import annotations

import pytest
from fastmcp import Client
from fastmcp.client.auth import OAuth

from helpers.authorization_server import AuthorizationServer
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.mcp_client import (
    mcp_client_redirect_uri, quiet_client_logs, require_mcp_client, sign_in_automatically, start_mcp_calculator,
)
from helpers.mcp_client.browser import AutomaticSignInError, _browse, _is_https_or_loopback
from helpers.mcp_client.server import _tenant_port
from helpers.settings import ConfigurationError, Settings, load_settings
from helpers.verification import Protection

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Using in-memory token storage")]


@pytest.fixture(scope="module")
def auth_server():
    okta = start_local_okta(name="test-mcp-client-okta")
    yield AuthorizationServer(okta.settings(), okta)
    okta.stop()


@pytest.fixture(scope="module")
def calculator(auth_server):
    server = start_mcp_calculator(auth_server, name="test-mcp-client-calculator")
    yield server
    server.stop()


def client_auth(auth_server, mcp_url, **options):
    host, port = mcp_client_redirect_uri(auth_server.settings)
    options = {"client_id": auth_server.settings.mcp_client.client_id, "scopes": ["calculator.add"],
               "callback_host": host, "callback_port": port, **options}
    return sign_in_automatically(OAuth(mcp_url, **options), auth_server.local.users[0])


async def test_protection_audience_is_the_mcp_url(calculator, auth_server):
    assert calculator.protection.audience == calculator.mcp_url
    assert calculator.issuer != auth_server.settings.issuer  # its own authorization server
    assert calculator.issuer.startswith(auth_server.local.url + "/oauth2/aus")


async def test_fastmcp_oauth_with_the_pre_registered_client_calls_add(calculator, auth_server):
    oauth = client_auth(auth_server, calculator.mcp_url)
    with quiet_client_logs():
        async with Client(calculator.mcp_url, auth=oauth) as client:
            result = await client.call_tool("add", {"a": 2, "b": 3})
            me = (await client.call_tool("get_me", {})).data
    assert result.data == 5
    assert me["audience"] == calculator.mcp_url
    assert me["client_id"] == auth_server.settings.mcp_client.client_id
    assert me["sub"] == auth_server.local.users[0].login
    assert oauth.context.client_info.client_secret is None
    assert oauth.context.client_info.token_endpoint_auth_method == "none"


async def test_a_mismatched_audience_is_refused(auth_server):
    """The calculator names the `default` server, whose audience is not the calculator's URL."""
    mismatched = start_calculator(Protection.from_settings(auth_server.settings), name="test-mcp-client-mismatched")
    try:
        oauth = client_auth(auth_server, mismatched.mcp_url)
        with quiet_client_logs(), pytest.raises(Exception) as caught:
            async with Client(mismatched.mcp_url, auth=oauth):
                pass
    finally:
        mismatched.stop()
    assert f"The authorization server has rejected the 'resource' parameter: {mismatched.mcp_url}" in str(caught.value)


async def test_without_a_client_id_fastmcp_tries_registration_and_fails(calculator, auth_server):
    oauth = sign_in_automatically(OAuth(calculator.mcp_url, scopes=["calculator.add"], callback_host="127.0.0.1"),
                                  auth_server.local.users[0])
    with quiet_client_logs(), pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=oauth):
            pass
    assert "Registration failed: 404" in str(caught.value)


async def test_localhost_redirect_is_not_the_registered_one(calculator, auth_server):
    oauth = client_auth(auth_server, calculator.mcp_url, callback_host="localhost")
    with quiet_client_logs(), pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=oauth):
            pass
    assert "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings." in str(caught.value)


def test_the_browser_stand_in_goes_only_to_https_or_this_machine():
    assert _is_https_or_loopback("http://127.0.0.1:8766/callback?code=x")
    assert _is_https_or_loopback("https://127.0.0.1:8443/oauth2/default/v1/authorize")
    assert not _is_https_or_loopback("http://192.168.1.5:8766/callback")
    assert not _is_https_or_loopback("javascript:alert(1)")


def test_the_password_is_filled_in_on_the_local_server_only(auth_server):
    """An MCP server's metadata could name any issuer: the stand-in never types the password there."""
    with pytest.raises(AutomaticSignInError, match="local server's sign-in page"):
        _browse("https://login.evil.example.com/oauth2/default/v1/authorize?client_id=x", auth_server.local.users[0],
                "http://127.0.0.1:8766/callback")


def test_sign_in_automatically_needs_a_bound_oauth(auth_server):
    with pytest.raises(TypeError, match="MCP server's URL"):
        sign_in_automatically(OAuth(client_id="x"), auth_server.local.users[0])


def test_redirect_uri_local_and_tenant():
    assert mcp_client_redirect_uri(Settings(mode="local")) == ("127.0.0.1", None)
    assert mcp_client_redirect_uri(Settings(mode="okta", issuer="https://x.okta.com/oauth2/default")) == ("127.0.0.1", 8766)
    own = Settings(mode="okta", mcp_redirect_uri="http://127.0.0.1:8702/callback")  # MCP_REDIRECT_URI
    assert mcp_client_redirect_uri(own) == ("127.0.0.1", 8702)
    for wrong in ("http://localhost:8702/callback", "http://127.0.0.1/callback", "http://127.0.0.1:8702/cb",
                  "https://127.0.0.1:8702/callback"):
        with pytest.raises(ConfigurationError, match="MCP_REDIRECT_URI"):
            mcp_client_redirect_uri(Settings(mode="okta", mcp_redirect_uri=wrong))


def test_tenant_calculator_is_served_at_the_audience():
    assert _tenant_port(Settings(mode="okta", audience="http://127.0.0.1:8000/mcp")) == 8000
    for audience in ("api://default", "https://calculator-mcp-server.example.com", "http://localhost:8000/mcp"):
        with pytest.raises(ConfigurationError, match="audience is the MCP server's URL"):
            _tenant_port(Settings(mode="okta", audience=audience))


def test_mcp_client_id_setting(tmp_path):
    env = {"OAUTH_ISSUER": "https://x.okta.com/oauth2/default", "OAUTH_AUDIENCE": "api://default",
           "M2M_CLIENT_ID": "0oa1", "M2M_CLIENT_SECRET": "s"}
    assert load_settings({**env, "MCP_CLIENT_ID": "0oa1mcp"}, env_file="").mcp_client.client_id == "0oa1mcp"
    assert load_settings({**env, "MCP_CLIENT_ID": "0oa1mcp"}, env_file="").mcp_client.client_secret is None
    assert load_settings({**env, "MCP_CLIENT_ID": "{yourMcpClientNativeAppClientId}"}, env_file="").mcp_client is None
    assert load_settings({**env, "MCP_REDIRECT_URI": "http://127.0.0.1:8702/callback"}, env_file="").mcp_redirect_uri == (
        "http://127.0.0.1:8702/callback")
    settings = load_settings(env, env_file="")
    with pytest.raises(ConfigurationError, match="Native Application"):
        require_mcp_client(settings)


async def test_fastmcp_client_metadata_url_signs_in_when_cimd_is_on(calculator, auth_server):
    """FastMCP's CIMD client (client_metadata_url) against the local server with the switch on."""
    from fastmcp.utilities.http import find_available_port

    from helpers.local_okta.cimd import set_client_id_metadata_documents
    from helpers.mcp_client import host_client_metadata

    port = find_available_port(host="127.0.0.1")
    hosted = host_client_metadata("A CIMD client", f"http://127.0.0.1:{port}/callback", name="test-mcp-client-cimd")
    okta = auth_server.local
    set_client_id_metadata_documents(okta, [hosted.url])
    try:
        oauth = sign_in_automatically(OAuth(calculator.mcp_url, client_metadata_url=hosted.url, callback_host="127.0.0.1",
                                            callback_port=port), okta.users[0])
        with quiet_client_logs():
            async with Client(calculator.mcp_url, auth=oauth) as client:
                assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
                assert (await client.call_tool("get_me", {})).data["client_id"] == hosted.url
    finally:
        set_client_id_metadata_documents(okta, None)
        hosted.stop()
    assert hosted.document["client_id"] == hosted.url


async def test_client_metadata_url_is_not_used_while_cimd_is_off(calculator, auth_server):
    """Off (the default): the metadata does not advertise CIMD, so the MCP SDK falls back to DCR."""
    oauth = sign_in_automatically(OAuth(calculator.mcp_url, client_metadata_url="https://127.0.0.1:9/oauth/client.json",
                                        callback_host="127.0.0.1"), auth_server.local.users[0])
    with quiet_client_logs(), pytest.raises(Exception, match="Registration failed"):
        async with Client(calculator.mcp_url, auth=oauth):
            pass


async def test_a_dcr_only_client_connects_through_oidc_proxy(auth_server):
    """FastMCP's OAuth without a client id registers at the proxy, approves its consent page, signs
    in at Okta through the proxy's one web app, and gets the proxy's own token."""
    import jwt

    from helpers.mcp_client.proxy import start_proxied_calculator

    proxied = start_proxied_calculator(auth_server, name="test-mcp-client-proxy")
    try:
        oauth = sign_in_automatically(OAuth(proxied.mcp_url, callback_host="127.0.0.1"), auth_server.local.users[0])
        with quiet_client_logs():
            async with Client(proxied.mcp_url, auth=oauth) as client:
                assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
    finally:
        proxied.stop()
    registered = oauth.context.client_info.client_id
    assert registered not in {c.client_id for c in auth_server.local.clients.values()}  # Okta never saw it
    claims = jwt.decode(oauth.context.current_tokens.access_token, options={"verify_signature": False})
    assert claims["iss"] != auth_server.settings.issuer  # the proxy's token, not Okta's
