"""The errors discovery raises (:mod:`helpers.discovery`), each saying which URL answered what."""

from __future__ import annotations

__all__ = ["DiscoveryError", "IssuerMismatchError", "ResourceMismatchError"]


class DiscoveryError(RuntimeError):
    """Discovery failed; the message names the URL and what was wrong."""


class IssuerMismatchError(DiscoveryError):
    """The MCP server (or a metadata document) names an authorization server the client does not trust."""

    def __init__(self, message: str, *, expected: str, named: tuple[str, ...]) -> None:
        super().__init__(message)
        self.expected = expected
        self.named = named


class ResourceMismatchError(DiscoveryError):
    """The protected resource metadata describes another resource than the MCP server asked."""
