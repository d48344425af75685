"""The gateway's side of user sign-in (helpers.user_login) against the local Okta and calculator.

One local Okta and one protected calculator per module. The web app registers a redirect URI
on a free port (not the tutorial's 8765), so these tests never collide with a notebook
running at the same time. Sign-ins go through the real sign-in pages and the real callback
listener; token-endpoint requests are counted by the local Okta.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx2
import jwt
import pytest
import requests
from fastmcp import Client

from loopback import reserve_port
from helpers.calculator import start_calculator
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.local_okta.tenant import App
from helpers.settings import ClientCredentials
from helpers.user_login import (
    AuthorizationCodeError,
    AuthorizationError,
    ConsentDeniedError,
    InsecureURLError,
    LoginError,
    NotSignedInError,
    RefreshTokenError,
    SignInTimeoutError,
    StateMismatchError,
    UserLogin,
    UserTokens,
    login_error_in,
    sign_in_with_password,
)
from helpers.user_login.transport import redirect_for_oauthlib
from helpers.verification import Protection

pytestmark = pytest.mark.anyio

LISTENER = "test-user-login-callback"


#: The redirect URI's port, held for the whole run (a listener binds it once per sign-in):
#: no other process can take it between two sign-ins (see tests/loopback.py).
REDIRECT_PORT = reserve_port()
REDIRECT = f"http://127.0.0.1:{REDIRECT_PORT.port}/callback"


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant(redirect_uris=(REDIRECT,))
    tenant.app(label="web").consent_required = True  # so that a user can press "Don't Allow"
    tenant.apps.append(App(  # a public client: no secret, PKCE only
        label="spa", name="Calculator SPA", client_id="0oa1calculatorspa0001",
        grant_types=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,),
        token_endpoint_auth_method="none", assigned_users=("ada@example.com",),
    ))
    tenant.authorization_servers[0].policies[0].assigned_to += ("spa",)
    server = start_local_okta(tenant=tenant, name="test-user-login-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-user-login-calculator")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_okta(okta):
    okta.set_access_token_lifetime(None)
    okta.set_resource_parameter_check(True)
    okta.request_counts.clear()
    yield
    okta.set_access_token_lifetime(None)


@pytest.fixture
def ada(okta):
    return next(user for user in okta.users if user.login == "ada@example.com")


class Clock:
    """The gateway's clock, frozen until a test moves it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def login(okta, calculator, clock):
    return UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT, clock=clock)


def begin(login, **options):
    return login.begin(listener_name=LISTENER, **options)


async def signed_in(login, user):
    pending = begin(login, timeout=10)
    sign_in_with_password(pending, user.login, user.password)
    return await pending.wait()


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def browse(url: str) -> tuple[int, str]:
    """GET ``url`` like a browser following a redirect; the connection is closed on return
    (the client closing first keeps the listener's port free of TIME_WAIT)."""
    response = requests.get(url, timeout=10)
    return response.status_code, response.text


def listener_answers() -> bool:
    try:
        requests.get(REDIRECT, timeout=2)
    except requests.ConnectionError:
        return False
    return True


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def refresh_directly(okta, refresh_token: str) -> requests.Response:
    web = okta.clients["web"]
    return requests.post(
        okta.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(web.client_id, web.client_secret),
        timeout=10,
    )


# -- discovery and the authorization request -------------------------------------------------


def test_discovers_the_authorization_server_from_the_mcp_server(login, okta):
    assert login.issuer == okta.issuer
    assert login.authorization_endpoint == okta.authorization_endpoint
    assert login.token_endpoint == okta.token_endpoint
    assert login.revocation_endpoint == okta.revocation_endpoint
    # the user scopes, plus the scopes the MCP server publishes (RFC 9728)
    assert login.scopes == ("openid", "profile", "email", "offline_access", "calculator.add", "calculator.subtract")


