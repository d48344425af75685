"""Sign a test user in without a person at the keyboard (tests, CI, the notebook locally).

:func:`sign_in_with_password` does what a browser does: it opens the authorization URL, fills
in the local sign-in page with the user's password, answers the consent page (through
:func:`helpers.local_okta.signin.sign_in`: the same pages a person sees, no shortcut in the
server) and then follows the redirect to the gateway's callback listener. It works only with
the local authorization server's pages; with a real Okta tenant a person signs in.
"""

from __future__ import annotations

import requests

from ..local_okta.signin import SignInError, sign_in
from .errors import LoginError
from .pending import PendingSignIn

__all__ = ["sign_in_with_password"]


def sign_in_with_password(
    pending: PendingSignIn, username: str, password: str, *, allow: bool = True, timeout: float = 10.0
) -> str:
    """Sign in on the local sign-in page and deliver the redirect to ``pending``.

    ``allow=False`` presses "Don't Allow" on the consent page. Returns the redirect URL (it
    holds a one-time code; do not print it). The outcome is ``await pending.wait()``'s.
    """
    try:
        redirect_url = sign_in(pending.url, username, password, allow=allow, timeout=timeout)
    except SignInError as exc:
        pending.cancel("the sign-in page did not redirect back")
        raise LoginError(f"Signing in on the sign-in page failed: {exc}") from None
    if pending.is_listening:  # the browser follows the redirect to the listener
        requests.get(redirect_url, timeout=timeout, allow_redirects=False)
    else:
        try:
            pending.complete(redirect_url)
        except LoginError:
            pass  # the outcome is reported by pending.wait()
    return redirect_url
