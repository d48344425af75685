"""Find the authorization server from an MCP server's URL, as an MCP client or AI gateway does.

1. Ask the MCP server for its protected resource metadata (RFC 9728):
   ``{origin}/.well-known/oauth-protected-resource{path}``. It names the authorization
   server(s) and the scopes.
2. Read that authorization server's metadata (RFC 8414): Okta serves it at
   ``{issuer}/.well-known/oauth-authorization-server``; the RFC's path-inserted form and
   OpenID Connect discovery are tried next. Its ``issuer`` must equal the one named in 1.
3. Fall back, for servers without RFC 9728, to the legacy
   ``{origin}/.well-known/oauth-authorization-server`` on the MCP server itself (the
   calculator redirects it to the issuer's document, as the original Okta guide does).

Every failure raises :class:`DiscoveryError` saying which URL answered what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["DiscoveryError", "Discovered", "discover"]


class DiscoveryError(RuntimeError):
    """Discovery failed; the message names the URL and what was wrong."""


@dataclass(frozen=True)
class Discovered:
    """What a client learns before asking for a token."""

    resource: str
    issuer: str
    metadata: dict[str, Any] = field(repr=False)
    scopes_supported: tuple[str, ...] = ()
    resource_metadata_url: str | None = None
    metadata_url: str = ""
    steps: tuple[str, ...] = ()

    @property
    def token_endpoint(self) -> str:
        return self.metadata["token_endpoint"]

    @property
    def authorization_endpoint(self) -> str:
        return self.metadata["authorization_endpoint"]

    @property
    def jwks_uri(self) -> str:
        return self.metadata["jwks_uri"]


def discover(mcp_url: str, *, timeout: float = 5.0, session: requests.Session | None = None) -> Discovered:
    """Discover the authorization server protecting the MCP server at ``mcp_url``."""
    http = session or requests.Session()
    parts = urlsplit(mcp_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(f"{mcp_url!r} is not an http(s) URL of an MCP server (e.g. https://host/mcp).")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    steps: list[str] = []

    resource_metadata_url = f"{origin}/.well-known/oauth-protected-resource{path}"
    resource_metadata = _get_json(http, resource_metadata_url, timeout, required=False)
    if resource_metadata is not None:
        steps.append(f"protected resource metadata: {resource_metadata_url}")
        servers = resource_metadata.get("authorization_servers") or []
        if not servers or not isinstance(servers[0], str):
            raise DiscoveryError(f"{resource_metadata_url} names no authorization_servers.")
        issuer = servers[0]
        metadata, metadata_url = _authorization_server_metadata(http, issuer, timeout)
        steps.append(f"authorization server metadata: {metadata_url}")
        scopes = tuple(resource_metadata.get("scopes_supported") or ())
        resource = resource_metadata.get("resource") or mcp_url
    else:
        metadata_url = f"{origin}/.well-known/oauth-authorization-server"
        metadata = _get_json(http, metadata_url, timeout, required=False)
        if metadata is None:
            raise DiscoveryError(
                f"{mcp_url} publishes neither {resource_metadata_url} (RFC 9728) nor {metadata_url}: "
                "is it a protected MCP server, and is the URL right?"
            )
        steps.append(f"legacy authorization server metadata on the MCP server: {metadata_url}")
        issuer = metadata.get("issuer", "")
        scopes, resource_metadata_url, resource = (), None, mcp_url
    _check_metadata(metadata, issuer, metadata_url)
    return Discovered(
        resource=resource,
        issuer=issuer,
        metadata=metadata,
        scopes_supported=scopes or tuple(metadata.get("scopes_supported") or ()),
        resource_metadata_url=resource_metadata_url,
        metadata_url=metadata_url,
        steps=tuple(steps),
    )


def _authorization_server_metadata(http: requests.Session, issuer: str, timeout: float) -> tuple[dict, str]:
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    candidates = [
        f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server",  # Okta's form
        f"{origin}/.well-known/oauth-authorization-server{path}",  # RFC 8414
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",  # OpenID Connect
    ]
    for url in dict.fromkeys(candidates):
        metadata = _get_json(http, url, timeout, required=False)
        if metadata is not None:
            return metadata, url
    raise DiscoveryError(f"The authorization server {issuer} publishes no metadata at {', '.join(candidates)}.")


def _check_metadata(metadata: dict, issuer: str, url: str) -> None:
    if metadata.get("issuer") != issuer:
        raise DiscoveryError(
            f"The metadata at {url} says issuer {metadata.get('issuer')!r}, not {issuer!r}. "
            "A client must not use metadata whose issuer differs (RFC 8414, section 3.3)."
        )
    for name in ("token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(name), str):
            raise DiscoveryError(f"The metadata at {url} has no {name}.")


def _get_json(http: requests.Session, url: str, timeout: float, *, required: bool) -> dict | None:
    try:
        response = http.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.Timeout:
        raise DiscoveryError(f"{url} did not answer within {timeout:g} s.") from None
    except requests.RequestException as exc:
        raise DiscoveryError(f"Could not reach {url} ({type(exc).__name__}).") from None
    if response.status_code == 404 and not required:
        return None
    if response.status_code != 200:
        raise DiscoveryError(f"{url} answered HTTP {response.status_code}, not metadata.")
    try:
        document = response.json()
    except ValueError:
        raise DiscoveryError(f"{url} did not answer with JSON.") from None
    if not isinstance(document, dict):
        raise DiscoveryError(f"{url} answered JSON that is not an object.")
    return document
