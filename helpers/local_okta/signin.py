"""Drive the local sign-in page the way a person would in a browser.

Notebooks executed in CI (and tests) cannot click; :func:`sign_in` GETs the authorize URL,
posts the username and password, answers the consent page when the app asks for consent, and
returns the redirect URL (with ``code`` and ``state``, or ``error``) without following it,
because nothing may be listening at the redirect URI. It only works against the local server's
pages (HTTPS, trusted through :mod:`helpers.local_tls`).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import requests

__all__ = ["SignInError", "sign_in"]

_HIDDEN = re.compile(r'<input type="hidden" name="transaction" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]*)">')
_ERROR = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')


class SignInError(RuntimeError):
    """The sign-in page did not lead to a redirect; the message is what the page said."""


def sign_in(
    authorize_url: str,
    username: str,
    password: str,
    *,
    allow: bool = True,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> str:
    """Sign in on the local sign-in page and return the URL it redirects to.

    ``allow=False`` presses "Don't Allow" on the consent page (the redirect then carries
    ``error=access_denied``); a trusted app shows no consent page, so there is nothing to deny.
    Raises :class:`SignInError` with the page's message when the authorize request is rejected
    (an error page) or the password is wrong.
    """
    if session is None:
        with requests.Session() as own:  # closed afterwards: no idle connection left behind
            return sign_in(authorize_url, username, password, allow=allow, session=own, timeout=timeout)
    http = session
    page = http.get(authorize_url, allow_redirects=False, timeout=timeout)
    if page.is_redirect:  # an error the client may hear about (invalid scope, policy...)
        return page.headers["Location"]
    action, transaction = _form(page, authorize_url)
    page = http.post(
        action,
        data={"transaction": transaction, "step": "sign_in", "username": username, "password": password},
        allow_redirects=False,
        timeout=timeout,
    )
    if page.is_redirect:  # a trusted app (no consent required): straight back to the client
        if not allow:
            raise SignInError("the app does not ask for consent (it is trusted), so there is nothing to deny")
        return page.headers["Location"]
    action, transaction = _form(page, authorize_url)
    if 'name="step" value="sign_in"' in page.text:
        raise SignInError(_message(page))
    page = http.post(
        action,
        data={"transaction": transaction, "step": "consent", "decision": "allow" if allow else "deny"},
        allow_redirects=False,
        timeout=timeout,
    )
    if not page.is_redirect:
        raise SignInError(_message(page))
    return page.headers["Location"]


def _form(page: requests.Response, base: str) -> tuple[str, str]:
    action, transaction = _ACTION.search(page.text), _HIDDEN.search(page.text)
    if page.status_code != 200 or action is None or transaction is None:
        raise SignInError(_message(page))
    return urljoin(base, unescape(action.group(1))), unescape(transaction.group(1))


def _message(page: requests.Response) -> str:
    found = _ERROR.search(page.text)
    detail = unescape(found.group(1)) if found else page.text[:200]
    return f"HTTP {page.status_code}: {detail}"
