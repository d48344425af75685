"""The MCP servers a client was set up for: its access token goes to them and nowhere else.

Every MCP server behind one authorization server accepts the same tokens (same issuer, same
audience), and the issuer is public. So an MCP server that merely *names* the right issuer in
its metadata could collect a token sent to it and replay it at the real server (the MCP
specification's "token passthrough" / confused-deputy risk). A client therefore decides, when it
is created, which MCP servers it works for, and attaches its token only to requests for their
**origins** (scheme, host and port, compared the way the HTTP client connects):

    >>> servers = BoundServers("https://calculator.example.com/mcp")
    >>> servers.allows("https://CALCULATOR.example.com:443/mcp")
    True
    >>> servers.allows("https://calculator.example.com.evil.example/mcp")
    False

A request anywhere else raises :class:`UnboundServerError` before a token is attached. (The
authorization server's side of the defence, one audience per MCP server, is taught in the attack
lab: with it, a token sent to the wrong server is useless there too.)
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx2

from helpers.urls import is_secure_or_loopback

__all__ = ["BoundServers", "UnboundServerError"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnboundServerError(RuntimeError):
    """A request went to an MCP server the client was not created for: no token was attached."""

    def __init__(self, url: str, servers: BoundServers) -> None:
        self.url = url
        super().__init__(
            f"Not sending the access token to {url}: it is not one of the MCP servers this client was "
            f"created for ({servers}). Any server behind the same authorization server would accept the "
            "token, so a server that only names the right issuer could replay it. Create the client "
            "for that server (mcp_servers=... on TokenManager; UserLogin(mcp_url, ...)) if you trust it."
        )


def _origin(url: str | httpx2.URL) -> tuple[str, str, int]:
    """``(scheme, host, port)`` as the HTTP client reads ``url`` (httpx2's own parser)."""
    parsed = url if isinstance(url, httpx2.URL) else httpx2.URL(url)
    scheme = parsed.scheme.lower()
    return scheme, parsed.host.lower(), parsed.port or _DEFAULT_PORTS.get(scheme, 0)


class BoundServers:
    """The origins of the MCP server URL(s) a client was created for.

    ``urls`` is one MCP server URL or several; each must be ``https://`` (or ``http://`` to this
    machine) and read the same to every URL parser, else :class:`ValueError` naming ``mcp_servers``.
    """

    def __init__(self, urls: str | Iterable[str]) -> None:
        listed = [urls] if isinstance(urls, str) else list(urls)
        if not listed:
            raise ValueError("mcp_servers is empty: name the MCP server(s) this client sends its token to.")
        origins = []
        for url in listed:
            if not isinstance(url, str) or not is_secure_or_loopback(url):
                raise ValueError(
                    f"mcp_servers: {url!r} is not an https:// URL of an MCP server (plain http:// only to "
                    "127.0.0.1 or localhost), written so that every parser reads the same host."
                )
            origins.append(_origin(url))
        self.urls: tuple[str, ...] = tuple(listed)
        self.origins: frozenset[tuple[str, str, int]] = frozenset(origins)

    def allows(self, url: str | httpx2.URL) -> bool:
        """Whether a request for ``url`` goes to one of these servers' origins."""
        try:
            return _origin(url) in self.origins
        except (httpx2.InvalidURL, TypeError, ValueError):
            return False

    def check(self, url: str | httpx2.URL) -> None:
        """Raise :class:`UnboundServerError` unless :meth:`allows` ``url``."""
        if not self.allows(url):
            raise UnboundServerError(str(url), self)

    def __str__(self) -> str:
        return ", ".join(self.urls)

    def __repr__(self) -> str:
        return f"BoundServers({list(self.urls)!r})"
