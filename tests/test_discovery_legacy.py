"""Discovery's fallback for MCP servers without RFC 9728: ``{origin}/.well-known/oauth-authorization-server``.

Such a server only says *which* issuer it trusts: by serving that issuer's metadata document, or
by redirecting to it (as the calculator does). The client follows no redirect and takes the
endpoints from the issuer it was registered with; anything that names another issuer is refused.
A stand-in serves an MCP endpoint (401 without ``resource_metadata``), no protected resource
metadata, the legacy document as each test chooses, and its own issuer's metadata.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.discovery import DiscoveryError, IssuerMismatchError, discover
from loopback import reserve_port

LEGACY_PATH = "/.well-known/oauth-authorization-server"
METADATA_FORMS = {  # an issuer's path (no trailing slash) -> where its metadata document is served
    "okta": lambda path: path + LEGACY_PATH,  # Okta's form, under the issuer
    "rfc8414": lambda path: LEGACY_PATH + path,  # RFC 8414 3.1, between the host and the issuer's path
    "openid": lambda path: path + "/.well-known/openid-configuration",  # OpenID Connect Discovery 4
}


class LegacyMcpServer:
    """``legacy(url, issuer)`` answers ``GET /.well-known/oauth-authorization-server``; every request is counted."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.legacy = lambda url, issuer: RedirectResponse(issuer + LEGACY_PATH, status_code=302)
        self.issuer_suffix = ""  # "/" makes the issuer end with a slash
        self.issuer_path = "/oauth2/x"
        self.metadata_form = "okta"  # where the issuer's metadata is served: a key of METADATA_FORMS
        self.metadata = lambda url, issuer: JSONResponse(self.document(url, issuer))
        self.prm = lambda url, issuer: Response(status_code=404)  # RFC 9728 metadata: none by default
        self.mcp = lambda url, issuer: Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        self.server = background.start(app_for_url=self._app, name="test-discovery-legacy", tls=True)

    def _app(self, url: str) -> Starlette:
        self.url = url

        async def answer(request: Request) -> Response:
            path = request.url.path
            self.requests[f"{request.method} {path}"] += 1
            if path == "/mcp":
                return self.mcp(url, self.issuer)
            if path == "/moved":
                return RedirectResponse(url + "/mcp", status_code=307)
            if path == "/.well-known/oauth-protected-resource/mcp":
                return self.prm(url, self.issuer)
            if path == LEGACY_PATH:
                return self.legacy(url, self.issuer)
            if path == METADATA_FORMS[self.metadata_form](self.issuer_path):
                return self.metadata(url, self.issuer)
            return Response(status_code=404)

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])

    @staticmethod
    def document(url: str, issuer: str, **changes) -> dict:
        """The issuer's metadata, with ``changes`` (``None`` removes a field)."""
        document = {"issuer": issuer, "token_endpoint": url + "/oauth2/x/v1/token",
                    "authorization_endpoint": url + "/oauth2/x/v1/authorize"}
        document.update(changes)
        return {name: value for name, value in document.items() if value is not None}

    @property
    def issuer(self) -> str:
        return self.url + self.issuer_path + self.issuer_suffix

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"


@pytest.fixture(scope="module")
def stand_in():
    server = LegacyMcpServer()
    yield server
    server.server.stop()


@pytest.fixture(autouse=True)
def fresh(stand_in):
    stand_in.requests.clear()
    stand_in.legacy = lambda url, issuer: RedirectResponse(issuer.rstrip("/") + LEGACY_PATH, status_code=302)
    stand_in.issuer_suffix = ""
    stand_in.issuer_path = "/oauth2/x"
    stand_in.metadata_form = "okta"
    stand_in.metadata = lambda url, issuer: JSONResponse(stand_in.document(url, issuer))
    stand_in.prm = lambda url, issuer: Response(status_code=404)
    stand_in.mcp = lambda url, issuer: Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})


def assert_discovered_from_the_issuer(found, stand_in):
    assert found.issuer == stand_in.issuer and found.resource == stand_in.mcp_url
    assert found.token_endpoint == stand_in.url + "/oauth2/x/v1/token"
    assert found.metadata_url == stand_in.url + "/oauth2/x" + LEGACY_PATH
    assert found.resource_metadata_url is None and found.scopes_supported == () and found.challenge_scopes is None
    assert found.steps[1] == f"legacy authorization server metadata on the MCP server: {stand_in.url}{LEGACY_PATH}"


