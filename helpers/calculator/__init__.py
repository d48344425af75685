"""The calculator MCP server: ``add`` and ``subtract`` for everyone, ``get_me`` once auth is on.

The same tools serve every notebook: authentication is a parameter, so notebook 03
turns it on without a second copy of the tools.

    >>> server = start_calculator()            # notebook 01: no auth
    >>> server.mcp_url
    'http://127.0.0.1:53211/mcp'

Run it for deployment (stateless streamable HTTP at ``/mcp``; ``__main__.py`` and ``serve.py``)::

    python -m helpers.calculator [--host H] [--port P] [--public-url URL] [--no-auth]

Every app checks the ``Host`` and ``Origin`` of each request (FastMCP's DNS-rebinding
protection): loopback names and the host of ``base_url`` are accepted, and a request a web
page sends from another origin gets 403, so a page on the internet cannot reach a server
a learner runs on 127.0.0.1, with or without authentication.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from fastmcp import FastMCP
from fastmcp.server.auth import require_scopes
from fastmcp.server.dependencies import get_access_token
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from helpers import background
from helpers.verification import Protection

__all__ = [
    "MCP_PATH", "SCOPES", "TOOL_SCOPES", "CalculatorServer", "build_calculator", "calculator_app",
    "describe_caller", "start_calculator",
]

MCP_PATH = "/mcp"
SERVER_NAME = "Calculator"


# Which scopes each tool needs. get_me needs a valid token and nothing more.
TOOL_SCOPES: dict[str, tuple[str, ...]] = {
    "add": ("calculator.add",),
    "subtract": ("calculator.subtract",),
    "get_me": (),
}
SCOPES = sorted({scope for scopes in TOOL_SCOPES.values() for scope in scopes})


def build_calculator(protection: Protection | None = None, *, base_url: str | None = None) -> FastMCP:
    """Build the calculator MCP server.

    With ``protection``, every request must carry a valid access token, each tool needs
    its scope from :data:`TOOL_SCOPES` (``tools/list`` shows only the tools the token
    may call), ``get_me`` is added, and ``base_url`` (where the server is reachable)
    is needed for the discovery metadata.
    """
    auth = None
    if protection is not None:
        if not base_url:
            raise ValueError("A protected calculator needs base_url, the URL it is served at.")
        auth = protection.auth_provider(base_url, SCOPES)
    mcp = FastMCP(SERVER_NAME, auth=auth)

    def scoped(tool: str) -> dict[str, Any]:
        scopes = TOOL_SCOPES[tool]
        return {"auth": require_scopes(*scopes)} if protection is not None and scopes else {}

    @mcp.tool(**scoped("add"))
    def add(a: int, b: int) -> int:
        """Add two integers and return the sum."""
        return a + b

    @mcp.tool(**scoped("subtract"))
    def subtract(a: int, b: int) -> int:
        """Subtract b from a and return the difference."""
        return a - b

    if protection is not None:

        @mcp.tool
        def get_me() -> dict[str, Any]:
            """Who is calling: the verified claims of the caller's access token (never the token)."""
            token = get_access_token()
            if token is None:  # unreachable behind auth; a clear answer beats a crash
                raise ValueError("No verified access token came with this request.")
            return describe_caller(token.claims)

        @mcp.custom_route("/.well-known/oauth-authorization-server", methods=["GET"])
        async def authorization_server_metadata(request: Request) -> Response:
            """Send gateways that look for OAuth metadata on the MCP server to the issuer's."""
            return RedirectResponse(protection.issuer_metadata_url(), status_code=302)

    return mcp


def describe_caller(claims: dict[str, Any]) -> dict[str, Any]:
    """Summarise verified token claims for ``get_me``: identity, client, scopes, lifetime."""

    def iso(name: str) -> str | None:
        value = claims.get(name)
        if not isinstance(value, (int, float)):
            return None
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat().replace("+00:00", "Z")

    scopes = claims.get("scp", claims.get("scope", []))
    if isinstance(scopes, str):
        scopes = scopes.split()
    return {
        "sub": claims.get("sub"),
        "uid": claims.get("uid"),
        "client_id": claims.get("cid", claims.get("client_id")),
        "issuer": claims.get("iss"),
        "audience": claims.get("aud"),
        "scopes": sorted(scopes),
        "issued_at": iso("iat"),
        "expires_at": iso("exp"),
        "token_id": claims.get("jti"),
    }


def calculator_app(protection: Protection | None = None, *, base_url: str | None = None):
    """A fresh ASGI app serving the calculator at ``/mcp`` (stateless streamable HTTP).

    Requests must name a loopback host or ``base_url``'s host, and a browser ``Origin`` must be
    loopback or ``base_url``'s origin (FastMCP's ``host_origin_protection``); others get 421/403.
    """
    mcp = build_calculator(protection, base_url=base_url)
    middleware = None
    if protection is not None:
        middleware = protection.middleware(base_url=base_url, mcp_path=MCP_PATH, tool_scopes=TOOL_SCOPES)
    hosts, origins = _allowed_hosts_and_origins(base_url)
    return mcp.http_app(
        path=MCP_PATH,
        stateless_http=True,
        middleware=middleware,
        host_origin_protection=True,
        allowed_hosts=hosts,
        allowed_origins=origins,
    )


def _allowed_hosts_and_origins(base_url: str | None) -> tuple[list[str], list[str]]:
    """``base_url``'s host and origin (FastMCP always adds 127.0.0.1, localhost and ::1)."""
    if not base_url:
        return [], []
    parts = urlsplit(base_url)
    return [parts.hostname or ""], [f"{parts.scheme}://{parts.netloc}"]


@dataclass(frozen=True)
class CalculatorServer:
    """A calculator running in a background thread of this process."""

    server: background.BackgroundServer

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:53211``."""
        return self.server.url

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint clients connect to, e.g. ``http://127.0.0.1:53211/mcp``."""
        return self.server.url + MCP_PATH

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()


def start_calculator(
    protection: Protection | None = None, *, name: str = "calculator", port: int = 0
) -> CalculatorServer:
    """Start the calculator on 127.0.0.1 in a background thread (restarting one of the same name).

    Without ``protection`` anyone may call the tools (notebook 01); with it, every
    request needs an access token that ``protection`` accepts (notebook 03 on).
    """
    quiet_server_logs()
    server = background.start(
        name=name, port=port, app_for_url=lambda url: calculator_app(protection, base_url=url)
    )
    return CalculatorServer(server)


def quiet_server_logs() -> None:
    """Keep FastMCP's and the MCP SDK's server-side logs out of notebook cell outputs.

    Rejected arguments and tokens are reported to the caller as MCP errors or HTTP
    statuses; the same event logged again from a server thread would land, with rich
    formatting, in whichever cell happens to be running.
    """
    for name in ("fastmcp", "mcp"):
        logging.getLogger(name).setLevel(logging.ERROR)
