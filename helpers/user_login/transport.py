"""Which URLs the gateway uses: HTTPS to the authorization server, a loopback or HTTPS redirect URI.

- Every authorization-server endpoint (authorize, token, revocation) must be ``https://``, as
  Okta's are and as the local authorization server's are (:mod:`helpers.local_tls`).
- The redirect URI, where the browser brings the code back, may be ``http://`` to this machine
  (``127.0.0.1``, ``localhost``, ``::1``): RFC 8252, section 7.3 allows exactly that for an app
  running on the user's machine, Okta accepts it as a sign-in redirect URI, and the code never
  crosses a network. Anywhere else it must be ``https://``.

oauthlib refuses to *parse* a redirect that is not ``https://`` (it cannot know about loopback).
:func:`redirect_for_oauthlib` hands it the same redirect with the scheme oauthlib requires, and
only after checking that the redirect came back to this gateway's own loopback redirect URI;
oauthlib reads nothing but its query. No process-wide switch (``OAUTHLIB_INSECURE_TRANSPORT``)
is ever set. Any other URL raises :class:`~helpers.user_login.errors.InsecureURLError`.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..urls import is_https, is_loopback_host, is_secure_or_loopback
from .errors import InsecureURLError, LoginError

__all__ = ["carries_state", "check_endpoint", "check_redirect_uri", "fixed_redirect_uri", "is_loopback_http", "redirect_for_oauthlib"]


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is ``http://`` to this machine (127.0.0.1, localhost or ::1)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname) and is_secure_or_loopback(url)


def check_endpoint(url: str, what: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is ``https://``."""
    if not is_https(url):
        raise InsecureURLError(
            f"The {what} {url!r} is not an https:// URL. Codes, secrets and tokens travel to an "
            "authorization server over HTTPS only (Okta's and the local server are HTTPS)."
        )


def check_redirect_uri(url: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is ``https://`` or ``http://`` to this machine."""
    if not is_secure_or_loopback(url):
        raise InsecureURLError(
            f"The redirect URI {url!r} is not an https:// URL. Plain http:// is accepted only for "
            "127.0.0.1 and localhost, where the code never leaves this machine (RFC 8252, 7.3)."
        )


def redirect_for_oauthlib(redirect_url: str, redirect_uri: str) -> str:
    """The redirect as oauthlib will parse it: a loopback ``http://`` redirect back to exactly
    ``redirect_uri`` is given the ``https`` scheme oauthlib insists on (only its query is read)."""
    got, expected = urlsplit(redirect_url), urlsplit(redirect_uri)
    if (got.scheme.lower(), got.netloc.lower(), got.path) != (expected.scheme.lower(), expected.netloc.lower(), expected.path):
        raise LoginError(
            f"That address is not a redirect to this gateway's redirect URI ({redirect_uri}). Paste the "
            "whole address the browser ended on after signing in."
        )
    if is_https(redirect_url):
        return redirect_url
    if not is_loopback_http(redirect_url):
        raise InsecureURLError(f"The redirect {redirect_url.split('?')[0]!r} is neither https:// nor on this machine.")
    return urlunsplit(("https", got.netloc, got.path, got.query, got.fragment))


def carries_state(redirect_url: str, expected: str | None) -> bool:
    """Whether the redirect's query holds exactly one ``state``, equal to ``expected``."""
    try:
        values = parse_qs(urlsplit(redirect_url).query).get("state", [])
    except ValueError:
        return False
    return expected is not None and len(values) == 1 and hmac.compare_digest(values[0].encode(), expected.encode())


def fixed_redirect_uri(redirect_uri: str) -> str:
    """A redirect URI for a sign-in without a listener: it must name its port."""
    if urlsplit(redirect_uri).port == 0:
        raise LoginError(
            f"The redirect URI {redirect_uri} has port 0 (a free port, chosen by the listener), but "
            "this sign-in has no listener (listen=False). Give UserLogin the redirect URI registered "
            "on the app (OAUTH_REDIRECT_URI), or let it listen."
        )
    return redirect_uri
