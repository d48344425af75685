"""The gateway's user sign-in (helpers.user_login): behaviour that mutation testing found unchecked.

Each test pins one thing a caller or user can observe: what a step-up asks the user for and
when it asks again, the error it raises (and the scopes it names), what a synchronous client
inside an event loop is told, how a 401 for an already replaced token is handled, what
``forget`` and ``repr`` show, and the facts carried by errors and messages. The gateways here
need no network: their discovery result is given and the authorization server's answers are
played by small stand-ins (the sign-in page by a ``sign_in`` handler, the token endpoint by a
patched ``refresh_tokens``), so every test runs in milliseconds.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx2
import pytest

from helpers.discovery import Discovered
from helpers.error_chain import find_in_chain
from helpers.settings import ClientCredentials
from helpers.user_login import (
    AuthorizationError,
    NotSignedInError,
    RefreshTokenError,
    StepUpError,
    UserLogin,
    UserTokens,
)
from helpers.user_login.errors import access_denied

MCP = "https://calculator.example.com/mcp"
ISSUER = "https://okta.example.com/oauth2/default"
SCOPES = ("calculator.add", "calculator.subtract")


class Clock:
    """The gateway's clock, frozen until a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gateway(*, scopes_supported=None, revocation_endpoint=None, tokens: dict | None = None, **options) -> UserLogin:
    """A gateway whose discovery result is given (no server needed), signed in with ``tokens``
    (default: an hour's access token for ``openid calculator.add`` and a refresh token;
    ``False``: nobody signed in)."""
    metadata = {"issuer": ISSUER, "token_endpoint": ISSUER + "/v1/token",
                "authorization_endpoint": ISSUER + "/v1/authorize", "code_challenge_methods_supported": ["S256"]}
    if scopes_supported is not None:
        metadata["scopes_supported"] = list(scopes_supported)
    if revocation_endpoint is not None:
        metadata["revocation_endpoint"] = revocation_endpoint
    discovered = Discovered(resource=MCP, issuer=ISSUER, scopes_supported=SCOPES, metadata=metadata)
    login = UserLogin(MCP, ClientCredentials("0oaweb", "web-secret"), issuer=ISSUER, discovered=discovered, **options)
    if tokens is not False:
        login.store_tokens(tokens or {"access_token": "user-token-1", "refresh_token": "refresh-1",
                                      "expires_in": 3600, "scope": "openid calculator.add"})
    return login


