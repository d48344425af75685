"""What a gateway settles when it is created: what it needs from the authorization server, and
the scopes it may ever ask the user for.

- The authorization server must publish an ``authorization_endpoint`` and list ``S256`` in
  ``code_challenge_methods_supported`` (without PKCE an intercepted code could be used by anyone);
- the scopes of the first sign-in default to :data:`USER_SCOPES` plus what the MCP server asks
  for (its 401 challenge's ``scope``, else its ``scopes_supported``); ``offline_access`` only when
  the authorization server lists it (SEP-2207): elsewhere no refresh token is asked for, and the
  user signs in again when the access token expires;
- a client id that is an ``https://`` URL with a path is a **client ID metadata document** (CIMD,
  MCP 2026-07-28 *Client Registration*): used only where the authorization server advertises
  ``client_id_metadata_document_supported``, and only as a public client (no secret). Elsewhere it
  is refused before anyone is sent to sign in: that server would not know the client;
- the **allowed scopes**, all a step-up may ever ask for, default to those plus everything the
  MCP server published at discovery: a later 403 naming any other scope is refused without
  asking the user (so a server cannot widen a session on its own say-so).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from ..discovery import Discovered
from ..settings import ClientCredentials
from .errors import LoginError

__all__ = [
    "USER_SCOPES", "allowed_scopes_for", "check_client_id", "check_sign_in_metadata", "choose_client", "first_scopes",
    "is_client_metadata_url", "no_refresh_token_message", "offers_offline_access", "user_scopes",
]

#: Scopes about the user asked for on top of the MCP server's own; ``offline_access`` is what
#: makes Okta issue a refresh token, asked for only where listed (:func:`user_scopes`).
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


def is_client_metadata_url(client_id: str) -> bool:
    """Whether ``client_id`` is a client ID metadata document URL: ``https://`` with a host and a path."""
    parts = urlsplit(client_id)
    return parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")


def check_client_id(discovered: Discovered, client: ClientCredentials) -> None:
    """Raise :class:`LoginError` for a CIMD client id the authorization server cannot use (see the module)."""
    if not is_client_metadata_url(client.client_id):
        return
    if discovered.metadata.get("client_id_metadata_document_supported") is not True:
        raise LoginError(
            f"The client id {client.client_id} is a client ID metadata document URL (CIMD), but the authorization "
            f"server {discovered.issuer} does not advertise client_id_metadata_document_supported, so it would not "
            "know this client. Use the client id of an app registered there (with Okta: a pre-registered app; "
            "Okta accepts CIMD only for AI agents an admin registered with their URL)."
        )
    if client.client_secret:
        raise LoginError(
            "A client identified by its metadata document URL (CIMD) has no secret: the document is public. "
            "Leave the secret out (the sign-in uses PKCE), or use a registered app's client id with its secret."
        )


def choose_client(discovered: Discovered, client: ClientCredentials, client_metadata_url: str | None) -> ClientCredentials:
    """The client to sign in as: the metadata document URL (a public client) where the authorization
    server advertises CIMD and one is given, else ``client``; either way checked by :func:`check_client_id`."""
    if client_metadata_url is not None:
        if not is_client_metadata_url(client_metadata_url):
            raise LoginError(f"client_metadata_url must be an https:// URL with a path, not {client_metadata_url!r}.")
        if discovered.metadata.get("client_id_metadata_document_supported") is True:
            client = ClientCredentials(client_metadata_url, None)
    check_client_id(discovered, client)
    return client


def offers_offline_access(discovered: Discovered) -> bool:
    """Whether the authorization server lists ``offline_access`` in its metadata's ``scopes_supported``.

    SEP-2207 (MCP specification 2026-07-28, "Refresh Tokens"): a client may add ``offline_access``
    only when the authorization server lists it; asking for a scope it does not offer gets the
    whole sign-in refused (``invalid_scope``). Okta lists it on every authorization server.
    """
    listed = discovered.metadata.get("scopes_supported")
    return isinstance(listed, list) and "offline_access" in listed


def user_scopes(discovered: Discovered) -> tuple[str, ...]:
    """The :data:`USER_SCOPES` the authorization server lists in ``scopes_supported`` (Okta lists
    them all): ``offline_access`` only where listed (SEP-2207), and no OpenID scope the server does
    not offer, so that a server without ``scopes_supported`` gets no ``scope`` it did not ask for."""
    listed = discovered.metadata.get("scopes_supported")
    return tuple(s for s in USER_SCOPES if isinstance(listed, list) and s in listed)


def no_refresh_token_message(discovered: Discovered) -> str:
    """What to do when the access token expired and no refresh token came with it."""
    if not offers_offline_access(discovered):
        return ("The access token expired and there is no refresh token: the authorization server does "
                "not list offline_access in scopes_supported, so none was asked for (MCP 2026-07-28, "
                "SEP-2207). Sign the user in again.")
    return ("The access token expired and there is no refresh token. Ask for the offline_access scope "
            "and allow the Refresh Token grant on the app (and in the access policy rule), or sign the "
            "user in again (the authorization server decides whether to issue one).")


def first_scopes(discovered: Discovered, scopes: Sequence[str] | None) -> tuple[str, ...]:
    """The scopes of the first sign-in: ``scopes``, else the user's (:func:`user_scopes`) and what
    the MCP server asks for."""
    if scopes is None:
        scopes = (*user_scopes(discovered), *discovered.scopes_to_request)
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
    return frozenset((*first, *user_scopes(discovered), *discovered.scopes_supported, *(discovered.challenge_scopes or ())))