def test_a_redirect_to_the_pinned_issuers_metadata_is_read_from_the_issuer_not_followed(stand_in):
    found = discover(stand_in.mcp_url, issuer=stand_in.issuer)
    assert_discovered_from_the_issuer(found, stand_in)
    assert stand_in.requests["GET /oauth2/x" + LEGACY_PATH] == 1  # read once, by discovery itself


def test_a_redirect_to_the_pinned_openid_configuration_names_the_issuer_too(stand_in):
    stand_in.legacy = lambda url, issuer: RedirectResponse(issuer + "/.well-known/openid-configuration", status_code=302)
    assert_discovered_from_the_issuer(discover(stand_in.mcp_url, issuer=stand_in.issuer), stand_in)
    assert stand_in.requests["GET /oauth2/x/.well-known/openid-configuration"] == 0  # not followed


@pytest.mark.parametrize("document", [LEGACY_PATH, "/.well-known/openid-configuration"])
def test_an_issuer_with_a_trailing_slash_is_pinned_without_it(stand_in, document):
    stand_in.issuer_suffix = "/"
    stand_in.legacy = lambda url, issuer: RedirectResponse(issuer.rstrip("/") + document, status_code=302)
    found = discover(stand_in.mcp_url, issuer=stand_in.issuer)
    assert found.issuer == stand_in.issuer and found.token_endpoint == stand_in.url + "/oauth2/x/v1/token"


@pytest.mark.parametrize("form", ["rfc8414", "openid"])
def test_a_trailing_slash_issuer_without_oktas_form_finds_its_metadata_without_the_slash(stand_in, form):
    # RFC 8414 3.1 and OpenID Connect Discovery 4: a terminating "/" is removed before
    # the well-known suffix is inserted (RFC 8414) or appended (OpenID Connect)
    stand_in.issuer_suffix = "/"
    stand_in.metadata_form = form
    stand_in.legacy = lambda url, issuer: JSONResponse({"issuer": issuer})
    found = discover(stand_in.mcp_url, issuer=stand_in.issuer)
    assert found.issuer == stand_in.issuer and found.token_endpoint == stand_in.url + "/oauth2/x/v1/token"
    assert found.metadata_url == stand_in.url + METADATA_FORMS[form]("/oauth2/x")


def test_a_document_naming_the_pinned_issuer_is_accepted(stand_in):
    stand_in.legacy = lambda url, issuer: JSONResponse({"issuer": issuer})
    assert_discovered_from_the_issuer(discover(stand_in.mcp_url, issuer=stand_in.issuer), stand_in)


@pytest.mark.parametrize("answer, named", [
    (lambda url, issuer: RedirectResponse("https://evil.example.com/oauth2/default" + LEGACY_PATH, status_code=302),
     "https://evil.example.com/oauth2/default" + LEGACY_PATH),
    (lambda url, issuer: JSONResponse({"issuer": "https://evil.example.com/oauth2/default"}), "https://evil.example.com/oauth2/default"),
    (lambda url, issuer: JSONResponse({"issuer": 42}), "42"),
    (lambda url, issuer: JSONResponse({}), "None"),
], ids=["redirect elsewhere", "another issuer", "a number", "no issuer"])
def test_anything_but_the_pinned_issuer_is_refused(stand_in, answer, named):
    stand_in.legacy = answer
    with pytest.raises(IssuerMismatchError, match="points to the authorization server") as info:
        discover(stand_in.mcp_url, issuer=stand_in.issuer)
    assert info.value.named == (named,) and info.value.expected == stand_in.issuer
    assert stand_in.requests["GET /oauth2/x" + LEGACY_PATH] == 0  # nothing read from any issuer


def test_no_legacy_document_either_is_a_clear_error(stand_in):
    stand_in.legacy = lambda url, issuer: Response(status_code=404)
    with pytest.raises(DiscoveryError, match=r"publishes neither .*/.well-known/oauth-protected-resource/mcp \(RFC 9728\) nor"):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


def test_a_legacy_document_that_is_not_json_is_a_clear_error(stand_in):
    stand_in.legacy = lambda url, issuer: Response("<html>", media_type="text/html")
    with pytest.raises(DiscoveryError, match=f"^{stand_in.url}{LEGACY_PATH} did not answer with JSON"):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


def hangs(answer=lambda url, issuer: Response(status_code=404), seconds=10):
    """``answer``, given only after ``seconds`` (or once the test sets the state's ``on`` to False)."""
    state = {"on": True}

    def hanging(url, issuer):
        deadline = time.monotonic() + seconds
        while state["on"] and time.monotonic() < deadline:
            time.sleep(0.02)
        return answer(url, issuer)

    return state, hanging


