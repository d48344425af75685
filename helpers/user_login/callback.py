"""The gateway's redirect URI on this machine: a one-page Starlette app on 127.0.0.1.

After the user signs in, Okta redirects the browser to the redirect URI with ``code`` and
``state`` (or ``error``) in the query. :func:`start_listener` serves that one path with
:mod:`helpers.background` and hands the query to a function that finishes the sign-in; the
browser gets a short page saying whether it worked and that the tab can be closed.
Every other path answers 404. The caller stops the listener as soon as the sign-in is over.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import urlsplit

from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .. import background
from .errors import LoginError
from .transport import is_loopback_http

__all__ = ["callback_app", "open_connections", "result_page", "start_listener"]


def result_page(title: str, message: str) -> str:
    """The small page the browser shows after the redirect (every value escaped)."""
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title></head>"
        "<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:10vh auto\">"
        f"<h1>{escape(title)}</h1><p id=\"message\">{escape(message)}</p></body></html>"
    )


def callback_app(path: str, handle: Callable[[str], tuple[int, str]]) -> Starlette:
    """An app that passes the query string of ``GET path`` to ``handle`` -> (status, HTML)."""

    def callback(request: Request) -> HTMLResponse:  # sync: Starlette runs it in a worker thread
        status, html = handle(request.url.query)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    # Loopback Host names only (DNS rebinding), as on every server in this tutorial.
    guard = Middleware(HostOriginGuardMiddleware, allowed_hosts=[], mode="strict")
    return Starlette(routes=[Route(path, callback, methods=["GET"])], middleware=[guard])


def start_listener(redirect_uri: str, handle: Callable[[str], tuple[int, str]], *, name: str) -> background.BackgroundServer:
    """Serve ``redirect_uri``'s path on its loopback port; restarts a listener of the same name."""
    parts = urlsplit(redirect_uri)
    if not is_loopback_http(redirect_uri) or parts.port is None:
        raise LoginError(
            f"The redirect URI {redirect_uri!r} is not http://127.0.0.1:PORT/... or "
            "http://localhost:PORT/..., so this notebook cannot receive the redirect itself. "
            "Use a loopback redirect URI (and register it on the app in Okta), or complete "
            "the sign-in by hand with pending.complete(url)."
        )
    try:
        return background.start(callback_app(parts.path or "/", handle), name=name, port=parts.port)
    except background.ServerStartError as exc:
        raise LoginError(
            f"Cannot listen for the redirect on 127.0.0.1:{parts.port}: {exc} The redirect URI "
            f"{redirect_uri} needs that port: stop whatever uses it. (Right after a sign-in, the "
            "connection the browser kept open may hold the port for up to a minute.)"
        ) from None


def open_connections(listener: background.BackgroundServer) -> int:
    """How many connections the listener's uvicorn server still holds open."""
    state = getattr(getattr(listener, "_server", None), "server_state", None)
    return len(state.connections) if state is not None else 0
