"""Where the wire trace listens: wrappers around the send methods of requests, httpx and urllib.

:func:`install` replaces, on the classes themselves (so clients made before the trace are seen):

- ``requests.Session.send`` (one call per request, redirects included);
- ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` of ``httpx``
  and ``httpx2`` (every request of every client using the default transport: FastMCP's client,
  FastMCP's JWKS fetch); the answer body is read as the caller reads it, never ahead;
- ``urllib.request.AbstractHTTPHandler.do_open`` (``urlopen``, PyJWT's ``PyJWKClient``).

Each wrapper calls ``begin(library, method, url, headers, body)`` before the request and
``end(started, status, headers, body, failure)`` after it (:mod:`helpers.wire_trace`).
:func:`uninstall` puts the originals back. Both are idempotent and called under the trace's lock.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["install", "installed", "uninstall"]

_MAX_BODY = 65_536
_originals: dict[tuple[type, str], Any] = {}


def installed() -> bool:
    return bool(_originals)


def install(begin: Callable, end: Callable) -> None:
    """Wrap every send method found (a library that is not installed is skipped)."""
    if _originals:
        return
    targets: list[tuple[type, str, Callable]] = []
    try:
        import requests

        targets.append((requests.Session, "send", _requests_send))
    except ImportError:
        pass
    for module_name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        targets.append((module.HTTPTransport, "handle_request", _httpx_send(module)))
        targets.append((module.AsyncHTTPTransport, "handle_async_request", _httpx_send_async(module)))
    import urllib.request

    targets.append((urllib.request.AbstractHTTPHandler, "do_open", _urllib_open))
    for owner, name, wrap in targets:
        original = owner.__dict__[name]
        _originals[(owner, name)] = original
        setattr(owner, name, wrap(original, begin, end))


def uninstall() -> None:
    """Put every original method back."""
    while _originals:
        (owner, name), original = _originals.popitem()
        setattr(owner, name, original)


def _requests_send(original: Callable, begin: Callable, end: Callable) -> Callable:
    def send(self, request, **kwargs):
        body = request.body if isinstance(request.body, (bytes, str)) else None  # a streamed upload: not read
        started = begin("requests", request.method, request.url, request.headers, body)
        if not started:
            return original(self, request, **kwargs)
        try:
            response = original(self, request, **kwargs)
        except BaseException as exc:
            end(started, None, {}, failure=exc)
            raise
        first = response.history[0] if response.history else response  # the answer to *this* request
        body = None if kwargs.get("stream") and first is response else first.content
        end(started, first.status_code, first.headers, body[:_MAX_BODY] if body else None)
        return response

    return send


class _Recorder:
    """Keeps the first bytes of an answer as the caller reads them, and reports them at the end."""

    def __init__(self, started, response, end) -> None:
        self.started, self.response, self.end, self.kept, self.done = started, response, end, bytearray(), False

    def keep(self, chunk: bytes) -> None:
        if len(self.kept) < _MAX_BODY:
            self.kept += chunk[: _MAX_BODY - len(self.kept)]

    def finish(self) -> None:
        if not self.done:
            self.done = True
            body = bytes(self.kept)
            if self.response.headers.get("Content-Encoding", "identity") not in ("identity", ""):
                body = b""  # compressed on the wire: the summary would be noise
            self.end(self.started, self.response.status_code, self.response.headers, body)
            self.kept = bytearray()


def _httpx_send(module) -> Callable:
    class Stream(module.SyncByteStream):
        def __init__(self, inner, recorder) -> None:
            self.inner, self.recorder = inner, recorder

        def __iter__(self):
            for chunk in self.inner:
                self.recorder.keep(chunk)
                yield chunk

        def close(self) -> None:
            try:
                self.inner.close()
            finally:
                self.recorder.finish()

    def wrap(original: Callable, begin: Callable, end: Callable) -> Callable:
        def handle_request(self, request):
            started = _httpx_begin(module, begin, request)
            if not started:
                return original(self, request)
            try:
                response = original(self, request)
            except BaseException as exc:
                end(started, None, {}, failure=exc)
                raise
            end(started, response.status_code, response.headers, None)  # the body follows as it is read
            response.stream = Stream(response.stream, _Recorder(started, response, end))
            return response

        return handle_request

    return wrap


def _httpx_send_async(module) -> Callable:
    class Stream(module.AsyncByteStream):
        def __init__(self, inner, recorder) -> None:
            self.inner, self.recorder = inner, recorder

        async def __aiter__(self):
            async for chunk in self.inner:
                self.recorder.keep(chunk)
                yield chunk

        async def aclose(self) -> None:
            try:
                await self.inner.aclose()
            finally:
                self.recorder.finish()

    def wrap(original: Callable, begin: Callable, end: Callable) -> Callable:
        async def handle_async_request(self, request):
            started = _httpx_begin(module, begin, request)
            if not started:
                return await original(self, request)
            try:
                response = await original(self, request)
            except BaseException as exc:
                end(started, None, {}, failure=exc)
                raise
            end(started, response.status_code, response.headers, None)  # the body follows as it is read
            response.stream = Stream(response.stream, _Recorder(started, response, end))
            return response

        return handle_async_request

    return wrap


def _httpx_begin(module, begin: Callable, request) -> list:
    try:
        body = request.content
    except module.RequestNotRead:  # a streamed upload: not read here, or the transport would get nothing
        body = None
    return begin(module.__name__, request.method, str(request.url), request.headers, body)


def _urllib_open(original: Callable, begin: Callable, end: Callable) -> Callable:
    def do_open(self, http_class, req, **kwargs):
        headers = {**req.unredirected_hdrs, **req.headers}
        body = req.data if isinstance(req.data, (bytes, str)) else None
        started = begin("urllib", req.get_method(), req.full_url, _Headers(headers), body)
        if not started:
            return original(self, http_class, req, **kwargs)
        try:
            response = original(self, http_class, req, **kwargs)
        except BaseException as exc:
            end(started, None, {}, failure=exc)
            raise
        end(started, response.status, _Headers(dict(response.headers.items())), None)  # body: the caller's
        return response

    return do_open


class _Headers(dict):
    """Header names looked up without regard to case, as HTTP means them."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__((name.lower(), value) for name, value in headers.items())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)
