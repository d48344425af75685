"""The local authorization server answers as Okta documents: the third review's rows (issue 22).

Each test names its source, as ``test_okta_fidelity_requests.py`` does: the error catalogue
(``oauth2-error-codes.json`` in okta/okta-developer-docs, release 2026.08.1, by internal code) or
a page under ``packages/@okta/vuepress-site/docs/`` of that repository; "[OIDC ref]" is
``reference/api/oidc/index.md``.
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
from helpers.okta_checks.diagnosis import token_error

REDIRECT = "http://127.0.0.1:8765/callback"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="test-okta-fidelity-review3")
    yield local
    local.stop()


def m2m_auth(okta):
    client = okta.clients["write_service"]
    return client.client_id, client.client_secret


def user_tokens(okta, scope="openid email offline_access calculator.add"):
    """A user's tokens through the sign-in page and a code exchange."""
    verifier = secrets.token_urlsafe(48)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    web = okta.clients["web"]
    url = okta.authorization_endpoint + "?" + urlencode({
        "client_id": web.client_id, "response_type": "code", "scope": scope, "redirect_uri": REDIRECT,
        "state": "st-1", "code_challenge": digest, "code_challenge_method": "S256"})
    user = okta.users[0]
    code = parse_qs(urlsplit(sign_in(url, user.login, user.password)).query)["code"][0]
    answer = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- #10: a raw space in a form body ------------------------------------------------------------
# guides/refresh-tokens/main/index.md: Okta's own cURL examples send -d 'scope=openid offline_access'
# (curl sends the space as it is); Okta reads it as a space.

def test_a_raw_space_in_the_token_request_body_is_read_as_a_space(okta):
    raw = "grant_type=client_credentials&scope=calculator.add calculator.subtract"
    answer = requests.post(okta.token_endpoint, auth=m2m_auth(okta), data=raw, headers=FORM, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "calculator.add calculator.subtract"


def test_a_raw_space_in_introspect_and_revoke_bodies_is_read_as_a_space(okta):
    token = requests.post(okta.token_endpoint, auth=m2m_auth(okta), timeout=10,
                          data={"grant_type": "client_credentials", "scope": "calculator.add"}).json()["access_token"]
    raw = f"token={token}&token_type_hint=access token"  # any raw space: here in a hint (not a known one: ignored)
    introspected = requests.post(okta.introspection_endpoint, auth=m2m_auth(okta), data=raw, headers=FORM, timeout=10)
    assert introspected.status_code == 200 and introspected.json()["active"] is True, introspected.text
    revoked = requests.post(okta.revocation_endpoint, auth=m2m_auth(okta), data=raw, headers=FORM, timeout=10)
    assert revoked.status_code == 200, revoked.text
    after = requests.post(okta.introspection_endpoint, auth=m2m_auth(okta), data={"token": token}, timeout=10)
    assert after.json() == {"active": False}


def test_checks_do_not_blame_the_issuer_when_the_grant_is_offered():
    # catalogue unsupported_grant_type: "... Configured grant types: [en]."
    offered = ("The authorization grant type is not supported by the authorization server. Configured grant "
               "types: [authorization_code, client_credentials, implicit, password, refresh_token].")
    found = token_error("unsupported_grant_type", offered, "calculator.add")
    assert "OAUTH_ISSUER" not in found.fix and "grant_type" in found.cause
    assert "--data-urlencode" in found.fix
    not_offered = token_error("unsupported_grant_type", offered.replace("client_credentials, ", ""), "calculator.add")
    assert "OAUTH_ISSUER" in not_offered.fix
