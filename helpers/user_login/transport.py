"""Plain ``http://`` for loopback URLs only, and only while one oauthlib call runs.

oauthlib (and so requests-oauthlib) refuses every URL that is not ``https://`` with
``InsecureTransportError``, unless the environment variable ``OAUTHLIB_INSECURE_TRANSPORT``
is set. It is the only switch oauthlib offers, and it is process-wide. The tutorial needs
plain HTTP in exactly two places, both on this machine:

- the local authorization server (``http://127.0.0.1:{port}/oauth2/default``), and
- the gateway's redirect URI (``http://127.0.0.1:8765/callback``), which oauthlib checks when
  it parses the redirect, even with a real Okta tenant.

:func:`allow_loopback_http` holds the switch (:mod:`helpers.oauthlib_http`, shared with the
token fetchers) only when every non-HTTPS URL involved is a loopback URL, and only for the
duration of the ``with`` block (one oauthlib call). A real tenant's ``https://`` endpoints never
need it, so the variable is never set while talking to Okta. Any other ``http://`` URL, or a
URL written so that parsers disagree on its host, raises
:class:`~helpers.user_login.errors.InsecureURLError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ..oauthlib_http import oauthlib_accepts_plain_http
from ..urls import is_loopback_host, is_secure_or_loopback
from .errors import InsecureURLError

__all__ = ["allow_loopback_http", "check_url", "is_loopback_http"]


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is ``http://`` to this machine (127.0.0.1, localhost or ::1)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname) and is_secure_or_loopback(url)


def check_url(url: str, what: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is HTTPS or loopback HTTP."""
    if is_secure_or_loopback(url):
        return
    raise InsecureURLError(
        f"The {what} {url!r} is not an https:// URL. Tokens and codes must travel over HTTPS; "
        "plain http:// is accepted only for 127.0.0.1 and localhost (the local authorization "
        "server and the gateway's own callback)."
    )


@contextmanager
def allow_loopback_http(*urls: str) -> Iterator[None]:
    """Let oauthlib accept these URLs while the block runs (a no-op when all are HTTPS)."""
    for url in urls:
        check_url(url, "URL")
    if all(urlsplit(url).scheme.lower() == "https" for url in urls):
        yield
        return
    with oauthlib_accepts_plain_http():
        yield
