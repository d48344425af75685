"""The calculator protected the way a standard MCP client expects: audience = its own URL.

An MCP client sends ``resource`` = the MCP server's URL (RFC 8707) and the MCP server accepts only
tokens whose ``aud`` is that URL. :func:`start_mcp_calculator` serves the calculator and protects
it for exactly that audience:

- **local server**: once the calculator listens (a free port), the local Okta gets an authorization
  server whose audience is the calculator's URL (``LocalOkta.add_mcp_resource``), with the
  calculator's scopes and an access policy for the pre-registered MCP client app;
- **a real tenant**: the authorization server in ``.env`` must already have that audience, so the
  calculator is served at ``OAUTH_AUDIENCE`` when it is a ``http://127.0.0.1:PORT/mcp`` URL
  (Security > API > Authorization Servers > your server > Audience).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from helpers import background
from helpers.authorization_server import AuthorizationServer
from helpers.calculator import MCP_PATH, CalculatorServer, calculator_app, quiet_server_logs
from helpers.local_okta.mcp_resource import MCP_SERVER_ID
from helpers.settings import ClientCredentials, ConfigurationError, Settings
from helpers.verification import Protection

__all__ = ["McpCalculator", "mcp_client_redirect_uri", "require_mcp_client", "start_mcp_calculator"]

#: Where a standard MCP client's loopback listener receives the sign-in redirect with a real tenant
#: (registered on the MCP client app; Okta compares it exactly, port included).
REGISTERED_MCP_REDIRECT_URI = "http://127.0.0.1:8766/callback"


@dataclass(frozen=True)
class McpCalculator:
    """The running calculator and what protects it (``protection.audience == mcp_url``)."""

    server: CalculatorServer
    protection: Protection

    @property
    def mcp_url(self) -> str:
        return self.server.mcp_url

    @property
    def issuer(self) -> str:
        return self.protection.issuer

    def stop(self) -> None:
        self.server.stop()


def start_mcp_calculator(auth_server: AuthorizationServer, *, name: str = "calculator-mcp") -> McpCalculator:
    """Serve the calculator on 127.0.0.1, protected for the audience = its own MCP URL."""
    quiet_server_logs()
    okta = auth_server.local
    chosen: dict[str, Protection] = {}
    if okta is not None:
        def app_for_url(url: str):
            mcp_url = url + MCP_PATH
            issuer = okta.add_mcp_resource(mcp_url)
            chosen["protection"] = Protection(issuer=issuer, audience=mcp_url,
                                              jwks_uri=okta.endpoint("keys", MCP_SERVER_ID))
            return calculator_app(chosen["protection"], base_url=url)

        served = background.start(name=name, app_for_url=app_for_url)
    else:
        port = _tenant_port(auth_server.settings)
        chosen["protection"] = Protection.from_settings(auth_server.settings)
        served = background.start(name=name, port=port,
                                  app_for_url=lambda url: calculator_app(chosen["protection"], base_url=url))
    return McpCalculator(CalculatorServer(served), chosen["protection"])


def require_mcp_client(settings: Settings) -> ClientCredentials:
    """The MCP client app's id (``MCP_CLIENT_ID``), or an error saying what to create in Okta."""
    if settings.mcp_client is None:
        raise ConfigurationError(
            "MCP_CLIENT_ID is not set (or still a placeholder): a standard MCP client needs a pre-registered "
            "client, because Okta refuses dynamic client registration. Create one in Okta (Applications > "
            "Create App Integration > OIDC - OpenID Connect > Native Application; grant types Authorization "
            "Code and Refresh Token; Client authentication: None, with PKCE; sign-in redirect URI "
            f"{REGISTERED_MCP_REDIRECT_URI}; assign yourself), give it an access policy rule on the "
            "authorization server, then copy its Client ID into MCP_CLIENT_ID in .env."
        )
    return settings.mcp_client


def mcp_client_redirect_uri(settings: Settings) -> tuple[str, int | None]:
    """``(callback host, callback port)`` for FastMCP's ``OAuth``: 127.0.0.1 and a free port with
    the local server (it takes any loopback port, RFC 8252); with a tenant, the port of the redirect
    URI registered on the MCP client app (``MCP_REDIRECT_URI``, default :data:`REGISTERED_MCP_REDIRECT_URI`)."""
    if settings.uses_local_server:
        return "127.0.0.1", None
    uri = settings.mcp_redirect_uri or REGISTERED_MCP_REDIRECT_URI
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or not port or parts.path != "/callback":
        raise ConfigurationError(
            f"MCP_REDIRECT_URI={uri!r} is not one FastMCP's OAuth can listen on: give the MCP client app's "
            "Sign-in redirect URI exactly as registered in Okta, http://127.0.0.1:PORT/callback (a port of your "
            f"own on a shared host; default {REGISTERED_MCP_REDIRECT_URI})."
        )
    return "127.0.0.1", port


def _tenant_port(settings: Settings) -> int:
    """The port of ``OAUTH_AUDIENCE`` when it names this calculator on this machine."""
    audience = settings.audience or ""
    parts = urlsplit(audience)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme == "http" and parts.hostname == "127.0.0.1" and port and parts.path == MCP_PATH:
        return port
    raise ConfigurationError(
        f"OAUTH_AUDIENCE is {audience!r}, but a standard MCP client asks for a token whose audience is the MCP "
        "server's URL. Give your authorization server (Security > API > Authorization Servers > Settings > "
        f"Audience) the calculator's URL, e.g. http://127.0.0.1:8000{MCP_PATH}, and set OAUTH_AUDIENCE to the "
        "same value (notebooks 03 to 06 work with it too)."
    )
