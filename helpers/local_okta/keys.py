"""Signing keys of one authorization server: sign with one, publish several, rotate on demand.

Okta publishes two or three keys per authorization server at once (the one that signs, the
next one, sometimes the previous one) and their order in the JWKS means nothing: a verifier
must pick the key by the token's ``kid``. :class:`KeySet` reproduces that: the *next* key is
always published, first, before it signs anything, so code that takes ``keys[0]`` fails here
as it would against Okta. :meth:`KeySet.rotate` makes the next key the signing key (the old one
stays published, and a new next key appears); :meth:`KeySet.retire_old` stops publishing every
key that no longer signs (the next key stays).

The org authorization server is different: "Okta doesn't expose the public keys used to sign the
access token minted by the org authorization server" (Okta's key-rotation concept page), so its
:class:`KeySet` signs access tokens with a key it never publishes; its ID tokens still verify
against its ``/oauth2/v1/keys``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["KeySet", "SigningKey"]


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair with its key id (``kid``)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=secrets.token_urlsafe(32), private_key=key)

    def public_jwk(self) -> dict[str, Any]:
        """The public key as Okta publishes it: ``kty``, ``alg``, ``kid``, ``use``, ``e``, ``n``."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"kty": "RSA", "alg": "RS256", "kid": self.kid, "use": "sig", "e": jwk["e"], "n": jwk["n"]}


class KeySet:
    """The keys of one authorization server. Thread-safe; the last of ``_keys`` signs, ``_next`` waits."""

    def __init__(self, *, publish_access_token_key: bool = True) -> None:
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey.generate()]
        self._next = SigningKey.generate()
        self._unpublished = None if publish_access_token_key else SigningKey.generate()

    @property
    def current(self) -> SigningKey:
        with self._lock:
            return self._keys[-1]

    @property
    def kids(self) -> list[str]:
        """The kids of the keys that signed or sign, oldest first (the last one signs now)."""
        with self._lock:
            return [key.kid for key in self._keys]

    @property
    def next_kid(self) -> str:
        """The kid of the published key that will sign after the next rotation."""
        with self._lock:
            return self._next.kid

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JSON Web Key Set served at ``{issuer}/v1/keys``: the next key first, then the others."""
        with self._lock:
            keys = [self._next, *reversed(self._keys)]
        return {"keys": [key.public_jwk() for key in keys]}

    def sign(self, claims: dict[str, Any], *, access_token: bool = False) -> str:
        """Sign ``claims`` with the current key (an org server's access token: its unpublished key):
        RS256, header ``{"kid", "alg"}``, no ``typ``."""
        key = self._unpublished if access_token and self._unpublished is not None else self.current
        return jwt.encode(
            claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": None}
        )

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed by one of these keys, or ``None`` (expiry not checked)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        with self._lock:
            key = next((k for k in [*self._keys, self._next, self._unpublished] if k and k.kid == kid), None)
        if key is None:
            return None
        try:
            return jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None

    def rotate(self) -> str:
        """Sign from now on with the next key (published already), keep the old ones published,
        and publish a new next key; the new signing key's kid."""
        fresh = SigningKey.generate()
        with self._lock:
            self._keys.append(self._next)
            self._next = fresh
            return self._keys[-1].kid

    def retire_old(self) -> list[str]:
        """Stop publishing every key except the current one; return the retired kids."""
        with self._lock:
            retired = [key.kid for key in self._keys[:-1]]
            self._keys = self._keys[-1:]
        return retired
