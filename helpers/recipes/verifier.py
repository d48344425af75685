"""Verify Okta access tokens in your own FastMCP server: one file to copy, PyJWT + FastMCP only.

What it is for: a resource server (your MCP server) must refuse every request whose bearer token
Okta did not issue for it. :func:`verify_access_token` is the check itself (plain PyJWT, usable
in any Python server); :class:`OktaTokenVerifier` plugs it into FastMCP, which then answers a
refused token with ``401 invalid_token``. Notebook 03 has you write the check.

How to use it (install ``fastmcp`` and ``PyJWT[crypto]``, at the versions in requirements.txt)::

    import os
    from fastmcp import FastMCP
    from fastmcp.server.auth import RemoteAuthProvider, require_scopes
    from verifier import OktaTokenVerifier

    issuer = os.environ["OAUTH_ISSUER"]           # https://YOUR_ORG.okta.com/oauth2/default
    verifier = OktaTokenVerifier(issuer=issuer, audience=os.environ["OAUTH_AUDIENCE"],
                                 jwks_uri=issuer + "/v1/keys")  # Okta's address for a custom authorization
    # server's keys; safer: the jwks_uri of {issuer}/.well-known/oauth-authorization-server, if that
    # document's issuer is yours and the URI https (notebook 03's "Optional: the one file to copy")
    auth = RemoteAuthProvider(token_verifier=verifier, authorization_servers=[issuer],
                              base_url="https://calculator.example.com", scopes_supported=["calculator.add"])
    mcp = FastMCP("Calculator", auth=auth)

    @mcp.tool(auth=require_scopes("calculator.add"))   # a token without the scope cannot call it
    def add(a: int, b: int) -> int:
        return a + b

What ``OktaJWTVerifier`` and ``ToolScopeGuard`` in this tutorial's ``helpers`` add on top, and
what each stops:

- the JWKS URI read from the issuer's metadata, accepted only if that names the same issuer and
  the URI is https: keys swapped on the way, or taken from another issuer, would let a forger in;
- the whole verification bounded (3 s, then 401): a JWKS endpoint that answers slowly cannot hold
  every request (here the fetch has a timeout per read, and a thread cannot be cancelled);
- verified tokens remembered until they expire: a flood of requests with one valid token costs
  one RSA check, not thousands;
- ``exp`` exact (here the leeway forgives expiry too): a stolen token lives 30 s less;
- ``exp``, ``iat`` and ``nbf`` must be JSON numbers (PyJWT also takes ``"1700000000"``): no claim
  that two parts of a system read differently;
- HTTP 403 ``insufficient_scope`` naming the missing scope (``ToolScopeGuard``), where FastMCP's
  ``require_scopes`` answers "Unknown tool": a client can then ask for that scope (step-up).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import jwt
from fastmcp.server.auth import AccessToken, TokenVerifier

__all__ = ["MAX_TOKEN_CHARS", "OktaTokenVerifier", "verify_access_token"]

MAX_TOKEN_CHARS = 16_384  # Okta's access tokens are about 1 KB: don't parse megabytes


def verify_access_token(token: str, *, jwks_client: jwt.PyJWKClient, issuer: str, audience: str, leeway: float = 30) -> dict[str, Any]:
    """The claims of an access token that ``issuer`` signed for ``audience``; else raise jwt.PyJWTError."""
    if len(token) > MAX_TOKEN_CHARS:
        raise jwt.InvalidTokenError(f"the token is longer than {MAX_TOKEN_CHARS} characters")
    signing_key = jwks_client.get_signing_key_from_jwt(token)  # the published key its kid names
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],  # Okta's algorithm, never the one the token's header claims
        issuer=issuer,
        audience=audience,
        leeway=leeway,  # clock skew forgiven on exp, nbf and iat
        options={"require": ["exp", "iat", "iss", "aud"]},  # without exp a token never expires
    )
    if int(claims["iat"]) > time.time() + leeway:  # PyJWT 2.6+ checks it too; a 3.0 may not (PyJWT issue 939)
        raise jwt.ImmatureSignatureError("the token was issued in the future (iat)")
    return claims


class OktaTokenVerifier(TokenVerifier):
    """FastMCP's token verifier for Okta access tokens: :func:`verify_access_token` per request."""

    def __init__(
        self, *, issuer: str, audience: str, jwks_uri: str, leeway: float = 30, jwks_timeout: float = 5, base_url: str | None = None
    ) -> None:
        if not (issuer and audience and jwks_uri):  # a missing value would skip a check, or fail late
            raise ValueError("OktaTokenVerifier needs issuer, audience and jwks_uri (OAUTH_ISSUER, OAUTH_AUDIENCE).")
        super().__init__(base_url=base_url)
        self.issuer, self.audience, self.leeway = issuer, audience, leeway
        # One client per server: it caches the keys, and fetches again (at most every 30 s) for an unknown kid.
        self.jwks_client = jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=jwks_timeout)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims (synchronous: may fetch the JWKS); raises jwt.PyJWTError."""
        return verify_access_token(token, jwks_client=self.jwks_client, issuer=self.issuer, audience=self.audience, leeway=self.leeway)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The verified token for FastMCP, or None (FastMCP answers 401 invalid_token)."""
        try:
            # PyJWKClient blocks while it fetches the JWKS: in a thread, the server keeps serving.
            claims = await anyio.to_thread.run_sync(self.claims, token)
            scopes = claims.get("scp", [])  # Okta's list of granted scopes
            return AccessToken(
                token=token,
                client_id=str(claims.get("cid") or claims["sub"]),
                scopes=scopes.split() if isinstance(scopes, str) else list(scopes),
                expires_at=claims.get("exp"),  # required by verify_access_token
                subject=claims.get("sub"),
                claims=claims,
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):  # a bad token, or odd claim types
            return None
