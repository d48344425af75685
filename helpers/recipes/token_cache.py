"""A client-credentials token cache: one access token for many calls, renewed before it expires.

Copy this file into your project (it needs only ``requests``). A service that calls an API
protected by Okta asks the authorization server's token endpoint for an access token (the OAuth
client credentials grant) and sends it as ``Authorization: Bearer <token>``. Asking before every
call doubles the round trips and runs into Okta's rate limits; this cache asks once and hands out
the same token until shortly before it expires:

    cache = TokenCache(
        "https://dev-123456.okta.com/oauth2/default/v1/token",  # token_endpoint in the issuer's metadata
        os.environ["M2M_CLIENT_ID"],
        os.environ["M2M_CLIENT_SECRET"],
        "calculator.add calculator.subtract",
    )
    requests.post(mcp_url, headers={"Authorization": f"Bearer {cache.get_token()}"}, ...)

- The token request: ``POST`` to the token endpoint, the client id and secret in an HTTP Basic
  header (``client_secret_basic``), the form ``grant_type=client_credentials&scope=...``.
- Renewal: ``renew_before`` seconds (60) before the token expires, and at most half its lifetime
  early, so a 5-minute token is still used for 4 minutes. Its lifetime counts from when the
  request was *sent*, on ``clock`` (``time.monotonic``: NTP never moves it; a test passes its own).
- One lock: one token request at a time. Callers that arrive while it runs wait, then get its
  token: 50 threads at renewal time make one request, not 50 (no renewal storm).
- A refusal raises :class:`TokenRequestError` with Okta's ``error`` and ``error_description``;
  no message holds the client secret or a token.

What the series' hardened ``TokenManager`` (``helpers/tokens/manager.py``) adds, and what each
addition stops:

- ``aget_token()`` for async code fetches in a worker thread: here an async caller would block
  the event loop, and every other task with it, for the whole token request;
- a failed request is shared with every caller that waited for it, then a pause (1 s, doubling
  to 30 s): here each waiting caller tries again in turn, a retry storm against a token endpoint
  that is already down, and the last caller waits for all their timeouts;
- while renewal fails it keeps serving the cached token until it really expires, so an outage
  shorter than the margin fails nobody (here the first failed renewal raises);
- as ``fastmcp.Client(auth=manager)`` it renews and retries once on a 401 (a revoked token, a
  rotated key), and asks for the missing scope on a 403 ``insufficient_scope`` (step-up), only
  within ``allowed_scopes`` and a few times a minute (a server cannot widen the token or make it
  hammer the token endpoint);
- it attaches its token only to the MCP servers it was made for (``mcp_servers=``): every server
  behind your authorization server accepts the same tokens, so a lookalike that names your issuer
  could replay one. Here, send ``get_token()`` to your own server's URL only.

FastMCP's own ``fastmcp.client.auth.ClientCredentialsOAuthProvider`` does this job for
``fastmcp.Client`` alone: it finds the authorization server from the MCP server (RFC 9728; pass
``issuer=`` so the secret goes to yours only), fetches on the first 401, again once the token has
expired or a call gets 401. It sends ``resource=<the MCP server's URL>`` (RFC 8707), which an Okta
authorization server may refuse (``invalid_target``). Use this file for any other HTTP client.
"""

from __future__ import annotations

import threading
import time

import requests

__all__ = ["TokenCache", "TokenRequestError", "fetch_token"]


class TokenRequestError(RuntimeError):
    """The token endpoint refused the request: its HTTP status and Okta's error, never the secret."""


def fetch_token(token_url, client_id, client_secret, scope, timeout=10.0):
    """One client-credentials token request: ``(access_token, expires_in)``, or TokenRequestError."""
    response = requests.post(
        token_url,
        auth=(client_id, client_secret),  # client_secret_basic: Authorization: Basic base64(id:secret)
        data={"grant_type": "client_credentials", "scope": scope},  # a form, not JSON
        headers={"Accept": "application/json"},
        timeout=timeout,
    )
    try:
        answer = response.json()
    except ValueError:  # a proxy's HTML page, an empty body
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        error = answer.get("error", "no OAuth error in the answer") if isinstance(answer, dict) else "not a JSON object"
        description = answer.get("error_description", "") if isinstance(answer, dict) else ""
        raise TokenRequestError(
            f"The token endpoint {token_url} refused client {client_id}: HTTP {response.status_code} {error}"
            + (f": {description}" if description else "")
        )
    return answer["access_token"], float(answer.get("expires_in", 300))  # none given: Okta's shortest, 5 min


class TokenCache:
    """One client-credentials access token, fetched once and renewed before it expires (thread-safe)."""

    def __init__(self, token_url, client_id, client_secret, scope, clock=time.monotonic, renew_before=60.0):
        if not token_url.startswith("https://"):
            raise ValueError(f"Refusing to send the client secret to {token_url}: the token URL must be https://")
        self.token_url, self.client_id, self.scope = token_url, client_id, scope
        self._client_secret = client_secret
        self.clock, self.renew_before = clock, renew_before
        self._lock = threading.Lock()  # one token request at a time
        self._token = None
        self._renew_at = 0.0  # on self.clock

    def get_token(self):
        """The cached access token; fetched first if there is none or it is due for renewal."""
        with self._lock:  # a caller that waited here finds the token the caller before it fetched
            if self._token is None or self.clock() >= self._renew_at:
                sent_at = self.clock()  # the lifetime counts from the request, not the answer
                token, expires_in = fetch_token(self.token_url, self.client_id, self._client_secret, self.scope)
                self._token = token
                self._renew_at = sent_at + expires_in - min(self.renew_before, expires_in / 2)
            return self._token

    def __repr__(self):
        return f"<TokenCache client_id={self.client_id} scope={self.scope!r} cached={self._token is not None}>"
