"""Plain ``http://`` for loopback URLs only, and only while one oauthlib call runs.

oauthlib (and so requests-oauthlib) refuses every URL that is not ``https://`` with
``InsecureTransportError``, unless the environment variable ``OAUTHLIB_INSECURE_TRANSPORT``
is set. It is the only switch oauthlib offers, and it is process-wide. The tutorial needs
plain HTTP in exactly two places, both on this machine:

- the local authorization server (``http://127.0.0.1:{port}/oauth2/default``), and
- the gateway's redirect URI (``http://127.0.0.1:8765/callback``), which oauthlib checks when
  it parses the redirect, even with a real Okta tenant.

:func:`allow_loopback_http` sets the variable only when every non-HTTPS URL involved is a
loopback URL, only for the duration of the ``with`` block (one oauthlib call), and restores
the previous value afterwards (while it is set it applies to the whole process, for the few
milliseconds of that call). A real tenant's ``https://`` endpoints never need it, so the
variable is never set while talking to Okta. Any other ``http://`` URL raises
:class:`~helpers.user_login.errors.InsecureURLError`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .errors import InsecureURLError

__all__ = ["allow_loopback_http", "is_loopback_http"]

_VARIABLE = "OAUTHLIB_INSECURE_TRANSPORT"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_lock = threading.Lock()
_depth = 0
_previous: str | None = None


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is ``http://`` to this machine (127.0.0.1, localhost or ::1)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def check_url(url: str, what: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is HTTPS or loopback HTTP."""
    if url.lower().startswith("https://") or is_loopback_http(url):
        return
    raise InsecureURLError(
        f"The {what} {url!r} is not an https:// URL. Tokens and codes must travel over HTTPS; "
        "plain http:// is accepted only for 127.0.0.1 and localhost (the local authorization "
        "server and the gateway's own callback)."
    )


@contextmanager
def allow_loopback_http(*urls: str) -> Iterator[None]:
    """Let oauthlib accept these URLs while the block runs (a no-op when all are HTTPS)."""
    global _depth, _previous
    plain = [url for url in urls if not url.lower().startswith("https://")]
    for url in plain:
        check_url(url, "URL")
    if not plain:
        yield
        return
    with _lock:
        if _depth == 0:
            _previous = os.environ.get(_VARIABLE)
            os.environ[_VARIABLE] = "1"
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _previous is None:
                    os.environ.pop(_VARIABLE, None)
                else:
                    os.environ[_VARIABLE] = _previous
