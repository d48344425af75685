"""The device sign-in client (helpers.user_login.device) and the gateway's sign_in_with_device.

Against the local server, with the server's device clock and the client's sleep driven by the
test (so an interval of 5 s takes no time, and the server counts the same seconds as the client).
"""

from __future__ import annotations

import jwt
import pytest
import requests
from fastmcp import Client

from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.local_okta.activate import approve
from helpers.settings import ClientCredentials
from helpers.user_login import (
    DeviceAccessDeniedError,
    DeviceCodeExpiredError,
    DeviceSignInError,
    InsecureURLError,
    UserLogin,
    require_device_client,
)
from helpers.user_login.device import poll_device_sign_in, start_device_sign_in
from helpers.verification import Protection

SCOPES = ["openid", "profile", "offline_access", "calculator.add"]


class SharedClock:
    """One clock for the server's device codes and the client: ``sleep`` moves it."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []
        self.on_sleep = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-device-sign-in-okta")
    yield server
    server.stop()


@pytest.fixture
def clock(okta):
    shared = SharedClock()
    okta.device_flow.clock = shared
    yield shared
    okta.device_flow.clock = __import__("time").monotonic
    okta.set_device_code_lifetime(None)


@pytest.fixture
def device(okta) -> ClientCredentials:
    return require_device_client(okta.settings())


def begin(okta, device, clock):
    return start_device_sign_in(okta.endpoint("device/authorize"), device, SCOPES, clock=clock)


def test_start_returns_what_to_show_and_masks_the_device_code(okta, device, clock):
    started = begin(okta, device, clock)
    assert started.verification_uri == f"{okta.url}/activate" and len(started.user_code) == 8
    assert started.user_code in started.instructions() and started.verification_uri in started.instructions()
    assert started.device_code not in started.instructions()
    assert started.device_code not in repr(started) and started.user_code in repr(started)
    assert (started.interval, started.expires_in) == (5, 600)


def test_poll_waits_the_interval_before_each_poll_and_returns_the_tokens(okta, device, clock):
    started = begin(okta, device, clock)
    clock.on_sleep = lambda n: n == 3 and approve(started.verification_uri_complete, okta.users[0])
    token = poll_device_sign_in(okta.token_endpoint, device, started, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [5, 5, 5]  # two pending answers, then the tokens; never a poll without a wait
    assert jwt.decode(token["access_token"], options={"verify_signature": False})["sub"] == "ada@example.com"
    assert {"id_token", "refresh_token"} <= set(token)


def test_slow_down_adds_five_seconds_for_every_later_poll(okta, device, clock):
    started = begin(okta, device, clock)

    def on_sleep(n):
        if n == 1:
            okta.device_flow.demand_slower(started.user_code)
        if n == 4:
            approve(started.verification_uri_complete, okta.users[0])

    clock.on_sleep = on_sleep
    poll_device_sign_in(okta.token_endpoint, device, started, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [5, 10, 10, 10]


def test_expired_token_stops_with_a_clear_error(okta, device, clock):
    okta.set_device_code_lifetime(12)
    started = begin(okta, device, clock)
    with pytest.raises(DeviceCodeExpiredError, match="expired before the user approved it") as caught:
        poll_device_sign_in(okta.token_endpoint, device, started, sleep=clock.sleep, clock=clock)
    assert started.device_code not in str(caught.value)
    assert sum(clock.sleeps) <= 12  # it stops at the code's lifetime instead of polling on


def test_expired_token_from_the_server_stops_the_loop(okta, device, clock):
    okta.set_device_code_lifetime(12)
    started = begin(okta, device, clock)
    longer = type(started)(**{**started.__dict__, "expires_in": 600.0})  # a client that trusts a longer lifetime
    with pytest.raises(DeviceCodeExpiredError):
        poll_device_sign_in(okta.token_endpoint, device, longer, sleep=clock.sleep, clock=clock)
    assert len(clock.sleeps) == 3  # pending, pending, expired_token: stopped at once


def test_access_denied_stops_with_a_clear_error(okta, device, clock):
    started = begin(okta, device, clock)
    clock.on_sleep = lambda n: n == 1 and approve(started.verification_uri_complete, okta.users[0], deny=True)
    with pytest.raises(DeviceAccessDeniedError, match="denied"):
        poll_device_sign_in(okta.token_endpoint, device, started, sleep=clock.sleep, clock=clock)
    assert len(clock.sleeps) == 1


def test_an_app_without_the_grant_is_refused_with_the_console_step(okta, clock):
    with pytest.raises(DeviceSignInError, match="unauthorized_client.*Device Authorization grant"):
        start_device_sign_in(okta.endpoint("device/authorize"), okta.clients["web"], SCOPES, clock=clock)


def test_endpoints_must_be_https(device):
    with pytest.raises(InsecureURLError):
        start_device_sign_in("http://example.com/oauth2/default/v1/device/authorize", device, SCOPES)


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-device-sign-in-calculator")
    yield server
    server.stop()


@pytest.mark.anyio
async def test_the_gateway_signs_a_user_in_with_a_device_and_refreshes(okta, calculator, device, clock):
    login = UserLogin(calculator.mcp_url, device, issuer=okta.issuer)
    shown = []

    def show(started):
        shown.append(started.instructions())
        approve(started.verification_uri_complete, okta.users[1])  # the user, on their phone

    tokens = login.sign_in_with_device(show=show, sleep=clock.sleep, clock=clock)
    assert shown and "activate" in shown[0] and login.signed_in and tokens.refresh_token
    assert login.stats["sign-ins"] == 1
    async with Client(calculator.mcp_url, auth=login.auth()) as client:
        assert (await client.call_tool("get_me", {})).data["sub"] == "alan@example.com"
    before = login.tokens.access_token
    assert login.refresh().access_token != before  # the refresh token from the device grant works


def test_the_gateway_says_when_the_server_has_no_device_endpoint(okta, calculator, device, clock):
    login = UserLogin(calculator.mcp_url, device, issuer=okta.issuer)
    del login.discovered.metadata["device_authorization_endpoint"]
    with pytest.raises(DeviceSignInError, match="advertises no device_authorization_endpoint"):
        login.sign_in_with_device(sleep=clock.sleep, clock=clock)


def test_unreachable_server_is_a_login_error_without_a_traceback_of_requests(device, clock):
    with pytest.raises(Exception) as caught:
        start_device_sign_in("https://127.0.0.1:9/oauth2/default/v1/device/authorize", device, SCOPES, timeout=1)
    assert "Could not start a device sign-in" in str(caught.value)
    assert not isinstance(caught.value, requests.RequestException)
