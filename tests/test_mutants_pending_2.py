"""What mutation testing found unchecked in a sign-in in progress (helpers.user_login.pending).

Each test pins down something a user sees that no other test held in place (mutmut survivors):
how a sign-in ends (timeouts, cancelling, completing from another thread), what it shows, and
what the browser is told. A sign-in is begun with a stand-in for the gateway (what
:class:`PendingSignIn` reads of it), whose token endpoint is test_mutants_pending.py's HTTPS
endpoint on 127.0.0.1; sign-ins that need no listener use ``listen=False``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from test_mutants_pending import TOKENS, WEB, TokenEndpoint
from helpers.user_login import ConsentDeniedError, LoginError, SignInTimeoutError
from helpers.user_login.pending import PendingSignIn

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:49999/callback"  # never listened on: these sign-ins use listen=False


@pytest.fixture(scope="module")
def endpoint():
    endpoint = TokenEndpoint(name="test-mutants-pending-2-token")
    yield endpoint
    endpoint.server.stop()


@pytest.fixture(autouse=True)
def fresh(endpoint):
    endpoint.requests.clear()
    endpoint.answers.clear()
    endpoint.answer(200, **TOKENS)


@pytest.fixture
def login(endpoint):
    """What a PendingSignIn reads of the UserLogin that begins it."""
    return SimpleNamespace(
        client=WEB, issuer="https://127.0.0.1:1/oauth2/default", discovered=SimpleNamespace(metadata={}),
        redirect_uri=REDIRECT, resource=None, authorization_endpoint="https://127.0.0.1:1/oauth2/default/v1/authorize",
        token_endpoint=endpoint.url, http_timeout=5, stats={"sign-ins": 0}, store_tokens=lambda token: token,
    )


def begin(login, **options) -> PendingSignIn:
    options = {"scopes": ("openid",), "listen": False, "timeout": 30, "listener_name": "test-mutants-pending-2",
               **options}
    return PendingSignIn(login, **options)


def redirect_for(pending: PendingSignIn, **query) -> str:
    """The redirect the authorization server sends back for ``pending`` (its own ``state``)."""
    state = parse_qs(urlsplit(pending.url).query)["state"][0]
    return f"{pending.redirect_uri}?" + "&".join(f"{k}={v}" for k, v in {"code": "the-code", "state": state, **query}.items())


def complete_later(pending: PendingSignIn, delay: float) -> threading.Thread:
    thread = threading.Timer(delay, pending.complete, [redirect_for(pending)])
    thread.start()
    return thread


# -- what a sign-in shows ----------------------------------------------------------------------


def test_repr_says_whether_the_sign_in_is_waiting_or_done_and_where_it_returns(login):
    pending = begin(login)
    assert repr(pending) == f"<PendingSignIn waiting redirect_uri={REDIRECT}>"
    pending.cancel()
    assert repr(pending) == f"<PendingSignIn done redirect_uri={REDIRECT}>"


# -- how a sign-in ends -------------------------------------------------------------------------


def test_cancel_without_a_reason_says_it_was_cancelled_and_how_to_start_again(login):
    pending = begin(login)
    pending.cancel()
    with pytest.raises(SignInTimeoutError, match=r"The sign-in ended: it was cancelled\. .*login\.begin\(\)"):
        pending.wait_blocking()
    assert pending._state is None and pending._code_verifier is None


def test_wait_blocking_less_than_the_sign_in_timeout_cancels_it_then(login):
    pending = begin(login, timeout=5)
    started = time.monotonic()
    with pytest.raises(SignInTimeoutError, match=r"The sign-in ended: no redirect arrived within 0\.2 s\."):
        pending.wait_blocking(timeout=0.2)
    assert time.monotonic() - started < 2 and pending.done


def test_wait_blocking_returns_the_tokens_of_a_sign_in_completed_meanwhile(login, endpoint):
    pending = begin(login, timeout=5)
    complete_later(pending, 0.1)
    assert pending.wait_blocking()["access_token"] == TOKENS["access_token"]
    assert [sent["form"]["code"] for sent in endpoint.requests] == ["the-code"]


async def test_wait_returns_the_tokens_of_a_sign_in_completed_while_waiting(login):
    for timeout in (None, 3):
        pending = begin(login, timeout=5)
        complete_later(pending, 0.1)
        assert (await pending.wait(timeout=timeout))["access_token"] == TOKENS["access_token"]
    assert login.stats["sign-ins"] == 2


# -- what the redirect brings back ---------------------------------------------------------------


def test_a_refusal_in_the_redirect_says_why_and_what_to_fix(login, endpoint):
    pending = begin(login)
    denied = redirect_for(pending, error="access_denied",
                          error_description="User+is+not+assigned+to+the+client+application.")
    with pytest.raises(ConsentDeniedError) as caught:
        pending.complete(denied.replace("code=the-code&", ""))
    assert "(access_denied: User is not assigned to the client application.)" in str(caught.value)
    assert "Assign the user to the web app" in str(caught.value) and caught.value.description.startswith("User is")
    assert endpoint.requests == [] and pending.done


# -- the listener: when it stops -----------------------------------------------------------------


@pytest.fixture
def listening(login):
    """A sign-in with a listener on a free port (the redirect URI's port 0)."""
    login.redirect_uri = "http://127.0.0.1:0/callback"
    pending = begin(login, listen=True, timeout=10)
    yield pending
    pending.cancel()


def stopped_within(pending: PendingSignIn, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while pending.is_listening and time.monotonic() < deadline:
        time.sleep(0.01)
    return not pending.is_listening


def browse(browser: requests.Session, url: str) -> tuple[int, str]:
    """GET ``url``; the response is not kept (a kept response would hold its connection past the session)."""
    response = browser.get(url, timeout=5)
    return response.status_code, response.text


def test_after_the_redirect_the_listener_waits_for_the_browser_to_close_its_connection(listening):
    """The page must reach the browser, and the browser should close first (so that the port, needed
    by the next sign-in, is not held in TIME_WAIT): the listener stops once it has, within 2 s."""
    with requests.Session() as browser:  # keeps its connection open after the page, as browsers do
        status, page = browse(browser, redirect_for(listening))
        assert status == 200 and "Signed in" in page
        time.sleep(0.3)
        assert listening.is_listening
    assert stopped_within(listening, 1.2)
    assert listening.wait_blocking()["access_token"] == TOKENS["access_token"]


def test_a_browser_that_keeps_its_connection_open_holds_the_listener_for_2_s_at_most(listening):
    with requests.Session() as browser:
        assert browse(browser, redirect_for(listening))[0] == 200
        redirected = time.monotonic()
        assert stopped_within(listening, 4)
        assert 1.8 < time.monotonic() - redirected < 2.7


def test_sign_ins_under_different_names_listen_at_once(listening, login):
    other = begin(login, listen=True, timeout=10, listener_name="test-mutants-pending-2-other")
    try:
        assert listening.is_listening and other.is_listening
    finally:
        other.cancel()


def test_a_pasted_redirect_stops_the_listener_before_complete_returns(listening):
    assert listening.complete(f"  {redirect_for(listening)}\n")["access_token"] == TOKENS["access_token"]
    assert not listening.is_listening and listening.done


def test_a_new_sign_in_under_the_same_name_ends_the_waiting_one_and_says_so(listening, login):
    second = begin(login, listen=True, timeout=10)
    try:
        with pytest.raises(SignInTimeoutError, match=r"The sign-in ended: a new sign-in was started\. The listener"):
            listening.wait_blocking(timeout=1)
        assert second.is_listening and second.redirect_uri != "http://127.0.0.1:0/callback"
    finally:
        second.cancel()


def test_a_sign_in_does_not_keep_the_program_running():
    """Its timer and the thread that stops its listener are daemons: a script that ends right after
    beginning one sign-in and answering another (its browser still connected) does not wait for
    the sign-in's timeout or the listener's 2 s of grace."""
    script = (
        "from types import SimpleNamespace as N\n"
        "from urllib.parse import parse_qs, urlsplit\n"
        "import requests\n"
        "from helpers.settings import ClientCredentials\n"
        "from helpers.user_login.pending import PendingSignIn\n"
        "login = N(client=ClientCredentials('c', None), issuer='https://127.0.0.1:1', discovered=N(metadata={}),"
        " redirect_uri='http://127.0.0.1:0/callback', resource=None,"
        " authorization_endpoint='https://127.0.0.1:1/authorize')\n"
        "waiting = N(**{**vars(login), 'redirect_uri': 'http://127.0.0.1:49999/callback'})\n"
        "PendingSignIn(waiting, scopes=('openid',), listen=False, timeout=60, listener_name='waiting')\n"
        "answered = PendingSignIn(login, scopes=('openid',), listen=True, timeout=60, listener_name='answered')\n"
        "state = parse_qs(urlsplit(answered.url).query)['state'][0]\n"
        "browser = requests.Session()\n"
        "assert browser.get(f'{answered.redirect_uri}?error=access_denied&state={state}', timeout=5).status_code == 400\n"
        "print('answered', flush=True)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline() == "answered\n"
        answered = time.monotonic()
        assert child.wait(timeout=30) == 0
    assert time.monotonic() - answered < 1.5


# --- a redirect in time whose code exchange is still running at the deadline (found by this review) ---

def state_of(pending: PendingSignIn) -> str:
    return parse_qs(urlsplit(pending.url).query)["state"][0]


@pytest.mark.parametrize("how", ["blocking", "async"])
async def test_a_redirect_in_time_whose_exchange_runs_past_the_deadline_still_signs_in(endpoint, login, how):
    """Before the fix both waits raised a bare AssertionError, and the tokens were stored anyway."""
    endpoint.answer(200, delay=0.8, **TOKENS)
    pending = begin(login, timeout=0.4)
    threading.Timer(0.1, pending.complete, [f"{REDIRECT}?code=the-code&state={state_of(pending)}"]).start()
    tokens = pending.wait_blocking() if how == "blocking" else await pending.wait()
    assert tokens["access_token"] == TOKENS["access_token"]
    assert login.stats["sign-ins"] == 1


@pytest.mark.parametrize("how", ["blocking", "async"])
async def test_an_exchange_that_outlives_its_own_time_is_a_clear_login_error(endpoint, login, how, monkeypatch):
    endpoint.answer(200, delay=1.0, **TOKENS)
    pending = begin(login, timeout=0.2)
    monkeypatch.setattr(pending, "_exchange_time", lambda: 0.2)
    threading.Timer(0.05, pending.complete, [f"{REDIRECT}?code=the-code&state={state_of(pending)}"]).start()
    with pytest.raises(LoginError) as raised:
        pending.wait_blocking() if how == "blocking" else await pending.wait()
    message = str(raised.value)
    assert "code exchange at " + endpoint.url in message and "did not finish within 0.2 s" in message
    assert "sign in again" in message
    time.sleep(1.0)  # let the exchange finish before the endpoint's next test


def test_a_running_exchange_gets_two_requests_and_a_near_rate_limit_reset_to_finish(login):
    """Past the deadline the wait goes on for as long as the exchange itself may take: two HTTP
    timeouts (a request and its one retry after a 429) and the longest wait for X-Rate-Limit-Reset."""
    from helpers.rate_limits import MARGIN, MAX_WAIT

    login.http_timeout = 4
    assert begin(login)._exchange_time() == 8 + MAX_WAIT + MARGIN
