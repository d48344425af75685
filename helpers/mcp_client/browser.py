"""FastMCP's ``OAuth`` signed in with no person at the browser (the notebook, CI, tests).

FastMCP's ``OAuth`` opens the system browser at the authorization URL and listens on its
loopback redirect URI for the code. In a notebook run by nbval there is nobody to click, so
:func:`sign_in_automatically` replaces only the "open a browser" step: it fills in the local
sign-in page as a test user (:func:`helpers.local_okta.signin.sign_in`, the same pages a person
sees; a FastMCP ``OIDCProxy``'s consent page too) and then, like a browser following the redirect,
delivers it to FastMCP's own callback listener. Everything else (discovery, PKCE, ``state``, the code exchange, ``resource``) is
FastMCP's and the MCP SDK's code, unchanged. It works only with the local server's pages; with a
real tenant, leave FastMCP's browser in place and sign in yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Iterator
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import anyio
import httpx2
import requests
from fastmcp.client.auth import OAuth

from helpers.local_okta.signin import SignInError, sign_in
from helpers.local_okta.tenant import TestUser

__all__ = ["AutomaticSignInError", "notebook_sign_in", "quiet_client_logs", "show_sign_in_link", "sign_in_automatically"]

# FastMCP warns when tokens are kept in memory: here that is the point (a notebook's tokens must
# never land on disk), so the warning is not shown.
warnings.filterwarnings("ignore", message="Using in-memory token storage")

#: How long the browser stand-in waits for a page, or for FastMCP's callback listener to accept the redirect.
DELIVERY_TIMEOUT = 10.0
MAX_HOPS = 12
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class AutomaticSignInError(RuntimeError):
    """The local sign-in page did not send the browser back to the client (an error page)."""


def sign_in_automatically(oauth: OAuth, user: TestUser) -> OAuth:
    """Make ``oauth`` sign ``user`` in on the local sign-in page instead of opening a browser.

    ``oauth`` must know its MCP server's URL (``OAuth(mcp_url, ...)``). Returns ``oauth``. The
    stand-in follows redirects like a browser, fills in the local Okta's sign-in page, presses
    "Allow Access" on a FastMCP ``OIDCProxy`` consent page, and stops at the client's own
    redirect URI, which it then delivers to FastMCP's listener.
    """
    context = getattr(oauth, "context", None)
    if context is None:
        raise TypeError("Give OAuth the MCP server's URL first: OAuth(mcp_url, ...).")
    pending: set[asyncio.Task] = set()

    async def open_browser(authorization_url: str) -> None:
        own_redirect = str(context.client_metadata.redirect_uris[0])
        redirect = await anyio.to_thread.run_sync(_browse, authorization_url, user, own_redirect)
        task = asyncio.get_running_loop().create_task(_deliver(redirect))
        pending.add(task)
        task.add_done_callback(pending.discard)

    context.redirect_handler = open_browser
    return oauth


def show_sign_in_link(oauth: OAuth) -> OAuth:
    """Make ``oauth`` show a "Sign in here" link in the cell instead of opening a browser itself.

    For a real tenant: the person signs in in their own browser, which Okta then sends back to
    FastMCP's loopback listener (so the browser must run on the kernel's machine). A link works
    where the kernel cannot open a browser window; the sign-in is FastMCP's, unchanged.
    """
    from IPython.display import Markdown, display  # a notebook-only dependency, imported when used

    from helpers.display import sign_in_markdown

    context = getattr(oauth, "context", None)
    if context is None:
        raise TypeError("Give OAuth the MCP server's URL first: OAuth(mcp_url, ...).")

    async def show_link(authorization_url: str) -> None:
        display(Markdown(sign_in_markdown(authorization_url)))

    context.redirect_handler = show_link
    return oauth


def notebook_sign_in(oauth: OAuth, okta=None) -> OAuth:
    """Who signs ``oauth`` in: with the local server (``okta``, a ``LocalOkta``) the kernel, as its
    first test user (:func:`sign_in_automatically`); with a real tenant (``okta`` is ``None``) you,
    through a "Sign in here" link (:func:`show_sign_in_link`). Returns ``oauth``."""
    if okta is not None:
        return sign_in_automatically(oauth, okta.users[0])
    return show_sign_in_link(oauth)


def _browse(url: str, user: TestUser, own_redirect: str) -> str:
    """Follow the sign-in from ``url`` until it comes back to ``own_redirect``; that URL."""
    with requests.Session() as http:
        for _ in range(MAX_HOPS):
            if url.split("?", 1)[0] == own_redirect:
                return url
            if not _is_https_or_loopback(url):
                raise AutomaticSignInError("The sign-in went somewhere other than HTTPS or this machine.")
            if urlsplit(url).path.endswith("/v1/authorize"):  # an Okta sign-in page
                if not _is_local_https(url):  # the test user's password goes to the local server only
                    raise AutomaticSignInError("Only the local server's sign-in page is filled in automatically.")
                try:
                    url = sign_in(url, user.login, user.password, session=http)
                except SignInError as exc:
                    raise AutomaticSignInError(f"The sign-in page showed an error page: {exc}") from None
                continue
            page = http.get(url, allow_redirects=False, timeout=DELIVERY_TIMEOUT)
            if page.is_redirect:
                url = urljoin(url, page.headers["Location"])
            elif page.status_code == 200 and 'id="consentForm"' in page.text:  # FastMCP OIDCProxy's consent page
                form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
                answer = http.post(url, data={**form, "action": "approve"}, allow_redirects=False, timeout=DELIVERY_TIMEOUT)
                if not answer.is_redirect:
                    raise AutomaticSignInError(f"The consent page answered HTTP {answer.status_code}.")
                url = urljoin(url, answer.headers["Location"])
            else:
                raise AutomaticSignInError(f"The sign-in stopped at a page (HTTP {page.status_code}).")
    raise AutomaticSignInError("The sign-in went through too many redirects.")


async def _deliver(redirect: str) -> None:
    """Follow the redirect to FastMCP's callback listener once it listens (it starts after this)."""
    with anyio.move_on_after(DELIVERY_TIMEOUT):
        async with httpx2.AsyncClient(trust_env=False) as client:
            while True:
                try:
                    await client.get(redirect, timeout=DELIVERY_TIMEOUT)
                    return
                except httpx2.ConnectError:
                    await anyio.sleep(0.02)


def _is_local_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in ("127.0.0.1", "::1")


def _is_https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost"))


@contextlib.contextmanager
def quiet_client_logs() -> Iterator[None]:
    """Keep the MCP SDK's and FastMCP's client logs (and FastMCP's in-memory storage warning) out
    of a cell: a refused sign-in is reported by the exception the cell prints, once."""
    loggers = [logging.getLogger(name) for name in ("mcp.client.auth", "fastmcp", "mcp")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using in-memory token storage")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
