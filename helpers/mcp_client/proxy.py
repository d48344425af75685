"""The calculator behind FastMCP's ``OIDCProxy``: a bridge for MCP clients that only know DCR.

The proxy is the authorization server MCP clients see: it accepts their dynamic client
registration itself, shows its own consent page, sends the user to Okta as **one** app (the web
app of notebook 06: its client id and secret, redirect URI ``{proxy}/callback``), receives Okta's
tokens, and gives the MCP client tokens **of its own** (signed with its own key). The MCP server
behind it then trusts the proxy, which checks Okta's access token (kept server-side) on every
request with the calculator's hardened verifier.

Settings here are the safe ones: consent stays on (it stops a confused-deputy attack); the
proxy's signing key is random per start (production: from a secret store); registrations and
upstream tokens are kept in memory (production: an encrypted, persistent store), never in a file.
``resource`` is not forwarded to Okta, because the upstream tokens' audience is the authorization
server's (``OAUTH_AUDIENCE``), not the proxy's URL.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastmcp import FastMCP
from fastmcp.server.auth import require_scopes
from fastmcp.server.auth.oidc_proxy import OIDCProxy
from key_value.aio.stores.memory import MemoryStore

from helpers import background
from helpers.authorization_server import AuthorizationServer
from helpers.calculator import MCP_PATH, SCOPES, CalculatorServer, quiet_server_logs
from helpers.verification import Protection

__all__ = ["REDIRECT_PATH", "start_proxied_calculator"]

#: Where Okta sends the browser back to the proxy: the web app's registered redirect URI's path.
REDIRECT_PATH = "/callback"


def start_proxied_calculator(auth_server: AuthorizationServer, *, name: str = "calculator-oidc-proxy") -> CalculatorServer:
    """Serve ``add`` behind an ``OIDCProxy`` to the configured authorization server, on 127.0.0.1.

    With the local server any port works (it accepts any loopback port on the web app's redirect
    URI); with a tenant the proxy listens on the port of ``OAUTH_REDIRECT_URI``, registered on the web app.
    """
    settings = auth_server.settings
    web = settings.require_web_client()
    protection = Protection.from_settings(settings)
    port = 0 if auth_server.is_local else (urlsplit(settings.redirect_uri).port or 0)
    quiet_server_logs()

    def app_for_url(url: str):
        proxy = OIDCProxy(
            config_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_id=web.client_id,
            client_secret=web.client_secret,
            base_url=url,
            redirect_path=REDIRECT_PATH,
            token_verifier=protection.verifier(),  # Okta's access tokens, checked as the calculator does
            valid_scopes=["openid", "offline_access", *SCOPES],
            jwt_signing_key=secrets.token_urlsafe(32),  # the proxy's own tokens; production: a stored secret
            client_storage=MemoryStore(),  # production: persistent and encrypted
            forward_resource=False,  # Okta's tokens are for OAUTH_AUDIENCE, not for the proxy's URL
        )
        mcp = FastMCP("Calculator behind an OIDC proxy", auth=proxy)

        @mcp.tool(auth=require_scopes("calculator.add"))
        def add(a: int, b: int) -> int:
            """Add two integers and return the sum."""
            return a + b

        return mcp.http_app(path=MCP_PATH, stateless_http=True)

    return CalculatorServer(background.start(name=name, port=port, app_for_url=app_for_url))
