"""The gateway checks RFC 9207's ``iss`` in the authorization response (MCP specification 2026-07-28).

Each refusal below is a real sign-in at the local Okta whose redirect is then changed the way a
mix-up attacker's would be; without the check in ``helpers/user_login/issuer_check.py`` the real
code would be exchanged and every ``refused`` test would fail. A refusal never reaches the token
endpoint, never names the code, and never shows the redirect's ``error_description``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.user_login import IssuerMixUpError, LoginError, UserLogin
from helpers.user_login.issuer_check import check_response_issuer, iss_advertised
from helpers.verification import Protection

REDIRECT = "http://127.0.0.1:8765/callback"  # registered on the web app; no listener binds it here


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-iss-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-iss-calculator")
    yield server
    server.stop()


@pytest.fixture
def iss_on(okta):
    okta.set_authorization_response_iss(True)
    yield okta
    okta.set_authorization_response_iss(False)


def gateway(okta, calculator) -> UserLogin:
    return UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT)


def redirect_of(okta, pending) -> str:
    ada = okta.users[0]
    return sign_in(pending.url, ada.login, ada.password)


def with_iss(url: str, *values: str | None, **extra: str) -> str:
    """``url`` with its ``iss`` replaced by ``values`` (none: removed) and ``extra`` set."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "iss" and k not in extra]
    query += [("iss", v) for v in values if v is not None] + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def refused(okta, pending, redirect: str) -> str:
    """Complete with ``redirect``; assert the mix-up refusal and that no token was asked for."""
    okta.request_counts.clear()
    with pytest.raises(IssuerMixUpError) as caught:
        pending.complete(redirect)
    assert okta.request_counts["token"] == 0
    code = dict(parse_qsl(urlsplit(redirect).query)).get("code", "no-code-in-this-redirect")
    assert code not in str(caught.value)
    return str(caught.value)


def test_without_the_switch_nothing_is_advertised_and_the_sign_in_works(okta, calculator):
    login = gateway(okta, calculator)
    assert not iss_advertised(login.discovered.metadata)
    pending = login.begin(listen=False)
    redirect = redirect_of(okta, pending)
    assert "iss" not in dict(parse_qsl(urlsplit(redirect).query))
    assert pending.complete(redirect).access_token


def test_the_exact_issuer_signs_in(iss_on, calculator):
    login = gateway(iss_on, calculator)
    assert iss_advertised(login.discovered.metadata)
    pending = login.begin(listen=False)
    tokens = pending.complete(redirect_of(iss_on, pending))
    assert tokens.access_token and login.signed_in


@pytest.mark.parametrize("variant", [
    "{issuer}/",                                              # trailing slash
    "{upper}",                                                # scheme and host in capitals
    "{issuer_pct}",                                           # percent-encoded path character
    "https://evil.example.com/oauth2/default",                # another server altogether
    "",                                                       # empty
])
def test_any_other_spelling_of_the_issuer_is_refused(iss_on, calculator, variant):
    issuer = iss_on.issuer
    value = variant.format(issuer=issuer, upper=issuer.replace("https://", "HTTPS://"),
                           issuer_pct=issuer.replace("/default", "/%64efault"))
    login = gateway(iss_on, calculator)
    pending = login.begin(listen=False)
    message = refused(iss_on, pending, with_iss(redirect_of(iss_on, pending), value))
    assert "mix-up" in message and issuer in message
    assert not login.signed_in


def test_a_missing_iss_is_refused_when_advertised(iss_on, calculator):
    pending = gateway(iss_on, calculator).begin(listen=False)
    message = refused(iss_on, pending, with_iss(redirect_of(iss_on, pending)))
    assert "advertises the iss parameter" in message


def test_two_iss_values_are_refused(iss_on, calculator):
    pending = gateway(iss_on, calculator).begin(listen=False)
    refused(iss_on, pending, with_iss(redirect_of(iss_on, pending), iss_on.issuer, "https://evil.example.com"))


def test_without_the_switch_a_present_iss_is_still_compared(okta, calculator):
    login = gateway(okta, calculator)
    pending = login.begin(listen=False)
    refused(okta, pending, with_iss(redirect_of(okta, pending), okta.issuer + "/"))
    pending = login.begin(listen=False)  # and the right one is accepted
    assert pending.complete(with_iss(redirect_of(okta, pending), okta.issuer)).access_token


def test_an_error_with_a_wrong_iss_is_neither_acted_on_nor_shown(iss_on, calculator):
    pending = gateway(iss_on, calculator).begin(listen=False)
    state = dict(parse_qsl(urlsplit(pending.url).query))["state"]
    forged = f"{pending.redirect_uri}?" + urlencode({
        "state": state, "error": "access_denied", "error_description": "Call +1-555 now to unlock your account",
        "iss": "https://evil.example.com"})
    message = refused(iss_on, pending, forged)
    assert "555" not in message and "access_denied" not in message


def test_a_mix_up_ends_the_sign_in(iss_on, calculator):
    pending = gateway(iss_on, calculator).begin(listen=False)
    redirect = redirect_of(iss_on, pending)
    refused(iss_on, pending, with_iss(redirect, iss_on.issuer + "/"))
    with pytest.raises(LoginError, match="already over"):
        pending.complete(redirect)  # the right iss no longer helps: state and verifier are spent


def test_the_callback_page_says_so_without_the_code(iss_on, calculator):
    login = UserLogin(calculator.mcp_url, iss_on.clients["web"], issuer=iss_on.issuer)  # any free port
    pending = login.begin(timeout=20, listener_name="test-iss-callback")
    redirect = with_iss(redirect_of(iss_on, pending), "https://evil.example.com")
    page = requests.get(redirect, timeout=10, allow_redirects=False)
    assert page.status_code == 400 and "mix-up" in page.text
    assert dict(parse_qsl(urlsplit(redirect).query))["code"] not in page.text
    with pytest.raises(IssuerMixUpError):
        pending.wait_blocking()


@pytest.mark.parametrize("query, advertised, ok", [
    ("iss=https%3A%2F%2Fid.example.com", True, True),
    ("iss=https%3A%2F%2Fid.example.com", False, True),
    ("", False, True),
    ("", True, False),
    ("iss=https%3A%2F%2Fid.example.com%2F", True, False),
    ("iss=https%3A%2F%2Fid.example.com%3A443", False, False),   # default port written out
    ("iss=https%3A%2F%2FID.example.com", False, False),
])
def test_the_rule_table_of_the_specification(query, advertised, ok):
    url = f"http://127.0.0.1:8765/callback?code=c0de&state=s&{query}"
    if ok:
        check_response_issuer(url, expected_issuer="https://id.example.com", advertised=advertised)
    else:
        with pytest.raises(IssuerMixUpError):
            check_response_issuer(url, expected_issuer="https://id.example.com", advertised=advertised)
