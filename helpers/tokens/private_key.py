"""Private-key client authentication (``private_key_jwt``): a key pair, its public JWK, client assertions.

A service that authenticates with a client secret sends the same secret on every token request,
so the secret is copied into every deployment that runs the service. With *Public key / Private
key* client authentication (Okta's name for ``private_key_jwt``) the app in Okta holds only a
**public** key; the service keeps the private key and, for each token request, signs a short-lived
JWT, the *client assertion* (RFC 7523, section 2.2), that proves it holds the key. The assertion
names the client (``iss`` = ``sub`` = the client id), the endpoint it is for (``aud`` = the token
endpoint), a lifetime of a minute and a unique ``jti``, so a stolen one is refused once used and
worthless soon after.

- :func:`write_key_pair`: an RSA 2048 key pair in a folder: ``private_key.pem`` (mode 0600, never
  printed) and ``public_jwk.json``, the public key as a JWK whose ``kid`` is its RFC 7638 thumbprint;
- :class:`PrivateKeyClient`: a client id and its private key; :meth:`PrivateKeyClient.assertion`
  signs a client assertion with PyJWT (RS256, ``kid`` header);
- :func:`fetch_token_with_private_key`: the client-credentials token request with an assertion,
  the way ``TokenManager.for_private_key`` fetches.

``python -m helpers.tokens.private_key new DIR`` writes the two files and prints the public JWK to
paste into Okta (the app's *General > Client Credentials > Public key / Private key > Add key*).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

from helpers.rate_limits import retry_once_after_reset

from .fetching import client_credentials_form, describe, read_response
from .responses import DEFAULT_TIMEOUT, TokenEndpointUnreachable, TokenError, TokenResponse, require_secure_token_url

__all__ = [
    "ASSERTION_LIFETIME",
    "JWT_BEARER",
    "KeyFiles",
    "PrivateKeyClient",
    "fetch_token_with_private_key",
    "generate_private_key",
    "jwk_thumbprint",
    "public_jwk",
    "write_key_pair",
]

#: ``client_assertion_type`` for a JWT client assertion (RFC 7523, section 2.2).
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Seconds an assertion is valid: one request's worth. Okta refuses more than an hour.
ASSERTION_LIFETIME = 60
PRIVATE_KEY_FILE = "private_key.pem"
PUBLIC_JWK_FILE = "public_jwk.json"


def generate_private_key() -> rsa.RSAPrivateKey:
    """A new RSA 2048 private key (what Okta's own key generator makes)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The public half as a JWK to register in Okta: ``kty``, ``e``, ``n``, ``use``, ``alg`` and a
    ``kid`` that is the key's RFC 7638 thumbprint (so the same key always gets the same id)."""
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    return {"kty": "RSA", "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "RS256", "e": jwk["e"], "n": jwk["n"]}


def jwk_thumbprint(jwk: dict) -> str:
    """An RSA JWK's RFC 7638 thumbprint: SHA-256 of its required members (e, kty, n) in that order,
    as compact JSON, base64url-encoded."""
    members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64url_encode(digest).decode()


@dataclass(frozen=True)
class KeyFiles:
    """Where :func:`write_key_pair` put the key pair, and the public JWK it registered there."""

    private_key_file: Path
    public_jwk_file: Path
    public_jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]


def write_key_pair(directory: str | os.PathLike[str]) -> KeyFiles:
    """Make a key pair and write it to ``directory`` (created if needed, mode 0700).

    ``private_key.pem`` is created with mode 0600 (only you can read it) and never overwritten:
    an existing one raises ``FileExistsError``, since replacing a registered key locks the service
    out. ``public_jwk.json`` holds the public JWK, which is safe to share.
    """
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_key = generate_private_key()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    private_path = folder / PRIVATE_KEY_FILE
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # 0600 from the start
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    jwk = public_jwk(private_key)
    public_path = folder / PUBLIC_JWK_FILE
    public_path.write_text(json.dumps(jwk, indent=2) + "\n", encoding="utf-8")
    return KeyFiles(private_path, public_path, jwk)


@dataclass(frozen=True)
class PrivateKeyClient:
    """An app that authenticates with a private key: its client id, the key, and the key's ``kid``.

    The private key never appears in ``repr``. Build it with :meth:`from_file` (a PEM file, as
    ``KEY_PRIVATE_KEY_FILE`` names) or directly from a key object.
    """

    client_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    kid: str = ""
    lifetime: int = ASSERTION_LIFETIME

    def __post_init__(self) -> None:
        if not self.kid:
            object.__setattr__(self, "kid", public_jwk(self.private_key)["kid"])
        if not 0 < self.lifetime <= 300:
            raise ValueError("An assertion lives a few seconds to five minutes (lifetime 1 to 300).")

    @classmethod
    def from_file(cls, client_id: str, path: str | os.PathLike[str], kid: str = "") -> PrivateKeyClient:
        """Load a PEM private key (unencrypted PKCS#8 or PKCS#1) that only you can read (on POSIX, no
        group or other permission bits), with a clear error otherwise."""
        try:
            data = Path(path).read_bytes()
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise TokenError(f"Cannot read the private key file {path}: {exc.strerror}.") from None
        if hasattr(os, "getuid") and mode & 0o077:  # as ssh does: a key others can read is no longer yours alone
            raise TokenError(f"The private key file {path} can be read by other users: `chmod 600 {path}`, "
                             "and if others could have read it already, make a new key pair and replace the key in Okta.")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise TokenError(f"{path} is not an unencrypted PEM private key "
                             "(python -m helpers.tokens.private_key new DIR makes one).") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TokenError(f"{path} holds a {type(key).__name__}; this tutorial signs with RSA (RS256).")
        return cls(client_id, key, kid)

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public JWK to register in Okta for this key."""
        return {**public_jwk(self.private_key), "kid": self.kid}

    def assertion(self, audience: str) -> str:
        """A client assertion for ``audience`` (the token endpoint, the endpoint invoked):
        ``iss`` = ``sub`` = the client id, ``iat`` now, ``exp`` a minute later, a unique ``jti``,
        signed RS256 with the ``kid`` in its header."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience,
                  "iat": now, "exp": now + self.lifetime, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def fetch_token_with_private_key(
    token_url: str, client: PrivateKeyClient, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT,
    max_wait: float | None = None,
) -> TokenResponse:
    """POST the client-credentials form with a fresh client assertion signed for ``token_url``."""
    return retry_once_after_reset(lambda: _post_with_assertion(token_url, client, scopes, timeout), max_wait=max_wait)


def _post_with_assertion(token_url: str, client: PrivateKeyClient, scopes, timeout: float) -> TokenResponse:
    require_secure_token_url(token_url)
    form = {**client_credentials_form(scopes), "client_assertion_type": JWT_BEARER,
            "client_assertion": client.assertion(token_url)}  # a new one per request: a jti is single-use
    try:
        response = requests.post(token_url, data=form, headers={"Accept": "application/json"},
                                 timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise TokenEndpointUnreachable(token_url, describe(exc)) from None
    return read_response(response, token_url)


def main(argv: list[str] | None = None) -> int:
    """``new DIR``: write a key pair to DIR and print the public JWK (never the private key)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.tokens.private_key",
                                     description="Make a key pair for private-key client authentication.")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="write private_key.pem (0600) and public_jwk.json to DIR")
    new.add_argument("directory", metavar="DIR")
    args = parser.parse_args(argv)
    try:
        files = write_key_pair(args.directory)
    except FileExistsError:
        print(f"{Path(args.directory) / PRIVATE_KEY_FILE} exists already; it is not replaced (the key "
              "registered in Okta would stop matching). Choose another folder.", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Cannot write to {args.directory}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"Private key: {files.private_key_file} (only you can read it; keep it out of any repository)")
    print(f"Public key:  {files.public_jwk_file}\n")
    print("In Okta: Applications > your API Services app > General > Client Credentials > Edit >")
    print("Public key / Private key > Add key, and paste this public key:\n")
    print(json.dumps(files.public_jwk, indent=2))
    print(f"\nThen in .env: KEY_CLIENT_ID=<the app's Client ID> and KEY_PRIVATE_KEY_FILE={files.private_key_file.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
