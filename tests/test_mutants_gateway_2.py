"""The gateway's refresh, sign-out and rate-limit messages: behaviour mutation testing found unchecked.

While the token endpoint fails, one refresh attempt is made at a time and its failure shared,
with a pause before the next (``helpers.backoff``); a valid access token is not worth waiting
out a 429 for, an expired one is; signing out revokes the refresh token only where there is
one and a revocation endpoint to send it to. The gateways need no network (see
``test_mutants_gateway.gateway``): the token and revocation endpoints are small stand-ins.
"""

from __future__ import annotations

import pytest

from helpers.settings import ClientCredentials
from helpers.user_login import InsecureURLError, LoginError, NotSignedInError, UserLogin
from helpers.user_login.errors import RateLimitedLoginError
from test_mutants_gateway import ISSUER, MCP, Clock, gateway

TOKEN_ENDPOINT = ISSUER + "/v1/token"


class TokenEndpoint:
    """Stands in for ``refresh_tokens``: new tokens each time, or ``LoginError`` while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.rotates = True  # False: answers with a new access token only (no rotation, no scope)
        self.requests: list[dict] = []

    def __call__(self, **request):
        self.requests.append(request)
        if self.down:
            raise LoginError(f"Could not reach the token endpoint {TOKEN_ENDPOINT} to refresh the token.")
        n = len(self.requests) + 1
        if not self.rotates:
            return {"access_token": f"user-token-{n}", "expires_in": 3600}
        return {"access_token": f"user-token-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600,
                "scope": "openid calculator.add"}


@pytest.fixture
def token_endpoint(monkeypatch):
    endpoint = TokenEndpoint()
    monkeypatch.setattr("helpers.user_login.gateway.refresh_tokens", endpoint)
    return endpoint


@pytest.fixture
def revocations(monkeypatch):
    sent = []
    monkeypatch.setattr("helpers.user_login.gateway.revoke_refresh_token", lambda **request: sent.append(request))
    return sent


# -- refresh while the token endpoint fails -----------------------------------------------------------


def test_a_failed_refresh_is_shared_during_the_pause_then_tried_again(token_endpoint):
    clock = Clock()
    login = gateway(clock=clock)
    token_endpoint.down = True
    with pytest.raises(LoginError, match="Could not reach the token endpoint") as first:
        login.refresh()
    with pytest.raises(LoginError) as second:  # within the pause: the same failure, no new request
        login.refresh()
    assert second.value is first.value and len(token_endpoint.requests) == 1
    token_endpoint.down = False
    clock.now += 1.5  # the pause after one failure (1 s) has passed
    assert login.refresh().access_token == "user-token-3"
    assert len(token_endpoint.requests) == 2


def test_a_due_token_is_refreshed_again_once_the_pause_after_a_failure_has_passed(token_endpoint):
    clock = Clock()
    login = gateway(clock=clock)
    clock.now += 3600 - 20  # 20 s left: due for a refresh
    token_endpoint.down = True
    assert login.access_token() == "user-token-1"  # the endpoint is down: the valid token is used meanwhile
    assert login.access_token() == "user-token-1" and len(token_endpoint.requests) == 1  # within the pause
    token_endpoint.down = False
    clock.now += 1.5
    assert login.access_token() == "user-token-3" and len(token_endpoint.requests) == 2


def test_a_429_is_waited_out_only_when_the_access_token_has_expired(token_endpoint):
    """A valid access token is used rather than waiting for the rate limit's reset (max_wait 0);
    an expired one leaves nothing to use, so the refresh may wait (the default max_wait)."""
    clock = Clock()
    login = gateway(clock=clock)
    clock.now += 3600 - 20  # due, still valid
    login.access_token()
    clock.now += 3600  # the refreshed token has expired
    login.access_token()
    assert [request["max_wait"] for request in token_endpoint.requests] == [0.0, None]


def test_a_refresh_answer_without_rotation_keeps_the_refresh_token_id_token_and_scopes(token_endpoint):
    login = gateway(tokens={"access_token": "user-token-1", "refresh_token": "refresh-1", "id_token": "id-1",
                            "expires_in": 3600, "scope": "openid calculator.add"})
    token_endpoint.rotates = False
    fresh = login.refresh()
    assert (fresh.access_token, fresh.refresh_token, fresh.id_token) == ("user-token-2", "refresh-1", "id-1")
    assert fresh.scopes == ("calculator.add", "openid") and login.tokens is fresh


def test_the_resource_parameter_goes_with_a_refresh_only_when_configured(token_endpoint):
    gateway().refresh()
    gateway(send_resource=True).refresh()
    assert [request["resource"] for request in token_endpoint.requests] == [None, MCP]


def test_a_rate_limited_refresh_names_the_endpoint_and_when_to_retry():
    error = RateLimitedLoginError(4.2, TOKEN_ENDPOINT, "refreshing the user's tokens; they are kept")
    message = str(error)
    assert "retry after 5 s" in message and f"HTTP 429 from {TOKEN_ENDPOINT}" in message
    assert message.endswith("(refreshing the user's tokens; they are kept)")
    assert (error.retry_after, error.url) == (4.2, TOKEN_ENDPOINT)


# -- signing out -----------------------------------------------------------------------------------


def test_sign_out_revokes_the_refresh_token_at_the_revocation_endpoint(revocations):
    login = gateway(revocation_endpoint=ISSUER + "/v1/revoke")
    assert login.sign_out() is True and not login.signed_in
    assert [(r["revocation_endpoint"], r["refresh_token"]) for r in revocations] == [(ISSUER + "/v1/revoke", "refresh-1")]


def test_sign_out_without_a_revocation_endpoint_only_forgets_the_tokens(revocations):
    login = gateway()  # the authorization server lists no revocation_endpoint
    assert login.sign_out() is False and not login.signed_in
    assert revocations == []


def test_sign_out_without_a_refresh_token_sends_nothing(revocations):
    login = gateway(revocation_endpoint=ISSUER + "/v1/revoke",
                    tokens={"access_token": "user-token-1", "expires_in": 3600, "scope": "openid"})
    assert login.sign_out() is False and not login.signed_in
    assert revocations == []


def test_sign_out_when_nobody_is_signed_in_sends_nothing(revocations):
    login = gateway(revocation_endpoint=ISSUER + "/v1/revoke", tokens=False)
    assert login.sign_out() is False and revocations == []
    with pytest.raises(NotSignedInError):
        login.access_token()


# -- creating a gateway, starting sign-ins ----------------------------------------------------------------


def test_the_http_timeout_reaches_discovery_and_the_token_endpoint(monkeypatch, token_endpoint):
    found = gateway(tokens=False).discovered
    asked = []
    monkeypatch.setattr("helpers.user_login.gateway.discover", lambda url, **options: asked.append((url, options)) or found)
    client = ClientCredentials("0oaweb", "web-secret")
    for login in (UserLogin(MCP, client, issuer=ISSUER), UserLogin(MCP, client, issuer=ISSUER, http_timeout=3.0)):
        login.store_tokens({"access_token": "user-token-1", "refresh_token": "refresh-1", "expires_in": 3600})
        login.refresh()
    assert asked == [(MCP, {"issuer": ISSUER, "timeout": 10.0}), (MCP, {"issuer": ISSUER, "timeout": 3.0})]
    assert [request["timeout"] for request in token_endpoint.requests] == [10.0, 3.0]


@pytest.mark.parametrize("endpoint, what", [("authorization_endpoint", "authorization endpoint"),
                                            ("token_endpoint", "token endpoint")])
def test_a_plain_http_endpoint_is_refused_naming_which(endpoint, what):
    found = gateway(tokens=False).discovered
    found.metadata[endpoint] = "http://okta.example.com/oauth2/default/v1/x"
    with pytest.raises(InsecureURLError, match=f"The {what} 'http://okta.example.com/oauth2/default/v1/x' is not an https"):
        UserLogin(MCP, ClientCredentials("0oaweb", "web-secret"), issuer=ISSUER, discovered=found)


def test_sign_ins_under_different_listener_names_do_not_cancel_each_other():
    login = gateway(tokens=False)
    first = login.begin(timeout=10, listener_name="test-mutants-gateway-first")
    second = login.begin(timeout=10, listener_name="test-mutants-gateway-second")
    try:
        assert first.is_listening and second.is_listening and not first.done
        third = login.begin(timeout=10, listener_name="test-mutants-gateway-first")  # replaces the first
        assert first.done and third.is_listening
        third.cancel()
    finally:
        first.cancel()
        second.cancel()


def test_by_default_a_token_is_refreshed_once_30_seconds_are_left(token_endpoint):
    clock = Clock()
    login = gateway(clock=clock)
    clock.now += 3600 - 31
    assert login.access_token() == "user-token-1" and token_endpoint.requests == []
    clock.now += 1
    assert login.access_token() == "user-token-2"


def test_the_gateway_signs_in_as_its_metadata_document_where_cimd_is_advertised():
    found = gateway(tokens=False).discovered
    found.metadata["client_id_metadata_document_supported"] = True
    cimd = "https://gateway.example.com/oauth/client.json"
    login = UserLogin(MCP, ClientCredentials("0oaweb", "web-secret"), issuer=ISSUER, discovered=found,
                      client_metadata_url=cimd)
    assert (login.client.client_id, login.client.client_secret) == (cimd, None)
