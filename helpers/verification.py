"""How the calculator verifies Okta access tokens and enforces a scope per tool.

FastMCP's ``JWTVerifier`` is the base: signature against the JWKS (cached, with a
cooldown between refetches for unknown ``kid``\\ s), ``exp``, ``nbf``, issuer and audience.
As of fastmcp 4.2 it is lax where a production server must not be, so
:class:`OktaJWTVerifier` hardens it:

- a token without ``exp``, ``iat``, ``iss`` or ``aud`` is refused (without ``exp`` it would
  never expire);
- a token issued in the future (``iat`` beyond a small leeway) is refused;
- issuer and audience are required when the verifier is built: FastMCP skips either
  check when its value is ``None``, which a missing environment variable quietly causes;
- only RS256, only keys from the configured JWKS; a JWKS that does not answer within a
  few seconds means 401, never a hang.

FastMCP's per-tool ``require_scopes`` hides a tool the token may not call, so calling it
answers "Unknown tool" inside HTTP 200. :class:`ToolScopeGuard` answers such a call the
way the MCP authorization spec asks: HTTP 403 with
``WWW-Authenticate: Bearer error="insufficient_scope", scope="...", resource_metadata="..."``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import requests
from fastmcp.server.auth import AccessToken, RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import JWTVerifier
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpers.settings import ConfigurationError, Settings

__all__ = [
    "OktaJWTVerifier",
    "Protection",
    "ToolScopeGuard",
    "discover_jwks_uri",
]

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud")
MAX_TOKEN_CHARS = 16_384


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
        key = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(key)
        if cached is not None:
            if cached.expires_at is not None and cached.expires_at > time.time():
                return cached
            self._verified.pop(key, None)
        # A JWKS endpoint that accepts the connection and never answers would otherwise hold
        # the request for httpx's 10 s timeout; the caller gets 401 quickly instead.
        with anyio.move_on_after(self.verify_timeout_seconds):
            verified = await super().load_access_token(token)
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


class ToolScopeGuard:
    """ASGI middleware: a ``tools/call`` whose token lacks the tool's scope gets HTTP 403.

    It runs after FastMCP's authentication (so ``scope["user"]`` holds the verified token)
    and before the MCP endpoint. Requests without a verified token pass through untouched,
    to get FastMCP's 401. Bodies above ``max_body_bytes`` get 413 instead of being buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tool_scopes: Mapping[str, tuple[str, ...]],
        mcp_path: str,
        resource_metadata_url: str,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        self.app = app
        self.tool_scopes = {name: tuple(scopes) for name, scopes in tool_scopes.items()}
        self.mcp_path = mcp_path.rstrip("/")
        self.resource_metadata_url = resource_metadata_url
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") != self.mcp_path
            or not isinstance(user, AuthenticatedUser)
        ):
            await self.app(scope, receive, send)
            return

        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _send_json(send, 413, {
                "error": "request_too_large",
                "error_description": f"The request body exceeds {self.max_body_bytes} bytes.",
            })
            return

        for tool in _called_tools(body) if b"tools/call" in body else ():
            missing = [s for s in self.tool_scopes.get(tool, ()) if s not in set(user.scopes)]
            if missing:
                await self._insufficient_scope(send, tool, missing)
                return

        await self.app(scope, _replay(body, receive), send)

    async def _insufficient_scope(self, send: Send, tool: str, missing: list[str]) -> None:
        needed = " ".join(missing)
        description = f"The tool '{tool}' needs the scope {needed}, which this access token does not have."
        challenge = (
            f'Bearer error="insufficient_scope", error_description="{description}", '
            f'scope="{needed}", resource_metadata="{self.resource_metadata_url}"'
        )
        await _send_json(
            send,
            403,
            {"error": "insufficient_scope", "error_description": description, "scope": needed},
            [(b"www-authenticate", challenge.encode())],
        )


def _called_tools(body: bytes) -> list[str]:
    """The names of the tools a JSON-RPC message (or batch) calls; [] if it is not JSON."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    messages = message if isinstance(message, list) else [message]
    names = []
    for item in messages:
        if isinstance(item, dict) and item.get("method") == "tools/call":
            params = item.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                names.append(name)
    return names


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(send: Send, status: int, payload: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


def discover_jwks_uri(issuer: str, timeout: float = 5.0) -> str:
    """Read ``jwks_uri`` from the authorization server's metadata, as Okta publishes it."""
    url = f"{issuer}/.well-known/oauth-authorization-server"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        jwks_uri = response.json()["jwks_uri"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"Could not read jwks_uri from {url} ({type(exc).__name__}). Check OAUTH_ISSUER, or set "
            f"OAUTH_JWKS_URI to the authorization server's keys endpoint ({issuer}/v1/keys)."
        ) from None
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ConfigurationError(f"The metadata at {url} has no usable jwks_uri; set OAUTH_JWKS_URI.")
    return jwks_uri