def test_a_silent_legacy_endpoint_is_given_up_after_the_timeout(stand_in):
    hanging, stand_in.legacy = hangs(lambda url, issuer: JSONResponse({"issuer": issuer}))
    started = time.monotonic()
    try:
        with pytest.raises(DiscoveryError, match=rf"^{stand_in.url}{LEGACY_PATH} did not answer within 1 s\.$"):
            discover(stand_in.mcp_url, issuer=stand_in.issuer, timeout=1)
        assert time.monotonic() - started < 8  # not the 10 s the stand-in would hang
    finally:
        hanging["on"] = False


# -- the pinned issuer's own metadata: read from the issuer, checked before anything is sent there ----


def test_a_silent_issuer_is_given_up_after_the_timeout(stand_in):
    hanging, stand_in.metadata = hangs(lambda url, issuer: JSONResponse(stand_in.document(url, issuer)))
    try:
        with pytest.raises(DiscoveryError, match=rf"^{stand_in.issuer}{LEGACY_PATH} did not answer within 1 s\.$"):
            discover(stand_in.mcp_url, issuer=stand_in.issuer, timeout=1)
    finally:
        hanging["on"] = False


def test_an_unreachable_issuer_is_a_clear_error(stand_in):
    with reserve_port() as nobody_listens:
        issuer = f"https://127.0.0.1:{nobody_listens.port}/oauth2/x"
        stand_in.legacy = lambda url, _: JSONResponse({"issuer": issuer})
        with pytest.raises(DiscoveryError, match=rf"^Could not reach {issuer}{LEGACY_PATH} \(ConnectionError\)\.$"):
            discover(stand_in.mcp_url, issuer=issuer)


def test_an_issuer_without_metadata_is_a_clear_error(stand_in):
    stand_in.metadata = lambda url, issuer: Response(status_code=404)
    with pytest.raises(DiscoveryError, match=rf"^The authorization server {stand_in.issuer} publishes no metadata at {stand_in.issuer}{LEGACY_PATH}, "):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


def test_issuer_metadata_that_is_not_json_is_a_clear_error(stand_in):
    stand_in.metadata = lambda url, issuer: Response("<html>", media_type="text/html")
    with pytest.raises(DiscoveryError, match=rf"^{stand_in.issuer}{LEGACY_PATH} did not answer with JSON\.$"):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


def test_issuer_metadata_naming_another_issuer_is_refused(stand_in):
    stand_in.metadata = lambda url, issuer: JSONResponse(stand_in.document(url, "https://evil.example.com/oauth2/x"))
    with pytest.raises(IssuerMismatchError, match="RFC 8414, section 3.3") as info:
        discover(stand_in.mcp_url, issuer=stand_in.issuer)
    assert info.value.named == ("https://evil.example.com/oauth2/x",)


@pytest.mark.parametrize("changes, refused", [
    ({"token_endpoint": "https://evil.example.com/oauth2/x/v1/token"}, "gives token_endpoint https://evil.example.com/oauth2/x/v1/token, which is not on the issuer's host"),
    ({"revocation_endpoint": "http://evil.example.com/revoke"}, "gives revocation_endpoint 'http://evil.example.com/revoke', which is not an https:// URL"),
    ({"authorization_endpoint": None, "revocation_endpoint": "https://evil.example.com/revoke"}, "gives revocation_endpoint https://evil.example.com/revoke, which is not on the issuer's host"),
], ids=["token endpoint elsewhere", "plain http revocation", "revocation elsewhere, no authorization endpoint"])
def test_endpoints_a_secret_goes_to_must_be_https_on_the_issuers_host(stand_in, changes, refused):
    stand_in.metadata = lambda url, issuer: JSONResponse(stand_in.document(url, issuer, **changes))
    with pytest.raises(DiscoveryError, match=refused):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


def test_the_same_origin_ignores_case_of_scheme_and_host():
    from helpers.discovery import _same_origin

    assert _same_origin("HTTPS://Okta.Example.com/oauth2/x/v1/token", "https://okta.example.COM/oauth2/x")
    assert _same_origin("https://okta.example.com/a", "https://OKTA.EXAMPLE.COM/b")
    assert not _same_origin("https://okta.example.com/a", "https://okta.example.com:8443/b")
    assert not _same_origin("http://okta.example.com/a", "http://okta.example.com/b")  # not secure, not loopback


