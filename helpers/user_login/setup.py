"""What a gateway settles when it is created: what it needs from the authorization server, and
the scopes it may ever ask the user for.

- The authorization server must publish an ``authorization_endpoint`` and list ``S256`` in
  ``code_challenge_methods_supported`` (without PKCE an intercepted code could be used by anyone);
- the scopes of the first sign-in default to :data:`USER_SCOPES` plus what the MCP server asks
  for (its 401 challenge's ``scope``, else its ``scopes_supported``);
- the **allowed scopes**, all a step-up may ever ask for, default to those plus everything the
  MCP server published at discovery: a later 403 naming any other scope is refused without
  asking the user (so a server cannot widen a session on its own say-so).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..discovery import Discovered
from .errors import LoginError

__all__ = ["USER_SCOPES", "allowed_scopes_for", "check_sign_in_metadata", "first_scopes"]

#: Scopes about the user asked for on top of the MCP server's own; ``offline_access`` is what
#: makes Okta issue a refresh token.
USER_SCOPES = ("openid", "profile", "email", "offline_access")


def check_sign_in_metadata(discovered: Discovered, issuer: str) -> None:
    """Raise :class:`LoginError` unless the discovered authorization server can sign users in safely."""
    if discovered.issuer != issuer:
        raise LoginError(
            f"The discovery result names the issuer {discovered.issuer}, but this gateway's "
            f"app was registered with {issuer}: its credentials are not sent there."
        )
    metadata = discovered.metadata
    if not metadata.get("authorization_endpoint"):
        raise LoginError(
            f"The authorization server {issuer} publishes no authorization_endpoint, so it cannot sign users in."
        )
    if "S256" not in (metadata.get("code_challenge_methods_supported") or ()):
        raise LoginError(
            f"The authorization server {issuer} does not list S256 in code_challenge_methods_supported. "
            "Without PKCE an intercepted code could be used by anyone, so this gateway does not sign in there."
        )


def first_scopes(discovered: Discovered, scopes: Sequence[str] | None) -> tuple[str, ...]:
    """The scopes of the first sign-in: ``scopes``, else the user's and what the MCP server asks for."""
    if scopes is None:
        scopes = (*USER_SCOPES, *discovered.scopes_to_request)
    return tuple(dict.fromkeys(scopes))


def allowed_scopes_for(discovered: Discovered, first: tuple[str, ...], allowed: Sequence[str] | None) -> frozenset[str]:
    """All the scopes a step-up may ask for: ``allowed`` (which must include ``first``), else
    the first scopes, the user's and every scope the MCP server published or asked for."""
    if allowed is not None:
        if isinstance(allowed, str):
            allowed = allowed.split()
        missing = [scope for scope in first if scope not in allowed]
        if missing:
            raise ValueError(f"allowed_scopes must include the scopes of the first sign-in (missing: {' '.join(missing)}).")
        return frozenset(allowed)
    return frozenset((*first, *USER_SCOPES, *discovered.scopes_supported, *(discovered.challenge_scopes or ())))
