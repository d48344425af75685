"""RFC 9207 ``iss`` in the local server's authorization responses (issue 23, the 2026-07-28 client rules).

Sources: RFC 9207 sections 2 and 3 (``iss`` on every authorization response, successes and errors;
``authorization_response_iss_parameter_supported`` in the metadata) and the MCP specification
2026-07-28, "Authorization Response Validation" (MCP authorization servers SHOULD send it).

**Inferred:** no Okta document found says whether Okta sends ``iss`` or advertises it (the
okta/okta-developer-docs repository mentions neither RFC 9207 nor
``authorization_response_iss_parameter_supported``). So the default stays silent (first test), and
the switch ``LocalOkta.set_authorization_response_iss(True)`` adds both, the way RFC 9207 says.
The error texts asserted are the catalogue's (``oauth2-error-codes.json``): ``invalid_state``
("The authentication request has an invalid 'state' parameter.") and ``user_not_assigned``
("User is not assigned to the client application.").
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from helpers.local_okta import start_local_okta
from helpers.local_okta.signin import sign_in

REDIRECT = "http://127.0.0.1:8765/callback"
FIELD = "authorization_response_iss_parameter_supported"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-fidelity-iss-okta")
    yield server
    server.stop()


@pytest.fixture
def iss_on(okta):
    okta.set_authorization_response_iss(True)
    yield okta
    okta.set_authorization_response_iss(False)


def authorize_url(okta, **extra) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"client_id": okta.clients["web"].client_id, "response_type": "code", "redirect_uri": REDIRECT,
              "scope": "openid calculator.add", "state": "st-1", "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return okta.authorization_endpoint + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def query_values(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_by_default_no_iss_and_no_promise_of_one(okta):  # inferred: Okta's documents are silent
    for form in ("oauth-authorization-server", "openid-configuration"):
        assert FIELD not in requests.get(f"{okta.issuer}/.well-known/{form}", timeout=10).json()
    ada = okta.users[0]
    location = sign_in(authorize_url(okta), ada.login, ada.password)
    assert "code" in query_values(location) and "iss" not in query_values(location)


def test_switched_on_the_metadata_advertises_it(iss_on):
    for form in ("oauth-authorization-server", "openid-configuration"):
        assert requests.get(f"{iss_on.issuer}/.well-known/{form}", timeout=10).json()[FIELD] is True


def test_switched_on_a_code_comes_back_with_the_exact_issuer_once(iss_on):
    ada = iss_on.users[0]
    params = query_values(sign_in(authorize_url(iss_on), ada.login, ada.password))
    assert params["iss"] == [iss_on.issuer] and params["state"] == ["st-1"] and len(params["code"]) == 1


def test_switched_on_an_error_comes_back_with_iss_too(iss_on):  # RFC 9207 section 2: errors too
    answer = requests.get(authorize_url(iss_on, state=None), allow_redirects=False, timeout=10)
    params = query_values(answer.headers["Location"])  # catalogue invalid_state
    assert (params["error"], params["error_description"], params["iss"]) == (
        ["invalid_request"], ["The authentication request has an invalid 'state' parameter."], [iss_on.issuer])


def test_switched_on_a_refused_user_comes_back_with_iss(iss_on):
    iss_on.set_scenario("user_not_assigned")
    try:
        user = iss_on.users[1]
        params = query_values(sign_in(authorize_url(iss_on), user.login, user.password))  # catalogue user_not_assigned
        assert (params["error"], params["error_description"], params["iss"]) == (
            ["access_denied"], ["User is not assigned to the client application."], [iss_on.issuer])
    finally:
        iss_on.set_scenario(None)


def test_switched_on_form_post_posts_iss_too(iss_on):
    ada, session = iss_on.users[0], requests.Session()
    page = session.get(authorize_url(iss_on, response_mode="form_post"), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    answer = session.post(iss_on.authorization_endpoint, data={
        "transaction": transaction, "step": "sign_in", "username": ada.login, "password": ada.password}, timeout=10)
    assert f'name="iss" value="{iss_on.issuer}"' in answer.text and 'name="code"' in answer.text
