"""Fetch a document a remote party controls, within a deadline and a size limit.

``requests``' ``timeout`` bounds each *read*, not a request: a server that sends one byte every
few seconds (in its headers or its body) keeps a client waiting for as long as it likes, and a
server may send a body of any size. Discovery reads documents that whoever runs an MCP server
chose, so it fetches them with :func:`bounded_request`:

- the whole exchange (connect, headers, body) ends within ``timeout`` seconds: a watchdog shuts
  down the connection's socket when the time is up, and the request fails with
  :class:`DeadlinePassed` (a ``requests.Timeout``). The watchdog needs a :class:`BoundedSession`,
  which notes each socket it opens; with another session the body is still read against the
  deadline, chunk by chunk, but headers are bounded per read only;
- at most ``max_bytes`` of body are read (:class:`TooLarge` beyond): 1 MiB by default, hundreds
  of times an authorization server's metadata.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

__all__ = ["MAX_DOCUMENT_BYTES", "BoundedSession", "DeadlinePassed", "TooLarge", "bounded_request"]

MAX_DOCUMENT_BYTES = 1 << 20


class DeadlinePassed(requests.Timeout):
    """The whole request took longer than its deadline; its connection was closed."""


class TooLarge(requests.RequestException):
    """The answer's body is larger than the limit; the rest was not read."""


class _WatchedAdapter(HTTPAdapter):
    """An adapter that notes every socket its connections open, so a watchdog can shut them down."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._guard = threading.Lock()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self._watch(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any):
        manager = super().proxy_manager_for(proxy, **kwargs)
        self._watch(manager)
        return manager

    def _watch(self, manager: Any) -> None:
        adapter = self

        def watched(pool_class: type) -> type:
            if getattr(pool_class, "_watched", False):
                return pool_class

            class Connection(pool_class.ConnectionCls):  # type: ignore[name-defined,misc]
                def connect(self) -> None:
                    super().connect()
                    adapter._opened(self.sock)

            return type(pool_class.__name__, (pool_class,), {"ConnectionCls": Connection, "_watched": True})

        manager.pool_classes_by_scheme = {scheme: watched(cls) for scheme, cls in manager.pool_classes_by_scheme.items()}

    def _opened(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._guard:
                self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]

    def abort(self) -> None:
        """Shut down every open socket: a read blocked on one returns at once."""
        with self._guard:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS
            except OSError:
                pass  # closed already


class BoundedSession(requests.Session):
    """A ``requests.Session`` whose requests :func:`bounded_request` can end at their deadline."""

    def __init__(self) -> None:
        super().__init__()
        self.watched = _WatchedAdapter()
        self.mount("http://", self.watched)
        self.mount("https://", self.watched)


def bounded_request(
    http: requests.Session, method: str, url: str, *, timeout: float, max_bytes: int = MAX_DOCUMENT_BYTES,
    read_body: bool = True, **kwargs: Any,
) -> tuple[requests.Response, bytes]:
    """One request that ends within ``timeout`` seconds, and its body (at most ``max_bytes``).

    ``read_body=False``: only the status and headers are wanted; the connection is closed
    without reading the body. Raises :class:`DeadlinePassed`, :class:`TooLarge`, or the
    ``requests`` exception of whatever else went wrong.
    """
    ends = time.monotonic() + timeout
    expired = threading.Event()
    watched = getattr(http, "watched", None)

    def expire() -> None:
        expired.set()
        if watched is not None:
            watched.abort()

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        response = http.request(method, url, timeout=timeout, stream=True, **kwargs)
        with response:
            body = _read(response, ends, max_bytes, url) if read_body else b""
        if expired.is_set():  # a connection shut down mid-answer can look like a short, complete one
            raise DeadlinePassed(f"{url} did not answer within {timeout:g} s")
        return response, body
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if expired.is_set() or isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
            raise DeadlinePassed(f"{url} did not answer within {timeout:g} s") from None
        if isinstance(exc, requests.RequestException):
            raise
        raise requests.ConnectionError(str(exc)) from None
    finally:
        watchdog.cancel()


def _read(response: requests.Response, ends: float, max_bytes: int, url: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"{url} announced {declared} bytes")
    body = bytearray()
    while True:
        if time.monotonic() > ends:
            raise DeadlinePassed(f"{url} did not finish in time")
        chunk = response.raw.read1(65536)  # returns what one read brings: the deadline is checked often
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(f"{url} sent more than {max_bytes} bytes")
