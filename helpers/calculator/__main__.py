"""``python -m helpers.calculator``: serve the calculator in the foreground for deployment.

    python -m helpers.calculator [--host H] [--port P] [--public-url URL] [--no-auth]

With ``OAUTH_ISSUER`` and ``OAUTH_AUDIENCE`` set (environment or ``.env``) it verifies Okta
access tokens; with no ``OAUTH_*`` at all it starts the local authorization server and protects
itself with that; ``--no-auth`` is the only way to serve unprotected. Binding anything but a
loopback address needs ``--public-url``: the address clients use, which goes into the
discovery metadata and is the only host name the server answers to besides loopback.
"""

from __future__ import annotations

import argparse
import sys

from helpers.calculator.serve import serve_calculator

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve; the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.calculator",
        description="Serve the calculator MCP server (stateless streamable HTTP at /mcp).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument("--no-auth", action="store_true", help="serve without authentication (never in production)")
    parser.add_argument(
        "--public-url", help="the https:// URL clients reach the server at, for discovery metadata "
        "(e.g. https://mcp.example.com behind a TLS proxy); required unless --host is a loopback address",
    )
    args = parser.parse_args(argv)
    return serve_calculator(host=args.host, port=args.port, no_auth=args.no_auth, public_url=args.public_url)


if __name__ == "__main__":
    sys.exit(main())