def test_authorization_request_has_pkce_s256_and_a_fresh_state(login):
    first, second = begin(login, listen=False), begin(login, listen=False)
    try:
        query = parse_qs(urlsplit(first.url).query)
        assert {k: v[0] for k, v in query.items() if k not in ("state", "code_challenge")} == {
            "response_type": "code",
            "client_id": login.client.client_id,
            "redirect_uri": REDIRECT,
            "scope": " ".join(login.scopes),
            "code_challenge_method": "S256",
        }
        verifier = first._code_verifier
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        assert query["code_challenge"][0] == expected
        assert 43 <= len(verifier) <= 128 and len(query["state"][0]) >= 32
        other = parse_qs(urlsplit(second.url).query)
        assert other["state"] != query["state"] and other["code_challenge"] != query["code_challenge"]
        assert "resource" not in query
    finally:
        first.cancel()
        second.cancel()


# -- signing in --------------------------------------------------------------------------------


async def test_sign_in_through_the_callback_listener(login, okta, ada):
    pending = begin(login, timeout=10)
    assert pending.is_listening
    redirect = sign_in(pending.url, ada.login, ada.password)
    status, page = browse(redirect)  # what the browser does with the redirect
    assert status == 200 and "You can close this tab" in page
    tokens = await pending.wait()

    assert not pending.is_listening and not listener_answers()
    assert login.tokens is tokens and login.stats["sign-ins"] == 1
    assert tokens.refresh_token and tokens.id_token
    assert "offline_access" in tokens.scopes and tokens.lifetime == 3600
    user = claims(tokens.access_token)
    assert (user["sub"], user["uid"], user["cid"]) == (ada.login, ada.uid, login.client.client_id)
    assert "auth_time" in user
    assert okta.request_counts["token"] == 1
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # only ever set during a call


async def test_calls_tools_as_the_user(login, calculator, ada):
    await signed_in(login, ada)
    async with Client(calculator.mcp_url, auth=login.auth()) as client:
        me = (await client.call_tool("get_me", {})).data
        assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
        assert (await client.call_tool("subtract", {"a": 10, "b": 4})).data == 6
    assert (me["sub"], me["uid"]) == (ada.login, ada.uid)


async def test_wrong_state_is_refused_without_exchanging_the_code_or_ending_the_sign_in(login, okta, ada):
    """Issue 12 of the client review: any web page could end a pending sign-in with one forged
    request to the callback, because the sign-in was marked used before ``state`` was checked."""
    pending = begin(login, timeout=10)
    redirect = sign_in(pending.url, ada.login, ada.password)
    for forged in (with_query(redirect, state="forged-by-someone-else"), REDIRECT + "?error=access_denied",
                   REDIRECT + "?code=x&state=a&state=b"):
        status, page = browse(forged)
        assert status == 400 and "does not answer the sign-in" in page
    with pytest.raises(StateMismatchError, match="forged redirect .*still waiting"):
        pending.complete(with_query(redirect, state="forged-again"))
    assert okta.request_counts["token"] == 0 and not pending.done and listener_answers()
    status, page = browse(redirect)  # the real redirect still completes the sign-in
    assert status == 200 and "Signed in" in page
    assert (await pending.wait()).access_token and okta.request_counts["token"] == 1


async def test_denied_consent(login, okta, ada):
    okta.forget_consents()  # an earlier test's sign-in gave it (Okta remembers consent)
    pending = begin(login, timeout=10)
    sign_in_with_password(pending, ada.login, ada.password, allow=False)
    with pytest.raises(ConsentDeniedError, match="did not allow access.*choose Allow"):
        await pending.wait()
    assert okta.request_counts["token"] == 0
    assert login.tokens is None and not listener_answers()


async def test_invalid_code(login, ada):
    pending = begin(login, timeout=10)
    redirect = sign_in(pending.url, ada.login, ada.password)
    browse(with_query(redirect, code="not-a-code-okta-issued"))
    with pytest.raises(AuthorizationCodeError, match="invalid_grant: The authorization code is invalid or has expired"):
        await pending.wait()
    assert login.tokens is None and not listener_answers()


async def test_expired_code(login, okta, ada):
    pending = begin(login, timeout=10)
    redirect = sign_in(pending.url, ada.login, ada.password)
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    okta._state.store.codes[code].expires_at = time.monotonic() - 1  # five minutes went by
    browse(redirect)
    with pytest.raises(AuthorizationCodeError, match="single use and expires"):
        await pending.wait()
    assert okta.request_counts["token"] == 1 and login.tokens is None


