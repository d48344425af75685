"""The conformance harness's one allowance: the suite's scenario servers are plain ``http://localhost``.

``helpers`` sends codes, secrets and tokens to ``https://`` authorization servers only. The
conformance suite's mock servers listen on ``http://localhost:PORT``, so for these tests (and
nowhere else) :func:`allow_plain_http_to_localhost` makes the modules that check for HTTPS also
accept ``http://localhost`` and ``http://127.0.0.1``, and lets requests-oauthlib send to them.
Nothing in ``helpers`` changes; a real client never runs this.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

_LOOPBACK = {"localhost", "127.0.0.1"}


def _https_or_local_http(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def allow_plain_http_to_localhost() -> None:
    """Patch the HTTPS checks of discovery, the gateway's transport and the token fetchers (this process only)."""
    import helpers.discovery
    import helpers.tokens.responses
    import helpers.user_login.transport

    for module in (helpers.discovery, helpers.tokens.responses, helpers.user_login.transport):
        module.is_https = _https_or_local_http
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # requests-oauthlib's own refusal of http:// token URLs
