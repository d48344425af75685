"""How the calculator verifies Okta access tokens and enforces a scope per tool.

FastMCP's ``JWTVerifier`` is the base: signature against the JWKS (cached, with a
cooldown between refetches for unknown ``kid``\\ s), ``exp``, ``nbf``, issuer and audience.
As of fastmcp 4.2 it is lax where a production server must not be, so
:class:`OktaJWTVerifier` hardens it:

- a token without ``exp``, ``iat``, ``iss`` or ``aud`` is refused (without ``exp`` it would
  never expire);
- a token issued in the future (``iat`` beyond a small leeway) is refused;
- a token longer than 16 KB, or whose header is longer than 1 KB, is refused before it is
  parsed, and JSON nested too deeply to parse means 401, never a 500 with a traceback;
- issuer and audience are required when the verifier is built: FastMCP skips either
  check when its value is ``None``, which a missing environment variable quietly causes;
- only RS256, only keys from the configured JWKS; a JWKS that does not answer within a
  few seconds means 401, never a hang.

The JWKS is read from where the configuration says, never from a token or a runtime
discovery: a ``jwks_uri`` that is not HTTPS (loopback aside), or metadata whose ``issuer``
is not the configured one, is refused at startup.

:class:`~helpers.scope_guard.ToolScopeGuard` (HTTP 403 ``insufficient_scope`` per tool) lives
in ``helpers/scope_guard.py``; :meth:`Protection.middleware` wires it in.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import requests
from fastmcp.server.auth import AccessToken, RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import JWTVerifier
from starlette.middleware import Middleware

from helpers.scope_guard import ToolScopeGuard
from helpers.settings import ConfigurationError, Settings
from helpers.urls import is_https

__all__ = [
    "OktaJWTVerifier",
    "Protection",
    "ToolScopeGuard",
    "discover_jwks_uri",
]

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud")
MAX_TOKEN_CHARS = 16_384
MAX_HEADER_CHARS = 1_024  # Okta's header is {"kid": ..., "alg": "RS256"}: about 100 characters


class OktaJWTVerifier(JWTVerifier):
    """FastMCP's ``JWTVerifier`` for Okta access tokens, with every check required.

    ``verify_token`` returns the verified token, or ``None`` for any token that must be
    refused; FastMCP then answers HTTP 401 ``invalid_token``.

    A verified token is remembered (by its SHA-256, up to ``cache_size`` tokens) until its
    ``exp``, so a client that sends the same token again costs no RSA verification. Like
    the JWKS cache FastMCP keeps for an hour, this means a token signed with a key that is
    retired meanwhile stays accepted until it expires.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_uri: str,
        leeway_seconds: float = 30.0,
        verify_timeout_seconds: float = 3.0,
        jwks_refresh_interval: float = 30.0,
        cache_size: int = 4096,
        base_url: str | None = None,
    ) -> None:
        for name, value in (("issuer", issuer), ("audience", audience), ("jwks_uri", jwks_uri)):
            if not value or not isinstance(value, str):
                raise ConfigurationError(
                    f"Token verification needs {name}; without it that check would be skipped. "
                    "Set OAUTH_ISSUER and OAUTH_AUDIENCE (OAUTH_JWKS_URI is found from the issuer)."
                )
        super().__init__(
            jwks_uri=jwks_uri,
            issuer=issuer,
            audience=audience,
            algorithm="RS256",
            base_url=base_url,
            jwks_refresh_interval=jwks_refresh_interval,
        )
        self.leeway_seconds = leeway_seconds
        self.verify_timeout_seconds = verify_timeout_seconds
        self.cache_size = cache_size
        self._verified: OrderedDict[bytes, AccessToken] = OrderedDict()

    async def load_access_token(self, token: str) -> AccessToken | None:
        if len(token) > MAX_TOKEN_CHARS:  # Okta's are ~1 KB; don't hash or parse megabytes
            self.logger.info("Bearer token rejected: longer than %d characters", MAX_TOKEN_CHARS)
            return None
        if len(token.split(".", 1)[0]) > MAX_HEADER_CHARS:  # parsed before the signature is checked
            self.logger.info("Bearer token rejected: header longer than %d characters", MAX_HEADER_CHARS)
            return None
        key = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(key)
        if cached is not None:
            if cached.expires_at is not None and cached.expires_at > time.time():
                return cached
            self._verified.pop(key, None)
        # A JWKS endpoint that accepts the connection and never answers would otherwise hold
        # the request for httpx's 10 s timeout; the caller gets 401 quickly instead.
        with anyio.move_on_after(self.verify_timeout_seconds):
            try:
                verified = await super().load_access_token(token)
            except RecursionError:  # JSON nested thousands deep: Python's parser gives up
                self.logger.info("Bearer token rejected: JSON nested too deeply")
                return None
            if verified is None or not self._claims_acceptable(verified.claims):
                return None
            self._remember(key, verified)
            return verified
        self.logger.warning("Token verification gave up after %.1f s (JWKS unreachable?)", self.verify_timeout_seconds)
        return None

    def _remember(self, key: bytes, verified: AccessToken) -> None:
        """Keep a verified token until it expires, so its next request skips the RSA work."""
        if self.cache_size <= 0:
            return
        self._verified[key] = verified
        while len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)

    def _claims_acceptable(self, claims: Mapping[str, Any]) -> bool:
        missing = [name for name in REQUIRED_CLAIMS if name not in claims]
        if missing:
            self.logger.info("Bearer token rejected: required claim(s) missing: %s", ", ".join(missing))
            return False
        numbers = {name: claims.get(name) for name in ("exp", "iat", "nbf") if name in claims}
        if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in numbers.values()):
            self.logger.info("Bearer token rejected: exp, iat and nbf must be numbers")
            return False
        now = time.time()
        if numbers["iat"] > now + self.leeway_seconds:
            self.logger.info("Bearer token rejected: issued in the future (iat)")
            return False
        return True