def insufficient(scope: str) -> httpx2.MockTransport:
    """An MCP server that answers every request 403 ``insufficient_scope`` naming ``scope``."""
    return httpx2.MockTransport(lambda request: httpx2.Response(
        403, headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'}))


class ClosesTheTab:
    """A ``sign_in`` handler for a user who is shown the sign-in and closes the tab."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, ...]] = []

    def __call__(self, pending) -> None:
        self.shown.append(tuple(parse_qs(urlsplit(pending.url).query)["scope"][0].split()))
        pending.cancel("the user closed the tab")


class Grants:
    """Stands in for ``login.begin``: a sign-in the user completes, with ``granted`` scopes."""

    def __init__(self, login: UserLogin, granted: str) -> None:
        self.login, self.granted, self.asked = login, granted, []

    def __call__(self, *, scopes):
        self.asked.append(tuple(scopes))
        login, granted = self.login, self.granted

        class Pending:
            url = ISSUER + "/v1/authorize?scope=" + "+".join(scopes)

            async def wait(self):
                return login.store_tokens({"access_token": "user-token-2", "expires_in": 3600, "scope": granted})

        return Pending()


# -- step-up -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_step_up_for_scopes_the_token_already_holds_exactly_asks_nobody():
    login = gateway(tokens={"access_token": "user-token-1", "expires_in": 3600, "scope": "calculator.add"})
    assert await login.astep_up(("calculator.add",), None) == "user-token-1"
    assert login.stats["step-ups"] == 0


@pytest.mark.anyio
async def test_a_step_up_asks_for_the_scopes_held_too_not_only_the_ones_asked_before():
    """The union: a scope the server granted beyond what was asked must not be lost by a step-up."""
    login = gateway(scopes=("openid", "calculator.add"), allowed_scopes=("openid", *SCOPES),
                    tokens={"access_token": "user-token-1", "expires_in": 3600,
                            "scope": "openid calculator.add calculator.extra"})
    user = ClosesTheTab()
    with pytest.raises(StepUpError, match="asking the user for it failed"):
        await login.astep_up(("calculator.subtract",), user)
    assert user.shown == [("openid", "calculator.add", "calculator.extra", "calculator.subtract")]


@pytest.mark.anyio
async def test_after_a_failed_step_up_and_its_pause_the_user_is_asked_again():
    clock = Clock()
    login = gateway(clock=clock)
    user = ClosesTheTab()
    for _ in range(2):  # the second comes right after the first failed: it shares the failure
        with pytest.raises(StepUpError, match="the user closed the tab"):
            await login.astep_up(("calculator.subtract",), user)
    assert len(user.shown) == 1
    clock.now += 1.5  # the pause after one failure (1 s) has passed
    with pytest.raises(StepUpError, match="the user closed the tab"):
        await login.astep_up(("calculator.subtract",), user)
    assert len(user.shown) == 2


@pytest.mark.anyio
async def test_a_step_up_waiting_for_another_goes_on_moments_after_it_ends():
    login = gateway()
    login.step_up_lock.acquire()  # another step-up is showing the user a sign-in
    got = []

    async def waiting():
        got.append(await login.astep_up(("calculator.add",), None))

    started = time.monotonic()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiting)
        await anyio.sleep(0.05)
        assert got == []
        login.step_up_lock.release()
    assert got == ["user-token-1"] and time.monotonic() - started < 0.7


@pytest.mark.anyio
async def test_the_step_up_pace_refusal_names_the_scopes_and_when_to_try_again():
    extra = tuple(f"calculator.scope{i}" for i in range(4))
    clock = Clock()
    login = gateway(clock=clock, allowed_scopes=("openid", *SCOPES, *extra))
    user = ClosesTheTab()
    for scope in extra[:3]:
        with pytest.raises(StepUpError):
            await login.astep_up((scope,), user)
    with pytest.raises(StepUpError, match=r"already asked the user to step up 3 times in the last 60 s.*Try again in 60 s") as caught:
        await login.astep_up((extra[3],), user)
    assert caught.value.needed == (extra[3],) and extra[3] in str(caught.value)
    assert len(user.shown) == 3
    clock.now += 60  # a minute on the gateway's clock: the user may be asked again
    with pytest.raises(StepUpError, match="the user closed the tab"):
        await login.astep_up((extra[3],), user)
    assert len(user.shown) == 4


@pytest.mark.anyio
async def test_a_step_up_granted_fewer_scopes_says_which_and_keeps_the_scopes_asked():
    login = gateway()
    before = login.scopes
    login.begin = Grants(login, granted="openid calculator.add")  # the policy does not grant subtract
    with pytest.raises(StepUpError, match="granted only calculator.add openid.*access policy rule") as caught:
        await login.astep_up(("calculator.subtract",), lambda pending: None)
    assert caught.value.needed == ("calculator.subtract",)
    assert login.scopes == before  # what a refused step-up asked for is not asked again at the next sign-in


# -- the httpx2.Auth ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_synchronous_client_inside_an_event_loop_is_told_to_use_the_async_client():
    login = gateway()
    with httpx2.Client(auth=login.auth(sign_in=lambda pending: None), transport=insufficient("calculator.subtract")) as http:
        with pytest.raises(StepUpError, match=r"running event loop.*use the async client") as caught:
            http.post(MCP, json={})
    assert caught.value.needed == ("calculator.subtract",)


def test_a_user_signed_out_during_a_call_that_needs_a_step_up_gets_a_step_up_error():
    login = gateway()

    def signs_out_then_403(request: httpx2.Request) -> httpx2.Response:
        login.forget()  # the user signed out while the call was on its way
        return insufficient("calculator.subtract").handle_request(request)

    assert login.auth().granted_scopes() == frozenset({"openid", "calculator.add"})
    with httpx2.Client(auth=login.auth(), transport=httpx2.MockTransport(signs_out_then_403)) as http:
        with pytest.raises(Exception) as caught:
            http.post(MCP, json={})
    error = find_in_chain(caught.value, StepUpError)
    assert error is not None and "Pass sign_in=" in str(error)
    assert login.auth().granted_scopes() == frozenset()


# -- refresh after a 401, forget, repr --------------------------------------------------------------


@pytest.fixture
def token_endpoint(monkeypatch):
    """The token endpoint's refresh answers: new tokens each time; the refresh tokens sent."""
    sent = []

    def refresh_tokens(**request):
        sent.append(request["refresh_token"])
        return {"access_token": f"user-token-{len(sent) + 1}", "refresh_token": f"refresh-{len(sent) + 1}",
                "expires_in": 3600, "scope": "openid calculator.add"}

    monkeypatch.setattr("helpers.user_login.gateway.refresh_tokens", refresh_tokens)
    return sent


def test_a_401_for_a_token_already_replaced_gets_the_new_token_even_right_after_a_refresh(token_endpoint):
    clock = Clock()
    login = gateway(clock=clock)
    assert login.refresh_after_401("user-token-1").access_token == "user-token-2"
    # a second request sent with the old token comes back 401 moments later: no refresh, the new token
    assert login.refresh_after_401("user-token-1").access_token == "user-token-2"
    assert token_endpoint == ["refresh-1"]
    assert login.refresh_after_401("user-token-2") is None  # the new token rejected too: 401 to the caller
    clock.now += 10  # one refresh after a 401 every 10 s, on the gateway's clock
    assert login.refresh_after_401("user-token-2").access_token == "user-token-3"


def test_a_401_when_nobody_is_signed_in_says_sign_in_first():
    login = gateway(tokens=False)
    with pytest.raises(NotSignedInError, match="Sign in first"):
        login.refresh_after_401("user-token-1")


def test_forget_signs_the_user_out_locally():
    login = gateway()
    assert login.signed_in and repr(login) == f"<UserLogin {MCP} signed in>"
    login.forget()
    assert login.tokens is None and not login.signed_in
    assert repr(login) == f"<UserLogin {MCP} not signed in>"
    with pytest.raises(NotSignedInError):
        login.access_token()


# -- what errors and messages carry ---------------------------------------------------------------


def test_an_error_redirect_keeps_the_servers_error_and_description():
    login = gateway(tokens=False, redirect_uri="http://127.0.0.1:8765/callback")
    pending = login.begin(listen=False, timeout=10)
    state = parse_qs(urlsplit(pending.url).query)["state"][0]
    redirect = pending.redirect_uri + "?" + urlencode(
        {"error": "invalid_scope", "error_description": "The scope calculator.admin is not allowed.", "state": state})
    with pytest.raises(AuthorizationError, match="error=invalid_scope") as caught:
        pending.complete(redirect)
    assert caught.value.error == "invalid_scope"
    assert caught.value.description == "The scope calculator.admin is not allowed."
    denied = access_denied("User is not assigned to the client application.")
    assert (denied.error, denied.description) == ("access_denied", "User is not assigned to the client application.")


def test_no_refresh_token_message_says_to_ask_for_offline_access_where_the_server_offers_it():
    clock = Clock()
    login = gateway(clock=clock, scopes_supported=("openid", "offline_access", *SCOPES),
                    tokens={"access_token": "user-token-1", "expires_in": 60, "scope": "openid calculator.add"})
    clock.now += 60
    with pytest.raises(RefreshTokenError) as caught:
        login.access_token()
    message = str(caught.value)
    assert message.startswith("The access token expired and there is no refresh token.")
    assert "Ask for the offline_access scope and allow the Refresh Token grant" in message


def test_user_tokens_expires_in_counts_down_on_the_given_clock():
    tokens = UserTokens("a", "r", None, (), obtained_at=0, expires_at=3600)
    assert tokens.expires_in(600) == 3000 and tokens.expires_in(3700) == -100
    assert UserTokens("a", None, None, (), obtained_at=0, expires_at=None).expires_in(600) is None
