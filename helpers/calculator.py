"""The calculator MCP server: ``add`` and ``subtract`` for everyone, ``get_me`` once auth is on.

The same tools serve every notebook: authentication is a parameter, so notebook 03
turns it on without a second copy of the tools.

    >>> server = start_calculator()            # notebook 01: no auth
    >>> server.mcp_url
    'http://127.0.0.1:53211/mcp'

Run it for deployment (stateless streamable HTTP at ``/mcp``)::

    python -m helpers.calculator [--host H] [--port P] [--no-auth]

With ``OAUTH_ISSUER`` and ``OAUTH_AUDIENCE`` set (environment or ``.env``) it verifies
Okta access tokens; with no ``OAUTH_*`` at all it starts the local authorization server
and protects itself with that; ``--no-auth`` is the only way to serve unprotected.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.auth import AuthProvider
from fastmcp.server.dependencies import get_access_token

from helpers import background

__all__ = ["MCP_PATH", "CalculatorServer", "build_calculator", "calculator_app", "start_calculator", "main"]

MCP_PATH = "/mcp"
SERVER_NAME = "Calculator"


def build_calculator(auth: AuthProvider | None = None) -> FastMCP:
    """Build the calculator MCP server; with ``auth``, every request must carry a valid token."""
    mcp = FastMCP(SERVER_NAME, auth=auth)

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add two integers and return the sum."""
        return a + b

    @mcp.tool
    def subtract(a: int, b: int) -> int:
        """Subtract b from a and return the difference."""
        return a - b

    if auth is not None:

        @mcp.tool
        def get_me() -> dict[str, Any]:
            """Who is calling: the verified claims of the caller's access token (never the token)."""
            token = get_access_token()
            if token is None:  # unreachable behind auth; a clear answer beats a crash
                raise ValueError("No verified access token came with this request.")
            return describe_caller(token.claims)

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


def calculator_app(auth: AuthProvider | None = None):
    """A fresh ASGI app serving the calculator at ``/mcp`` (stateless streamable HTTP)."""
    return build_calculator(auth).http_app(path=MCP_PATH, stateless_http=True)


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
    auth: AuthProvider | None = None, *, name: str = "calculator", port: int = 0
) -> CalculatorServer:
    """Start the calculator on 127.0.0.1 in a background thread (restarting one of the same name)."""
    quiet_server_logs()
    return CalculatorServer(background.start(calculator_app(auth), name=name, port=port))


def quiet_server_logs() -> None:
    """Keep FastMCP's and the MCP SDK's server-side logs out of notebook cell outputs.

    Rejected arguments and tokens are reported to the caller as MCP errors or HTTP
    statuses; the same event logged again from a server thread would land, with rich
    formatting, in whichever cell happens to be running.
    """
    for name in ("fastmcp", "mcp"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Command line: serve the calculator in the foreground for deployment."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.calculator",
        description="Serve the calculator MCP server (stateless streamable HTTP at /mcp).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument("--no-auth", action="store_true", help="serve without authentication (never in production)")
    args = parser.parse_args(argv)

    from helpers.serve import serve_calculator  # deployment wiring lives apart from the tools

    return serve_calculator(host=args.host, port=args.port, no_auth=args.no_auth)


if __name__ == "__main__":
    sys.exit(main())
