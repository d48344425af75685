"""Behind a proxy, the notebooks' own servers on 127.0.0.1 are still reached directly.

With HTTPS_PROXY set and no NO_PROXY, requests and httpx send requests for 127.0.0.1 to the proxy:
they fail, and tokens and secrets would travel to it. Starting any server adds the loopback names
to NO_PROXY. Here the "proxy" is a port nothing listens on, so a request sent to it fails.
"""

import socket

import httpx
import pytest
import requests

from helpers.no_proxy import bypass_proxy_for_loopback


def dead_proxy() -> str:
    with socket.socket() as sock:  # bound, never listening: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_nothing_changes_without_a_proxy():
    environ = {"NO_PROXY": "example.com"}
    assert bypass_proxy_for_loopback(environ) is False
    assert environ == {"NO_PROXY": "example.com"}


def test_the_loopback_names_are_added_to_what_is_there():
    environ = {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "intranet.corp, localhost"}
    assert bypass_proxy_for_loopback(environ) is True
    assert environ["NO_PROXY"] == "intranet.corp,localhost,127.0.0.1,::1"
    assert environ["no_proxy"] == "127.0.0.1,localhost,::1"
    assert bypass_proxy_for_loopback(environ) is False  # once is enough
    star = {"http_proxy": "http://proxy.corp:3128", "NO_PROXY": "*", "no_proxy": "*"}
    assert bypass_proxy_for_loopback(star) is False and star["NO_PROXY"] == "*"


def test_a_local_server_is_reached_directly_behind_a_proxy(monkeypatch):
    proxy = dead_proxy()
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(requests.exceptions.ProxyError):  # what a learner behind a proxy saw before
        requests.get("https://127.0.0.1:9/", timeout=5)
    from helpers.local_okta import start_local_okta

    okta = start_local_okta(name="behind-a-proxy")
    try:
        metadata = f"{okta.settings().issuer}/.well-known/oauth-authorization-server"
        assert requests.get(metadata, timeout=10).status_code == 200
        assert httpx.get(metadata, timeout=10).status_code == 200
    finally:
        okta.stop()
