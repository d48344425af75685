"""Where secrets and tokens may be sent: the rules every client in ``helpers`` follows.

- Anything that talks to an authorization server (issuer, token, authorization, revocation and
  keys endpoints) is ``https://`` (:func:`is_https`), like Okta; the local authorization server
  is HTTPS too (:mod:`helpers.local_tls`).
- An MCP server or a gateway's redirect URI may also be ``http://`` to this machine
  (:func:`is_secure_or_loopback`): 127.0.0.0/8, ``::1`` or ``localhost``, where nothing crosses
  a network (RFC 8252, section 7.3 allows exactly this for a native app's redirect).
- A URL that carries credentials must read the same to every parser (:func:`is_unambiguous`).

    >>> is_loopback_url("http://127.0.0.1:8900/oauth2/default")
    True
    >>> is_secure_or_loopback("http://calculator.example.com/mcp")
    False
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from urllib3.util import parse_url

__all__ = ["canonical_url", "is_https", "is_loopback_host", "is_loopback_url", "is_secure_or_loopback", "is_unambiguous"]


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    host = (host or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (its scheme is not looked at)."""
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def is_unambiguous(url: str) -> bool:
    """Whether every URL parser reads the same host in ``url``.

    ``http://192.0.2.2:80\\@127.0.0.1/token`` is loopback to Python's ``urlsplit`` and
    ``192.0.2.2`` to urllib3, which ``requests`` connects with. A URL that carries credentials
    must not hold such tricks: no backslash, white space or control character, no user name
    (``user@``), and the same host for ``urlsplit`` and urllib3.
    """
    if not isinstance(url, str) or any(c == "\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts, seen_by_urllib3 = urlsplit(url), parse_url(url)
    except ValueError:
        return False
    if "@" in parts.netloc or parts.username is not None:
        return False
    host = (parts.hostname or "").lower()
    return host == (seen_by_urllib3.host or "").strip("[]").lower()


def is_secure_or_loopback(url: str) -> bool:
    """Whether credentials may be sent to ``url``: ``https://`` with a host, or ``http://`` to loopback,
    written so that every parser reads the same host (:func:`is_unambiguous`)."""
    parts = _unambiguous_parts(url)
    if parts is None:
        return False
    scheme = parts.scheme.lower()
    return (scheme == "https" and bool(parts.hostname)) or (scheme == "http" and is_loopback_host(parts.hostname))


def is_https(url: str) -> bool:
    """Whether ``url`` is ``https://`` with a host, written so that every parser reads the same host."""
    parts = _unambiguous_parts(url)
    return parts is not None and parts.scheme.lower() == "https" and bool(parts.hostname)


def _unambiguous_parts(url: str):
    if not is_unambiguous(url):
        return None
    try:
        return urlsplit(url)
    except ValueError:
        return None


def canonical_url(url: str) -> str:
    """``url`` with its scheme and host in lower case and no fragment (RFC 8707 section 2).

    Used to compare resource identifiers: ``HTTPS://MCP.example.com/mcp`` names the same
    resource as ``https://mcp.example.com/mcp``; the path is compared exactly.
    """
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))
