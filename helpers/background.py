"""Run an ASGI app on 127.0.0.1 in a daemon thread, the way the notebooks need it.

A notebook cell that starts a server may be run again, or the whole notebook may be
re-run in the same kernel. So servers are registered by *name*: starting a server
under a name that is already running stops the old one first, and stopping a name
that is not running does nothing. Every server binds 127.0.0.1 on a free port
(port 0 by default; the real port is read back), and startup either succeeds
within a deadline or raises :class:`ServerStartError` saying why. All servers are
stopped when the interpreter exits.

    >>> server = start(app, name="calculator")
    >>> server.url
    'http://127.0.0.1:53211'
    >>> stop("calculator")

``tls=True`` serves HTTPS with this process's local certificate authority
(:mod:`helpers.local_tls`), which this process then trusts: ``https://127.0.0.1:PORT``.

An app can be served once: FastMCP's HTTP apps run a session manager that cannot be
started twice, so build a fresh app for every start (``helpers.calculator`` does).
"""

from __future__ import annotations

import atexit
import errno
import socket
import threading
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import asyncio

import uvicorn

from helpers.no_proxy import bypass_proxy_for_loopback

__all__ = ["BackgroundServer", "ServerStartError", "start", "stop", "stop_all", "running"]

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A background server could not start; the message says why and what to do."""


@dataclass
class BackgroundServer:
    """One app served by uvicorn in a daemon thread on 127.0.0.1."""

    name: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _failure: list[BaseException] = field(default_factory=list, repr=False)
    tls: bool = False

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:53211`` (``https://`` with TLS)."""
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive() and self._server.started

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for its thread; safe to call more than once."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # open connections held it: close them now
            self._server.force_exit = True
            self._thread.join(timeout)
        with _lock:
            if _registry.get(self.name) is self:
                del _registry[self.name]


_registry: dict[str, BackgroundServer] = {}
_lock = threading.RLock()


def start(
    app: Any = None,
    *,
    name: str,
    port: int = 0,
    timeout: float = 10.0,
    app_for_url: Callable[[str], Any] | None = None,
    tls: bool = False,
) -> BackgroundServer:
    """Serve ``app`` on 127.0.0.1 in a daemon thread and wait until it accepts connections.

    A server already running under ``name`` is stopped first, so calling this again
    (re-running a notebook cell) restarts instead of failing with "address in use".
    ``port=0`` picks a free port; read it back from the returned server's ``port``.
    An app that must know its own URL (to publish metadata about itself) is built by
    ``app_for_url(url)`` once the port is bound, in place of ``app``.
    ``tls=True`` serves HTTPS with the process's local certificate authority and makes this
    process trust it (:func:`helpers.local_tls.trust_local_ca`).
    Raises :class:`ServerStartError` if the port is taken, the app fails to start,
    or it is not ready within ``timeout`` seconds.
    """
    if (app is None) == (app_for_url is None):
        raise TypeError("Pass either app or app_for_url.")
    bypass_proxy_for_loopback()  # this machine's servers are never reached through a proxy
    with _lock:
        stop(name)
        sock = _bind_loopback(port, name)
        certificates = {}
        if tls:
            from helpers.local_tls import local_ca, trust_local_ca

            ca = local_ca()
            trust_local_ca()
            certificates = {"ssl_certfile": str(ca.cert_path), "ssl_keyfile": str(ca.key_path)}
        if app_for_url is not None:
            try:
                app = app_for_url(f"{'https' if tls else 'http'}://{LOOPBACK}:{sock.getsockname()[1]}")
            except BaseException:
                sock.close()
                raise
        config = uvicorn.Config(
            app,
            log_config=None,  # leave the process's logging alone (no handlers in notebooks)
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            **certificates,
        )
        server = _LoopbackServer(config)
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by the waiting caller, not lost in the thread
                failure.append(exc)
            finally:
                sock.close()

        thread = threading.Thread(target=serve, name=f"helpers-server-{name}", daemon=True)
        background = BackgroundServer(name, sock.getsockname()[1], server, thread, failure, tls)
        thread.start()
        _wait_until_started(background, timeout)
        _registry[name] = background
        return background


def stop(name: str, timeout: float = 5.0) -> bool:
    """Stop the server running under ``name``; return whether one was running."""
    with _lock:
        server = _registry.get(name)
    if server is None:
        return False
    server.stop(timeout)
    return True


def stop_all(timeout: float = 5.0) -> None:
    """Stop every background server started by this process."""
    with _lock:
        names = list(_registry)
    for name in names:
        stop(name, timeout)


def running() -> dict[str, str]:
    """Map each running server's name to its URL."""
    with _lock:
        return {name: server.url for name, server in _registry.items() if server.is_running}


class _LoopbackServer(uvicorn.Server):
    """uvicorn's server, minus a TLS stop that waits for idle clients.

    uvicorn closes an idle kept-alive connection after 5 s, and every idle one at shutdown,
    then waits until they are gone. Over TLS a close waits for the client's answering
    close_notify, which a client pool holding an idle connection (requests, httpx) never sends
    until it next reads it; the stop then ran into the graceful timeout and logged an error.
    Connections that are already closing and have nothing left to send are aborted instead:
    no request or response is cut short. (The ones closed earlier are aborted before uvicorn
    closes them a second time, which would detach asyncio's TLS transport from its socket.)
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if not self.config.is_ssl:
            return await super().shutdown(sockets)
        self._abort_closing_tls_connections()
        closer = asyncio.ensure_future(self._keep_aborting_closing_tls_connections())
        try:
            await super().shutdown(sockets)
        finally:
            closer.cancel()

    async def _keep_aborting_closing_tls_connections(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self._abort_closing_tls_connections()

    def _abort_closing_tls_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is None or not transport.is_closing():
                continue
            try:
                if not transport.get_write_buffer_size() and not _socket_buffer_size(transport):
                    transport.abort()
            except AttributeError:  # already detached from its TLS protocol: nothing to abort
                pass


def _socket_buffer_size(transport) -> int:
    """Bytes still queued on the socket under a TLS transport (asyncio keeps it private)."""
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    return inner.get_write_buffer_size() if inner is not None else 0


def _bind_loopback(port: int, name: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A fixed port (a redirect URI's) must be bindable again right after a restart, while the
    # last connection's TIME_WAIT lingers. On POSIX SO_REUSEADDR allows exactly that and still
    # refuses a port another socket listens on; on Windows it would allow stealing the port.
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"Cannot start {name!r}: port {port} on {LOOPBACK} is already in use. "
                "Stop the program using it, or pass port=0 to pick a free port."
            ) from None
        raise ServerStartError(f"Cannot start {name!r} on {LOOPBACK}:{port}: {exc}") from exc
    # Without TCP_NODELAY every request on a kept-alive connection waits ~40 ms for
    # Nagle's algorithm and delayed ACKs to meet; accepted connections inherit it.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _wait_until_started(background: BackgroundServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    server, thread = background._server, background._thread
    while not server.started:
        if not thread.is_alive():
            cause = background._failure[0] if background._failure else None
            detail = f": {type(cause).__name__}: {cause}" if cause else " (see the error logged above)"
            raise ServerStartError(
                f"Server {background.name!r} stopped during startup{detail}."
            ) from cause
        if time.monotonic() > deadline:
            background.stop()
            raise ServerStartError(
                f"Server {background.name!r} was not ready within {timeout:g} s; it has been stopped. "
                "Check the app's startup (lifespan) code, or pass a longer timeout."
            )
        time.sleep(0.01)


atexit.register(stop_all)
