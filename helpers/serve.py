"""Serving the calculator in the foreground for deployment (``python -m helpers.calculator``).

Decides how the server is protected, from the configuration that ``helpers.settings``
reads: a real Okta tenant (``OAUTH_ISSUER`` + ``OAUTH_AUDIENCE``), the local authorization
server (no ``OAUTH_*`` at all), or nothing (``--no-auth`` only). Configuration errors end
the program with exit status 2 and a message naming the variable to fix.
"""

from __future__ import annotations

import sys

import uvicorn

from helpers.calculator import MCP_PATH, calculator_app
from helpers.settings import ConfigurationError, Settings, load_settings
from helpers.verification import Protection

__all__ = ["serve_calculator"]


def serve_calculator(*, host: str, port: int, no_auth: bool, public_url: str | None = None) -> int:
    """Serve the calculator until interrupted; return the process exit status.

    ``public_url`` is the address clients use (behind a proxy, ``https://mcp.example.com``);
    it goes into the discovery metadata. It defaults to ``http://{host}:{port}``.
    """
    base_url = public_url or f"http://{_display_host(host)}:{port}"
    if no_auth:
        protection = None
        _say("WARNING: serving WITHOUT authentication (--no-auth): anyone who can reach it can call tools.")
    else:
        try:
            protection = Protection.from_settings(_resolve_settings())
        except ConfigurationError as exc:
            _say(f"error: {exc}")
            return 2
        _say(f"Verifying tokens from {protection.issuer} for audience {protection.audience}.")
    _say(f"Serving the calculator at {base_url}{MCP_PATH}")
    uvicorn.run(calculator_app(protection, base_url=base_url), host=host, port=port, log_level="info")
    return 0


def _resolve_settings() -> Settings:
    settings = load_settings()
    if not settings.uses_local_server:
        return settings
    from helpers.local_okta import start_local_okta  # only needed without a tenant configured

    okta = start_local_okta(name="calculator-issuer")
    _say("No OAUTH_* settings found: protecting the calculator with the local authorization server.")
    _say("It is for trying things on this machine only, never for a deployment: set OAUTH_ISSUER and")
    _say("OAUTH_AUDIENCE for that. A client needs these (secrets change on every start):")
    _say(okta.env_block())
    return okta.settings()


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
