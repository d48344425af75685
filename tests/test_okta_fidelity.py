"""The local authorization server answers as Okta does (issue 12), one test per point.

Each test names the Okta source it follows: the error catalogue (``oauth2-error-codes.json`` in
okta/okta-developer-docs, release 2026.08.1, by its internal code), the OAuth 2.0/OIDC API
reference, or a guide (customize-authz-server, refresh-tokens, revoke-tokens,
request-user-consent). See ``../shared/OKTA_EMULATION.md`` for the list.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.local_okta.tenant import ALL_CLIENTS, AccessPolicy, App, PolicyRule

REDIRECT = "http://127.0.0.1:8765/callback"
USERS = ("ada@example.com", "alan@example.com")
POLICY_FAILED = "Policy evaluation failed for this request, please check the policy configurations."


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(  # a web app as Okta creates it: no PKCE required, persistent refresh tokens
        label="plain_web", name="Plain web app", client_id="0oa1calcplainweb00001",
        grant_types=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,), assigned_users=USERS,
    ))
    tenant.apps.append(App(  # an app that requires consent
        label="consenting", name="Untrusted app", client_id="0oa1calcconsenting001",
        grant_types=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,), assigned_users=USERS,
        consent_required=True, require_pkce=True,
    ))
    server = tenant.server("default")
    server.policies[0].assigned_to += ("plain_web", "consenting")
    server.policies.insert(1, AccessPolicy("Read-only, short tokens", assigned_to=("read_service",), rules=[
        PolicyRule("Add only, 10 minutes", ("client_credentials",), scopes=("calculator.add",), access_token_lifetime=600),
    ]))
    server.policies.append(AccessPolicy("Inactive catch-all", assigned_to=(ALL_CLIENTS,), active=False, rules=[
        PolicyRule("Anything", ("client_credentials", "authorization_code")),
    ]))
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity")
    yield local
    local.stop()


@pytest.fixture
def ada(okta):
    return okta.users[0]


def basic(okta, label):
    client = okta.clients[label]
    return client.client_id, client.client_secret


def client_credentials(okta, label="write_service", scope="calculator.add", **extra):
    return requests.post(okta.token_endpoint, auth=basic(okta, label),
                         data={"grant_type": "client_credentials", "scope": scope, **extra}, timeout=10)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(okta, client="web", scope="openid offline_access calculator.add", challenge=None, **extra):
    params = {"client_id": okta.clients[client].client_id, "response_type": "code", "scope": scope,
              "redirect_uri": REDIRECT, "state": "st-1"}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update({k: v for k, v in extra.items() if v is not None})
    for name in [k for k, v in extra.items() if v is None]:
        params.pop(name, None)
    return okta.authorization_endpoint + "?" + urlencode(params)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def signed_in(okta, user, client="web", scope="openid email offline_access calculator.add"):
    verifier, challenge = pkce()
    location = sign_in(authorize_url(okta, client, scope, challenge), user.login, user.password)
    code = query_of(location)["code"]
    body = exchange(okta, client, code, verifier)
    assert body.status_code == 200, body.text
    return body.json()


def exchange(okta, client, code, verifier):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier:
        data["code_verifier"] = verifier
    return requests.post(okta.token_endpoint, auth=basic(okta, client), data=data, timeout=10)


def refresh(okta, token, client="web"):
    return requests.post(okta.token_endpoint, auth=basic(okta, client),
                         data={"grant_type": "refresh_token", "refresh_token": token}, timeout=10)


def introspect(okta, token, client="web"):
    return requests.post(okta.introspection_endpoint, auth=basic(okta, client), data={"token": token}, timeout=10).json()


# -- 1. policy evaluation (customize-authz-server guide) ---------------------------------------------


def test_1_policies_in_priority_order_and_the_first_matching_rule_decides(okta):
    short = client_credentials(okta, "read_service")
    assert short.json()["expires_in"] == 600  # "Read-only, short tokens" comes before "Read-only services"


def test_1_rules_are_allowlists_and_no_match_is_policy_evaluation_failed(okta):
    refused = client_credentials(okta, "read_service", "calculator.add calculator.subtract")
    assert (refused.status_code, refused.json()) == (401, {"error": "access_denied", "error_description": POLICY_FAILED})


def test_1_an_inactive_policy_is_never_used_and_an_active_catch_all_grants_what_others_refuse():
    tenant = default_tenant()
    tenant.server("default").policies.append(AccessPolicy("Default Policy", assigned_to=(ALL_CLIENTS,), rules=[
        PolicyRule("Default Policy Rule", ("client_credentials", "authorization_code")),
    ]))
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-default-policy")
    try:
        granted = requests.post(local.token_endpoint, auth=basic(local, "read_service"),
                                data={"grant_type": "client_credentials", "scope": "calculator.add calculator.subtract"}, timeout=10)
        assert granted.status_code == 200  # the read-only policy did not match: the next one did
    finally:
        local.stop()


# -- 2. the authorize endpoint (OIDC API reference; catalogue invalid_state, login_required) ------


def test_2_state_is_required(okta):
    _, challenge = pkce()
    response = requests.get(authorize_url(okta, challenge=challenge, state=None), allow_redirects=False, timeout=10)
    params = query_of(response.headers["Location"])
    assert (params["error"], params["error_description"]) == (
        "invalid_request", "The authentication request has an invalid 'state' parameter.")


def test_2_prompt_none_without_a_session_is_login_required(okta):
    _, challenge = pkce()
    response = requests.get(authorize_url(okta, challenge=challenge, prompt="none"), allow_redirects=False, timeout=10)
    params = query_of(response.headers["Location"])
    assert (params["error"], params["state"]) == ("login_required", "st-1")
    assert params["error_description"] == "The client specified not to prompt, but the user is not logged in."


def test_2_form_post_posts_the_result_to_the_redirect_uri(okta, ada):
    verifier, challenge = pkce()
    session = requests.Session()
    page = session.get(authorize_url(okta, challenge=challenge, response_mode="form_post"), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    answer = session.post(okta.authorization_endpoint, data={
        "transaction": transaction, "step": "sign_in", "username": ada.login, "password": ada.password}, timeout=10)
    assert answer.status_code == 200 and f'<form method="post" action="{REDIRECT}">' in answer.text
    assert 'name="state" value="st-1"' in answer.text and 'name="code"' in answer.text
    assert "document.forms[0].submit()" in answer.text
    code = answer.text.split('name="code" value="')[1].split('"')[0]
    assert exchange(okta, "web", code, verifier).status_code == 200


# -- 3. PKCE (catalogue pkce_*) ---------------------------------------------------------------------


def test_3_pkce_errors_are_oktas(okta, ada):
    missing = requests.get(authorize_url(okta), allow_redirects=False, timeout=10)  # the web app requires PKCE
    assert query_of(missing.headers["Location"])["error_description"] == "PKCE code challenge is required by the application."
    plain = requests.get(authorize_url(okta, code_challenge="x" * 43, code_challenge_method="plain"), allow_redirects=False, timeout=10)
    assert query_of(plain.headers["Location"])["error_description"] == "PKCE code challenge method is not supported. Valid values: [S256]"
    location = sign_in(authorize_url(okta, "plain_web"), ada.login, ada.password)  # a code without a challenge
    stray = exchange(okta, "plain_web", query_of(location)["code"], "a-verifier-nobody-asked-for-0123456789-0123456789")
    assert (stray.status_code, stray.json()) == (400, {"error": "invalid_request", "error_description":
        "PKCE code challenge should be specified in the authorize request for code verification."})


# -- 4. client authentication (catalogue invalid_client_id, invalid_client_secret) -------------------


def test_4_unknown_client_and_wrong_secret_get_two_different_answers(okta):
    unknown = requests.post(okta.token_endpoint, auth=("0oaNoSuchApp00000000", "x"),
                            data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    wrong = requests.post(okta.token_endpoint, auth=(okta.clients["write_service"].client_id, "not-it"),
                          data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    assert unknown.status_code == wrong.status_code == 401  # the catalogue gives 401 for both
    assert unknown.json()["error_description"] == "Invalid value for 'client_id' parameter."
    assert wrong.json()["error_description"] == "The client secret supplied for a confidential client is invalid."


def test_4_the_setup_checks_read_both_of_oktas_error_shapes():
    from helpers.okta_checks.http import error_of

    assert error_of({"error": "invalid_client", "error_description": "x"}) == ("invalid_client", "x")
    assert error_of({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: x"}) == (
        "E0000007", "Not found: Resource not found: x")
    assert error_of(["not", "an", "error"]) is None


# -- 5. no 500s ----------------------------------------------------------------------------------------


def test_5_the_password_grant_and_credentials_in_the_query_get_json_400(okta, ada):
    password = requests.post(okta.token_endpoint, auth=basic(okta, "web"),
                             data={"grant_type": "password", "username": ada.login, "password": ada.password, "scope": "openid"}, timeout=10)
    assert password.status_code == 400 and password.json()["error"] == "unauthorized_client"
    client = okta.clients["write_service"]
    query = requests.post(okta.token_endpoint + "?" + urlencode({"client_id": client.client_id, "client_secret": client.client_secret}),
                          data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    assert (query.status_code, query.json()) == (400, {"error": "invalid_request",  # client_credentials_in_query
                                                      "error_description": "Client credentials cannot be supplied via query parameters."})


@pytest.mark.parametrize("data", [
    {}, {"grant_type": ""}, {"grant_type": "implicit"}, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
    {"grant_type": "authorization_code"}, {"grant_type": "refresh_token"}, {"grant_type": "password"},
    {"grant_type": "client_credentials", "scope": "\x00"}, {"grant_type": "client_credentials", "scope": "a" * 10000},
    {"grant_type": "client_credentials", "client_assertion": "x", "client_assertion_type": "y"},
    {"grant_type": "client_credentials", "grant_type ": "x", "scope": "calculator.add calculator.add"},
])
@pytest.mark.parametrize("auth", ["basic", "none", "broken"])
def test_5_odd_token_requests_never_get_a_500(okta, data, auth):
    kwargs = {"auth": basic(okta, "write_service")} if auth == "basic" else {}
    if auth == "broken":
        kwargs["headers"] = {"Authorization": "Basic !!!not-base64"}
    response = requests.post(okta.token_endpoint, data=data, timeout=10, **kwargs)
    assert response.status_code < 500, response.text
    body = response.json()  # always JSON: a token, or Okta's error
    assert isinstance(body.get("access_token") or body.get("error"), str)


@pytest.mark.parametrize("endpoint, method", [("introspect", "POST"), ("revoke", "POST"), ("userinfo", "GET"),
                                              ("userinfo", "POST"), ("authorize", "POST"), ("device/authorize", "POST")])
def test_5_other_endpoints_never_get_a_500(okta, endpoint, method):
    response = requests.request(method, okta.endpoint(endpoint), data={"token": "\x00", "transaction": "x"},
                                headers={"Authorization": "Bearer x.y.z"}, timeout=10)
    assert 400 <= response.status_code < 500


# -- 6. refresh tokens (refresh-tokens and revoke-tokens guides) ------------------------------------


def test_6_a_web_app_keeps_a_persistent_refresh_token_by_default(okta, ada):
    tokens = signed_in(okta, ada, client="plain_web")
    again = refresh(okta, tokens["refresh_token"], client="plain_web").json()
    assert again["refresh_token"] == tokens["refresh_token"] and again["access_token"] != tokens["access_token"]


def test_6_rotation_the_grace_period_and_reuse_detection(okta, ada):
    tokens = signed_in(okta, ada)  # the tutorial's web app rotates refresh tokens
    second = refresh(okta, tokens["refresh_token"]).json()
    assert second["refresh_token"] != tokens["refresh_token"]
    within_grace = refresh(okta, tokens["refresh_token"]).json()  # default grace period: 30 s
    assert within_grace["refresh_token"] == second["refresh_token"]
    okta.set_refresh_token_grace_period(0)
    try:
        time.sleep(0.05)
        replay = refresh(okta, tokens["refresh_token"])
        assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
        # reuse detected: the newest refresh token and the access tokens since the sign-in are revoked
        assert refresh(okta, second["refresh_token"]).status_code == 400
        assert introspect(okta, second["access_token"]) == {"active": False}
        assert introspect(okta, tokens["access_token"]) == {"active": False}
    finally:
        okta.set_refresh_token_grace_period(None)


def test_6_revoking_a_refresh_token_revokes_its_access_tokens(okta, ada):
    tokens = signed_in(okta, ada)
    assert introspect(okta, tokens["access_token"])["active"] is True
    revoked = requests.post(okta.revocation_endpoint, auth=basic(okta, "web"),
                            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}, timeout=10)
    assert revoked.status_code == 200
    assert introspect(okta, tokens["access_token"]) == {"active": False}


# -- 7. the JWKS ---------------------------------------------------------------------------------------


def test_7_several_keys_whose_order_means_nothing_and_oktas_cache_headers(okta):
    response = requests.get(okta.jwks_uri, timeout=10)
    keys = response.json()["keys"]
    assert len(keys) >= 2 and "must-revalidate" in response.headers["Cache-Control"]
    token = client_credentials(okta).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert keys[0]["kid"] != kid  # code that takes keys[0] fails here, as it would on Okta
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"], audience=okta.audience)
    by_kid = next(key for key in keys if key["kid"] == kid)
    assert jwt.decode(token, jwt.PyJWK(by_kid).key, algorithms=["RS256"], audience=okta.audience)["cid"]


# -- 8. codes, consent, assignment, userinfo, ID tokens ----------------------------------------------


def test_8_a_code_redeemed_by_another_client_or_at_another_server(okta, ada):
    verifier, challenge = pkce()
    code = query_of(sign_in(authorize_url(okta, challenge=challenge), ada.login, ada.password))["code"]
    other_client = exchange(okta, "plain_web", code, verifier)
    assert other_client.json() == {"error": "invalid_grant", "error_description":  # mismatched_client
        "The grant was issued to another client. Please make sure the 'client_id' matches the one used at the authorize request."}
    code = query_of(sign_in(authorize_url(okta, challenge=challenge), ada.login, ada.password))["code"]
    other_server = requests.post(okta.endpoint("token", "other"), auth=basic(okta, "web"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}, timeout=10)
    assert other_server.json() == {"error": "invalid_request",  # mismatched_authorization_server
                                   "error_description": "The grant was issued for another authorization server."}


def test_8_consent_only_when_the_app_requires_it(okta, ada):
    _, challenge = pkce()
    trusted = sign_in(authorize_url(okta, challenge=challenge, scope="openid profile"), ada.login, ada.password)
    assert "code" in query_of(trusted)  # no consent page for a trusted app
    session = requests.Session()
    page = session.get(authorize_url(okta, "consenting", "openid profile", challenge), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    consent = session.post(okta.authorization_endpoint, data={
        "transaction": transaction, "step": "sign_in", "username": ada.login, "password": ada.password},
        allow_redirects=False, timeout=10)
    assert consent.status_code == 200 and "Allow access?" in consent.text


def test_8_a_user_not_assigned_to_the_app_is_refused(okta):
    okta.set_scenario("user_not_assigned")
    try:
        _, challenge = pkce()
        user = okta.users[1]
        location = sign_in(authorize_url(okta, challenge=challenge), user.login, user.password)
        params = query_of(location)  # catalogue user_not_assigned
        assert (params["error"], params["error_description"], params["state"]) == (
            "access_denied", "User is not assigned to the client application.", "st-1")
    finally:
        okta.set_scenario(None)


def test_8_userinfo_needs_openid_and_the_id_token_says_email_verified(okta, ada):
    tokens = signed_in(okta, ada, scope="openid email offline_access calculator.add")
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["email_verified"] is True
    no_openid = signed_in(okta, ada, scope="offline_access calculator.add")
    answer = requests.get(okta.endpoint("userinfo"), headers={"Authorization": f"Bearer {no_openid['access_token']}"}, timeout=10)
    assert answer.status_code == 403 and 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


def test_8_metadata_has_oktas_fields(okta):
    document = requests.get(okta.metadata_url, timeout=10).json()
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "introspection_endpoint",
                 "revocation_endpoint", "code_challenge_methods_supported", "grant_types_supported"):
        assert name in document
    assert document["code_challenge_methods_supported"] == ["S256"] and document["issuer"].startswith("https://")
    # Every endpoint the metadata names answers (Okta's registration, logout and device endpoints,
    # which the local server does not emulate, are left out rather than listed and 404).
    for name, url in document.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            assert requests.post(url, timeout=10).status_code != 404, name


# -- 13. as careful as Okta ------------------------------------------------------------------------------


def test_13_password_guessing_locks_the_user_out():
    local = start_local_okta(name="test-okta-fidelity-lockout")
    try:
        user, (_, challenge) = local.users[1], pkce()
        url = authorize_url(local, challenge=challenge)
        for _ in range(local.tenant.lockout_attempts):
            with pytest.raises(Exception, match="Unable to sign in"):
                sign_in(url, user.login, "a-guess")
        with pytest.raises(Exception, match="Unable to sign in"):  # the right password no longer helps
            sign_in(url, user.login, user.password)
    finally:
        local.stop()


def test_13_the_password_grant_shares_the_lockout_and_answers_json():
    # Security review: the password grant checked passwords without the lockout, and answered the
    # right password with a 500 (no auth_time), which told a guesser when a guess was right.
    tenant = default_tenant()
    tenant.apps.append(App(label="legacy", name="Legacy app", client_id="0oa1calclegacy000001",
                           grant_types=("password",), assigned_users=USERS))
    tenant.server("default").policies[0].assigned_to += ("legacy",)
    tenant.server("default").policies[0].rules[0].grant_types += ("password",)
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-password-grant")
    try:
        user = local.users[1]

        def password_grant(password):
            return requests.post(local.token_endpoint, auth=basic(local, "legacy"), timeout=10, data={
                "grant_type": "password", "username": user.login, "password": password, "scope": "openid"})

        first = password_grant(user.password)
        assert first.status_code == 200 and "access_token" in first.json()
        claims = jwt.decode(first.json()["access_token"], options={"verify_signature": False})
        assert claims["sub"] == user.login and abs(claims["auth_time"] - time.time()) < 300  # signed in now
        for _ in range(local.tenant.lockout_attempts):
            assert password_grant("a-guess").json() == {  # the catalogue's invalid_password_credentials
                "error": "invalid_grant", "error_description": "The credentials provided were invalid."}
        locked = password_grant(user.password)  # locked out: the right password no longer helps
        assert locked.status_code == 400 and locked.json()["error"] == "invalid_grant"
    finally:
        local.stop()


def test_13_a_client_cannot_introspect_another_clients_refresh_token(okta, ada):
    tokens = signed_in(okta, ada)
    assert introspect(okta, tokens["refresh_token"])["active"] is True
    assert introspect(okta, tokens["refresh_token"], client="write_service") == {"active": False}


def test_13_the_sign_in_transaction_expires_for_every_step(okta, ada, monkeypatch):
    from helpers.local_okta import authorize

    _, challenge = pkce()
    session = requests.Session()
    page = session.get(authorize_url(okta, challenge=challenge), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    monkeypatch.setattr(authorize, "TRANSACTION_LIFETIME", 0)
    late = session.post(okta.authorization_endpoint, data={
        "transaction": transaction, "step": "sign_in", "username": ada.login, "password": ada.password},
        allow_redirects=False, timeout=10)
    assert late.status_code == 400 and "Sign-in expired" in late.text


def test_13_no_page_can_be_framed(okta):
    _, challenge = pkce()
    page = requests.get(authorize_url(okta, challenge=challenge), timeout=10)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
