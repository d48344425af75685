"""RFC 9207's ``iss`` check and the automatic test sign-in: details mutation testing found unchecked.

``check_response_issuer`` is called directly (the rule table and real sign-ins are in
tests/test_user_login_iss.py): a blank ``iss`` is a wrong one, not a missing one; the message
quotes a wrong issuer exactly, or its first 120 characters, and counts several. For
``sign_in_with_password`` the sign-in page and the browser's request are stand-ins that record
what they were asked: the timeouts, that the redirect is not followed further, what the
sign-in ends with when the page fails.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from helpers.local_okta.signin import SignInError
from helpers.user_login import ConsentDeniedError, LoginError, SignInTimeoutError, sign_in_with_password
from helpers.user_login.issuer_check import IssuerMixUpError, check_response_issuer, iss_advertised
from test_mutants_gateway import gateway

ISSUER = "https://id.example.com"
CALLBACK = "http://127.0.0.1:8765/callback?code=c0de&state=s&"


def refusal(query: str, *, advertised: bool = False) -> str:
    with pytest.raises(IssuerMixUpError) as caught:
        check_response_issuer(CALLBACK + query, expected_issuer=ISSUER, advertised=advertised)
    return str(caught.value)


# -- RFC 9207 ----------------------------------------------------------------------------------------


def test_only_a_literal_true_advertises_iss():
    assert iss_advertised({"authorization_response_iss_parameter_supported": True})
    for value in (False, "true", 1, None):
        assert not iss_advertised({"authorization_response_iss_parameter_supported": value})
    assert not iss_advertised({})


def test_a_blank_iss_is_a_wrong_issuer_even_when_none_is_advertised():
    message = refusal("iss=")
    assert "comes from the issuer ''" in message and repr(ISSUER) in message and "mix-up" in message


def test_a_wrong_issuer_is_quoted_exactly_and_the_code_never():
    message = refusal(urlencode({"iss": "https://evil.example"}))
    assert "the issuer 'https://evil.example', but this sign-in was sent to 'https://id.example.com'" in message
    assert "c0de" not in message and "Start a new sign-in" in message


def test_a_long_wrong_issuer_is_cut_at_120_characters():
    exactly = "https://evil.example/" + "a" * 99  # 120 characters: quoted whole
    assert f"issuer {exactly!r}," in refusal(urlencode({"iss": exactly}))
    longer = exactly + "b" * 200
    message = refusal(urlencode({"iss": longer}))
    assert f"issuer {exactly + '...'!r}," in message and "b" not in message.split("but this sign-in")[0]


def test_two_iss_values_are_counted_not_quoted():
    message = refusal(urlencode([("iss", ISSUER), ("iss", "https://evil.example")]), advertised=True)
    assert "the issuer '2 iss values'" in message and "evil" not in message


def test_the_exact_issuer_passes_whether_advertised_or_not():
    for advertised in (True, False):
        check_response_issuer(CALLBACK + urlencode({"iss": ISSUER}), expected_issuer=ISSUER, advertised=advertised)


# -- sign_in_with_password ---------------------------------------------------------------------------


class SignInPage:
    """Stands in for the local sign-in page (``local_okta.signin.sign_in``): records each call;
    answers with a redirect to the sign-in's redirect URI, or fails like a wrong password."""

    def __init__(self, pending=None, *, fails: str | None = None, **redirect: str) -> None:
        self.pending, self.fails, self.redirect, self.calls = pending, fails, redirect, []

    def __call__(self, url, username, password, **options):
        self.calls.append((url, username, password, options))
        if self.fails:
            raise SignInError(self.fails)
        state = parse_qs(urlsplit(url).query)["state"][0]
        return self.pending.redirect_uri + "?" + urlencode({**self.redirect, "state": state})


@pytest.fixture
def browser(monkeypatch):
    """The browser's request to the callback listener: recorded, not sent."""
    sent = []
    monkeypatch.setattr("helpers.user_login.automatic.requests.get", lambda url, **options: sent.append((url, options)))
    return sent


def test_the_browser_delivers_the_redirect_to_the_listener_without_following_it_further(monkeypatch, browser):
    login = gateway(tokens=False)
    pending = login.begin(timeout=10, listener_name="test-mutants-gateway-callback")
    try:
        page = SignInPage(pending, code="c0de")
        monkeypatch.setattr("helpers.user_login.automatic.sign_in", page)
        redirect = sign_in_with_password(pending, "ada@example.com", "secret")
        assert page.calls == [(pending.url, "ada@example.com", "secret", {"allow": True, "timeout": 10.0})]
        assert browser == [(redirect, {"timeout": 10.0, "allow_redirects": False})]
        assert redirect.startswith(pending.redirect_uri + "?") and "code=c0de" in redirect
    finally:
        pending.cancel()


def test_the_timeout_and_the_choice_reach_the_page_and_the_browser(monkeypatch, browser):
    login = gateway(tokens=False)
    pending = login.begin(timeout=10, listener_name="test-mutants-gateway-callback")
    try:
        page = SignInPage(pending, error="access_denied")
        monkeypatch.setattr("helpers.user_login.automatic.sign_in", page)
        sign_in_with_password(pending, "ada@example.com", "secret", allow=False, timeout=3.0)
        assert page.calls[0][3] == {"allow": False, "timeout": 3.0}
        assert [options for _, options in browser] == [{"timeout": 3.0, "allow_redirects": False}]
    finally:
        pending.cancel()


def test_a_failed_sign_in_page_ends_the_sign_in_and_says_what_the_page_said(monkeypatch):
    login = gateway(tokens=False)
    pending = login.begin(timeout=10, listener_name="test-mutants-gateway-callback")
    monkeypatch.setattr("helpers.user_login.automatic.sign_in", SignInPage(fails="Unable to sign in."))
    with pytest.raises(LoginError, match="Signing in on the sign-in page failed: Unable to sign in."):
        sign_in_with_password(pending, "ada@example.com", "not-the-password")
    with pytest.raises(SignInTimeoutError, match="The sign-in ended: the sign-in page did not redirect back."):
        pending.wait_blocking()


def test_without_a_listener_the_redirect_is_completed_and_its_outcome_left_to_wait(monkeypatch, browser):
    login = gateway(tokens=False, redirect_uri="http://127.0.0.1:8765/callback")
    pending = login.begin(listen=False, timeout=10)
    monkeypatch.setattr("helpers.user_login.automatic.sign_in", SignInPage(
        pending, error="access_denied", error_description="The user denied access."))
    sign_in_with_password(pending, "ada@example.com", "secret", allow=False)  # the refusal is not raised here
    with pytest.raises(ConsentDeniedError, match="did not allow access"):
        pending.wait_blocking()
    assert browser == []  # nothing listens: no request
