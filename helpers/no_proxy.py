"""Requests to this machine's own servers never go through a proxy.

Behind a corporate proxy (``HTTPS_PROXY``/``HTTP_PROXY`` set), ``requests`` and ``httpx`` send
every request to the proxy unless ``NO_PROXY`` names the host, ``127.0.0.1`` included. The
notebooks' servers (the local authorization server, the calculator, the redirect listener) are on
``127.0.0.1``: through a proxy their requests fail, and worse, access tokens and client secrets
would travel to the proxy. :func:`bypass_proxy_for_loopback` adds the loopback names to
``NO_PROXY`` and ``no_proxy`` when a proxy is configured; :mod:`helpers.background` calls it
before starting any server.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["LOOPBACK_NAMES", "bypass_proxy_for_loopback"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def bypass_proxy_for_loopback(environ: MutableMapping[str, str] | None = None) -> bool:
    """If a proxy is configured, make sure NO_PROXY and no_proxy list the loopback names.

    Returns whether anything was added. Names already listed (or ``*``) are kept as they are.
    """
    environ = os.environ if environ is None else environ
    if not any(environ.get(name) for name in _PROXY_VARIABLES):
        return False
    changed = False
    for variable in ("NO_PROXY", "no_proxy"):
        current = [item.strip() for item in environ.get(variable, "").split(",") if item.strip()]
        if "*" in current:
            continue
        missing = [name for name in LOOPBACK_NAMES if name not in current]
        if missing:
            environ[variable] = ",".join(current + missing)
            changed = True
    return changed
