"""What device sign-in sends and what it tells the user when the device authorization endpoint
(or the gateway's configuration) says no: helpers.user_login.device, part 1 of 2.

tests/test_device_sign_in.py runs the whole flow against the local server; these tests stand in
for the server with a recording ``requests.post`` so they can check the request itself (headers,
timeout, redirects, client authentication) and the exact error code and message for answers the
local server never gives (a 200 without a device code, a non-JSON-object body, no description).
Part 2 (test_mutants_device_2.py) does the same for the polling loop.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests

from helpers.settings import ClientCredentials
from helpers.user_login import DeviceSignInError, InsecureURLError
from helpers.user_login.device import DeviceAuthorization, DeviceSignIn, start_device_sign_in

DEVICE_ENDPOINT = "https://idp.example.test/oauth2/default/v1/device/authorize"
TOKEN_ENDPOINT = "https://idp.example.test/oauth2/default/v1/token"
NATIVE = ClientCredentials("0oaNATIVE", None)
CONFIDENTIAL = ClientCredentials("0oaWEB", "web-secret")
SCOPES = ["openid", "offline_access"]
DEVICE_ANSWER = {"device_code": "dc-secret-device-code", "user_code": "WDJB-MJHT",
                 "verification_uri": "https://idp.example.test/activate",
                 "verification_uri_complete": "https://idp.example.test/activate?user_code=WDJB-MJHT",
                 "expires_in": 600, "interval": 5}
TOKEN_ANSWER = {"access_token": "eyJ.access", "token_type": "Bearer", "expires_in": 3600, "scope": "openid"}


def answer(status: int, body, *, headers=None) -> requests.Response:
    """A real ``requests.Response`` with ``body`` as its JSON."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    response.headers.setdefault("Content-Type", "application/json")
    return response


