"""Discovery reads what a remote party chose to send, so it bounds it (issue 22, point 7).

Each test failed on the code before the fix: a server that sent one byte every few tenths of a
second kept discovery waiting far past its ``timeout`` (the timeout bounded each read, not the
request); a 2 MB metadata document was read whole; a deeply nested one escaped as
``RecursionError`` instead of :class:`DiscoveryError`.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time

import pytest

from helpers.discovery import DiscoveryError, discover

ISSUER = "https://okta.example.com/oauth2/default"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"


class Misbehaving(socketserver.ThreadingTCPServer):
    """A plain-HTTP server on 127.0.0.1 answering each path with bytes a test chooses.

    ``answers[path]`` is a list of ``(bytes, seconds to wait after sending them)``; a path not
    listed gets 404. Every connection is closed after at most ``give_up_after`` seconds, so the
    code before the fix also finishes (late).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answers: dict[str, list[tuple[bytes, float]]], give_up_after: float = 8.0) -> None:
        self.answers, self.give_up_after = answers, give_up_after
        super().__init__(("127.0.0.1", 0), self._Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    class _Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request_line = self.rfile.readline().decode("latin-1")
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # headers; the probe's small JSON body is left unread
            path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
            parts = self.server.answers.get(path, [(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 0)])
            ends = time.monotonic() + self.server.give_up_after
            try:
                for data, pause in parts:
                    self.wfile.write(data)
                    self.wfile.flush()
                    if pause:
                        time.sleep(pause)
                    if time.monotonic() > ends:
                        break
            except OSError:
                pass  # the client hung up: what a bounded client does

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def trickle(head: bytes, tail: bytes, every: float) -> list[tuple[bytes, float]]:
    """``head`` at once, then ``tail`` one byte every ``every`` seconds."""
    return [(head, 0)] + [(tail[i:i + 1], every) for i in range(len(tail))]


def challenge(url: str) -> list[tuple[bytes, float]]:
    return [(b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer resource_metadata=\""
             + (url + PRM_PATH).encode() + b"\"\r\n\r\n", 0)]


def document(body: bytes) -> list[tuple[bytes, float]]:
    return [(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: "
             + str(len(body)).encode() + b"\r\n\r\n" + body, 0)]


@pytest.fixture
def server():
    servers = []

    def start(answers_for_url):
        probe = Misbehaving({})
        probe.answers.update(answers_for_url(probe.url))
        servers.append(probe)
        return probe

    yield start
    for each in servers:
        each.stop()


def discover_within(url: str, seconds: float, **options) -> DiscoveryError:
    started = time.monotonic()
    with pytest.raises(DiscoveryError) as info:
        discover(url, issuer=ISSUER, **options)
    took = time.monotonic() - started
    assert took < seconds, f"discovery took {took:.1f} s"
    return info.value


def test_7_headers_sent_one_byte_at_a_time_end_at_the_deadline(server):
    slow = server(lambda url: {"/mcp": trickle(b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n", b"X-Slow: " + b"a" * 100 + b"\r\n\r\n", 0.3)})
    error = discover_within(slow.url + "/mcp", 2.5, timeout=1)
    assert str(error) == f"{slow.url}/mcp did not answer within 1 s."


def test_7_a_body_sent_one_byte_at_a_time_ends_at_the_deadline(server):
    body = json.dumps({"resource": "x", "authorization_servers": [ISSUER]}).encode()
    slow = server(lambda url: {"/mcp": challenge(url), PRM_PATH: trickle(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n",
        body, 0.3)})
    error = discover_within(slow.url + "/mcp", 2.5, timeout=1)
    assert str(error) == f"{slow.url}{PRM_PATH} did not answer within 1 s."


def test_7_a_metadata_document_larger_than_the_limit_is_refused(server):
    def answers(url):
        body = json.dumps({"resource": url + "/mcp", "authorization_servers": [ISSUER], "padding": "x" * 2_000_000})
        return {"/mcp": challenge(url), PRM_PATH: document(body.encode())}

    big = server(answers)
    error = discover_within(big.url + "/mcp", 5)
    assert str(error).startswith(f"{big.url}{PRM_PATH} sent more than 1 MiB")


def test_7_a_document_without_content_length_is_limited_too(server):
    def answers(url):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        return {"/mcp": challenge(url), PRM_PATH: [(head, 0)] + [(b" " * 65536, 0)] * 40}

    big = server(answers)
    error = discover_within(big.url + "/mcp", 5)
    assert str(error).startswith(f"{big.url}{PRM_PATH} sent more than 1 MiB")


@pytest.mark.parametrize("nesting", [b"[" * 100_000, b'{"a":' * 50_000])
def test_7_deeply_nested_metadata_is_a_discovery_error(server, nesting):
    nested = server(lambda url: {"/mcp": challenge(url), PRM_PATH: document(nesting)})
    error = discover_within(nested.url + "/mcp", 5)
    assert str(error) == f"{nested.url}{PRM_PATH} did not answer with JSON."


def test_7_over_tls_too_a_trickled_body_ends_at_the_deadline():
    from starlette.applications import Starlette
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from helpers import background

    async def mcp(request):
        return Response(status_code=401, headers={
            "WWW-Authenticate": f'Bearer resource_metadata="{request.base_url}{PRM_PATH.lstrip("/")}"'})

    async def slowly(request):
        async def drip():
            import anyio

            for _ in range(30):
                yield b" "
                await anyio.sleep(0.3)

        return StreamingResponse(drip(), media_type="application/json")

    slow = background.start(Starlette(routes=[Route("/mcp", mcp, methods=["POST"]), Route(PRM_PATH, slowly)]),
                            name="test-discovery-tls-trickle", tls=True)
    try:
        error = discover_within(slow.url + "/mcp", 2.5, timeout=1)
        assert str(error) == f"{slow.url}{PRM_PATH} did not answer within 1 s."
    finally:
        slow.stop()


def test_7_connections_through_a_proxy_are_watched_too():
    from helpers.bounded_fetch import BoundedSession

    with BoundedSession() as session:
        through_proxy = session.watched.proxy_manager_for("http://proxy.example:3128")
        direct = session.watched.poolmanager
        for manager in (through_proxy, direct):
            assert all(getattr(cls, "_watched", False) for cls in manager.pool_classes_by_scheme.values())
