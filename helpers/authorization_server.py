"""Which authorization server a notebook talks to: the local one, or the Okta tenant in ``.env``.

Every notebook starts the same way, and the rest of its code does not care which it got:

    >>> auth_server = connect_authorization_server()
    >>> auth_server.settings.issuer
    'https://127.0.0.1:53211/oauth2/default'

With no ``OAUTH_*`` settings (or ``TUTORIAL_AUTH_SERVER=local``) this starts the local
Okta-compatible server in a background thread (restarting it when the cell runs again; with
``LOCAL_OKTA_RATE_LIMIT=limit/window`` set, with its rate-limit scenario on);
otherwise it returns the configured tenant's settings and starts nothing (trusting
``OAUTH_CA_FILE`` first when it is set). The local server is HTTPS, with a certificate
authority made for this process and trusted by it (:mod:`helpers.local_tls`).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.local_okta import LocalOkta, start_local_okta
from helpers.local_okta.rate_limits import from_environment as rate_limit_from_environment
from helpers.local_tls import trust_ca_file
from helpers.settings import Settings, load_settings

__all__ = ["AuthorizationServer", "connect_authorization_server"]


@dataclass(frozen=True)
class AuthorizationServer:
    """The settings to use, and the local server behind them when there is one."""

    settings: Settings
    local: LocalOkta | None = None

    @property
    def is_local(self) -> bool:
        return self.local is not None

    def stop(self) -> None:
        """Stop the local server if this notebook started one; a real tenant is left alone."""
        if self.local is not None:
            self.local.stop()

    def describe(self) -> str:
        """One line for a notebook: which server, without secrets or ports."""
        if self.local is not None:
            return "Using the local Okta-compatible authorization server (no .env settings found)."
        return f"Using the Okta authorization server {self.settings.issuer} (from {self.settings.source})."


def connect_authorization_server(name: str = "local-okta") -> AuthorizationServer:
    """The configured authorization server, starting the local one when nothing is configured."""
    settings = load_settings()
    if not settings.uses_local_server:
        if settings.ca_file:
            trust_ca_file(settings.ca_file)  # OAUTH_CA_FILE: a CA to trust besides the public ones
        return AuthorizationServer(settings)
    okta = start_local_okta(name=name)
    if (limiter := rate_limit_from_environment()) is not None:  # LOCAL_OKTA_RATE_LIMIT: Okta's 429s
        okta.set_rate_limit(limiter.limit, limiter.window)
    return AuthorizationServer(okta.settings(), okta)