class FakePost:
    """Stands in for ``requests.post``: records every call and answers from a script (a response,
    or an exception to raise)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, url, **kwargs):
        self.calls.append((url, kwargs))
        next_answer = self.answers.pop(0)
        if isinstance(next_answer, BaseException):
            raise next_answer
        return next_answer

    def sent(self, index: int = 0) -> requests.PreparedRequest:
        """The request as it goes on the wire (headers are case-insensitive there)."""
        url, kwargs = self.calls[index]
        return requests.Request("POST", url, data=kwargs.get("data"), headers=kwargs.get("headers"),
                                auth=kwargs.get("auth")).prepare()


@pytest.fixture
def post(monkeypatch):
    """Install a FakePost: ``post.script(...)`` sets the answers."""
    fake = FakePost()
    monkeypatch.setattr(requests, "post", fake)
    fake.script = lambda *answers: fake.answers.extend(answers)
    return fake


def refused(post, response, client=NATIVE) -> DeviceSignInError:
    post.script(response)
    with pytest.raises(DeviceSignInError) as caught:
        start_device_sign_in(DEVICE_ENDPOINT, client, SCOPES, clock=lambda: 0.0)
    return caught.value


# --- the error class and what is shown --------------------------------------------------------------

def test_the_error_keeps_the_servers_error_code():
    assert DeviceSignInError("refused", "invalid_client").error == "invalid_client"
    assert DeviceSignInError("refused").error == ""


@pytest.mark.parametrize("expires_in, validity", [
    (30, "valid for 1 minute)"),      # never "0 minutes"
    (60, "valid for 1 minute)"),
    (90, "valid for 2 minutes)"),     # a minute and a half rounds to 2
    (600, "valid for 10 minutes)"),
])
def test_instructions_say_how_many_minutes_the_code_is_valid(expires_in, validity):
    started = DeviceAuthorization("dc", "ABCD-EFGH", "https://idp.example.test/activate", None,
                                  expires_in=expires_in, interval=5, started_at=0)
    assert validity in started.instructions()


# --- the device authorization request ---------------------------------------------------------------

def test_start_asks_for_json_with_the_timeout_and_without_following_redirects(post):
    post.script(answer(200, DEVICE_ANSWER))
    start_device_sign_in(DEVICE_ENDPOINT, NATIVE, SCOPES, timeout=3.5, clock=lambda: 0.0)
    url, kwargs = post.calls[0]
    assert url == DEVICE_ENDPOINT
    assert kwargs["timeout"] == 3.5 and kwargs["allow_redirects"] is False
    assert kwargs["data"] == {"client_id": "0oaNATIVE", "scope": "openid offline_access"}
    sent = post.sent()
    assert sent.headers["Accept"].lower() == "application/json"
    assert "Authorization" not in sent.headers  # a Native app has no secret: its client_id identifies it


def test_start_waits_ten_seconds_for_the_server_by_default(post):
    post.script(answer(200, DEVICE_ANSWER))
    start_device_sign_in(DEVICE_ENDPOINT, NATIVE, SCOPES, clock=lambda: 0.0)
    assert post.calls[0][1]["timeout"] == 10.0


def test_a_confidential_client_authenticates_the_device_request_with_basic_auth(post):
    post.script(answer(200, DEVICE_ANSWER))
    start_device_sign_in(DEVICE_ENDPOINT, CONFIDENTIAL, SCOPES, clock=lambda: 0.0)
    assert post.calls[0][1]["auth"] == ("0oaWEB", "web-secret")
    assert post.sent().headers["Authorization"].startswith("Basic ")


def test_a_plain_http_device_endpoint_is_refused_and_named():
    with pytest.raises(InsecureURLError, match="The device authorization endpoint 'http://"):
        start_device_sign_in("http://idp.example.test/device/authorize", NATIVE, SCOPES)


def test_the_server_may_leave_out_the_lifetime_and_the_interval(post):
    body = {key: value for key, value in DEVICE_ANSWER.items() if key not in ("expires_in", "interval")}
    post.script(answer(200, body))
    started = start_device_sign_in(DEVICE_ENDPOINT, NATIVE, SCOPES, clock=lambda: 100.0)
    assert (started.expires_in, started.interval, started.expires_at) == (600.0, 5.0, 700.0)  # RFC 8628 defaults


def test_the_servers_interval_is_used_when_it_names_one(post):
    post.script(answer(200, {**DEVICE_ANSWER, "interval": 7}))
    assert start_device_sign_in(DEVICE_ENDPOINT, NATIVE, SCOPES, clock=lambda: 0.0).interval == 7.0


# --- refusals from the device authorization endpoint ------------------------------------------------

def test_a_refusal_names_the_error_code_and_the_description(post):
    error = refused(post, answer(401, {"error": "invalid_client", "error_description": "Client authentication failed."}))
    assert error.error == "invalid_client"
    assert "refused: invalid_client: Client authentication failed." in str(error)
    assert "Device Authorization grant" not in str(error)  # that hint is for unauthorized_client only


def test_a_refusal_without_a_description_ends_with_the_error_code(post):
    error = refused(post, answer(400, {"error": "invalid_scope"}))
    assert error.error == "invalid_scope"
    assert str(error).endswith("refused: invalid_scope.")  # no stray colon where the description would be


def test_a_refusal_without_an_error_code_names_the_http_status(post):
    error = refused(post, answer(503, {"message": "maintenance"}))
    assert error.error == "HTTP 503"
    assert str(error).endswith("refused: HTTP 503.")


def test_a_body_that_is_not_a_json_object_is_a_refusal_with_the_http_status(post):
    error = refused(post, answer(400, ["not", "an", "object"]))
    assert error.error == "HTTP 400"
    assert str(error).endswith("refused: HTTP 400.")


def test_a_200_without_a_device_code_is_a_refusal_not_a_crash(post):
    error = refused(post, answer(200, {"user_code": "WDJB-MJHT", "verification_uri": "https://idp.example.test/activate"}))
    assert error.error == "HTTP 200"


def test_an_app_without_the_device_grant_is_told_which_grant_to_add(post):
    error = refused(post, answer(400, {"error": "unauthorized_client"}))
    assert error.error == "unauthorized_client"
    assert "refused: unauthorized_client. Give the app" in str(error)  # one space, no stray colon
    assert "Give the app the Device Authorization grant (a Native app: General > Grant type)" in str(error)


# --- the gateway's sign_in_with_device --------------------------------------------------------------

class Gateway(DeviceSignIn):
    """Just what sign_in_with_device reads from a UserLogin."""

    issuer = "https://idp.example.test/oauth2/default"
    token_endpoint = TOKEN_ENDPOINT
    client = NATIVE
    scopes = ["openid", "profile", "offline_access"]
    http_timeout = 4.0

    def __init__(self) -> None:
        self.discovered = SimpleNamespace(metadata={"device_authorization_endpoint": DEVICE_ENDPOINT})
        self.stats = {"sign-ins": 0}
        self.stored: list[dict] = []

    def store_tokens(self, token):
        self.stored.append(token)
        return "stored"


class Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_gateway_passes_its_timeout_scopes_clock_and_sleep_along(post):
    post.script(answer(200, {**DEVICE_ANSWER, "interval": 1}), answer(200, TOKEN_ANSWER))
    gateway, clock, shown = Gateway(), Clock(), []
    result = gateway.sign_in_with_device(show=shown.append, scopes=["openid", "calculator.add"],
                                         sleep=clock.sleep, clock=clock)
    assert result == "stored" and gateway.stored == [TOKEN_ANSWER] and gateway.stats["sign-ins"] == 1
    assert post.calls[0][1]["data"]["scope"] == "openid calculator.add"  # the scopes asked for, not the default
    assert [kwargs["timeout"] for _, kwargs in post.calls] == [4.0, 4.0]  # the gateway's http_timeout, both requests
    assert shown[0].started_at == 1000.0  # on the clock handed in
    assert clock.sleeps == [1.0]  # the sleep handed in waited before the poll


def test_the_gateway_asks_for_its_own_scopes_by_default_and_prints_the_instructions(post, capsys):
    post.script(answer(200, {**DEVICE_ANSWER, "interval": 1}), answer(200, TOKEN_ANSWER))
    clock = Clock()
    Gateway().sign_in_with_device(sleep=clock.sleep, clock=clock)
    assert post.calls[0][1]["data"]["scope"] == "openid profile offline_access"
    printed = capsys.readouterr().out
    assert "open https://idp.example.test/activate and enter the code WDJB-MJHT" in printed
    assert "dc-secret-device-code" not in printed
