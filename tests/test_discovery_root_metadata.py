"""Protected resource metadata at the MCP server's root describes the origin (RFC 9728; MCP 2026-07-28).

The specification's order: the URL in the 401 challenge, else
``{origin}/.well-known/oauth-protected-resource{path}``, else ``{origin}/.well-known/oauth-protected-resource``.
A document at the root is the origin's: its ``resource`` is the origin (RFC 9728, sections 3.1
and 3.3). Discovery now accepts it there, and only there; the refusals that keep another
resource's metadata from being replayed (issue 22) stay, and are tested here too.
"""

from __future__ import annotations

from collections import Counter

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.discovery import ResourceMismatchError, discover
from helpers.local_okta import start_local_okta
from helpers.user_login import UserLogin

ROOT = "/.well-known/oauth-protected-resource"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-root-prm-okta")
    yield server
    server.stop()


class MCPServer:
    """An MCP server at ``/mcp`` answering 401 with ``challenge`` and serving ``documents`` by path
    (``{origin}`` in a document's ``resource`` becomes its own origin)."""

    def __init__(self, name: str, documents: dict[str, str], *, issuer: str, challenge: str = "Bearer") -> None:
        self.documents, self.issuer, self.challenge = documents, issuer, challenge
        self.requests: Counter[str] = Counter()
        self.server = background.start(app_for_url=self._app, name=name, tls=True)

    def _app(self, url: str) -> Starlette:
        self.url = url

        async def answer(request: Request) -> Response:
            path = request.url.path
            self.requests[path] += 1
            if path == "/mcp":
                return Response(status_code=401, headers={"WWW-Authenticate": self.challenge.replace("{origin}", url)})
            if path in self.documents:
                return JSONResponse({"resource": self.documents[path].replace("{origin}", url),
                                     "authorization_servers": [self.issuer]})
            return Response(status_code=404)

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def serve(okta):
    started = []

    def start(documents, challenge="Bearer") -> MCPServer:
        server = MCPServer(f"test-root-prm-{len(started)}", documents, issuer=okta.issuer, challenge=challenge)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- accepted ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["{origin}", "{origin}/"])
def test_a_root_document_describing_the_origin_is_accepted(okta, serve, resource):
    server = serve({ROOT: resource})
    found = discover(server.mcp_url, issuer=okta.issuer)
    assert found.resource == resource.replace("{origin}", server.url)
    assert found.resource_metadata_url == server.url + ROOT and found.issuer == okta.issuer
    assert server.requests[ROOT + "/mcp"] == 1  # the path-based URL was tried first (the order)


def test_a_root_document_describing_the_mcp_url_is_still_accepted(okta, serve):
    server = serve({ROOT: "{origin}/mcp"})
    assert discover(server.mcp_url, issuer=okta.issuer).resource == server.mcp_url


def test_the_path_based_document_comes_before_the_root(okta, serve):
    server = serve({ROOT + "/mcp": "{origin}/mcp", ROOT: "{origin}"})
    assert discover(server.mcp_url, issuer=okta.issuer).resource == server.mcp_url
    assert server.requests[ROOT] == 0


def test_a_gateway_signs_in_for_the_origin_it_was_given(okta, serve):
    server = serve({ROOT: "{origin}"})
    login = UserLogin(server.mcp_url, okta.clients["web"], issuer=okta.issuer,
                      redirect_uri="http://127.0.0.1:8765/callback", send_resource=True)
    assert login.resource == server.url  # RFC 8707 resource: what the metadata says it is
    assert "resource=" in login.begin(listen=False).url


# -- still refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("documents, challenge", [
    ({ROOT + "/mcp": "{origin}"}, "Bearer"),                          # a path-based document naming the origin
    ({"/meta.json": "{origin}"}, 'Bearer resource_metadata="{origin}/meta.json"'),   # a challenge URL's
    ({ROOT: "{origin}"}, f'Bearer resource_metadata="{{origin}}{ROOT}"'),           # even the root, named by the challenge
    ({ROOT: "{origin}/other"}, "Bearer"),                             # another resource on the same origin
    ({ROOT: "{origin}/mcp/"}, "Bearer"),                              # the path compares exactly
])
def test_the_origin_is_accepted_only_at_the_root_reached_by_the_fallback(okta, serve, documents, challenge):
    server = serve(documents, challenge)
    okta.request_counts.clear()
    with pytest.raises(ResourceMismatchError, match="RFC 9728, section 3.3"):
        discover(server.mcp_url, issuer=okta.issuer)
    assert sum(okta.request_counts.values()) == 0  # nothing reached the authorization server


def test_another_origins_root_document_replayed_is_refused(okta, serve):
    real = serve({ROOT: "{origin}"})
    lookalike = serve({ROOT: real.url})  # copies the real server's document, resource and all
    with pytest.raises(ResourceMismatchError, match=lookalike.mcp_url.replace(".", r"\.")):
        discover(lookalike.mcp_url, issuer=okta.issuer)
    with pytest.raises(ResourceMismatchError):
        UserLogin(lookalike.mcp_url, okta.clients["web"], issuer=okta.issuer)
