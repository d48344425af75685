"""Notebook display helpers, discovery from an MCP server URL, and choosing the authorization server."""

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.authorization_server import connect_authorization_server
from helpers.calculator import start_calculator
from helpers.discovery import DiscoveryError, discover
from helpers.display import check_mark, claims_table, mask_secret, mask_token, relative_time, table
from helpers.verification import Protection

ISSUER = "https://example.okta.com/oauth2/default"


def test_mask_token_never_shows_the_whole_token():
    token = "eyJraWQiOiJrMSJ9." + "a" * 300 + ".sig"
    masked = mask_token(token)
    assert masked == f"eyJraWQ...<{len(token)} chars>"
    assert token not in masked and len(masked) < 30
    assert mask_token(None) == "<none>"


def test_mask_secret_shows_only_the_length():
    assert mask_secret("hunter2hunter2") == "********<14 chars>"
    assert "hunter" not in mask_secret("hunter2hunter2")
    assert mask_secret("") == "<not set>"


@pytest.mark.parametrize("delta, text", [(3600, "in 3600 s"), (-120, "120 s ago"), (1, "now"), (0, "now")])
def test_relative_time(delta, text):
    assert relative_time(1_000_000 + delta, now=1_000_000) == text


def test_claims_table_is_sorted_relative_and_explained():
    text = claims_table(
        {"scp": ["calculator.subtract", "calculator.add"], "exp": 4600, "iat": 1000, "jti": "AT.abcdefgh", "iss": "x"},
        now=1000, varying=["iss"],
    )
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["exp", "iat", "iss", "jti", "scp"]
    assert "in 3600 s" in lines[2] and "expires at" in lines[2]
    assert "(varies)" in lines[4]
    assert "AT....(unique per token)" in lines[5]
    assert '["calculator.add", "calculator.subtract"]' in lines[6]


def test_table_aligns_columns():
    assert table(("a", "bb"), [("xyz", 1)]).splitlines() == ["a    bb", "---  --", "xyz  1"]


def test_check_marks():
    assert (check_mark(True), check_mark(False), check_mark(None)) == ("✅", "❌", "⚠️")


def test_connect_uses_the_local_server_by_default(monkeypatch):
    monkeypatch.setenv("TUTORIAL_AUTH_SERVER", "local")
    server = connect_authorization_server(name="test-connect")
    try:
        assert server.is_local
        assert server.settings.issuer.endswith("/oauth2/default")
        assert "local" in server.describe()
    finally:
        server.local.stop()


def test_connect_uses_the_tenant_in_the_environment(monkeypatch):
    monkeypatch.setenv("TUTORIAL_AUTH_SERVER", "okta")
    monkeypatch.setenv("OAUTH_ISSUER", "https://dev-1.okta.com/oauth2/default")
    monkeypatch.setenv("OAUTH_AUDIENCE", "https://calculator-mcp-server.example.com")
    server = connect_authorization_server(name="test-connect-okta")
    assert not server.is_local
    assert "test-connect-okta" not in background.running()  # nothing local was started
    assert server.describe().startswith("Using the Okta authorization server https://dev-1.okta.com/oauth2/default")


@pytest.fixture(scope="module")
def okta_and_calculator():
    server = connect_authorization_server(name="test-discovery-okta")
    calculator = start_calculator(Protection.from_settings(server.settings), name="test-discovery-calculator")
    yield server.local, calculator
    calculator.stop()
    server.local.stop()


def test_discover_from_the_mcp_url(okta_and_calculator):
    okta, calculator = okta_and_calculator
    found = discover(calculator.mcp_url, issuer=okta.issuer)
    assert found.issuer == okta.issuer
    assert found.token_endpoint == okta.token_endpoint
    assert found.authorization_endpoint == okta.authorization_endpoint
    assert found.scopes_supported == ("calculator.add", "calculator.subtract")
    assert found.resource == calculator.mcp_url
    assert found.challenge_scopes is None  # the calculator's 401 names no scope
    assert found.scopes_to_request == ("calculator.add", "calculator.subtract")
    assert len(found.steps) == 3 and found.steps[0].startswith("401 challenge")


def serve(routes, name):
    return background.start(Starlette(routes=routes), name=name, tls=True)


def test_discover_falls_back_to_the_legacy_metadata(okta_and_calculator):
    okta, _ = okta_and_calculator
    metadata = requests.get(okta.metadata_url, timeout=5).json()
    legacy = serve([Route("/.well-known/oauth-authorization-server", lambda r: JSONResponse(metadata))], "test-legacy")
    try:
        found = discover(legacy.url + "/mcp", issuer=okta.issuer)
        assert found.issuer == okta.issuer and found.token_endpoint == okta.token_endpoint
        assert found.steps[0].startswith("legacy")
    finally:
        legacy.stop()


@pytest.mark.parametrize("routes, message", [
    ([], "publishes neither"),
    ([Route("/.well-known/oauth-protected-resource/mcp", lambda r: PlainTextResponse("<html>"))], "did not answer with JSON"),
    ([Route("/.well-known/oauth-protected-resource/mcp", lambda r: JSONResponse({"resource": str(r.base_url) + "mcp"}))], "names no authorization_servers"),
    ([Route("/.well-known/oauth-protected-resource/mcp", lambda r: Response(status_code=500))], "answered HTTP 500"),
    ([Route("/.well-known/oauth-protected-resource/mcp", lambda r: RedirectResponse("https://elsewhere.example.com/x"))], "does not follow redirects"),
])
def test_discovery_failures_say_what_was_wrong(routes, message):
    server = serve(routes, "test-bad-discovery")
    try:
        with pytest.raises(DiscoveryError, match=message):
            discover(server.url + "/mcp", issuer=ISSUER)
    finally:
        server.stop()


def test_discovery_refuses_metadata_for_another_issuer(okta_and_calculator):
    okta, _ = okta_and_calculator
    metadata = {**requests.get(okta.metadata_url, timeout=5).json(), "issuer": "https://evil.example.com"}
    routes = [
        Route("/.well-known/oauth-protected-resource/mcp", lambda r: JSONResponse(
            {"resource": str(r.base_url) + "mcp", "authorization_servers": [str(r.base_url) + "as"]})),
        Route("/as/.well-known/oauth-authorization-server", lambda r: JSONResponse(metadata)),
    ]
    server = serve(routes, "test-mixup")
    try:
        with pytest.raises(DiscoveryError, match="RFC 8414"):
            discover(server.url + "/mcp", issuer=server.url + "/as")
    finally:
        server.stop()


@pytest.mark.parametrize("url", ["ftp://x/mcp", "not a url", "http:///mcp"])
def test_discovery_refuses_a_malformed_url(url):
    with pytest.raises(DiscoveryError, match="not an http"):
        discover(url, issuer=ISSUER)


def test_discovery_of_an_unreachable_server():
    with pytest.raises(DiscoveryError, match="Could not reach"):
        discover("http://127.0.0.1:9/mcp", issuer=ISSUER, timeout=2)
