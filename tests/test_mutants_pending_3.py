"""What mutation testing found unchecked in the redirect listener and the URL checks of a sign-in.

helpers.user_login.callback (the one-page app on 127.0.0.1 that receives the browser's redirect)
and helpers.user_login.transport (which URLs may carry codes and tokens). Each test pins down
something a browser or a user sees that no other test held in place (mutmut survivors): the
page and its headers, which requests the listener answers, which redirect URIs it can serve,
and that no error message shows a redirect's query (it holds the one-time code).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from helpers import background
from helpers.user_login import InsecureURLError, LoginError
from helpers.user_login.callback import open_connections, result_page, start_listener
from helpers.user_login.transport import carries_state, is_loopback_http, redirect_for_oauthlib

NAME = "test-mutants-pending-3-listener"


class Handler:
    """The sign-in's side of the listener: records each query, answers with a set status and page."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.queries = status, []

    def __call__(self, query: str) -> tuple[int, str]:
        self.queries.append(query)
        return self.status, result_page("Signed <in>", "You can close this tab & go back.")


@pytest.fixture
def listen():
    """start_listener(redirect_uri, handler) under this file's name; stopped after the test."""
    yield lambda redirect_uri, handler: start_listener(redirect_uri, handler, name=NAME)
    background.stop(NAME)


# -- callback: the listener and its page --------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400])
def test_the_listener_hands_the_query_over_and_answers_with_the_handlers_page(listen, status):
    handler = Handler(status)
    listener = listen("http://127.0.0.1:0/callback", handler)
    response = requests.get(f"{listener.url}/callback?code=c&state=s", timeout=5)
    assert handler.queries == ["code=c&state=s"]
    assert response.status_code == status and response.headers["Cache-Control"] == "no-store"
    assert response.text.lower().startswith("<!doctype html>")  # standards mode: nothing before the doctype
    assert "<h1>Signed &lt;in&gt;</h1>" in response.text and "close this tab &amp; go back." in response.text


def test_the_listener_answers_only_get_on_its_path_for_a_loopback_host(listen):
    handler = Handler()
    listener = listen("http://127.0.0.1:0/callback", handler)
    assert requests.post(f"{listener.url}/callback?code=c&state=s", timeout=5).status_code == 405
    assert requests.get(f"{listener.url}/elsewhere?code=c&state=s", timeout=5).status_code == 404
    rebound = requests.get(f"{listener.url}/callback?code=c&state=s", headers={"Host": "attacker.example"}, timeout=5)
    assert rebound.status_code == 421  # DNS rebinding: a page of another site reaching 127.0.0.1
    assert handler.queries == []


def test_a_redirect_uri_without_a_path_is_served_at_the_root(listen):
    handler = Handler()
    listener = listen("http://127.0.0.1:0", handler)
    assert requests.get(f"{listener.url}/?code=c&state=s", timeout=5).status_code == 200
    assert handler.queries == ["code=c&state=s"]


def test_the_listener_runs_under_its_name_so_a_rerun_replaces_it(listen):
    listen("http://127.0.0.1:0/callback", Handler())
    assert background.stop(NAME) is True


@pytest.mark.parametrize("redirect_uri", ["https://gateway.example:8443/callback", "http://127.0.0.1/callback",
                                          "http://gateway.example:8765/callback"])
def test_a_listener_is_started_only_for_a_loopback_redirect_uri_with_a_port(redirect_uri):
    with pytest.raises(LoginError, match=r"cannot receive the redirect itself.*pending\.complete\(url\)"):
        start_listener(redirect_uri, Handler(), name=NAME)


def test_open_connections_counts_the_browsers_kept_alive_connections(listen):
    listener = listen("http://127.0.0.1:0/callback", Handler())
    assert open_connections(listener) == 0
    with requests.Session() as browser:  # keeps its connection open, as a browser does
        browser.get(f"{listener.url}/callback?code=c&state=s", timeout=5)
        assert open_connections(listener) == 1
    assert open_connections(SimpleNamespace()) == 0  # a listener without a running server holds none


# -- transport: which URLs ---------------------------------------------------------------------


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8765/callback", True), ("http://localhost:8765/callback", True),
    ("http://[::1]:8765/callback", True), ("https://127.0.0.1:8765/callback", False),
    ("https://gateway.example/callback", False), ("http://gateway.example/callback", False),
])
def test_loopback_http_means_plain_http_to_this_machine_only(url, loopback):
    assert is_loopback_http(url) is loopback


def test_a_redirect_neither_https_nor_loopback_is_refused_without_showing_its_code():
    uri = "http://gateway.example/callback"
    with pytest.raises(InsecureURLError) as caught:
        redirect_for_oauthlib(f"{uri}?code=one-time-code&state=s", uri)
    assert f"{uri!r} is neither https:// nor on this machine" in str(caught.value)
    assert "one-time-code" not in str(caught.value)


def test_a_redirect_that_cannot_be_parsed_carries_no_state():
    assert carries_state("http://[127.0.0.1/callback?state=s", "s") is False
    assert carries_state("http://127.0.0.1:1/callback?state=s", "s") is True
