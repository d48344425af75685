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

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.local_okta.tenant import App
from helpers.okta_checks.diagnosis import token_error

REDIRECT = "http://127.0.0.1:8765/callback"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


SPA = "0oa1calculatorspa0003"


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(  # a public client: no secret, PKCE only
        label="spa", name="Calculator SPA", client_id=SPA, grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,), token_endpoint_auth_method="none", assigned_users=("ada@example.com",)))
    tenant.server("default").policies[0].assigned_to += ("spa",)
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-review3")
    yield local
    local.stop()


def m2m_auth(okta):
    client = okta.clients["write_service"]
    return client.client_id, client.client_secret


def signed_in_code(okta, scope="openid email offline_access calculator.add", client="web", session=None):
    """A user's authorization code from the sign-in page, and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = okta.authorization_endpoint + "?" + urlencode({
        "client_id": okta.clients[client].client_id, "response_type": "code", "scope": scope, "redirect_uri": REDIRECT,
        "state": "st-1", "code_challenge": digest, "code_challenge_method": "S256"})
    user = okta.users[0]
    return parse_qs(urlsplit(sign_in(url, user.login, user.password, session=session)).query)["code"][0], verifier


def user_tokens(okta, scope="openid email offline_access calculator.add"):
    """A user's tokens through the sign-in page and a code exchange."""
    code, verifier = signed_in_code(okta, scope)
    web = okta.clients["web"]
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


# -- #11: the remaining differences ---------------------------------------------------------------

@pytest.mark.parametrize("case", ["no token", "invalid token", "token without openid"])
def test_userinfo_errors_are_a_challenge_with_an_empty_body(okta, case):
    # [OIDC ref] /userinfo "Response example (error)": 401 / 403 with WWW-Authenticate only;
    # a live capture in panva/openid-client#102 shows Content-Length: 0
    headers = {}
    if case == "invalid token":
        headers["Authorization"] = "Bearer " + user_tokens(okta)["access_token"][:-4] + "AAAA"
    elif case == "token without openid":
        headers["Authorization"] = "Bearer " + user_tokens(okta, scope="email calculator.add")["access_token"]
    answer = requests.get(okta.endpoint("userinfo"), headers=headers, timeout=10)
    expected = {"no token": (401, "invalid_request"), "invalid token": (401, "invalid_token"),
                "token without openid": (403, "insufficient_scope")}[case]
    assert answer.status_code == expected[0]
    assert f'error="{expected[1]}"' in answer.headers["WWW-Authenticate"]
    assert answer.content == b""


def test_the_policy_is_not_evaluated_again_at_the_code_exchange(okta):
    # [OIDC ref] "Subtle behavior": "when a token is requested using the authorization_code grant
    # type, the policy isn't evaluated again, and a change in the policy after the user or client is
    # initially authenticated won't affect the continued flow."
    code, verifier = signed_in_code(okta)
    rules = [rule for policy in okta.tenant.server("default").policies if "web" in policy.assigned_to
             for rule in policy.rules]
    kept = [(rule, rule.grant_types) for rule in rules]
    try:
        for rule in rules:  # the admin removes Authorization Code from the rule meanwhile
            rule.grant_types = tuple(grant for grant in rule.grant_types if grant != "authorization_code")
        web = okta.clients["web"]
        answer = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    finally:
        for rule, grants in kept:
            rule.grant_types = grants
    assert answer.status_code == 200, answer.text


