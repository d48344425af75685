"""A service that gets Okta access tokens with a private key instead of a client secret: one file to copy.

What it is for: an API Services app whose client authentication is *Public key / Private key*
(``private_key_jwt``) holds only your **public** key in Okta. For each token request your service
signs a short-lived JWT, the client assertion (RFC 7523, section 2.2), with the private key, which
never leaves the machine that runs the service. :func:`make_client_assertion` makes one (notebook 08
has you write it); :func:`fetch_token` asks Okta for a token with it; :func:`fastmcp_auth` gives
FastMCP's ``PrivateKeyJWTOAuthProvider`` an assertion that Okta accepts.

How to use it (install ``PyJWT[crypto]``, ``requests`` and, for :func:`fastmcp_auth`, ``fastmcp``)::

    import os
    from private_key_client import fetch_token

    issuer = os.environ["OAUTH_ISSUER"]                         # https://YOUR_ORG.okta.com/oauth2/default
    with open(os.environ["KEY_PRIVATE_KEY_FILE"]) as file:      # a PEM file only you can read (chmod 600)
        private_key_pem = file.read()
    token = fetch_token(issuer + "/v1/token", os.environ["KEY_CLIENT_ID"], private_key_pem,
                        os.environ["KEY_ID"], ["calculator.add"])   # KEY_ID: the kid you registered

Okta's rules for the assertion (okta-developer-docs, *Build a JWT for client authentication*):
``iss`` and ``sub`` are the client id; ``aud`` is the endpoint it is sent to (the token endpoint,
not the issuer); ``exp`` at most an hour ahead; a ``jti`` makes it single-use; RS256 (or RS384,
RS512, ES256, ES384, ES512) with the ``kid`` of a public key registered on the app.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import jwt
import requests

__all__ = ["JWT_BEARER", "fastmcp_auth", "fetch_token", "make_client_assertion"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def make_client_assertion(client_id, token_endpoint, private_key_pem, kid):
    """A client assertion: a one-minute JWT, signed with the private key, for the token endpoint."""
    now = int(time.time())
    claims = {
        "iss": client_id,          # the client makes the claim...
        "sub": client_id,          # ...about itself
        "aud": token_endpoint,     # the endpoint it is sent to, exactly (Okta refuses the issuer)
        "iat": now,
        "exp": now + 60,           # one request's worth (Okta refuses more than an hour)
        "jti": str(uuid.uuid4()),  # unique: Okta accepts each assertion once
    }
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid})


def fetch_token(token_endpoint: str, client_id: str, private_key_pem: str, kid: str, scopes: Iterable[str],
                timeout: float = 10) -> dict:
    """An access token for ``scopes`` (Okta's JSON answer), or ``requests.HTTPError`` with Okta's error."""
    if not token_endpoint.startswith("https://"):
        raise ValueError("Send client assertions to an https:// token endpoint only.")
    answer = requests.post(token_endpoint, timeout=timeout, allow_redirects=False, data={
        "grant_type": "client_credentials",
        "scope": " ".join(scopes),
        "client_assertion_type": JWT_BEARER,
        "client_assertion": make_client_assertion(client_id, token_endpoint, private_key_pem, kid),
    })
    if answer.status_code != 200:
        raise requests.HTTPError(f"{answer.status_code} from the token endpoint: {answer.text[:300]}", response=answer)
    return answer.json()


def fastmcp_auth(client_id: str, private_key_pem: str, kid: str, *, issuer: str, token_endpoint: str,
                 scopes: Iterable[str]):
    """FastMCP's ``PrivateKeyJWTOAuthProvider`` for ``fastmcp.Client(url, auth=...)``, with assertions for Okta.

    The provider asks its ``assertion_provider`` for an assertion with the issuer as audience; Okta
    refuses that ("The audience claim for client_assertion must be the endpoint invoked for the
    request."), so this one signs for ``token_endpoint`` whatever it is asked. ``issuer`` pins the
    authorization server: the provider sends assertions to no other.
    """
    from fastmcp.client.auth import PrivateKeyJWTOAuthProvider

    async def assertion_for_okta(audience_the_sdk_asks_for: str) -> str:
        return make_client_assertion(client_id, token_endpoint, private_key_pem, kid)

    return PrivateKeyJWTOAuthProvider(client_id=client_id, assertion_provider=assertion_for_okta,
                                      scopes=list(scopes), issuer=issuer)
