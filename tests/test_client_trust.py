"""Clients that cannot be tricked: what a client trusts before it sends a secret.

Each test names the point of the client-security review (issue 11) it covers; each failed on
the code before the fix:

1. credentials go only to the issuer the client was registered with (pinning);
2. protected resource metadata for another resource is refused (RFC 9728 section 3.3);
7. scope selection: the 401 challenge's ``scope``, else ``scopes_supported``;
8. discovery needs no ``jwks_uri``; the verifier refuses a plain-http ``jwks_uri`` and a
   metadata document for another issuer;
9. the RFC 8707 ``resource`` parameter is an explicit per-authorization-server setting;
10. the ``requests`` and cURL fetchers refuse plain ``http://`` to another host;
13. ``python -m helpers.calculator --host 0.0.0.0`` without ``--public-url`` is refused.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.calculator import start_calculator
from helpers.calculator.serve import public_base_url
from helpers.discovery import DiscoveryError, IssuerMismatchError, ResourceMismatchError, discover
from helpers.local_okta import start_local_okta
from helpers.settings import ClientCredentials, ConfigurationError, load_settings
from helpers.tokens import TokenError, TokenManager, fetch_token_with_curl, fetch_token_with_requests
from helpers.user_login import USER_SCOPES, UserLogin
from helpers.verification import Protection, discover_jwks_uri

SCOPES = ("calculator.add", "calculator.subtract")
MCP = "https://calculator.example.com/mcp"  # the MCP server a manager is bound to (mcp_servers=)


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-trust-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-trust-calculator")
    yield server
    server.stop()


class FakeServers:
    """A fake MCP server and a fake authorization server on one port; every request is counted."""

    def __init__(
        self, name: str, *, prm: dict | None = None, challenge: str | None = None,
        prm_path: str = "/.well-known/oauth-protected-resource/mcp",
    ) -> None:
        self.requests: Counter[str] = Counter()
        self.prm, self.challenge, self.prm_path = prm, challenge, prm_path
        self.server = background.start(app_for_url=self._app, name=name, tls=True)  # an issuer is HTTPS

    def _app(self, url: str) -> Starlette:
        self.url = url
        issuer = url + "/oauth2/evil"

        async def record(request: Request) -> Response:
            self.requests[f"{request.method} {request.url.path}"] += 1
            path = request.url.path
            if path == "/mcp":
                header = self.challenge if self.challenge is not None else f'Bearer resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"'
                return Response(status_code=401, headers={"WWW-Authenticate": header})
            if path == self.prm_path and self.prm is not None:
                return JSONResponse({k: v.replace("{url}", url) if isinstance(v, str) else
                                     [x.replace("{url}", url) for x in v] if isinstance(v, list) else v
                                     for k, v in self.prm.items()})
            if path == "/oauth2/evil/.well-known/oauth-authorization-server":
                return JSONResponse({
                    "issuer": issuer, "authorization_endpoint": issuer + "/v1/authorize",
                    "token_endpoint": issuer + "/v1/token", "code_challenge_methods_supported": ["S256"],
                })
            if path.startswith("/oauth2/evil/v1/"):  # would accept any secret: it must never be asked
                return JSONResponse({"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600})
            return Response(status_code=404)

        return Starlette(routes=[Route("/{path:path}", record, methods=["GET", "POST"])])

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    @property
    def issuer(self) -> str:
        return self.url + "/oauth2/evil"

    def asked_the_authorization_server(self) -> int:
        return sum(n for key, n in self.requests.items() if "/oauth2/evil" in key)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def impostor():
    """An MCP server whose metadata names its own authorization server (which accepts anything)."""
    fake = FakeServers("test-trust-impostor", prm={
        "resource": "{url}/mcp", "authorization_servers": ["{url}/oauth2/evil"], "scopes_supported": list(SCOPES),
    })
    yield fake
    fake.stop()


# -- 1. issuer pinning ------------------------------------------------------------------------


def test_1_gateway_refuses_an_mcp_server_that_names_another_authorization_server(okta, impostor):
    with pytest.raises(IssuerMismatchError) as caught:
        UserLogin(impostor.mcp_url, okta.clients["web"], issuer=okta.issuer)
    message = str(caught.value)
    assert impostor.issuer in message and okta.issuer in message  # names both
    assert caught.value.expected == okta.issuer and caught.value.named == (impostor.issuer,)
    assert impostor.asked_the_authorization_server() == 0  # no metadata read, no secret, no verifier


def test_1_a_service_discovers_only_its_own_issuer_so_its_secret_never_leaves(okta, impostor):
    with pytest.raises(IssuerMismatchError, match="registered with"):
        found = discover(impostor.mcp_url, issuer=okta.issuer)
        fetch_token_with_requests(found.token_endpoint, okta.clients["write_service"], SCOPES)
    assert impostor.asked_the_authorization_server() == 0


def test_1_the_pinned_issuer_is_chosen_among_several(okta, calculator):
    fake = FakeServers("test-trust-several", prm={
        "resource": "{url}/mcp", "authorization_servers": ["{url}/oauth2/evil", okta.issuer],
    })
    try:
        found = discover(fake.mcp_url, issuer=okta.issuer)
        assert found.issuer == okta.issuer and found.token_endpoint == okta.token_endpoint
        assert fake.asked_the_authorization_server() == 0
    finally:
        fake.stop()


def test_1_discovery_without_an_expected_issuer_is_refused(calculator):
    with pytest.raises(TypeError):
        discover(calculator.mcp_url)  # the issuer is a required keyword
    with pytest.raises(DiscoveryError, match="expected issuer"):
        discover(calculator.mcp_url, issuer="")


def test_1_legacy_metadata_must_name_the_pinned_issuer_too(okta):
    metadata = requests.get(okta.metadata_url, timeout=5).json()
    legacy = background.start(Starlette(routes=[
        Route("/.well-known/oauth-authorization-server", lambda r: JSONResponse({**metadata, "issuer": "https://evil.example.com"})),
    ]), name="test-trust-legacy")
    try:
        with pytest.raises(IssuerMismatchError, match="https://evil.example.com"):
            discover(legacy.url + "/mcp", issuer=okta.issuer)
    finally:
        legacy.stop()


# -- 2. the metadata's resource ------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["https://calculator.example.com/mcp", "{url}/other", "{url}/mcp/", None])
def test_2_metadata_for_another_resource_stops_before_any_authorization_request(okta, resource):
    prm = {"authorization_servers": [okta.issuer]}
    if resource is not None:
        prm["resource"] = resource
    fake = FakeServers("test-trust-resource", prm=prm)
    okta.request_counts.clear()
    try:
        with pytest.raises(ResourceMismatchError, match="RFC 9728, section 3.3"):
            UserLogin(fake.mcp_url, okta.clients["web"], issuer=okta.issuer)
        assert sum(okta.request_counts.values()) == 0  # not even the issuer's metadata was read
    finally:
        fake.stop()


def test_2_scheme_and_host_compare_without_case(okta):
    fake = FakeServers("test-trust-case", prm={"authorization_servers": [okta.issuer]})
    fake.prm["resource"] = fake.url.replace("https://", "HTTPS://") + "/mcp"
    try:
        assert discover(fake.mcp_url, issuer=okta.issuer).resource == fake.prm["resource"]
    finally:
        fake.stop()


# -- 7. scope selection --------------------------------------------------------------------------


def test_7_the_401_challenge_scope_comes_first(okta):
    fake = FakeServers(
        "test-trust-challenge",
        prm={"resource": "{url}/mcp", "authorization_servers": [okta.issuer], "scopes_supported": list(SCOPES)},
        challenge='Bearer error="invalid_token", scope="calculator.add"',
    )
    try:
        found = discover(fake.mcp_url, issuer=okta.issuer)
        assert found.challenge_scopes == ("calculator.add",) and found.scopes_supported == SCOPES
        assert found.scopes_to_request == ("calculator.add",)
        login = UserLogin(fake.mcp_url, okta.clients["web"], issuer=okta.issuer, discovered=found)
        assert login.scopes == (*USER_SCOPES, "calculator.add")
    finally:
        fake.stop()


def test_7_without_a_challenge_scope_the_metadata_scopes_are_used(okta, calculator):
    found = discover(calculator.mcp_url, issuer=okta.issuer)
    assert found.challenge_scopes is None and found.scopes_to_request == SCOPES
    assert UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer).scopes == (*USER_SCOPES, *SCOPES)


def test_7_the_resource_metadata_url_of_the_challenge_is_followed(okta):
    fake = FakeServers("test-trust-rm", prm={"resource": "{url}/mcp", "authorization_servers": [okta.issuer]},
                       prm_path="/metadata/elsewhere")
    fake.challenge = f'Bearer resource_metadata="{fake.url}/metadata/elsewhere"'
    try:
        found = discover(fake.mcp_url, issuer=okta.issuer)
        assert found.resource_metadata_url == fake.url + "/metadata/elsewhere"
        assert fake.requests["GET /metadata/elsewhere"] == 1
        assert not any("oauth-protected-resource" in key for key in fake.requests)  # never needed
    finally:
        fake.stop()


# -- 8. what discovery and the verifier require ----------------------------------------------------


def metadata_server(name: str, document_for) -> background.BackgroundServer:
    return background.start(app_for_url=lambda url: Starlette(routes=[
        Route("/oauth2/x/.well-known/oauth-authorization-server", lambda r: JSONResponse(document_for(url))),
    ]), name=name, tls=True)


def test_8_a_client_does_not_need_jwks_uri(okta):
    prm = {"resource": "{url}/mcp", "authorization_servers": ["{url}/oauth2/evil"]}
    fake = FakeServers("test-trust-nojwks", prm=prm)  # its metadata has no jwks_uri
    try:
        found = discover(fake.mcp_url, issuer=fake.issuer)
        assert found.jwks_uri is None and found.token_endpoint == fake.issuer + "/v1/token"
    finally:
        fake.stop()


def test_8_the_verifier_refuses_a_plain_http_jwks_uri_and_another_issuer():
    server = metadata_server("test-trust-jwks", lambda url: {"issuer": url + "/oauth2/x", "jwks_uri": "http://keys.example.com/keys"})
    try:
        with pytest.raises(ConfigurationError, match="not https://"):
            discover_jwks_uri(server.url + "/oauth2/x")
    finally:
        server.stop()
    server = metadata_server("test-trust-jwks", lambda url: {"issuer": "https://evil.example.com", "jwks_uri": url + "/keys"})
    try:
        with pytest.raises(ConfigurationError, match="names the issuer 'https://evil.example.com'"):
            discover_jwks_uri(server.url + "/oauth2/x")
    finally:
        server.stop()
    with pytest.raises(ConfigurationError, match="not https://"):
        Protection(issuer="https://x.okta.com/oauth2/default", audience="a", jwks_uri="http://keys.example.com/keys")


def test_8_discovery_refuses_plain_http_endpoints_on_another_host():
    evil = {"token_endpoint": "http://okta.example.com/oauth2/default/v1/token"}
    server = metadata_server("test-trust-httpep-as", lambda url: {**evil, "issuer": url + "/oauth2/x"})
    fake = FakeServers("test-trust-httpep", prm={"resource": "{url}/mcp", "authorization_servers": [server.url + "/oauth2/x"]})
    try:
        with pytest.raises(DiscoveryError, match="token_endpoint 'http://okta.example.com.*not an https:// URL"):
            discover(fake.mcp_url, issuer=server.url + "/oauth2/x")
    finally:
        fake.stop()
        server.stop()


def test_8_discovery_refuses_a_plain_http_mcp_server_on_another_host():
    with pytest.raises(DiscoveryError, match="access tokens must travel over HTTPS"):
        discover("http://calculator.example.com/mcp", issuer="https://x.okta.com/oauth2/default")


# -- 9. the resource parameter: an explicit setting ------------------------------------------------


@pytest.mark.parametrize("value, expected", [(None, False), ("false", False), ("true", True), ("YES", True), ("0", False)])
def test_9_send_resource_is_a_setting_of_the_authorization_server(value, expected):
    environ = {"OAUTH_ISSUER": "https://x.okta.com/oauth2/default", "OAUTH_AUDIENCE": "api://calculator"}
    if value is not None:
        environ["OAUTH_SEND_RESOURCE"] = value
    assert load_settings(environ, env_file="").send_resource_parameter is expected


def test_9_an_unclear_value_is_refused():
    with pytest.raises(ConfigurationError, match="OAUTH_SEND_RESOURCE='maybe'"):
        load_settings({"OAUTH_SEND_RESOURCE": "maybe"}, env_file="")


def test_9_the_gateway_sends_the_verified_resource_only_when_told(okta, calculator):
    assert UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer).resource is None
    login = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, send_resource=True)
    assert login.resource == calculator.mcp_url  # the MCP server's URL, checked against its metadata


# -- 10. no client secret over plain http to another host ------------------------------------------


@pytest.mark.parametrize("fetch", [fetch_token_with_requests, fetch_token_with_curl], ids=["requests", "curl"])
def test_10_fetchers_refuse_plain_http_to_another_host(fetch, monkeypatch):
    sent = []
    monkeypatch.setattr(requests, "post", lambda *a, **k: sent.append(a))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: sent.append(a))
    client = ClientCredentials("0oa1", "a-secret-that-must-stay-home")
    with pytest.raises(TokenError, match="Refusing to send client credentials to http://okta.example.com") as caught:
        fetch("http://okta.example.com/oauth2/default/v1/token", client, SCOPES)
    assert sent == [] and "a-secret-that-must-stay-home" not in str(caught.value)


def test_10_the_token_manager_refuses_it_too():
    manager = TokenManager.for_client_credentials(
        "http://okta.example.com/oauth2/default/v1/token", ClientCredentials("0oa1", "s"), SCOPES, way="requests",
        mcp_servers=MCP)
    with pytest.raises(TokenError, match="Refusing"):
        manager.get_token()


# -- 13. a public bind needs --public-url ----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_13_a_public_bind_without_public_url_is_refused(host):
    with pytest.raises(ConfigurationError, match="--public-url"):
        public_base_url(host, 8000, None)


def test_13_public_url_must_be_https_and_loopback_keeps_working():
    assert public_base_url("0.0.0.0", 8000, "https://calculator.example.com/") == "https://calculator.example.com"
    assert public_base_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000"
    assert public_base_url("::1", 8000, None) == "http://[::1]:8000"
    with pytest.raises(ConfigurationError, match="not an https:// URL"):
        public_base_url("0.0.0.0", 8000, "http://calculator.example.com")


def test_13_the_command_line_says_so_and_exits_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "helpers.calculator", "--host", "0.0.0.0", "--port", "0", "--no-auth"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "error: --host 0.0.0.0 makes the server reachable from other machines, so give --public-url" in done.stderr
    assert "Traceback" not in done.stderr