def test_a_public_client_introspects_with_its_client_id_in_the_query(okta):
    # [OIDC ref] /introspect: "For public clients ... you must include the client_id as a query
    # parameter when calling the /introspect endpoint."
    token = user_tokens(okta)["access_token"]
    answer = requests.post(okta.introspection_endpoint, params={"client_id": SPA}, data={"token": token}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is True


def test_an_id_token_introspects_as_active_with_its_claims(okta):
    # [OIDC ref] /introspect: "This endpoint takes an access token, ID token, refresh token, or device
    # secret"; token_type_hint may be id_token; the answer holds the token's claims besides "active"
    import jwt

    id_token = user_tokens(okta)["id_token"]
    claims = jwt.decode(id_token, options={"verify_signature": False})
    web = okta.clients["web"]
    answer = requests.post(okta.introspection_endpoint, auth=(web.client_id, web.client_secret), timeout=10,
                           data={"token": id_token, "token_type_hint": "id_token"}).json()
    assert answer["active"] is True
    assert {k: answer[k] for k in ("iss", "aud", "sub", "exp", "iat", "jti")} == {
        k: claims[k] for k in ("iss", "aud", "sub", "exp", "iat", "jti")}
    assert answer["client_id"] == web.client_id and answer["token_type"] == "Bearer"
    assert answer["username"] == okta.users[0].login


@pytest.mark.parametrize("mode", ["query", "fragment"])
def test_redirects_to_the_client_carry_referrer_policy_no_referrer(okta, mode):
    # [OIDC ref] response_mode: "The Referrer-Policy header is automatically included in the response
    # when either the fragment or query parameter values are used ... Referrer-Policy: no-referrer."
    web = okta.clients["web"]
    denied = requests.get(okta.authorization_endpoint, allow_redirects=False, timeout=10, params={
        "client_id": web.client_id, "response_type": "code", "scope": "openid not.a.scope", "redirect_uri": REDIRECT,
        "state": "st-1", "response_mode": mode, "code_challenge": "x" * 43, "code_challenge_method": "S256"})
    assert denied.is_redirect and denied.headers.get("Referrer-Policy") == "no-referrer"
    seen = []
    with requests.Session() as browser:  # the sign-in's own redirect back, with the code
        browser.hooks["response"].append(lambda answer, **_: seen.append(answer.headers.get("Referrer-Policy"))
                                         if answer.headers.get("Location", "").startswith(REDIRECT) else None)
        signed_in_code(okta, session=browser)
    assert seen == ["no-referrer"]


def test_metadata_does_not_advertise_request_objects_it_ignores(okta):
    # [OIDC ref] metadata: request_parameter_supported "Indicates if request parameters are supported";
    # the local server ignores request= (not emulated), so it must not say it reads it
    for path in ("oauth-authorization-server", "openid-configuration"):
        metadata = requests.get(f"{okta.issuer}/.well-known/{path}", timeout=10).json()
        assert metadata.get("request_parameter_supported", False) is False
        assert "request_object_signing_alg_values_supported" not in metadata


def test_a_refresh_token_unused_for_seven_days_expires(okta, monkeypatch):
    # guides/refresh-tokens/main/index.md: "The refresh token lifetime does expire every seven days
    # if it hasn't been used." (the rule's refreshTokenWindowMinutes, default 10080)
    import time as real_time

    from helpers.local_okta import lifecycle

    web = okta.clients["web"]
    fresh, stale = user_tokens(okta)["refresh_token"], user_tokens(okta)["refresh_token"]

    def refresh(token):
        return requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": token})

    start = real_time.time()
    monkeypatch.setattr(lifecycle, "clock", lambda: start + 6 * 86400, raising=False)
    used = refresh(fresh)  # used after six days: good for seven more
    assert used.status_code == 200, used.text
    monkeypatch.setattr(lifecycle, "clock", lambda: start + 7 * 86400 + 60, raising=False)
    assert refresh(stale).json() == {"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
    assert refresh(used.json()["refresh_token"]).status_code == 200


def test_a_malformed_client_assertion_gets_oktas_parsing_error(okta):
    # catalogue client_assertion_invalid_jwt: 401 invalid_client "The parsing of the client_assertion failed."
    answer = requests.post(okta.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "scope": "calculator.add", "client_id": okta.clients["write_service"].client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": "not-a-jwt"})
    assert (answer.status_code, answer.json()) == (401, {
        "error": "invalid_client", "error_description": "The parsing of the client_assertion failed."})
