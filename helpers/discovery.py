"""Find the authorization server from an MCP server's URL, as an MCP client or AI gateway does,
and trust only the one the client was registered with.

A client holds a client id and secret that one authorization server issued. Whoever runs (or
impersonates) an MCP server chooses what its metadata says, so a client that followed it
blindly would send that secret, a user's sign-in and a PKCE verifier to any server it names.
:func:`discover` therefore takes the **expected issuer** (from settings, ``OAUTH_ISSUER``) and
refuses metadata that names another. The steps (MCP authorization specification 2026-07-28):

1. Call the MCP server without a token. A protected server answers ``401`` with
   ``WWW-Authenticate: Bearer resource_metadata="...", scope="..."``: where its metadata is, and
   the scopes this request needs (the first choice of scopes to ask for).
2. Read the protected resource metadata (RFC 9728): the URL from the challenge, else
   ``{origin}/.well-known/oauth-protected-resource{path}``, else the same at the root. Its
   ``resource`` must be the MCP server's URL (RFC 9728 section 3.3), or, for the document at
   the root only, the origin it describes (:mod:`helpers.protected_resource`); one of its
   ``authorization_servers`` must be the expected issuer.
3. Read that issuer's metadata (RFC 8414): Okta's ``{issuer}/.well-known/oauth-authorization-server``,
   then the path-inserted form, then OpenID Connect discovery. Its ``issuer`` must be the expected one
   (RFC 8414 section 3.3), and the endpoints a client sends secrets to must be HTTPS.
4. Servers without RFC 9728 fall back to ``{origin}/.well-known/oauth-authorization-server`` on the
   MCP server (the calculator redirects it to the issuer's, as the guide does). That answer only
   says *which* issuer the server trusts: endpoints come from the expected issuer's own metadata.

Safer by design than the specification requires: the issuer stays **pinned**. The 2026-07-28
revision lets a client follow an MCP server to another authorization server (re-registering
there, SEP-2352); this client never moves on a server's say-so, because a server that could
move it could move it to an attacker's sign-in page. A new authorization server is a change to
the client's configuration (``OAUTH_ISSUER``) made by a person. And the client never registers
itself (no dynamic client registration): Okta does not accept it from MCP clients, so its
``client_id`` is registered in advance, for this issuer alone.

No redirect is followed, the challenge's metadata URL is read only on the MCP server's origin,
and endpoints are taken only on the issuer's origin (as Okta serves them). Each request ends
within ``timeout`` seconds as a whole and reads at most 1 MiB (:mod:`helpers.bounded_fetch`).
Every failure raises :class:`DiscoveryError` saying which URL answered what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from helpers.bounded_fetch import MAX_DOCUMENT_BYTES, BoundedSession, TooLarge, bounded_request
from helpers.challenge import bearer_challenge
from helpers.discovery_errors import DiscoveryError, IssuerMismatchError, ResourceMismatchError
from helpers.protected_resource import check_resource, root_metadata_url
from helpers.urls import is_https, is_secure_or_loopback

__all__ = ["Discovered", "DiscoveryError", "IssuerMismatchError", "ResourceMismatchError", "discover"]

#: A JSON-RPC request the MCP server may answer without side effects; sent without a token
#: only to read the 401 challenge.
_PROBE = {"jsonrpc": "2.0", "id": "discovery", "method": "ping"}
_ACCEPT_MCP = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Discovered:
    """What a client learns before asking for a token. ``scopes_supported`` are the MCP server's
    (RFC 9728), ``challenge_scopes`` those its 401 named; :attr:`scopes_to_request` chooses."""

    resource: str
    issuer: str
    metadata: dict[str, Any] = field(repr=False)
    scopes_supported: tuple[str, ...] = ()
    challenge_scopes: tuple[str, ...] | None = None
    resource_metadata_url: str | None = None
    metadata_url: str = ""
    steps: tuple[str, ...] = ()

    @property
    def scopes_to_request(self) -> tuple[str, ...]:
        """The challenge's ``scope`` when the 401 named one, else the server's ``scopes_supported``."""
        return self.challenge_scopes if self.challenge_scopes is not None else self.scopes_supported

    @property
    def token_endpoint(self) -> str:
        return self.metadata["token_endpoint"]

    @property
    def authorization_endpoint(self) -> str | None:
        return self.metadata.get("authorization_endpoint")

    @property
    def jwks_uri(self) -> str | None:
        return self.metadata.get("jwks_uri")


def discover(
    mcp_url: str, *, issuer: str, timeout: float = 5.0, session: requests.Session | None = None
) -> Discovered:
    """Discover the authorization server protecting the MCP server at ``mcp_url``.

    ``issuer`` is the authorization server this client was registered with (``OAUTH_ISSUER``);
    any other raises :class:`IssuerMismatchError` naming both. A metadata document for another
    resource raises :class:`ResourceMismatchError`. Each request ends within ``timeout`` seconds
    (5 by default) however slowly the server sends, so a silent or trickling server is a clear error.
    """
    if not isinstance(issuer, str) or not issuer:
        raise DiscoveryError(
            "discover() needs the expected issuer (OAUTH_ISSUER): a client may only send its "
            "credentials to the authorization server it was registered with."
        )
    if not is_https(issuer):
        raise DiscoveryError(f"The expected issuer {issuer!r} is not an https:// URL (Okta's always are).")
    parts = urlsplit(mcp_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(f"{mcp_url!r} is not an http(s) URL of an MCP server (e.g. https://host/mcp).")
    if not is_secure_or_loopback(mcp_url):
        raise DiscoveryError(
            f"{mcp_url} is plain http:// to another machine: access tokens must travel over HTTPS "
            "(plain http is accepted for 127.0.0.1 and localhost only)."
        )
    if session is None:
        with BoundedSession() as http:
            return _discover(http, mcp_url, issuer, timeout)
    return _discover(session, mcp_url, issuer, timeout)


def _discover(http: requests.Session, mcp_url: str, issuer: str, timeout: float) -> Discovered:
    parts = urlsplit(mcp_url)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    steps: list[str] = []

    challenge = _probe(http, mcp_url, timeout)
    if challenge is not None:
        steps.append(f"401 challenge from the MCP server: {mcp_url}")
    candidates = [f"{origin}/.well-known/oauth-protected-resource{path}", root_metadata_url(mcp_url)]
    named = None
    if challenge is not None and challenge.resource_metadata and _same_origin(challenge.resource_metadata, mcp_url):
        named = challenge.resource_metadata  # elsewhere, it would make the client fetch any URL
        candidates.insert(0, named)
    resource_metadata, resource_metadata_url = _first_json(http, dict.fromkeys(candidates), timeout)

    if resource_metadata is not None:
        steps.append(f"protected resource metadata: {resource_metadata_url}")
        resource = check_resource(resource_metadata, mcp_url, resource_metadata_url, from_challenge=resource_metadata_url == named)
        _pick_issuer(resource_metadata.get("authorization_servers"), issuer, resource_metadata_url)
        metadata, metadata_url = _authorization_server_metadata(http, issuer, timeout)
        steps.append(f"authorization server metadata: {metadata_url}")
        scopes = resource_metadata.get("scopes_supported")
        scopes_supported = tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else ()
    else:
        legacy_url = f"{origin}/.well-known/oauth-authorization-server"
        named = _legacy_issuer(http, legacy_url, issuer, timeout)
        if named is None:
            raise DiscoveryError(
                f"{mcp_url} publishes neither {candidates[-2]} (RFC 9728) nor {legacy_url}: "
                "is it a protected MCP server, and is the URL right?"
            )
        steps.append(f"legacy authorization server metadata on the MCP server: {legacy_url}")
        if named != issuer:
            raise IssuerMismatchError(
                f"The MCP server at {mcp_url} points to the authorization server {named!r}, but this "
                f"client was registered with {issuer!r}. Its credentials are not sent anywhere else.",
                expected=issuer,
                named=(str(named),),
            )
        metadata, metadata_url = _authorization_server_metadata(http, issuer, timeout)  # from the issuer itself
        steps.append(f"authorization server metadata: {metadata_url}")
        resource, resource_metadata_url, scopes_supported = mcp_url, None, ()
    _check_metadata(metadata, issuer, metadata_url)
    return Discovered(
        resource=resource,
        issuer=issuer,
        metadata=metadata,
        scopes_supported=scopes_supported,
        challenge_scopes=challenge.scopes if challenge is not None else None,
        resource_metadata_url=resource_metadata_url,
        metadata_url=metadata_url,
        steps=tuple(steps),
    )


def _probe(http: requests.Session, mcp_url: str, timeout: float):
    """The Bearer challenge of the MCP server's answer to a request without a token, if it is a 401."""
    response, _ = _request(http, "POST", mcp_url, timeout, read_body=False, json=_PROBE, headers=_ACCEPT_MCP)
    return bearer_challenge(response.headers) if response.status_code == 401 else None