async def test_state_and_verifier_are_single_use(login, okta, ada):
    pending = begin(login, listen=False, timeout=10)
    redirect = sign_in(pending.url, ada.login, ada.password)
    first = pending.complete(redirect)
    assert pending._state is None and pending._code_verifier is None
    with pytest.raises(LoginError, match="single use"):
        pending.complete(redirect)
    assert login.tokens is first and okta.request_counts["token"] == 1
    # the code itself is spent too: replaying it to the token endpoint fails
    web = okta.clients["web"]
    replay = requests.post(
        okta.token_endpoint,
        data={"grant_type": "authorization_code", "code": parse_qs(urlsplit(redirect).query)["code"][0],
              "redirect_uri": REDIRECT, "code_verifier": "x" * 43},
        auth=(web.client_id, web.client_secret), timeout=10,
    )
    assert replay.json()["error"] == "invalid_grant"


async def test_a_second_redirect_to_the_listener_changes_nothing(login, okta, ada):
    pending = begin(login, timeout=10)
    redirect = sign_in(pending.url, ada.login, ada.password)
    assert browse(redirect)[0] == 200
    tokens = await pending.wait()
    # The listener stops right after the first redirect, so a second one usually finds nobody
    # listening; one that still gets through reaches the listener's handler, which must tell the
    # browser the sign-in is over and start no second exchange. The handler is called directly,
    # so that this is checked on every run, not only when the second request wins the race.
    status, page = pending._on_callback(urlsplit(redirect).query)
    assert status == 400 and "<title>Sign-in already finished</title>" in page
    assert login.tokens is tokens and login.stats["sign-ins"] == 1
    assert okta.request_counts["token"] == 1


async def test_timeout_stops_the_listener(login):
    pending = begin(login, timeout=0.3)
    assert listener_answers()  # a request without code or state: answered with 400, nothing ends
    assert not pending.done
    started = time.monotonic()
    with pytest.raises(SignInTimeoutError, match=r"within 0.3 s.*pending.complete"):
        await pending.wait()
    assert time.monotonic() - started < 5  # 0.3 s, and room for a loaded machine
    assert not pending.is_listening and not listener_answers()


async def test_waiting_less_than_the_sign_in_timeout_cancels_it(login):
    pending = begin(login, timeout=300)
    with pytest.raises(SignInTimeoutError):
        await pending.wait(timeout=0.2)
    assert pending.done and not listener_answers()
    with pytest.raises(LoginError, match="already over"):
        pending.complete(REDIRECT + "?code=x&state=y")


async def test_unattended_timeout_stops_the_listener_without_a_waiter(login):
    pending = begin(login, timeout=0.2)
    deadline = time.monotonic() + 10  # ends as soon as the listener stops; generous for a loaded machine
    while listener_answers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pending.done and not listener_answers()


async def test_a_new_sign_in_cancels_the_previous_one(login, ada):
    first = begin(login, timeout=10)
    second = begin(login, timeout=10)
    with pytest.raises(SignInTimeoutError, match="a new sign-in was started"):
        await first.wait()
    assert second.is_listening
    sign_in_with_password(second, ada.login, ada.password)
    assert (await second.wait()).access_token


async def test_wrong_password_ends_the_sign_in(login, ada):
    pending = begin(login, timeout=10)
    with pytest.raises(LoginError, match="Unable to sign in"):
        sign_in_with_password(pending, ada.login, "not-the-password")
    with pytest.raises(SignInTimeoutError):
        await pending.wait()
    assert not listener_answers()


# -- refresh -----------------------------------------------------------------------------------


async def test_refresh_shortly_before_expiry_with_counted_requests(login, okta, ada, clock):
    tokens = await signed_in(login, ada)
    okta.request_counts.clear()
    assert login.access_token() == tokens.access_token
    clock.now += 3600 - 31  # 31 s left: not yet
    assert login.access_token() == tokens.access_token and okta.request_counts["token"] == 0
    clock.now += 2  # 29 s left: refresh first
    fresh = login.access_token()
    assert fresh != tokens.access_token and okta.request_counts["token"] == 1
    assert login.access_token() == fresh and okta.request_counts["token"] == 1  # once only
    assert login.stats["refreshes"] == 1
    assert claims(fresh)["auth_time"] == claims(tokens.access_token)["auth_time"]  # same sign-in


