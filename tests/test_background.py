"""Background servers: start, stop and restart by name, failures that explain themselves."""

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from loopback import reserve_port
from helpers import background
from helpers.background import ServerStartError


def make_app(text="hello", lifespan=None):
    async def home(request):
        return PlainTextResponse(text)

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


def accepts_connections(port):
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(autouse=True)
def no_servers_left():
    """Stop the servers this module's tests start (all named ``t-...``), and only those: a
    module-scoped server of another test module may be running in this process. Then their
    threads must be gone, which a stop that only forgot the name would not achieve."""
    yield
    for name in [name for name in list(background._registry) if name.startswith("t-")]:
        background.stop(name)
    left = [t.name for t in threading.enumerate() if t.name.startswith("helpers-server-t-") and t.is_alive()]
    assert left == []


def test_start_serves_on_loopback_with_a_free_port():
    server = background.start(make_app(), name="t-basic")
    assert server.port != 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server._server.servers[0].sockets[0].getsockname()[0] == "127.0.0.1"
    assert requests.get(server.url, timeout=5).text == "hello"
    assert background.running() == {"t-basic": server.url}


def test_stop_frees_the_port_and_is_idempotent():
    with reserve_port() as reserved:  # held: once stopped, nothing else on the machine can listen there
        server = background.start(make_app(), name="t-stop", port=reserved.port)
        port = server.port
        assert background.stop("t-stop") is True
        assert not accepts_connections(port)
    assert background.stop("t-stop") is False
    server.stop()  # stopping a stopped server does nothing
    assert not server.is_running


def test_restart_twenty_times_under_one_name():
    servers = []
    for i in range(20):
        server = background.start(make_app(f"run {i}"), name="t-restart")
        servers.append(server)
        assert requests.get(server.url, timeout=5).text == f"run {i}"
    assert background.running() == {"t-restart": server.url}
    # Each earlier server was stopped: its thread ended. (Not "its port refuses connections": a
    # freed port may already belong to another process's server on a busy machine.)
    assert [old for old in servers[:-1] if old.is_running or old._thread.is_alive()] == []
    threads = [t for t in threading.enumerate() if t.name == "helpers-server-t-restart"]
    assert len(threads) == 1


def test_restart_on_a_fixed_port_reuses_it():
    with reserve_port() as reserved:  # no other process can take the port between the two starts
        first = background.start(make_app("one"), name="t-fixed", port=reserved.port)
        second = background.start(make_app("two"), name="t-fixed", port=reserved.port)
        assert second.port == first.port == reserved.port and not first.is_running
        assert requests.get(second.url, timeout=5).text == "two"


def test_two_servers_at_once():
    a = background.start(make_app("a"), name="t-a")
    b = background.start(make_app("b"), name="t-b")
    assert a.port != b.port
    assert requests.get(a.url, timeout=5).text == "a"
    assert requests.get(b.url, timeout=5).text == "b"
    background.stop("t-a")
    assert requests.get(b.url, timeout=5).text == "b"


def test_port_taken_fails_fast_with_a_clear_error():
    with contextlib.closing(socket.socket()) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ServerStartError, match=f"port {port} .* already in use.*port=0"):
            background.start(make_app(), name="t-taken", port=port)
        assert time.monotonic() - started < 5  # not the 10 s startup deadline
    assert "t-taken" not in background.running()


def test_app_that_dies_during_startup_fails_fast():
    @contextlib.asynccontextmanager
    async def broken(app):
        raise RuntimeError("database unreachable")
        yield

    started = time.monotonic()
    with pytest.raises(ServerStartError, match="stopped during startup"):
        background.start(make_app(lifespan=broken), name="t-dies", timeout=10)
    assert time.monotonic() - started < 5
    assert "t-dies" not in background.running()


def test_thread_that_raises_reports_the_exception(monkeypatch):
    def explode(self, sockets=None):
        raise OSError("no more file descriptors")

    monkeypatch.setattr(background.uvicorn.Server, "run", explode)
    with pytest.raises(ServerStartError, match="OSError: no more file descriptors"):
        background.start(make_app(), name="t-raises")


def test_slow_startup_times_out_and_leaves_nothing_running():
    @contextlib.asynccontextmanager
    async def slow(app):
        await asyncio.sleep(1.0)
        yield

    with pytest.raises(ServerStartError, match="not ready within 0.2 s"):
        background.start(make_app(lifespan=slow), name="t-slow", timeout=0.2)
    assert "t-slow" not in background.running()
    assert not [t for t in threading.enumerate() if t.name == "helpers-server-t-slow" and t.is_alive()]


def test_requests_leave_no_log_output(capfd):
    server = background.start(make_app(), name="t-quiet")
    for _ in range(3):
        requests.get(server.url, timeout=5)
    requests.get(server.url + "/missing", timeout=5)
    background.stop("t-quiet")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_interpreter_exit_stops_servers():
    with reserve_port() as reserved:  # held: after the child exits, nothing else can listen there
        code = (
            "from helpers import background\n"
            "from starlette.applications import Starlette\n"
            f"s = background.start(Starlette(), name='x', port={reserved.port})\n"
            "print(s.port, flush=True)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == reserved.port and not accepts_connections(reserved.port)


def test_a_fixed_port_is_free_again_right_after_a_server_side_close():
    with reserve_port() as reserved:  # no other process can take the port between the two starts
        first = background.start(make_app("one"), name="t-timewait", port=reserved.port)
        with requests.Session() as session:  # a kept-alive connection the server will close
            assert session.get(first.url, timeout=5).text == "one"
            first.stop()
        second = background.start(make_app("two"), name="t-timewait", port=reserved.port)
        assert requests.get(second.url, timeout=5).text == "two"


@pytest.mark.parametrize("idle_for", [0, 5.5], ids=["idle", "past-keep-alive-timeout"])
def test_tls_stop_does_not_wait_for_idle_kept_alive_clients(caplog, idle_for):
    # Over TLS uvicorn's close of an idle connection waits for the client's close_notify, which
    # a pooled client never sends: the stop used to hit the 2 s graceful timeout and log an error.
    # Past uvicorn's 5 s keep-alive timeout the connection is already closing when the stop begins.
    server = background.start(make_app(), name="t-tls-idle", tls=True)
    assert server.url.startswith("https://")
    with requests.Session() as idle:
        assert idle.get(server.url, timeout=5).text == "hello"  # connection stays in the pool
        time.sleep(idle_for)
        started = time.monotonic()
        background.stop("t-tls-idle")
        took = time.monotonic() - started
    assert took < 1.9, f"stop took {took:.2f} s"  # the bug ran into the 2 s graceful timeout
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


def test_tls_stop_lets_a_response_in_flight_finish():
    handling = threading.Event()

    async def slow(request):
        handling.set()
        await asyncio.sleep(0.5)
        return PlainTextResponse("x" * 200_000)

    server = background.start(Starlette(routes=[Route("/", slow)]), name="t-tls-busy", tls=True)
    answers = []
    request = threading.Thread(target=lambda: answers.append(requests.get(server.url, timeout=30)))
    request.start()
    assert handling.wait(30)  # the request is being handled (a fixed sleep lost this race under load)
    background.stop("t-tls-busy")
    request.join(30)
    assert answers and answers[0].status_code == 200 and len(answers[0].text) == 200_000
