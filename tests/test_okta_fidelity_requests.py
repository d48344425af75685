"""The local authorization server answers odd requests as Okta does (issue 12, second review).

A review after the first round (``test_okta_fidelity.py``) sent requests Okta's sources say
something about and compared the answers. Each test names its source: the error catalogue
(``oauth2-error-codes.json`` in okta/okta-developer-docs, release 2026.08.1, by internal code) or
a page of Okta's developer docs (path under ``packages/@okta/vuepress-site/docs/``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.local_okta.tenant import App, Scope

REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(  # an app that requires consent
        label="consenting", name="Untrusted app", client_id="0oa1calcconsenting002",
        grant_types=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,),
        assigned_users=tuple(user.login for user in tenant.users), consent_required=True, require_pkce=True,
    ))
    server = tenant.server("default")
    server.scopes.append(Scope("calculator.audit", "Read the audit log", consent_required=True))
    server.scopes.append(Scope("calculator.report", "Send reports", consent_required=True, block_services=False))
    for policy in server.policies:
        policy.assigned_to += ("consenting",)
        for rule in policy.rules:
            if rule.scopes is not None:
                rule.scopes += ("calculator.audit", "calculator.report")
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-requests")
    yield local
    local.stop()


def challenge() -> str:
    verifier = secrets.token_urlsafe(48)
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_params(okta, client="web", **extra):
    params = {"client_id": okta.clients[client].client_id, "response_type": "code", "scope": "openid",
              "redirect_uri": REDIRECT, "state": "st-1", "code_challenge": challenge(), "code_challenge_method": "S256"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def redirect_query(response) -> dict[str, str]:
    assert response.is_redirect, (response.status_code, response.text[:200])
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def start(okta, **extra):
    return requests.get(okta.authorization_endpoint, params=authorize_params(okta, **extra), allow_redirects=False, timeout=10)


def user_tokens(okta, scope="openid email offline_access calculator.add"):
    verifier = secrets.token_urlsafe(48)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = okta.authorization_endpoint + "?" + urlencode(authorize_params(okta, scope=scope, code_challenge=digest))
    user = okta.users[0]
    code = parse_qs(urlsplit(sign_in(url, user.login, user.password)).query)["code"][0]
    web = okta.clients["web"]
    answer = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_org_servers_access_tokens_cannot_be_verified_with_its_published_keys(okta):
    # docs/concepts/key-rotation: "Okta doesn't expose the public keys used to sign the access token
    # minted by the org authorization server"; a resource server cannot validate them.
    # (the org server gives no client-credentials token for a client secret: a user signs in)
    verifier = secrets.token_urlsafe(48)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    org = okta.org_issuer + "/oauth2/v1"
    url = org + "/authorize?" + urlencode(authorize_params(okta, scope="openid okta.users.read", code_challenge=digest))
    user = okta.users[0]
    code = parse_qs(urlsplit(sign_in(url, user.login, user.password)).query)["code"][0]
    web = okta.clients["web"]
    tokens = requests.post(org + "/token", auth=(web.client_id, web.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}).json()
    published = {key["kid"] for key in requests.get(org + "/keys", timeout=10).json()["keys"]}
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] not in published
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] in published  # ID tokens still verify


def test_a_refresh_may_not_widen_the_scopes(okta):
    # catalogue refresh_scopes_denied: 400 access_denied
    tokens = user_tokens(okta)
    web = okta.clients["web"]
    answer = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "scope": "openid offline_access calculator.add calculator.subtract"})
    assert answer.status_code == 400 and answer.json() == {"error": "access_denied", "error_description": (
        "Some of the scopes requested for the refresh request were not granted in the original authorize "
        "request. Denied scopes: [calculator.subtract].")}


def test_a_scope_that_needs_consent_is_refused_to_client_credentials(okta):
    # docs/guides/request-user-consent ("Block services from requesting this scope", ticked with
    # consent, can be cleared); catalogue consent_required_client_credentials
    write = okta.clients["write_service"]

    def ask(scope):
        return requests.post(okta.token_endpoint, auth=(write.client_id, write.client_secret), timeout=10,
                             data={"grant_type": "client_credentials", "scope": scope})

    answer = ask("calculator.audit")
    assert answer.status_code == 400 and answer.json() == {"error": "consent_required", "error_description": (
        "The following scopes require user consent and cannot be granted for the client credentials grant "
        "type: [calculator.audit].")}
    assert ask("calculator.report").status_code == 200  # the checkbox cleared


def consent_page_shown(okta, **extra) -> bool:
    session, user = requests.Session(), okta.users[1]
    page = session.get(okta.authorization_endpoint, timeout=10,
                       params=authorize_params(okta, "consenting", scope="openid calculator.audit", **extra))
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    answer = session.post(okta.authorization_endpoint, allow_redirects=False, timeout=10, data={
        "transaction": transaction, "step": "sign_in", "username": user.login, "password": user.password})
    if answer.is_redirect:
        return False
    transaction = answer.text.split('name="transaction" value="')[1].split('"')[0]
    session.post(okta.authorization_endpoint, allow_redirects=False, timeout=10,
                 data={"transaction": transaction, "step": "consent", "decision": "allow"})
    return True


def test_consent_once_given_is_not_asked_again_unless_prompt_consent(okta):
    # docs/guides/request-user-consent: "the user isn't prompted for consent if they already
    # consented to the specified scopes"; prompt=consent asks again
    assert consent_page_shown(okta) is True
    assert consent_page_shown(okta) is False
    assert consent_page_shown(okta, prompt="consent") is True


def test_the_authorization_request_may_come_in_a_post_body(okta):
    # docs/release-notes/2025-okta-identity-engine: "send user data securely in a POST request body
    # to the /authorize endpoint"
    page = requests.post(okta.authorization_endpoint, data=authorize_params(okta), timeout=10)
    assert page.status_code == 200 and 'name="step" value="sign_in"' in page.text


@pytest.mark.parametrize("extra, error, description", [
    ({"response_type": "token"}, "unsupported_response_type",
     "The response type is not supported by the authorization server. Configured response types: [code]."),
    ({"prompt": "bogus"}, "invalid_request",
     "Invalid value for 'prompt' parameter. Supported values: [none, consent, login, enroll_authenticator]"),
    ({"max_age": "-1"}, "invalid_request", "Invalid value for 'max_age' parameter. It should be within range 0 - 2^31-1."),
    ({"response_mode": "bogus"}, "unsupported_response_mode", "The response mode is not supported by the authorization "
     "server. Valid response modes: [query, fragment, form_post, okta_post_message]."),
    ({"response_mode": "okta_post_message"}, "unsupported_response_mode",
     "'okta_post_message' response mode cannot be used with the 'code' response type."),
    ({"code_challenge": "!" * 43}, "invalid_request", "PKCE code challenge contains illegal characters."),
], ids=["response_type", "prompt", "max_age", "response_mode", "okta_post_message", "code_challenge"])
def test_authorize_parameters_okta_refuses(okta, extra, error, description):
    # catalogue unsupported_response_type, invalid_prompt, invalid_max_age, unsupported_response_mode,
    # unsupported_response_mode_okta_post_message_with_code, pkce_invalid_challenge; errors sent to the
    # redirect URI carry error and error_description (docs/reference/error-codes)
    assert redirect_query(start(okta, **extra)) == {"error": error, "error_description": description, "state": "st-1"}


def test_userinfo_takes_the_token_from_the_header_or_the_body_only(okta):
    # catalogue access_token_in_query, access_token_duplicate, access_token_missing
    token = user_tokens(okta)["access_token"]
    url = okta.endpoint("userinfo")
    in_query = requests.get(url, params={"access_token": token}, timeout=10)
    twice = requests.post(url, headers={"Authorization": f"Bearer {token}"}, data={"access_token": token}, timeout=10)
    missing = requests.get(url, timeout=10)
    in_body = requests.post(url, data={"access_token": token}, timeout=10)
    assert (in_query.status_code, in_query.json()["error_description"]) == (400, "The access token cannot be presented in a query string.")
    assert (twice.status_code, twice.json()["error_description"]) == (
        400, "The access token cannot be specified in both the Authorization header and the request-body.")
    assert (missing.status_code, missing.content) == (401, b"")  # [OIDC ref]: a 401 is the challenge alone
    assert missing.headers["WWW-Authenticate"] == 'Bearer error="invalid_request", error_description="The access token is missing."'
    assert in_body.status_code == 200 and "sub" in in_body.json()


def test_missing_and_duplicated_parameters_get_oktas_texts(okta):
    # catalogue missing_token_request_parameter, request_missing_token, illegal_duplicated_parameters
    web = okta.clients["web"]
    auth = (web.client_id, web.client_secret)
    no_code = requests.post(okta.token_endpoint, auth=auth, data={"grant_type": "authorization_code", "redirect_uri": REDIRECT}, timeout=10)
    no_token = requests.post(okta.introspection_endpoint, auth=auth, data={}, timeout=10)
    twice = requests.post(okta.token_endpoint, auth=auth, timeout=10,
                          data=[("grant_type", "client_credentials"), ("grant_type", "client_credentials"), ("scope", "calculator.add")])
    assert no_code.json() == {"error": "invalid_request", "error_description": "The required parameter 'code' is missing."}
    assert no_token.json() == {"error": "invalid_request", "error_description": "The 'token' parameter is required."}
    assert twice.status_code == 400 and twice.json()["error_description"] == (
        "Duplicate parameter provided in request. Duplicated parameters: [grant_type].")
