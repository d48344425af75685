"""How the calculator verifies Okta access tokens: FastMCP's JWTVerifier with every check on.

FastMCP's ``JWTVerifier`` skips the issuer or audience check when that value is
``None``. The original guide reads both from environment variables that may be
missing, so a typo there silently turns a check off. ``build_verifier`` refuses to
build a verifier without them.
"""

from __future__ import annotations

import requests
from fastmcp.server.auth.providers.jwt import JWTVerifier

from helpers.settings import ConfigurationError, Settings

__all__ = ["build_verifier", "discover_jwks_uri", "verifier_from_settings"]


def build_verifier(
    *, issuer: str, audience: str, jwks_uri: str, base_url: str | None = None
) -> JWTVerifier:
    """A verifier for RS256 access tokens from ``issuer`` for ``audience``, keys from ``jwks_uri``."""
    for name, value in (("issuer", issuer), ("audience", audience), ("jwks_uri", jwks_uri)):
        if not value:
            raise ConfigurationError(
                f"Token verification needs {name}; without it that check would be skipped. "
                "Set OAUTH_ISSUER and OAUTH_AUDIENCE (and optionally OAUTH_JWKS_URI)."
            )
    return JWTVerifier(
        jwks_uri=jwks_uri, issuer=issuer, audience=audience, algorithm="RS256", base_url=base_url
    )


def discover_jwks_uri(issuer: str, timeout: float = 5.0) -> str:
    """Read ``jwks_uri`` from the authorization server's metadata, as Okta publishes it."""
    url = issuer + "/.well-known/oauth-authorization-server"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        jwks_uri = response.json()["jwks_uri"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"Could not read jwks_uri from {url} ({type(exc).__name__}: {exc}). Check OAUTH_ISSUER, "
            "or set OAUTH_JWKS_URI to the authorization server's keys endpoint ({issuer}/v1/keys)."
        ) from None
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ConfigurationError(f"The metadata at {url} has no usable jwks_uri; set OAUTH_JWKS_URI.")
    return jwks_uri


def verifier_from_settings(settings: Settings, *, base_url: str | None = None) -> JWTVerifier:
    """The verifier for the configured authorization server (discovering the JWKS URI if needed)."""
    if settings.issuer is None or settings.audience is None:
        raise ConfigurationError(
            "No issuer and audience are configured. Set OAUTH_ISSUER and OAUTH_AUDIENCE in .env, "
            "or start the local authorization server (helpers.local_okta) and use its settings()."
        )
    jwks_uri = settings.jwks_uri or discover_jwks_uri(settings.issuer)
    return build_verifier(
        issuer=settings.issuer, audience=settings.audience, jwks_uri=jwks_uri, base_url=base_url
    )
