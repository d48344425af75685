"""The one switch that lets oauthlib use plain ``http://``, shared by everything in this process.

oauthlib (and so requests-oauthlib) refuses every URL that is not ``https://`` with
``InsecureTransportError`` unless the environment variable ``OAUTHLIB_INSECURE_TRANSPORT`` is
set, and that variable is process-wide. The callers (the token fetchers, the gateway) check
themselves that every plain URL they hand to oauthlib is on this machine, then hold
:func:`oauthlib_accepts_plain_http` for the one oauthlib call. It is reference-counted under one
lock, so overlapping calls from several threads never leave the variable set, nor clear it
under a call still running; the value from before the first caller comes back after the last.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["oauthlib_accepts_plain_http"]

VARIABLE = "OAUTHLIB_INSECURE_TRANSPORT"
_lock = threading.Lock()
_holders = 0
_previous: str | None = None


@contextmanager
def oauthlib_accepts_plain_http() -> Iterator[None]:
    """Set ``OAUTHLIB_INSECURE_TRANSPORT`` while the block runs (check the URLs before entering)."""
    global _holders, _previous
    with _lock:
        if _holders == 0:
            _previous = os.environ.get(VARIABLE)
            os.environ[VARIABLE] = "1"
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _previous is None:
                    os.environ.pop(VARIABLE, None)
                else:
                    os.environ[VARIABLE] = _previous