@dataclass(frozen=True)
class Protection:
    """What the calculator demands of every request: an Okta access token from ``issuer``
    for ``audience``, signed by a key in ``jwks_uri``.

    Build one from the configuration with :meth:`from_settings`, or give the three values.
    """

    issuer: str
    audience: str
    jwks_uri: str
    leeway_seconds: float = 30.0
    jwks_refresh_interval: float = 30.0
    verify_timeout_seconds: float = 3.0

    def __post_init__(self) -> None:
        _check_jwks_uri(self.jwks_uri, "The configuration")

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Protection:
        """The protection for the configured authorization server (discovering the JWKS URI)."""
        if not settings.issuer or not settings.audience:
            raise ConfigurationError(
                "No issuer and audience are configured. Set OAUTH_ISSUER and OAUTH_AUDIENCE in "
                ".env, or start the local authorization server and use its settings()."
            )
        jwks_uri = settings.jwks_uri or discover_jwks_uri(settings.issuer)
        return cls(issuer=settings.issuer, audience=settings.audience, jwks_uri=jwks_uri, **options)

    def verifier(self) -> OktaJWTVerifier:
        """A fresh verifier (its JWKS cache belongs to one server)."""
        return OktaJWTVerifier(
            issuer=self.issuer,
            audience=self.audience,
            jwks_uri=self.jwks_uri,
            leeway_seconds=self.leeway_seconds,
            verify_timeout_seconds=self.verify_timeout_seconds,
            jwks_refresh_interval=self.jwks_refresh_interval,
        )

    def auth_provider(self, base_url: str, scopes: list[str]) -> RemoteAuthProvider:
        """FastMCP auth for a server at ``base_url``: token verification plus RFC 9728
        protected resource metadata naming the issuer and ``scopes``."""
        return RemoteAuthProvider(
            token_verifier=self.verifier(),
            authorization_servers=[self.issuer],
            base_url=base_url,
            scopes_supported=scopes,
            resource_name="Calculator MCP server",
        )

    def resource_metadata_url(self, base_url: str, mcp_path: str) -> str:
        """Where RFC 9728 puts the metadata of the resource at ``base_url + mcp_path``."""
        return f"{base_url.rstrip('/')}/.well-known/oauth-protected-resource{mcp_path}"

    def issuer_metadata_url(self) -> str:
        """The authorization server's metadata document, as Okta serves it."""
        return f"{self.issuer}/.well-known/oauth-authorization-server"

    def middleware(self, *, base_url: str, mcp_path: str, tool_scopes: Mapping[str, tuple[str, ...]]) -> list[Middleware]:
        """HTTP middleware answering a tool call that lacks a scope with 403 ``insufficient_scope``."""
        return [
            Middleware(
                ToolScopeGuard,
                tool_scopes=tool_scopes,
                mcp_path=mcp_path,
                resource_metadata_url=self.resource_metadata_url(base_url, mcp_path),
            )
        ]


def discover_jwks_uri(issuer: str, timeout: float = 5.0) -> str:
    """Read ``jwks_uri`` from the configured issuer's metadata, as Okta publishes it.

    The metadata must name ``issuer`` itself (RFC 8414, section 3.3) and its ``jwks_uri``
    must be HTTPS: the keys decide which tokens the server
    accepts, so they must come from the authorization server the configuration names.
    """
    url = f"{issuer}/.well-known/oauth-authorization-server"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        metadata = response.json()
        published_issuer, jwks_uri = metadata.get("issuer"), metadata["jwks_uri"]
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"Could not read jwks_uri from {url} ({type(exc).__name__}). Check OAUTH_ISSUER, or set "
            f"OAUTH_JWKS_URI to the authorization server's keys endpoint ({issuer}/v1/keys)."
        ) from None
    if published_issuer != issuer:
        raise ConfigurationError(
            f"The metadata at {url} names the issuer {published_issuer!r}, not {issuer!r} (OAUTH_ISSUER). "
            "Its keys are not trusted: check OAUTH_ISSUER (exactly as the Issuer URI in Okta, no trailing slash)."
        )
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ConfigurationError(f"The metadata at {url} has no usable jwks_uri; set OAUTH_JWKS_URI.")
    _check_jwks_uri(jwks_uri, f"the metadata at {url}")
    return jwks_uri


def _check_jwks_uri(jwks_uri: str, source: str) -> None:
    if not is_https(jwks_uri):
        raise ConfigurationError(
            f"{source} gives the JWKS URI {jwks_uri!r}, which is not https://. Keys fetched over plain "
            "HTTP can be swapped on the way, and with them every token's signature: use the "
            "authorization server's https:// keys endpoint."
        )