async def test_refresh_token_rotation(login, okta, ada):
    tokens = await signed_in(login, ada)
    first_refresh_token = tokens.refresh_token
    second = login.refresh()
    assert second.refresh_token != first_refresh_token
    # within Okta's grace period (30 s) the old token still answers, with the newest one...
    assert refresh_directly(okta, first_refresh_token).json()["refresh_token"] == second.refresh_token
    third = login.refresh()  # ...and the gateway never sends it again
    assert third.refresh_token not in (first_refresh_token, second.refresh_token)
    assert login.stats["refreshes"] == 2 and third.id_token  # kept from the sign-in


async def test_a_replayed_refresh_token_ends_the_session(login, okta, ada):
    """Okta's reuse detection: a rotated-out token used after the grace period revokes the newest
    refresh token and the access tokens issued since the sign-in (refresh-tokens guide)."""
    okta.set_refresh_token_grace_period(0)
    try:
        tokens = await signed_in(login, ada)
        login.refresh()
        replay = refresh_directly(okta, tokens.refresh_token)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        with pytest.raises(RefreshTokenError, match="sign the user in again"):
            login.refresh()
    finally:
        okta.set_refresh_token_grace_period(None)


async def test_refresh_after_a_401_then_retry(login, okta, calculator, ada, clock):
    okta.set_access_token_lifetime(1)
    tokens = await signed_in(login, ada)
    okta.set_access_token_lifetime(None)
    expiry = claims(tokens.access_token)["exp"]
    time.sleep(max(0.0, expiry - time.time()) + 0.05)  # expired for the server...
    okta.request_counts.clear()  # ...while the gateway's frozen clock still thinks it is fresh
    async with Client(calculator.mcp_url, auth=login.auth()) as client:
        me = (await client.call_tool("get_me", {})).data
    assert me["sub"] == ada.login
    assert login.stats["retries after 401"] == 1 and login.stats["refreshes"] == 1
    assert okta.request_counts["token"] == 1
    assert login.tokens.access_token != tokens.access_token


