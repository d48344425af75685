"""Which resource a protected resource metadata document may describe (RFC 9728, section 3.3).

A client reads the metadata of the MCP server it is about to send a user's sign-in to. Whoever
runs an MCP server chooses what its documents say, so a document is used only when its
``resource`` is the identifier the client *built the URL from*:

- read from the URL in the 401 challenge (``resource_metadata``), or from the path-based
  well-known URL ``{origin}/.well-known/oauth-protected-resource{path}``: the MCP server's own URL;
- read from the **root** well-known URL ``{origin}/.well-known/oauth-protected-resource``, reached
  by the fallback (MCP specification 2026-07-28, "Protected Resource Metadata Discovery
  Requirements": the challenge's URL, else the path-based one, else the root): the MCP server's
  URL, or the **origin** itself. A document at the root describes the origin: the resource
  identifier whose well-known URL it is (RFC 9728, sections 3.1 and 3.3). The client then asks
  for tokens for that origin (``resource``).

What stays refused (the defence against another resource's metadata being replayed): any other
resource, another origin's, a path-based document or challenge URL that names the origin, and
an origin document anywhere but at the root. Scheme and host compare without case, the path
exactly (RFC 8707, section 2); an origin may be written with or without its ``/``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .discovery_errors import ResourceMismatchError
from .urls import canonical_url

__all__ = ["check_resource", "origin_of", "root_metadata_url"]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` as written (the origin's resource identifier)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def root_metadata_url(mcp_url: str) -> str:
    """The root well-known URL on the MCP server's origin (RFC 9728, section 3.1, empty path)."""
    return f"{origin_of(mcp_url)}/.well-known/oauth-protected-resource"


def check_resource(document: dict, mcp_url: str, url: str, *, from_challenge: bool) -> str:
    """The document's ``resource`` when it may be used for ``mcp_url``; else :class:`ResourceMismatchError`.

    ``url`` is where the document was read; ``from_challenge`` whether the 401 challenge named it.
    """
    resource = document.get("resource")
    if isinstance(resource, str) and canonical_url(resource) == canonical_url(mcp_url):
        return resource
    describes_origin = isinstance(resource, str) and canonical_url(resource) in {
        canonical_url(origin_of(mcp_url)), canonical_url(origin_of(mcp_url) + "/")}
    if describes_origin and url == root_metadata_url(mcp_url) and not from_challenge:
        return resource
    raise ResourceMismatchError(
        f"The protected resource metadata at {url} describes the resource {resource!r}, not "
        f"{mcp_url!r}{' or its origin' if url == root_metadata_url(mcp_url) and not from_challenge else ''}. "
        "A client must not use metadata for another resource (RFC 9728, section 3.3): check the "
        "MCP server's URL, or the server's --public-url."
    )