# -- the probe and the RFC 9728 path on the same stand-in ------------------------------------------


def test_the_rfc_9728_path_lists_its_steps(stand_in):
    stand_in.prm = lambda url, issuer: JSONResponse({"resource": url + "/mcp", "authorization_servers": [issuer]})
    with requests.Session() as session:
        found = discover(stand_in.mcp_url, issuer=stand_in.issuer, session=session)
    assert found.steps == (
        f"401 challenge from the MCP server: {stand_in.mcp_url}",
        f"protected resource metadata: {stand_in.url}/.well-known/oauth-protected-resource/mcp",
        f"authorization server metadata: {stand_in.issuer}{LEGACY_PATH}",
    )


def test_resource_metadata_without_authorization_servers_is_a_clear_error(stand_in):
    stand_in.prm = lambda url, issuer: JSONResponse({"resource": url + "/mcp"})
    with pytest.raises(DiscoveryError, match=rf"^{stand_in.url}/.well-known/oauth-protected-resource/mcp names no authorization_servers\.$"):
        discover(stand_in.mcp_url, issuer=stand_in.issuer)


@pytest.mark.parametrize("where", ["prm", "mcp"])
def test_a_silent_mcp_server_is_given_up_after_the_timeout_with_a_session(stand_in, where):
    state, answer = hangs()
    setattr(stand_in, where, answer)
    url = stand_in.mcp_url if where == "mcp" else stand_in.url + "/.well-known/oauth-protected-resource/mcp"
    try:
        with requests.Session() as session, pytest.raises(DiscoveryError, match=rf"^{url} did not answer within 1 s\.$"):
            discover(stand_in.mcp_url, issuer=stand_in.issuer, timeout=1, session=session)
    finally:
        state["on"] = False


class RecordingSession(requests.Session):
    """A session that notes the ``timeout`` of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list = []

    def request(self, method, url, **kwargs):
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(method, url, **kwargs)


@pytest.mark.parametrize("given, waits", [({}, 5.0), ({"timeout": 2}, 2)])
def test_every_request_waits_the_documented_time(stand_in, given, waits):
    stand_in.prm = lambda url, issuer: JSONResponse({"resource": url + "/mcp", "authorization_servers": [issuer]})
    with RecordingSession() as session:
        discover(stand_in.mcp_url, issuer=stand_in.issuer, session=session, **given)
    assert len(session.timeouts) == 3 and set(session.timeouts) == {waits}  # probe, RFC 9728, issuer


def test_an_unreachable_mcp_server_is_a_clear_error(stand_in):
    with reserve_port() as nobody_listens:
        url = f"http://127.0.0.1:{nobody_listens.port}/mcp"
        with pytest.raises(DiscoveryError, match=rf"^Could not reach {url} \(ConnectionError\)\.$"):
            discover(url, issuer=stand_in.issuer)


def test_the_probe_follows_no_redirect(stand_in):
    stand_in.mcp = lambda url, issuer: Response(status_code=401, headers={"WWW-Authenticate": 'Bearer scope="calculator.add"'})
    assert discover(stand_in.mcp_url, issuer=stand_in.issuer).challenge_scopes == ("calculator.add",)
    stand_in.requests.clear()
    found = discover(stand_in.url + "/moved", issuer=stand_in.issuer)  # a 307 to /mcp: its challenge is not read
    assert found.challenge_scopes is None and stand_in.requests["POST /mcp"] == 0


@pytest.mark.parametrize("document", [LEGACY_PATH, "/.well-known/openid-configuration"])
def test_an_issuer_id_ending_in_capital_x_is_pinned_exactly(stand_in, document):
    stand_in.issuer_path = "/oauth2/aus1calc0X"  # Okta's server ids are mixed-case
    stand_in.legacy = lambda url, issuer: RedirectResponse(issuer + document, status_code=302)
    assert discover(stand_in.mcp_url, issuer=stand_in.issuer).issuer == stand_in.url + "/oauth2/aus1calc0X"


def test_an_mcp_url_with_a_trailing_slash_finds_the_same_metadata(stand_in):
    # RFC 9728 3.1: the metadata path is built from the resource's path without its trailing slash
    stand_in.prm = lambda url, issuer: JSONResponse({"resource": url + "/mcp/", "authorization_servers": [issuer]})
    found = discover(stand_in.mcp_url + "/", issuer=stand_in.issuer)
    assert found.resource_metadata_url == stand_in.url + "/.well-known/oauth-protected-resource/mcp"
