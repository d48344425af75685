"""Which redirect URIs the local server accepts for an app: its registered ones, and (RFC 8252
section 7.3) the same loopback IP address and path on any port.

RFC 8252 asks an authorization server to allow any port on a loopback IP redirect URI
(``http://127.0.0.1:{port}/...`` or ``http://[::1]:{port}/...``), so that a client can listen on a
port the operating system hands out. The local server does, so that two learners' kernels on one
host (each a gateway with its own listener) never compete for one port. **Okta does not**: it
compares the redirect URI with the app's *Sign-in redirect URIs* exactly, port included (Okta's
support article "OpenID Connect (OIDC) Redirect URI"), so with a real tenant the gateway uses the
one URI registered for it (``OAUTH_REDIRECT_URI``). ``localhost`` gets no such leeway (RFC 8252,
section 8.3, advises against it): it must match exactly, as everything else does.
"""

from __future__ import annotations

import re

__all__ = ["is_registered_redirect_uri"]

# http, a loopback IP literal, an explicit port, a path, maybe a query; nothing else (no user
# info, no fragment, nothing a parser could read two ways).
_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|\[::1\]):([0-9]{1,5})(/[^?#\\\s]*)(\?[^#\\\s]*)?")


def _without_port(uri: str) -> tuple[str, str, str] | None:
    """(host, path, query) of a loopback IP redirect URI with a valid port, else None."""
    match = _LOOPBACK.fullmatch(uri)
    if match is None or not 0 < int(match.group(2)) <= 65535:
        return None
    return match.group(1), match.group(3), match.group(4) or ""


def is_registered_redirect_uri(redirect_uri: str, registered: tuple[str, ...] | list[str]) -> bool:
    """Whether ``redirect_uri`` is one of ``registered``, or a registered loopback IP URI on another port."""
    if redirect_uri in registered:
        return True
    wanted = _without_port(redirect_uri)
    return wanted is not None and any(_without_port(uri) == wanted for uri in registered)
