"""How device sign-in polls the token endpoint, and what it says when polling ends without tokens:
helpers.user_login.device.poll_device_sign_in, part 2 of 2 (see test_mutants_device.py).

A recording ``requests.post`` stands in for the token endpoint, so the tests can check each poll's
request (headers, timeout, redirects, client authentication), the waits between polls (Okta's 429
included), and the error code and message of every way the loop can stop.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import requests
from test_mutants_device import CONFIDENTIAL, NATIVE, TOKEN_ANSWER, TOKEN_ENDPOINT, Clock, answer, post  # noqa: F401

from helpers.user_login import DeviceAccessDeniedError, DeviceCodeExpiredError, DeviceSignInError, InsecureURLError, LoginError
from helpers.user_login.device import DeviceAuthorization, poll_device_sign_in

PENDING = {"error": "authorization_pending", "error_description": "The device authorization is pending."}


def started_at(clock: Clock, *, expires_in: float = 600, interval: float = 5) -> DeviceAuthorization:
    return DeviceAuthorization("dc-secret-device-code", "WDJB-MJHT", "https://idp.example.test/activate", None,
                               expires_in=expires_in, interval=interval, started_at=clock())


def poll(post, *answers, client=NATIVE, clock=None, **kwargs):
    """Poll with the scripted answers; returns (result, clock)."""
    post.script(*answers)
    clock = clock or Clock()
    started = kwargs.pop("started", None) or started_at(clock)
    return poll_device_sign_in(TOKEN_ENDPOINT, client, started, sleep=clock.sleep, clock=clock, **kwargs), clock


def stopped(post, *answers, kind=DeviceSignInError):
    with pytest.raises(kind) as caught:
        poll(post, *answers)
    assert "dc-secret-device-code" not in str(caught.value)
    return caught.value


# --- the token request -----------------------------------------------------------------------------

def test_each_poll_posts_a_form_asking_for_json_with_the_timeout_and_no_redirects(post):
    token, _ = poll(post, answer(400, PENDING), answer(200, TOKEN_ANSWER), timeout=2.5)
    assert token == TOKEN_ANSWER and len(post.calls) == 2
    for index, (url, kwargs) in enumerate(post.calls):
        assert url == TOKEN_ENDPOINT
        assert kwargs["timeout"] == 2.5 and kwargs["allow_redirects"] is False  # never re-post the device code
        sent = post.sent(index)
        assert sent.headers["Content-Type"].lower() == "application/x-www-form-urlencoded"
        assert sent.headers["Accept"].lower() == "application/json"
        form = parse_qs(sent.body)
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:device_code"]
        assert form["device_code"] == ["dc-secret-device-code"] and form["client_id"] == ["0oaNATIVE"]


def test_polling_waits_ten_seconds_for_an_answer_by_default(post):
    poll(post, answer(200, TOKEN_ANSWER))
    assert post.calls[0][1]["timeout"] == 10.0


def test_a_confidential_client_authenticates_each_poll_with_basic_auth(post):
    poll(post, answer(400, PENDING), answer(200, TOKEN_ANSWER), client=CONFIDENTIAL)
    for index in range(2):
        assert post.calls[index][1]["auth"] == ("0oaWEB", "web-secret")
        assert post.sent(index).headers["Authorization"].startswith("Basic ")


def test_a_plain_http_token_endpoint_is_refused_and_named():
    clock = Clock()
    with pytest.raises(InsecureURLError, match="The token endpoint 'http://"):
        poll_device_sign_in("http://idp.example.test/token", NATIVE, started_at(clock), sleep=clock.sleep, clock=clock)


def test_a_network_failure_names_the_endpoint_the_exception_and_what_to_do(post):
    with pytest.raises(LoginError) as caught:
        poll(post, requests.ConnectionError("refused"))
    message = str(caught.value)
    assert TOKEN_ENDPOINT in message and "(ConnectionError). Check the network" in message
    assert "then start a new device sign-in" in message
    assert not isinstance(caught.value, requests.RequestException)


# --- what counts as the tokens ----------------------------------------------------------------------

def test_a_200_without_an_access_token_is_not_the_tokens(post):
    error = stopped(post, answer(200, {"token_type": "Bearer"}))
    assert error.error == "" and str(error).endswith("refused the device code: HTTP 200")


def test_an_error_status_carrying_an_access_token_is_not_the_tokens(post):
    error = stopped(post, answer(400, {"access_token": "eyJ.stale", "error": "invalid_grant"}))
    assert error.error == "invalid_grant"


# --- waiting: the code's lifetime, Okta's rate limit ------------------------------------------------

def test_a_poll_that_ends_exactly_at_the_codes_expiry_is_still_made(post):
    clock = Clock()
    started = started_at(clock, expires_in=10, interval=5)
    token, _ = poll(post, answer(400, PENDING), answer(200, TOKEN_ANSWER), clock=clock, started=started)
    assert token == TOKEN_ANSWER and clock.sleeps == [5, 5]


def test_the_code_expiring_on_the_clients_clock_says_what_to_do(post):
    clock = Clock()
    with pytest.raises(DeviceCodeExpiredError) as caught:
        poll(post, answer(400, PENDING), clock=clock, started=started_at(clock, expires_in=8, interval=5))
    assert caught.value.error == "expired_token" and len(post.calls) == 1
    assert "The device code expired before the user approved it" in str(caught.value)
    assert "start a new device sign-in and approve it sooner" in str(caught.value)


def test_a_429_waits_until_the_rate_limit_resets_then_polls_on(post):
    limited = {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."}
    token, clock = poll(post, answer(429, limited, headers={"Retry-After": "30"}),
                        answer(429, limited, headers={"Retry-After": "2"}), answer(200, TOKEN_ANSWER))
    assert token == TOKEN_ANSWER
    # interval, then the rest of the 30 s the server asked for; a reset sooner than the interval adds nothing
    assert clock.sleeps == [5, 25.0, 5, 0.0, 5]


# --- how the loop stops -----------------------------------------------------------------------------

def test_expired_token_from_the_server_keeps_its_code_and_says_what_to_do(post):
    error = stopped(post, answer(400, {"error": "expired_token", "error_description": "The device code has expired."}),
                    kind=DeviceCodeExpiredError)
    assert error.error == "expired_token"
    assert "The device code expired before the user approved it" in str(error)
    assert "start a new device sign-in and approve it sooner" in str(error)


def test_access_denied_shows_the_servers_reason_and_keeps_its_code(post):
    error = stopped(post, answer(400, {"error": "access_denied", "error_description": "The user denied the request."}),
                    kind=DeviceAccessDeniedError)
    assert error.error == "access_denied"
    assert "denied: The user denied the request. Nothing was granted; start again if that was a mistake" in str(error)


def test_access_denied_without_a_reason_shows_no_placeholder(post):
    error = stopped(post, answer(400, {"error": "access_denied"}), kind=DeviceAccessDeniedError)
    assert "None" not in str(error) and "denied:  Nothing was granted" in str(error)


def test_another_refusal_names_the_error_code_and_the_description_verbatim(post):
    error = stopped(post, answer(400, {"error": "invalid_grant", "error_description": "Unknown device code for app BOX"}))
    assert error.error == "invalid_grant"
    assert str(error).endswith("refused the device code: invalid_grant: Unknown device code for app BOX")


def test_a_refusal_without_a_description_ends_with_the_error_code(post):
    error = stopped(post, answer(400, {"error": "invalid_client"}))
    assert error.error == "invalid_client" and str(error).endswith("refused the device code: invalid_client")


def test_a_refusal_without_an_error_code_names_the_http_status(post):
    error = stopped(post, answer(500, {"message": "internal error"}))
    assert error.error == "" and str(error).endswith("refused the device code: HTTP 500")


def test_a_body_that_is_not_a_json_object_is_a_refusal_with_the_http_status(post):
    error = stopped(post, answer(502, ["bad", "gateway"]))
    assert error.error == "" and str(error).endswith("refused the device code: HTTP 502")
