"""Where the calculator's keys come from when ``OAUTH_JWKS_URI`` is not set: the issuer's metadata.

Every real tenant takes this path (``.env`` rarely names the keys endpoint): at startup
:meth:`Protection.from_settings` reads ``jwks_uri`` from ``{issuer}/.well-known/oauth-authorization-server``
with :func:`discover_jwks_uri`. Each way that can fail must stop the server with a
:class:`ConfigurationError` that says what to set, never start it with no keys or the wrong ones.
A stand-in issuer (HTTPS, loopback) answers what each case needs.
"""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.settings import ConfigurationError, Settings
from helpers.verification import Protection, discover_jwks_uri
from loopback import reserve_port

AUDIENCE = "https://calculator-mcp-server.example.com"
METADATA_PATH = "/oauth2/default/.well-known/oauth-authorization-server"


class StandInIssuer:
    """An issuer whose metadata answer a test chooses; ``answer(issuer)`` returns a response."""

    def __init__(self) -> None:
        self.answer = lambda issuer: JSONResponse({"issuer": issuer, "jwks_uri": issuer + "/v1/keys"})
        self.requests = 0
        self.server = background.start(app_for_url=self._app, name="test-jwks-discovery-issuer", tls=True)
        self.issuer = self.server.url + "/oauth2/default"

    def _app(self, url: str) -> Starlette:
        async def metadata(request):
            self.requests += 1
            return self.answer(url + "/oauth2/default")

        return Starlette(routes=[Route(METADATA_PATH, metadata)])


@pytest.fixture(scope="module")
def stand_in():
    issuer = StandInIssuer()
    yield issuer
    issuer.server.stop()


@pytest.fixture(autouse=True)
def fresh(stand_in):
    stand_in.answer = lambda issuer: JSONResponse({"issuer": issuer, "jwks_uri": issuer + "/v1/keys"})
    stand_in.requests = 0


def settings_for(issuer: str | None, **changes) -> Settings:
    return Settings(**{"mode": "okta", "issuer": issuer, "audience": AUDIENCE, **changes})


def test_without_oauth_jwks_uri_the_keys_come_from_the_issuers_metadata(stand_in):
    protection = Protection.from_settings(settings_for(stand_in.issuer))
    assert protection.jwks_uri == stand_in.issuer + "/v1/keys"
    assert (protection.issuer, protection.audience) == (stand_in.issuer, AUDIENCE)
    assert stand_in.requests == 1


def test_a_configured_jwks_uri_is_used_as_it_is_without_reading_metadata(stand_in):
    protection = Protection.from_settings(settings_for(stand_in.issuer, jwks_uri="https://keys.example.com/keys"))
    assert protection.jwks_uri == "https://keys.example.com/keys"
    assert stand_in.requests == 0


def test_from_settings_passes_options_on_to_the_verifier(stand_in):
    verifier = Protection.from_settings(settings_for(stand_in.issuer), leeway_seconds=5, verify_timeout_seconds=2).verifier()
    assert (verifier.leeway_seconds, verifier.verify_timeout_seconds) == (5, 2)


@pytest.mark.parametrize("missing", ["issuer", "audience"])
def test_from_settings_needs_issuer_and_audience(stand_in, missing):
    with pytest.raises(ConfigurationError, match="Set OAUTH_ISSUER and OAUTH_AUDIENCE"):
        Protection.from_settings(settings_for(**{"issuer": stand_in.issuer, missing: None}))
    assert stand_in.requests == 0


@pytest.mark.parametrize("answer, reason", [
    (lambda issuer: JSONResponse({"issuer": issuer}), "KeyError"),
    (lambda issuer: PlainTextResponse("<html>sign in</html>"), "JSONDecodeError"),
    (lambda issuer: JSONResponse(["not", "an", "object"]), "AttributeError"),
    (lambda issuer: JSONResponse({"error": "server_error"}, status_code=500), "HTTPError"),
    (lambda issuer: Response(status_code=404), "HTTPError"),
], ids=["no jwks_uri", "not JSON", "JSON but not an object", "HTTP 500", "HTTP 404"])
def test_metadata_without_usable_keys_stops_the_server_with_what_to_set(stand_in, answer, reason):
    stand_in.answer = answer
    with pytest.raises(ConfigurationError) as info:
        Protection.from_settings(settings_for(stand_in.issuer))
    message = str(info.value)
    assert f"Could not read jwks_uri from {stand_in.issuer}/.well-known/oauth-authorization-server ({reason})" in message
    assert f"set OAUTH_JWKS_URI to the authorization server's keys endpoint ({stand_in.issuer}/v1/keys)" in message


@pytest.mark.parametrize("jwks_uri", ["", None, 42], ids=["empty", "null", "a number"])
def test_a_jwks_uri_that_is_not_a_url_is_refused(stand_in, jwks_uri):
    stand_in.answer = lambda issuer: JSONResponse({"issuer": issuer, "jwks_uri": jwks_uri})
    with pytest.raises(ConfigurationError, match="has no usable jwks_uri; set OAUTH_JWKS_URI"):
        discover_jwks_uri(stand_in.issuer)


def test_metadata_naming_another_issuer_is_refused(stand_in):
    stand_in.answer = lambda issuer: JSONResponse({"issuer": issuer + "/", "jwks_uri": issuer + "/v1/keys"})
    with pytest.raises(ConfigurationError, match=r"names the issuer '.*/oauth2/default/', not '.*/oauth2/default'"):
        discover_jwks_uri(stand_in.issuer)


def test_an_unreachable_issuer_stops_the_server_with_what_to_set():
    with reserve_port() as nobody_listens:
        issuer = f"https://127.0.0.1:{nobody_listens.port}/oauth2/default"
        with pytest.raises(ConfigurationError, match=r"Could not read jwks_uri .*\(ConnectionError\).*OAUTH_JWKS_URI"):
            Protection.from_settings(settings_for(issuer))


def test_a_silent_issuer_is_given_up_after_the_timeout(stand_in):
    hanging = {"on": True}

    def answer(issuer):
        deadline = time.monotonic() + 10
        while hanging["on"] and time.monotonic() < deadline:
            time.sleep(0.02)
        return JSONResponse({"issuer": issuer, "jwks_uri": issuer + "/v1/keys"})

    stand_in.answer = answer
    started = time.monotonic()
    try:
        with pytest.raises(ConfigurationError, match=r"\(ReadTimeout\)"):
            discover_jwks_uri(stand_in.issuer, timeout=0.5)
        assert time.monotonic() - started < 8  # not the 10 s the stand-in would hang
    finally:
        hanging["on"] = False
