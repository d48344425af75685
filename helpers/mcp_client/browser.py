"""FastMCP's ``OAuth`` signed in with no person at the browser (the notebook, CI, tests).

FastMCP's ``OAuth`` opens the system browser at the authorization URL and listens on its
loopback redirect URI for the code. In a notebook run by nbval there is nobody to click, so
:func:`sign_in_automatically` replaces only the "open a browser" step: it fills in the local
sign-in page as a test user (:func:`helpers.local_okta.signin.sign_in`, the same pages a person
sees) and then, like a browser following the redirect, delivers it to FastMCP's own callback
listener. Everything else (discovery, PKCE, ``state``, the code exchange, ``resource``) is
FastMCP's and the MCP SDK's code, unchanged. It works only with the local server's pages; with a
real tenant, leave FastMCP's browser in place and sign in yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit

import anyio
import httpx2
from fastmcp.client.auth import OAuth

from helpers.local_okta.signin import SignInError, sign_in
from helpers.local_okta.tenant import TestUser

__all__ = ["AutomaticSignInError", "quiet_client_logs", "sign_in_automatically"]

# FastMCP warns when tokens are kept in memory: here that is the point (a notebook's tokens must
# never land on disk), so the warning is not shown.
warnings.filterwarnings("ignore", message="Using in-memory token storage")

#: How long the browser stand-in waits for FastMCP's callback listener to accept the redirect.
DELIVERY_TIMEOUT = 10.0


class AutomaticSignInError(RuntimeError):
    """The local sign-in page did not send the browser back to the client (an error page)."""


def sign_in_automatically(oauth: OAuth, user: TestUser) -> OAuth:
    """Make ``oauth`` sign ``user`` in on the local sign-in page instead of opening a browser.

    ``oauth`` must know its MCP server's URL (``OAuth(mcp_url, ...)``). Returns ``oauth``.
    """
    context = getattr(oauth, "context", None)
    if context is None:
        raise TypeError("Give OAuth the MCP server's URL first: OAuth(mcp_url, client_id=..., ...).")
    pending: set[asyncio.Task] = set()

    async def open_browser(authorization_url: str) -> None:
        try:
            redirect = await anyio.to_thread.run_sync(sign_in, authorization_url, user.login, user.password)
        except SignInError as exc:
            raise AutomaticSignInError(f"The sign-in page showed an error page: {exc}") from None
        if not _is_loopback_http(redirect):  # a browser would follow it; this stand-in goes only to this machine
            raise AutomaticSignInError("The sign-in page redirected somewhere other than a loopback listener.")
        task = asyncio.get_running_loop().create_task(_deliver(redirect))
        pending.add(task)
        task.add_done_callback(pending.discard)

    context.redirect_handler = open_browser
    return oauth


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


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")


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
