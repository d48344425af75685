"""Sign a person in with the Authorization Code flow and PKCE, as an AI gateway does: one file to copy.

What it is for: your app (a gateway, an agent, a CLI) calls an OAuth-protected API *as a person*.
The person signs in on the authorization server's page (Okta's), their browser comes back to your
redirect URI with a one-time code, and you exchange that code for tokens. PKCE (RFC 7636) makes a
stolen code worthless, ``state`` makes a redirect you did not ask for worthless, and a refresh
token keeps the person signed in. Needs only ``requests`` (and the standard library).

How to use it (endpoints from ``{issuer}/.well-known/oauth-authorization-server``)::

    app = WebApp(
        authorization_endpoint="https://YOUR_ORG.okta.com/oauth2/default/v1/authorize",
        token_endpoint="https://YOUR_ORG.okta.com/oauth2/default/v1/token",
        client_id="...", client_secret="...",             # the web app's, from your secret store
        redirect_uri="http://127.0.0.1:8765/callback",    # registered on the app, port included
        scope="openid offline_access calculator.add",
    )
    tokens = sign_in(app)             # opens the browser, waits for the redirect on 127.0.0.1
    tokens = refresh(app, tokens["refresh_token"])   # store what it returns; forget the old token

When the browser cannot reach this machine's 127.0.0.1 (a remote kernel), do the steps yourself:
``make_pkce_pair()``, a ``state = secrets.token_urlsafe(32)``, show ``authorization_url(...)``, and
pass the address the browser ended on to ``handle_redirect(app, address, state, verifier)``.
Every refusal raises :class:`SignInError`, whose message says why and never holds a token, code
or secret. The ID token is not used here: before you rely on one, send a ``nonce`` and validate
the ID token (signature, ``iss``, ``aud``, ``nonce``).

What ``helpers/user_login`` (``UserLogin``) adds on top, and what each addition stops:

- discovery from the MCP server with **issuer pinning**: an MCP server that names another
  authorization server never receives your client secret or verifier (``IssuerMismatchError``);
- a hardened **listener**: a Host check (DNS rebinding), one redirect then it stops, a timeout,
  a free port per sign-in where the server allows any loopback port, and a paste-the-address
  path for **remote kernels**;
- **rotation handling** inside an ``httpx2.Auth``: refreshes before expiry, retries once on 401,
  and forgets every token on ``invalid_grant`` (a reused refresh token ends the sign-in);
- **step-up** on ``403 insufficient_scope``: one new sign-in for the missing scope, never a loop;
- https-only endpoints, no redirects followed with a code or token, public clients (no secret),
  and the RFC 8707 ``resource`` parameter when your authorization server accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

__all__ = ["SignInError", "WebApp", "authorization_url", "handle_redirect", "make_pkce_pair", "refresh", "sign_in"]


class SignInError(Exception):
    """A sign-in or refresh was refused; the message says why (never a token, code or secret)."""


@dataclass(frozen=True)
class WebApp:
    """The gateway's web app at the authorization server, and where its endpoints are."""

    authorization_endpoint: str
    token_endpoint: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid offline_access"


def make_pkce_pair():
    """A new PKCE code verifier (kept secret) and its S256 code challenge (sent in the URL)."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of A-Z a-z 0-9 - _ (RFC 7636: 43 to 128)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")  # BASE64URL, no padding
    return verifier, challenge


def authorization_url(app, state, challenge):
    """Where to send the person's browser to sign in: the authorize endpoint with the request."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": app.scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{app.authorization_endpoint}?{urlencode(query)}"


def post_to_token_endpoint(app, form):
    """POST `form` to the token endpoint as the app (HTTP Basic): the tokens, or SignInError."""
    grant = form["grant_type"]
    try:
        response = requests.post(
            app.token_endpoint, data=form, auth=(app.client_id, app.client_secret), timeout=10, allow_redirects=False
        )
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInError(f"No usable answer from the token endpoint to the {grant} grant ({type(error).__name__}).") from None
    body = body if isinstance(body, dict) else {}
    if response.status_code != 200 or not body.get("access_token"):
        reason = body.get("error", f"HTTP {response.status_code}")
        raise SignInError(f"The token endpoint refused the {grant} grant: {reason}: {body.get('error_description', '')}")
    return body


def handle_redirect(app, redirect_url, expected_state, verifier):
    """Check the redirect the browser landed on, then exchange its code (with the verifier) for tokens."""
    query = dict(parse_qsl(urlsplit(redirect_url).query))
    if not expected_state or not hmac.compare_digest(query.get("state", "").encode(), expected_state.encode()):
        raise SignInError("The redirect's state is not this sign-in's (forged or stale): start a new sign-in.")
    if "error" in query:
        raise SignInError(f"The sign-in was refused: {query['error']}: {query.get('error_description', '')}")
    if not query.get("code"):
        raise SignInError("The redirect holds neither a code nor an error: start a new sign-in.")
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": app.redirect_uri,
        "code_verifier": verifier,
    }
    return post_to_token_endpoint(app, form)


def refresh(app, refresh_token):
    """New tokens for a refresh token. Store the refresh token it returns and forget the old one."""
    tokens = post_to_token_endpoint(app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    tokens.setdefault("refresh_token", refresh_token)  # no rotation: the same one stays valid
    return tokens


def sign_in(app, open_browser=webbrowser.open, timeout=300.0):
    """One whole sign-in: listen on the loopback redirect URI, send the browser, check, exchange."""
    where = urlsplit(app.redirect_uri)
    if where.scheme != "http" or where.hostname not in ("127.0.0.1", "localhost") or not where.port:
        raise SignInError("sign_in() listens on http://127.0.0.1:PORT/...; use handle_redirect() for other redirect URIs.")
    landed = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self):
            found = urlsplit(self.path).path == where.path
            if found:
                landed.append(f"http://{where.netloc}{self.path}")
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Done: you can close this tab." if found else b"Not found.")

        def log_message(self, *args):  # the query holds the code: keep it out of logs
            pass

    verifier, challenge = make_pkce_pair()
    state = secrets.token_urlsafe(32)
    with HTTPServer(("127.0.0.1", where.port), Callback) as server:  # listening before the browser leaves
        url = authorization_url(app, state, challenge)
        print(f"Sign in here (waiting up to {timeout:.0f} s): {url}")
        open_browser(url)
        deadline = time.monotonic() + timeout
        while not landed and time.monotonic() < deadline:
            server.timeout = max(deadline - time.monotonic(), 0.01)
            server.handle_request()
    if not landed:
        raise SignInError(f"No redirect arrived within {timeout:.0f} s: start a new sign-in.")
    return handle_redirect(app, landed[0], state, verifier)