async def test_a_second_401_is_returned_not_retried_forever(login, okta, ada, clock):
    await signed_in(login, ada)
    okta.request_counts.clear()
    seen = []

    def always_401(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(401, json={"error": "invalid_token"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(always_401), auth=login.auth()) as http:
        response = await http.post(login.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
    assert len(seen) == 2 and seen[0] != seen[1]  # retried once, with the refreshed token
    assert okta.request_counts["token"] == 1
    with httpx2.Client(transport=httpx2.MockTransport(always_401), auth=login.auth()) as http:
        assert http.post(login.mcp_url, json={}).status_code == 401  # refreshed after a 401 moments ago: not again
        assert len(seen) == 3 and okta.request_counts["token"] == 1
        clock.now += 10  # one refresh after a 401 every 10 s
        assert http.post(login.mcp_url, json={}).status_code == 401
    assert len(seen) == 5 and okta.request_counts["token"] == 2


async def test_a_401_for_a_token_already_replaced_does_not_refresh_again(login, okta, ada):
    await signed_in(login, ada)
    okta.request_counts.clear()
    current = login.tokens
    assert login.refresh(stale_access_token="a token another request already replaced") is current
    assert okta.request_counts["token"] == 0


async def test_revoked_refresh_token(login, okta, calculator, ada, clock):
    tokens = await signed_in(login, ada)
    web = okta.clients["web"]
    revoked = requests.post(
        okta.revocation_endpoint,
        data={"token": tokens.refresh_token, "token_type_hint": "refresh_token"},
        auth=(web.client_id, web.client_secret), timeout=10,
    )
    assert revoked.status_code == 200
    clock.now += 3600  # the access token has expired: the gateway must refresh
    with pytest.raises(Exception) as caught:
        async with Client(calculator.mcp_url, auth=login.auth()) as client:
            await client.call_tool("get_me", {})
    error = login_error_in(caught.value)
    assert isinstance(error, RefreshTokenError)
    assert "refused the refresh token (invalid_grant" in str(error) and "sign the user in again" in str(error)
    assert login.tokens is None
    with pytest.raises(NotSignedInError, match="Sign in first"):
        login.access_token()


async def test_no_refresh_token_without_offline_access(okta, calculator, ada, clock):
    login = UserLogin(
        calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT, clock=clock,
        scopes=("openid", "calculator.add"),
    )
    tokens = await signed_in(login, ada)
    assert tokens.refresh_token is None
    clock.now += 3600
    with pytest.raises(RefreshTokenError, match="offline_access"):
        login.access_token()


async def test_a_public_client_signs_in_and_refreshes_with_pkce_alone(okta, calculator, ada):
    spa = ClientCredentials("0oa1calculatorspa0001", None)
    login = UserLogin(calculator.mcp_url, spa, issuer=okta.issuer, redirect_uri=REDIRECT)
    tokens = await signed_in(login, ada)
    assert claims(tokens.access_token)["cid"] == spa.client_id
    assert login.refresh().refresh_token != tokens.refresh_token


async def test_sign_out_revokes_the_refresh_token(login, okta, ada):
    tokens = await signed_in(login, ada)
    assert login.sign_out() is True
    assert login.tokens is None
    assert refresh_directly(okta, tokens.refresh_token).json()["error"] == "invalid_grant"


# -- resource parameter, transport, odds and ends ---------------------------------------------


async def test_resource_parameter_is_sent_only_when_configured(okta, calculator, ada):
    """RFC 8707: off by default (what works with Okta); on, the verified MCP server URL is sent."""
    default = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT)
    assert default.resource is None and "resource" not in parse_qs(urlsplit(begin(default, listen=False).url).query)

    sending = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT, send_resource=True)
    pending = begin(sending, listen=False)
    assert parse_qs(urlsplit(pending.url).query)["resource"] == [calculator.mcp_url]
    # An authorization server that rejects a resource other than its audience (Okta may): invalid_target.
    sign_in_with_password(pending, ada.login, ada.password)
    with pytest.raises(AuthorizationError, match="error=invalid_target") as caught:
        await pending.wait()
    assert caught.value.error == "invalid_target"

    okta.set_resource_parameter_check(False)  # one that ignores it: sign-in, exchange and refresh work
    try:
        pending = begin(sending, listen=False)
        sign_in_with_password(pending, ada.login, ada.password)
        assert (await pending.wait()).access_token
        assert sending.refresh().access_token
    finally:
        okta.set_resource_parameter_check(True)


def test_plain_http_only_for_a_loopback_redirect_uri(okta, calculator):
    with pytest.raises(InsecureURLError, match="only for 127.0.0.1 and localhost"):
        UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri="http://gateway.example.com/callback")
    assert redirect_for_oauthlib(REDIRECT + "?code=c&state=s", REDIRECT).startswith("https://127.0.0.1:")
    with pytest.raises(LoginError, match="not a redirect to this gateway's redirect URI"):
        redirect_for_oauthlib("http://127.0.0.1:1/elsewhere?code=c&state=s", REDIRECT)
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # nothing process-wide, ever


def test_not_signed_in(login):
    with pytest.raises(NotSignedInError, match="Sign in first"):
        login.access_token()
    with pytest.raises(NotSignedInError):
        login.refresh()


def test_refresh_margin_is_at_most_half_the_lifetime():
    hour = UserTokens("a", "r", None, (), obtained_at=0, expires_at=3600)
    assert not hour.is_due(3569, margin=30) and hour.is_due(3570, margin=30)
    short = UserTokens("a", "r", None, (), obtained_at=0, expires_at=2)
    assert not short.is_due(0.9, margin=30) and short.is_due(1.0, margin=30)


def test_tokens_never_show_in_repr():
    tokens = UserTokens("eyJhbGciOi" + "a" * 500, "refresh-secret-value", "eyJid" + "b" * 300, ("openid",), 0, 3600)
    text = repr(tokens)
    assert "refresh-secret-value" not in text and "a" * 50 not in text and "b" * 50 not in text
    assert "eyJhbGc...<510 chars>" in text
