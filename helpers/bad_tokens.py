"""Forged and broken access tokens, to show what a resource server must refuse.

Some forgeries need only what anyone can see (a token's text, the public key in the
JWKS); others need the authorization server's *private* key, to prove that a check
rejects a token even when its signature is perfect (expired, wrong audience, no
``exp``...). Only the local authorization server lends its key for that
(:meth:`helpers.local_okta.LocalOkta.sign_token`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BadToken", "alg_none", "bad_tokens", "hs256_with_public_key", "tamper", "typical_claims"]


@dataclass(frozen=True)
class BadToken:
    """A token the calculator must refuse, and what is wrong with it."""

    name: str
    what_is_wrong: str
    token: str = field(repr=False)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode())


def typical_claims(*, issuer: str, audience: str, client_id: str, scopes: list[str], lifetime: int = 3600) -> dict[str, Any]:
    """The claims of an Okta client-credentials access token, issued now."""
    now = int(time.time())
    return {
        "ver": 1, "jti": "AT." + uuid.uuid4().hex, "iss": issuer, "aud": audience, "iat": now,
        "exp": now + lifetime, "cid": client_id, "sub": client_id, "scp": list(scopes),
    }


def tamper(token: str, **changes: Any) -> str:
    """The same token with claims changed in its payload and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{_segment(claims)}.{signature}"


def alg_none(claims: dict[str, Any], kid: str) -> str:
    """An unsigned token that declares ``alg: none`` (an old library bug accepted these)."""
    return f"{_segment({'alg': 'none', 'kid': kid})}.{_segment(claims)}."


def hs256_with_public_key(claims: dict[str, Any], kid: str, public_key_pem: bytes) -> str:
    """An HMAC token keyed with the issuer's *public* key: the classic algorithm-confusion attack."""
    signing_input = f"{_segment({'alg': 'HS256', 'kid': kid, 'typ': 'JWT'})}.{_segment(claims)}"
    signature = hmac.new(public_key_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def bad_tokens(
    sign: Callable[..., str],
    *,
    kid: str,
    public_key_pem: bytes,
    claims: dict[str, Any],
    web_client_id: str,
) -> list[BadToken]:
    """The bad tokens notebook 03 tries, each built from good ``claims``.

    ``sign(claims, headers=None)`` signs with the issuer's private key (the local
    server's ``sign_token``); ``kid`` and ``public_key_pem`` are its published key.
    """
    now = int(time.time())
    without = lambda name: {k: v for k, v in claims.items() if k != name}  # noqa: E731
    return [
        BadToken("expired", "exp is an hour ago", sign({**claims, "iat": now - 7200, "exp": now - 3600})),
        BadToken("wrong audience", "aud is Okta's default api://default", sign({**claims, "aud": "api://default"})),
        BadToken("wrong issuer", "iss is another authorization server", sign({**claims, "iss": claims["iss"].rsplit("/", 1)[0] + "/other"})),
        BadToken("tampered", "scp edited after signing", tamper(sign({**claims, "scp": ["calculator.add"]}), scp=["calculator.add", "calculator.subtract"])),
        BadToken("alg none", "unsigned, header says alg none", alg_none(claims, kid)),
        BadToken("HS256 + public key", "HMAC-signed with the public key", hs256_with_public_key(claims, kid, public_key_pem)),
        BadToken("unknown kid", "kid of no published key", sign(claims, headers={"kid": "not-a-published-key"})),
        BadToken("no exp", "no expiry: would be valid forever", sign(without("exp"))),
        BadToken("future iat", "issued an hour from now", sign({**claims, "iat": now + 3600, "exp": now + 7200})),
        BadToken("ID token", "an ID token: aud is the app's client id", sign({
            **without("scp"), "jti": "ID." + uuid.uuid4().hex, "aud": web_client_id, "sub": "00u1adalovelace00001",
            "amr": ["pwd"], "idp": "00o1localokta", "auth_time": now - 60, "nonce": "n-0S6_WzA2Mj",
        })),
    ]
