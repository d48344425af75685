"""Host a client ID metadata document (CIMD) on this machine, for notebook 07's CIMD demonstration.

A CIMD client's id is the ``https://`` URL of a JSON document describing it; a real MCP client's
vendor hosts it on its own website. Here a small HTTPS server on 127.0.0.1 (the local certificate
authority, :mod:`helpers.local_tls`) serves one document at ``/oauth/client.json``, which must list
the client's redirect URI exactly (FastMCP's ``OAuth`` listens on ``callback_port``).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from helpers import background

__all__ = ["HostedClientMetadata", "host_client_metadata"]

DOCUMENT_PATH = "/oauth/client.json"


@dataclass(frozen=True)
class HostedClientMetadata:
    """The running document server; ``url`` is the client id, ``document`` what it serves."""

    server: background.BackgroundServer
    document: dict

    @property
    def url(self) -> str:
        return self.server.url + DOCUMENT_PATH

    def stop(self) -> None:
        self.server.stop()


def host_client_metadata(client_name: str, redirect_uri: str, *, name: str = "client-metadata") -> HostedClientMetadata:
    """Serve a public client's metadata document (PKCE, no secret) over HTTPS on 127.0.0.1."""
    document: dict = {}

    def app_for_url(url: str) -> Starlette:
        document.update(client_id=url + DOCUMENT_PATH, client_name=client_name, redirect_uris=[redirect_uri],
                        grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                        token_endpoint_auth_method="none")
        return Starlette(routes=[Route(DOCUMENT_PATH, lambda request: JSONResponse(document))])

    return HostedClientMetadata(background.start(name=name, tls=True, app_for_url=app_for_url), document)
