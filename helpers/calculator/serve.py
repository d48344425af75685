"""Serving the calculator in the foreground for deployment (``python -m helpers.calculator``).

Decides how the server is protected, from the configuration that ``helpers.settings``
reads: a real Okta tenant (``OAUTH_ISSUER`` + ``OAUTH_AUDIENCE``), the local authorization
server (no ``OAUTH_*`` at all), or nothing (``--no-auth`` only). Decides where clients reach
it: on a loopback address, ``http://HOST:PORT``; on any other interface, only the
``--public-url`` the operator names (an ``https://`` address behind a TLS proxy), because that
URL goes into the discovery metadata and is the only host name the server accepts.
Configuration errors end the program with exit status 2 and a message naming the fix.
"""

from __future__ import annotations

import sys

import uvicorn

from helpers.calculator import MCP_PATH, calculator_app
from helpers.settings import ConfigurationError, Settings, load_settings
from helpers.urls import is_loopback_host, is_secure_or_loopback
from helpers.verification import Protection

__all__ = ["public_base_url", "serve_calculator"]


def public_base_url(host: str, port: int, public_url: str | None) -> str:
    """Where clients reach the server; raises :class:`ConfigurationError` when that cannot be known.

    Bound to loopback, it is ``http://{host}:{port}`` unless ``public_url`` says otherwise. Bound
    to anything else (``0.0.0.0``, a LAN address), ``public_url`` is required: the server cannot
    guess the name clients use, and advertising ``127.0.0.1`` would send them to their own machine.
    """
    if public_url is not None:
        reachable_from_elsewhere = not is_loopback_host(host)
        if not is_secure_or_loopback(public_url) or (reachable_from_elsewhere and not public_url.lower().startswith("https://")):
            raise ConfigurationError(
                f"--public-url {public_url!r} is not an https:// URL. Clients send bearer tokens to it: "
                "put the server behind a TLS-terminating proxy and give that https:// address."
            )
        return public_url.rstrip("/")
    if not is_loopback_host(host):
        raise ConfigurationError(
            f"--host {host} makes the server reachable from other machines, so give --public-url, "
            "the https:// address clients use (e.g. --public-url https://calculator.example.com behind "
            "a TLS proxy). It goes into the discovery metadata and is the host name the server accepts."
        )
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_calculator(*, host: str, port: int, no_auth: bool, public_url: str | None = None) -> int:
    """Serve the calculator until interrupted; return the process exit status."""
    try:
        base_url = public_base_url(host, port, public_url)
    except ConfigurationError as exc:
        _say(f"error: {exc}")
        return 2
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
        if settings.ca_file:
            from helpers.local_tls import trust_ca_file

            trust_ca_file(settings.ca_file)
        return settings
    from helpers.local_okta import start_local_okta  # only needed without a tenant configured

    okta = start_local_okta(name="calculator-issuer")
    _say("No OAUTH_* settings found: protecting the calculator with the local authorization server.")
    _say("It is for trying things on this machine only, never for a deployment: set OAUTH_ISSUER and")
    _say("OAUTH_AUDIENCE for that. A client needs these (secrets change on every start):")
    _say(okta.env_block())
    return okta.settings()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
