"""Grade a learner's FastMCP ``OAuth(...)`` configuration for the pre-registered MCP client (notebook 07).

The learner writes ``mcp_client_auth(mcp_url) -> OAuth``: FastMCP's OAuth client for the calculator,
configured for the Native app Okta's admin registered (Okta refuses dynamic registration). The
grader reads what the learner configured (the MCP URL, the client id, no secret, the issuer it is
pinned to, the redirect URI the client will listen on) and then connects with it for real: with the local server the test user
signs in on the local sign-in page (:func:`helpers.mcp_client.sign_in_automatically`); with a real
tenant the learner signs in through a "Sign in here" link. One :class:`Row` per behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastmcp import Client
from fastmcp.client.auth import OAuth

from ..authorization_server import AuthorizationServer
from ..exercises import ExerciseFeedback
from ..mcp_client.browser import notebook_sign_in, quiet_client_logs
from ..mcp_client.server import McpCalculator, mcp_client_redirect_uri
from .report import Row, report

__all__ = ["check_mcp_client", "grade_mcp_client"]

#: How long a connection may take (a real tenant: the learner signs in meanwhile).
CONNECT_TIMEOUT_LOCAL, CONNECT_TIMEOUT_TENANT = 20.0, 300.0


def _short(error: BaseException) -> str:
    """An error's first line, whole (never cut mid-word), ports masked (no token or code ever appears in
    these messages)."""
    text = (str(error) or type(error).__name__).splitlines()[0].removeprefix("Client failed to connect: ")
    return re.sub(r"(127\.0\.0\.1|localhost):\d+", r"\1:PORT", text)


def _redirect_uri(oauth: OAuth) -> str:
    uris = oauth.context.client_metadata.redirect_uris or []
    return str(uris[0]) if uris else ""


async def grade_mcp_client(make_auth: Callable[[str], Any], calculator: McpCalculator,
                           auth_server: AuthorizationServer) -> list[Row]:
    """Build the learner's ``OAuth`` for the calculator, read its configuration, connect with it."""
    settings, mcp_url = auth_server.settings, calculator.mcp_url
    client_id = settings.mcp_client.client_id if settings.mcp_client else None
    try:
        with quiet_client_logs():
            oauth = make_auth(mcp_url)
    except Exception as error:  # the learner's call: any mistake becomes a row, never a traceback
        return [Row("an OAuth for the calculator", "FastMCP's OAuth(mcp_url, ...)", _short(error), False,
                    "mcp_client_auth raised while building the OAuth client.",
                    "call OAuth(mcp_url, client_id=..., callback_host=...) with plain values (no `...` left).")]
    bound = isinstance(oauth, OAuth) and getattr(oauth, "mcp_url", None) == mcp_url.rstrip("/")
    rows = [Row("an OAuth for the calculator", "OAuth bound to the calculator's MCP URL",
                "yes" if bound else type(oauth).__name__ if not isinstance(oauth, OAuth) else "another URL", bound,
                "The client must know the MCP server it signs in for: it reads that server's metadata to find "
                "Okta, and sends its URL as `resource`.",
                "return OAuth(mcp_url, ...) with the mcp_url the function receives.")]
    if not bound:
        return rows
    own_id = getattr(oauth, "_client_id", None)
    rows.append(Row("pre-registered client id", "the MCP client app's id", "that id" if own_id == client_id else
                    ("none: dynamic registration" if not own_id else "another id"), own_id == client_id,
                    "Without the pre-registered id FastMCP registers itself (DCR), which Okta refuses; another app's "
                    "id is another app's policy and redirect URIs.",
                    "client_id=mcp_client.client_id (the app the setup cell read; MCP_CLIENT_ID with your org)."))
    secret = getattr(oauth, "_client_secret", None)
    rows.append(Row("no client secret", "none (a public client, PKCE)", "none" if secret is None else "a secret",
                    secret is None,
                    "An MCP client runs on the user's machine, where any secret can be read: the Native app has "
                    "Client authentication None, and PKCE protects the code instead.",
                    "leave client_secret out."))
    pinned = getattr(oauth, "_issuer", None)
    if pinned is None or pinned == calculator.issuer:
        issuer_why = ("Without `issuer=`, FastMCP follows whichever authorization server the MCP server's metadata "
                      "names: a lookalike server could send your users, with your client id, to another sign-in page.")
    else:  # pinned, but to another server: most often settings.issuer, the default server of notebooks 01 to 06
        issuer_why = ("You pinned an issuer, but not the one the calculator names"
                      + (": settings.issuer is the `default` authorization server of notebooks 01 to 06" if pinned == settings.issuer else "")
                      + ". The calculator and its Native app belong to the calculator's own authorization server "
                      "(section 2.2's table, the `issuer` row), so FastMCP refuses to send your client id elsewhere.")
    rows.append(Row("issuer pinned", "the authorization server the calculator names",
                    "that issuer" if pinned == calculator.issuer else ("not pinned" if pinned is None else
                    "settings.issuer, another server" if pinned == settings.issuer else "another issuer"),
                    pinned == calculator.issuer, issuer_why,
                    "issuer=calculator.issuer (the issuer your Native app is registered with; settings.issuer with your org)."))
    host, port = mcp_client_redirect_uri(settings)
    uri = _redirect_uri(oauth)
    parts = urlsplit(uri)
    right_uri = parts.scheme == "http" and parts.hostname == host and parts.path == "/callback" and (
        port is None or parts.port == port)
    expected = f"http://{host}:{port or 'any port'}/callback"
    rows.append(Row("redirect URI", expected, re.sub(r":\d+/", ":PORT/", uri) or "none", right_uri,
                    "Okta sends the browser back only to a sign-in redirect URI registered on the app (a loopback "
                    "IP address; 'localhost' is a name, and does not match it).",
                    f"callback_host={host!r}" + (f" and callback_port={port}" if port else " (callback_port: a free one)")))
    okta = auth_server.local
    notebook_sign_in(oauth, okta)  # local: the kernel signs the test user in; a tenant: a link for the learner
    result, claims, failure = None, {}, None
    try:
        with quiet_client_logs(), anyio.fail_after(CONNECT_TIMEOUT_LOCAL if okta else CONNECT_TIMEOUT_TENANT):
            async with Client(mcp_url, auth=oauth) as client:
                result = (await client.call_tool("add", {"a": 2, "b": 3})).data
                claims = (await client.call_tool("get_me", {})).data
    except Exception as error:  # a refused sign-in is this row's answer
        failure = _short(error)
    rows.append(Row("signs in and calls add", "add(2, 3) = 5", failure or f"add(2, 3) = {result}", result == 5,
                    "The connection failed: read the error in 'got' (the sign-in page's or Okta's words).",
                    "fix the rows above first; they decide whether the sign-in can succeed."))
    audience = isinstance(claims, dict) and claims.get("audience") == mcp_url and claims.get("client_id") == client_id
    rows.append(Row("token for this MCP server", "aud = the MCP URL, cid = the MCP client app",
                    "yes" if audience else ("no token" if not claims else "another audience or client"), audience,
                    "No token: this follows from the failed sign-in above." if not claims else
                    "The calculator accepts only tokens whose audience is its own URL.",
                    "fix the sign-in first (the rows above)." if not claims else
                    "connect with the pre-registered client; the audience follows from the authorization server."))
    return rows


async def check_mcp_client(make_auth: Callable[[str], Any], calculator: McpCalculator,
                           auth_server: AuthorizationServer, *, exercise: str = "Exercise 7.1") -> list[Row]:
    """Notebook 07's check: grade ``make_auth`` against the running calculator and report."""
    try:
        with quiet_client_logs():
            stub = make_auth(calculator.mcp_url)
    except Exception:
        stub = "raised"  # graded (and explained) as a row below
    if stub is None or stub is Ellipsis:
        raise ExerciseFeedback(exercise, "mcp_client_auth still returns nothing: its body is `...`.",
                               "return FastMCP's OAuth(mcp_url, ...) for the pre-registered MCP client app.",
                               wrong_try=False)
    rows = await grade_mcp_client(make_auth, calculator, auth_server)
    report(exercise, rows, success="your OAuth client signs in with the pre-registered public client (no secret, "
           "PKCE), comes back to the registered loopback redirect URI, and gets a token for this MCP server.")
    return rows
