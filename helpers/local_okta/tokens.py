"""Okta-shaped tokens: JWT access tokens and ID tokens, opaque refresh tokens.

oauthlib decides *whether* a token is issued; these functions decide what it looks like.
:func:`access_token_generator` is the ``token_generator`` handed to oauthlib's ``Server``
(it reads the validated request: client, user, scopes, lifetime), :func:`id_token_modifier`
is registered as an oauthlib token modifier on the grants that sign users in.

Access token claims (Okta's order): ``ver`` 1, ``jti`` ``AT.…``, ``iss``, ``aud`` (the
authorization server's audience, never the client), ``iat``, ``exp``, ``cid``, ``uid`` (users
only), ``scp`` (a JSON list), ``auth_time`` (users only), ``sub`` (the client id for client
credentials, the user's login for users).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from .state import OktaState, now

__all__ = [
    "access_token_claims",
    "access_token_generator",
    "id_token_claims",
    "id_token_modifier",
    "refresh_token_generator",
]

ID_TOKEN_LIFETIME = 3600


def _jti(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def access_token_claims(
    *,
    issuer: str,
    audience: str,
    client_id: str,
    scopes: list[str],
    lifetime: int,
    user_login: str | None = None,
    user_id: str | None = None,
    auth_time: int | None = None,
    issued_at: int | None = None,
) -> dict[str, Any]:
    """The claims of an Okta access token (a user token when ``user_login`` is given)."""
    iat = now() if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "ver": 1,
        "jti": _jti("AT."),
        "iss": issuer,
        "aud": audience,
        "iat": iat,
        "exp": iat + lifetime,
        "cid": client_id,
    }
    if user_login is not None:
        claims["uid"] = user_id
    claims["scp"] = list(scopes)
    if user_login is not None:
        claims["auth_time"] = auth_time
    claims["sub"] = user_login if user_login is not None else client_id
    return claims


def id_token_claims(
    *,
    issuer: str,
    client_id: str,
    user,
    scopes: list[str],
    auth_time: int,
    idp: str,
    nonce: str | None = None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The claims of an Okta ID token: ``sub`` is the user id, ``aud`` the client id."""
    iat = now()
    claims: dict[str, Any] = {"sub": user.uid}
    if "profile" in scopes:
        claims["name"] = user.name
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = True  # the OIDC API reference: with the email scope
    claims.update(
        {
            "ver": 1,
            "iss": issuer,
            "aud": client_id,
            "iat": iat,
            "exp": iat + ID_TOKEN_LIFETIME,
            "jti": _jti("ID."),
            "amr": ["pwd"],
            "idp": idp,
        }
    )
    if nonce:
        claims["nonce"] = nonce
    if "profile" in scopes:
        claims["preferred_username"] = user.login
    claims["auth_time"] = auth_time
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims["at_hash"] = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
    return claims


def token_lifetime(state: OktaState, request) -> int:
    """``expires_in`` for oauthlib: the override, else the matched policy rule's lifetime."""
    if state.access_token_lifetime is not None:
        return state.access_token_lifetime
    rule = getattr(request, "okta_rule", None)
    return rule.access_token_lifetime if rule is not None else 3600


def access_token_generator(state: OktaState, server_id: str):
    """An oauthlib ``token_generator`` that signs Okta-shaped access tokens for ``server_id``."""

    def generate(request) -> str:
        server = state.server(server_id)
        user = getattr(request, "okta_user", None)
        claims = access_token_claims(
            issuer=state.issuer(server_id),
            audience=server.audience,
            client_id=request.client.client_id,
            scopes=request.scopes,
            lifetime=request.expires_in,
            user_login=user.login if user else None,
            user_id=user.uid if user else None,
            auth_time=getattr(request, "okta_auth_time", None) if user else None,
        )
        return state.keys[server_id].sign(claims, access_token=True)

    return generate


def refresh_token_generator(request) -> str:
    """Refresh tokens are opaque random strings (Okta's are 43 characters)."""
    return secrets.token_urlsafe(32)


def id_token_modifier(state: OktaState, server_id: str):
    """An oauthlib token modifier adding ``id_token`` when ``openid`` was granted to a user."""

    def modify(token: dict, token_handler, request) -> dict:
        user = getattr(request, "okta_user", None)
        if user is None or "openid" not in (request.scopes or []):
            return token
        claims = id_token_claims(
            issuer=state.issuer(server_id),
            client_id=request.client.client_id,
            user=user,
            scopes=request.scopes,
            auth_time=request.okta_auth_time,
            idp=state.tenant.idp_id,
            nonce=getattr(request, "okta_nonce", None),
            access_token=token.get("access_token"),
        )
        token["id_token"] = state.keys[server_id].sign(claims)
        return token

    return modify