def _request(http: requests.Session, method: str, url: str, timeout: float, **kwargs) -> tuple[requests.Response, bytes]:
    """One bounded request (no redirect followed); its failures as :class:`DiscoveryError`."""
    try:
        return bounded_request(http, method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise DiscoveryError(f"{url} did not answer within {timeout:g} s.") from None
    except TooLarge:
        raise DiscoveryError(f"{url} sent more than {MAX_DOCUMENT_BYTES >> 20} MiB (metadata is a few kilobytes).") from None
    except requests.RequestException as exc:
        raise DiscoveryError(f"Could not reach {url} ({type(exc).__name__}).") from None


def _same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return is_secure_or_loopback(url) and (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def _legacy_issuer(http: requests.Session, url: str, issuer: str, timeout: float) -> str | None:
    """The issuer an MCP server without RFC 9728 names: the ``issuer`` of the document it serves,
    or the issuer whose metadata it redirects to. ``None`` when it serves neither."""
    response, body = _request(http, "GET", url, timeout, headers={"Accept": "application/json"})
    if response.status_code == 404:
        return None
    if response.is_redirect:
        target = response.headers.get("Location", "")
        pinned = {f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server",
                  f"{issuer.rstrip('/')}/.well-known/openid-configuration"}
        return issuer if target in pinned else target
    document = _json_object(body, url)
    return document.get("issuer") if isinstance(document.get("issuer"), str) else str(document.get("issuer"))


def _pick_issuer(servers: Any, issuer: str, url: str) -> None:
    named = tuple(s for s in servers if isinstance(s, str)) if isinstance(servers, list) else ()
    if not named:
        raise DiscoveryError(f"{url} names no authorization_servers.")
    if issuer not in named:
        raise IssuerMismatchError(
            f"The MCP server's metadata ({url}) names the authorization server(s) {', '.join(named)}, "
            f"but this client was registered with {issuer}. Its credentials are only ever sent to "
            "that issuer: check OAUTH_ISSUER, or the MCP server you are connecting to.",
            expected=issuer,
            named=named,
        )


def _authorization_server_metadata(http: requests.Session, issuer: str, timeout: float) -> tuple[dict, str]:
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    candidates = [
        f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server",  # Okta's form
        f"{origin}/.well-known/oauth-authorization-server{path}",  # RFC 8414
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",  # OpenID Connect
    ]
    metadata, url = _first_json(http, dict.fromkeys(candidates), timeout)
    if metadata is None:
        raise DiscoveryError(f"The authorization server {issuer} publishes no metadata at {', '.join(candidates)}.")
    return metadata, url


def _check_metadata(metadata: dict, issuer: str, url: str) -> None:
    if metadata.get("issuer") != issuer:
        raise IssuerMismatchError(
            f"The metadata at {url} says issuer {metadata.get('issuer')!r}, not {issuer!r}. A client "
            "must not use metadata whose issuer differs (RFC 8414, section 3.3).",
            expected=issuer,
            named=(str(metadata.get("issuer")),),
        )
    if not isinstance(metadata.get("token_endpoint"), str):
        raise DiscoveryError(f"The metadata at {url} has no token_endpoint.")
    for name in ("token_endpoint", "authorization_endpoint", "revocation_endpoint"):
        endpoint = metadata.get(name)
        if endpoint is None:
            continue
        if not isinstance(endpoint, str) or not is_https(endpoint):
            raise DiscoveryError(
                f"The metadata at {url} gives {name} {endpoint!r}, which is not an https:// URL: "
                "credentials sent there would cross the network in clear text."
            )
        if not _same_origin(endpoint, issuer):
            raise DiscoveryError(
                f"The metadata at {url} gives {name} {endpoint}, which is not on the issuer's host "
                f"({issuer}). Okta serves every endpoint under its issuer's host; credentials are not "
                "sent elsewhere."
            )


def _first_json(http: requests.Session, urls, timeout: float) -> tuple[dict | None, str | None]:
    for url in urls:
        document = _get_json(http, url, timeout)
        if document is not None:
            return document, url
    return None, None


def _get_json(http: requests.Session, url: str, timeout: float) -> dict | None:
    """The JSON object at ``url``, ``None`` for a 404. Redirects are not followed: a metadata
    document is where the specifications put it, or it is not there."""
    response, body = _request(http, "GET", url, timeout, headers={"Accept": "application/json"})
    if response.status_code == 404:
        return None
    if response.is_redirect:
        raise DiscoveryError(
            f"{url} answered with a redirect to {response.headers.get('Location')!r}; discovery does not "
            "follow redirects (metadata must be at the address the specifications give)."
        )
    if response.status_code != 200:
        raise DiscoveryError(f"{url} answered HTTP {response.status_code}, not metadata.")
    return _json_object(body, url)


def _json_object(body: bytes, url: str) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise DiscoveryError(f"{url} did not answer with JSON.") from None
    if not isinstance(document, dict):
        raise DiscoveryError(f"{url} answered JSON that is not an object.")
    return document
