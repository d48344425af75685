"""The local Okta with people: authorization code + PKCE, the sign-in page, refresh, ID tokens,
introspection, revocation and userinfo. One server per module."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.signin import SignInError, sign_in
from helpers.local_okta.state import CODE_LIFETIME
from helpers.local_okta.tenant import App

REDIRECT = "http://127.0.0.1:8765/callback"
OTHER_REGISTERED_REDIRECT = "http://localhost:8765/callback"
USER_SCOPES = "openid profile email offline_access calculator.add calculator.subtract"
USERS = ("ada@example.com", "alan@example.com")
_VERIFIER = "a-fixed-verifier-for-requests-that-never-exchange-their-code-0123"
FIXED_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(_VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(
        App(
            label="spa",
            name="Calculator SPA",
            client_id="0oa1calculatorspa0001",
            grant_types=("authorization_code", "refresh_token"),
            redirect_uris=(REDIRECT,),
            token_endpoint_auth_method="none",
            assigned_users=USERS,
        )
    )
    tenant.apps.append(
        App(
            label="no_refresh",
            name="Web app without refresh tokens",
            client_id="0oa1calcnorefresh0001",
            grant_types=("authorization_code",),
            redirect_uris=(REDIRECT,),
            assigned_users=USERS,
        )
    )
    tenant.apps.append(
        App(  # an app that is not trusted: "User consent: Require consent"
            label="consenting",
            name="Untrusted gateway",
            client_id="0oa1calcconsent000001",
            grant_types=("authorization_code", "refresh_token"),
            redirect_uris=(REDIRECT,),
            consent_required=True,
            assigned_users=USERS,
        )
    )
    tenant.apps.append(
        App(  # a service app that has a redirect URI but not the authorization code grant
            label="service_with_redirect",
            name="Service with a redirect URI",
            client_id="0oa1calcsvcredirect01",
            grant_types=("client_credentials",),
            redirect_uris=(REDIRECT,),
            assigned_users=USERS,
        )
    )
    gateway_policy = tenant.authorization_servers[0].policies[0]
    gateway_policy.assigned_to += ("spa", "no_refresh", "consenting", "service_with_redirect")
    server = start_local_okta(tenant=tenant, name="test-local-okta-users")
    yield server
    server.stop()


@pytest.fixture
def ada(okta):
    return next(user for user in okta.users if user.login == "ada@example.com")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(okta, *, client="web", scope=USER_SCOPES, redirect_uri=REDIRECT, challenge=FIXED_CHALLENGE, **extra):
    params = {
        "client_id": okta.clients[client].client_id,
        "response_type": "code",
        "scope": scope,
        "redirect_uri": redirect_uri,
        "state": "state-123",
        "nonce": "nonce-456",
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return okta.authorization_endpoint + "?" + urlencode(params)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def get_code(okta, user, *, client="web", scope=USER_SCOPES, redirect_uri=REDIRECT):
    verifier, challenge = pkce_pair()
    location = sign_in(authorize_url(okta, client=client, scope=scope, redirect_uri=redirect_uri,
                                     challenge=challenge), user.login, user.password)
    assert location.startswith(redirect_uri + "?")
    params = query_of(location)
    assert params["state"] == "state-123"
    return params["code"], verifier


def exchange(okta, code, verifier, *, client="web", redirect_uri=REDIRECT, **extra):
    creds = okta.clients[client]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = None
    if creds.client_secret is None:
        data["client_id"] = creds.client_id
    else:
        auth = (creds.client_id, creds.client_secret)
    return requests.post(okta.token_endpoint, auth=auth, data=data, timeout=10)


def refresh(okta, refresh_token, client="web"):
    creds = okta.clients[client]
    return requests.post(
        okta.token_endpoint,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    )


def verified(okta, token, audience):
    key = jwt.PyJWKClient(okta.jwks_uri).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=okta.issuer)


# -- authorization code + PKCE -------------------------------------------------------------


def test_authorization_code_with_pkce_issues_user_tokens(okta, ada):
    code, verifier = get_code(okta, ada)
    response = exchange(okta, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "scope", "refresh_token", "id_token"}
    assert body["scope"] == USER_SCOPES

    access = verified(okta, body["access_token"], okta.audience)
    assert list(access) == ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "auth_time", "sub"]
    assert access["sub"] == ada.login and access["uid"] == ada.uid
    assert access["cid"] == okta.clients["web"].client_id
    assert access["scp"] == USER_SCOPES.split()
    assert access["jti"].startswith("AT.")
    assert access["auth_time"] <= access["iat"]

    id_token = verified(okta, body["id_token"], okta.clients["web"].client_id)
    assert id_token["sub"] == ada.uid
    assert id_token["aud"] == okta.clients["web"].client_id
    assert id_token["jti"].startswith("ID.")
    assert id_token["amr"] == ["pwd"] and id_token["idp"].startswith("00o")
    assert id_token["nonce"] == "nonce-456"
    assert (id_token["name"], id_token["email"], id_token["preferred_username"]) == (ada.name, ada.login, ada.login)
    assert id_token["auth_time"] == access["auth_time"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert id_token["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_id_token_claims_follow_scopes(okta, ada):
    code, verifier = get_code(okta, ada, scope="openid calculator.add")
    body = exchange(okta, code, verifier).json()
    id_token = verified(okta, body["id_token"], okta.clients["web"].client_id)
    assert "name" not in id_token and "email" not in id_token
    assert "refresh_token" not in body  # no offline_access


def test_no_id_token_without_openid(okta, ada):
    code, verifier = get_code(okta, ada, scope="calculator.add")
    body = exchange(okta, code, verifier).json()
    assert "id_token" not in body and "refresh_token" not in body
    assert verified(okta, body["access_token"], okta.audience)["scp"] == ["calculator.add"]


def test_id_token_never_passes_as_access_token(okta, ada):
    from helpers.verification import OktaJWTVerifier

    code, verifier = get_code(okta, ada)
    body = exchange(okta, code, verifier).json()
    verifier_ = OktaJWTVerifier(jwks_uri=okta.jwks_uri, issuer=okta.issuer, audience=okta.audience)
    assert asyncio.run(verifier_.verify_token(body["id_token"])) is None
    accepted = asyncio.run(verifier_.verify_token(body["access_token"]))
    assert accepted is not None and "calculator.subtract" in accepted.scopes


def test_code_is_single_use(okta, ada):
    code, verifier = get_code(okta, ada)
    assert exchange(okta, code, verifier).status_code == 200
    again = exchange(okta, code, verifier)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant",
                            "error_description": "The authorization code is invalid or has expired."}


def test_code_expires_after_300_seconds(okta, ada):
    assert CODE_LIFETIME == 300
    code, verifier = get_code(okta, ada)
    store = okta._state.store
    store.codes[code].expires_at -= CODE_LIFETIME + 1  # as if 301 s had passed
    response = exchange(okta, code, verifier)
    assert response.status_code == 400
    assert response.json()["error_description"] == "The authorization code is invalid or has expired."


def test_code_is_bound_to_the_client(okta, ada):
    code, verifier = get_code(okta, ada)
    response = exchange(okta, code, verifier, client="no_refresh")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("verifier, error, description", [
    ("wrong-verifier-" + "x" * 40, "invalid_grant", "PKCE verification failed."),  # pkce_verification_failed
    (None, "invalid_request", "PKCE code verifier is required by the application."),  # pkce_missing_verifier
])
def test_pkce_failure(okta, ada, verifier, error, description):
    """Okta's error catalogue: pkce_verification_failed and pkce_missing_verifier."""
    code, _ = get_code(okta, ada)
    response = exchange(okta, code, verifier)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_plain_pkce_is_refused(okta):
    url = authorize_url(okta, code_challenge="a" * 50, code_challenge_method="plain")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT)
    assert params["error"] == "invalid_request"  # catalogue: pkce_unsupported_code_challenge_method
    assert params["error_description"] == "PKCE code challenge method is not supported. Valid values: [S256]"
    assert params["state"] == "state-123"


def test_redirect_uri_not_registered_shows_error_page_without_redirect(okta):
    url = authorize_url(okta, redirect_uri="https://attacker.example.com/cb")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "redirect_uri&#x27; parameter must be a Login redirect URI" in response.text
    assert "attacker.example.com" not in response.text


def test_unknown_client_at_authorize_shows_error_page(okta):
    url = authorize_url(okta).replace(okta.clients["web"].client_id, "0oaNoSuchClient000000")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "Invalid value for &#x27;client_id&#x27; parameter." in response.text


def test_redirect_uri_mismatch_at_token_exchange(okta, ada):
    code, verifier = get_code(okta, ada)
    response = exchange(okta, code, verifier, redirect_uri=OTHER_REGISTERED_REDIRECT)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
    }


def test_unknown_scope_at_authorize_redirects_with_invalid_scope(okta):
    response = requests.get(authorize_url(okta, scope="openid calculator.divide"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_scope" and params["state"] == "state-123"
    assert params["error_description"] == "One or more scopes are not configured for the authorization server resource."


def test_service_app_cannot_use_authorize(okta):
    url = authorize_url(okta, client="read_service")
    response = requests.get(url, allow_redirects=False, timeout=10)
    # the service app has no redirect URIs, so Okta cannot redirect: an error page
    assert response.status_code == 400 and "Location" not in response.headers


# -- the sign-in page ----------------------------------------------------------------------


def test_sign_in_page_is_a_form(okta):
    response = requests.get(authorize_url(okta), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in response.text
    assert 'name="username"' in response.text and 'type="password"' in response.text
    assert "CalculatorMCPClient" in response.text


def test_wrong_password_shows_the_form_again_with_an_error(okta, ada):
    with pytest.raises(SignInError, match="Unable to sign in"):
        sign_in(authorize_url(okta), ada.login, "not-the-password")
    session = requests.Session()
    page = session.get(authorize_url(okta), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    again = session.post(
        okta.authorization_endpoint,
        data={"transaction": transaction, "step": "sign_in", "username": "<script>x</script>", "password": "p"},
        allow_redirects=False, timeout=10,
    )
    assert again.status_code == 200
    assert "Unable to sign in" in again.text and 'name="password"' in again.text
    assert "<script>x</script>" not in again.text and "&lt;script&gt;x&lt;/script&gt;" in again.text


def test_consent_lists_the_requested_scopes(okta, ada):
    session = requests.Session()
    page = session.get(authorize_url(okta, client="consenting", scope="openid profile calculator.add"), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    consent = session.post(
        okta.authorization_endpoint,
        data={"transaction": transaction, "step": "sign_in", "username": ada.login, "password": ada.password},
        timeout=10,
    )
    assert "<code>calculator.add</code>" in consent.text and "<code>profile</code>" in consent.text
    assert "calculator.subtract" not in consent.text
    assert 'value="allow"' in consent.text and 'value="deny"' in consent.text


def test_deny_redirects_with_access_denied_and_state(okta, ada):
    location = sign_in(authorize_url(okta, client="consenting"), ada.login, ada.password, allow=False)
    params = query_of(location)
    assert location.startswith(REDIRECT)
    assert params["error"] == "access_denied" and params["state"] == "state-123"
    assert "code" not in params


def test_consent_without_sign_in_is_refused(okta):
    session = requests.Session()
    page = session.get(authorize_url(okta, client="consenting"), timeout=10)
    transaction = page.text.split('name="transaction" value="')[1].split('"')[0]
    response = session.post(
        okta.authorization_endpoint,
        data={"transaction": transaction, "step": "consent", "decision": "allow"},
        allow_redirects=False, timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_unknown_transaction_is_refused(okta):
    response = requests.post(
        okta.authorization_endpoint, data={"transaction": "forged", "step": "consent", "decision": "allow"},
        allow_redirects=False, timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers


# -- public clients ------------------------------------------------------------------------


def test_public_client_uses_pkce_without_a_secret(okta, ada):
    code, verifier = get_code(okta, ada, client="spa")
    response = exchange(okta, code, verifier, client="spa")
    assert response.status_code == 200, response.text
    assert verified(okta, response.json()["access_token"], okta.audience)["cid"] == okta.clients["spa"].client_id


def test_public_client_must_send_a_code_challenge(okta):
    response = requests.get(authorize_url(okta, client="spa", challenge=None), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])  # catalogue: pkce_missing_challenge
    assert (params["error"], params["error_description"]) == ("invalid_request", "PKCE code challenge is required by the application.")


# -- refresh tokens ------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_stops_working(okta, ada):
    code, verifier = get_code(okta, ada)
    first = exchange(okta, code, verifier).json()
    second = refresh(okta, first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    access = verified(okta, body["access_token"], okta.audience)
    assert access["sub"] == ada.login and access["scp"] == USER_SCOPES.split()
    assert "id_token" in body
    within_grace = refresh(okta, first["refresh_token"])  # a lost answer may be retried for 30 s
    assert within_grace.status_code == 200 and within_grace.json()["refresh_token"] == body["refresh_token"]
    assert refresh(okta, body["refresh_token"]).status_code == 200


def test_refresh_token_only_with_offline_access(okta, ada):
    code, verifier = get_code(okta, ada, scope="openid calculator.add")
    assert "refresh_token" not in exchange(okta, code, verifier).json()


def test_refresh_token_only_when_the_app_allows_the_grant(okta, ada):
    code, verifier = get_code(okta, ada, client="no_refresh")
    body = exchange(okta, code, verifier, client="no_refresh").json()
    assert "offline_access" in body["scope"].split()
    assert "refresh_token" not in body


def test_refresh_token_is_bound_to_the_client(okta, ada):
    code, verifier = get_code(okta, ada)
    token = exchange(okta, code, verifier).json()["refresh_token"]
    spa = requests.post(  # a public client that may refresh, presenting the web app's token
        okta.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": okta.clients["spa"].client_id},
        timeout=10,
    )
    assert spa.status_code == 400
    assert spa.json() == {"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
    service = refresh(okta, token, client="write_service")
    assert service.status_code == 400 and service.json()["error"] == "unauthorized_client"
    assert refresh(okta, token).status_code == 200


# -- introspection, revocation, userinfo ---------------------------------------------------


def introspect(okta, token, client="web"):
    creds = okta.clients[client]
    return requests.post(okta.introspection_endpoint, auth=(creds.client_id, creds.client_secret),
                         data={"token": token}, timeout=10)


def revoke(okta, token, client="web"):
    creds = okta.clients[client]
    return requests.post(okta.revocation_endpoint, auth=(creds.client_id, creds.client_secret),
                         data={"token": token}, timeout=10)


def test_introspection_of_access_and_refresh_tokens(okta, ada):
    code, verifier = get_code(okta, ada)
    body = exchange(okta, code, verifier).json()
    access = introspect(okta, body["access_token"]).json()
    assert access["active"] is True
    assert access["scope"] == USER_SCOPES and access["username"] == ada.login
    assert access["client_id"] == okta.clients["web"].client_id and access["uid"] == ada.uid
    assert access["aud"] == okta.audience and access["iss"] == okta.issuer and access["token_type"] == "Bearer"
    refresh_info = introspect(okta, body["refresh_token"]).json()
    assert refresh_info["active"] is True and refresh_info["username"] == ada.login
    assert introspect(okta, "garbage").json() == {"active": False}
    id_token = introspect(okta, body["id_token"]).json()  # [OIDC ref] /introspect takes ID tokens too
    assert id_token["active"] is True and id_token["aud"] == okta.clients["web"].client_id and id_token["sub"] == ada.uid


def test_introspection_requires_client_authentication(okta):
    response = requests.post(okta.introspection_endpoint, data={"token": "x"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_revoking_an_access_token(okta, ada):
    code, verifier = get_code(okta, ada)
    token = exchange(okta, code, verifier).json()["access_token"]
    assert revoke(okta, token, client="write_service").status_code == 200  # not its token: ignored
    assert introspect(okta, token).json()["active"] is True
    response = revoke(okta, token)
    assert response.status_code == 200 and response.text == ""
    assert introspect(okta, token).json() == {"active": False}


def test_revoking_a_refresh_token_ends_refresh(okta, ada):
    code, verifier = get_code(okta, ada)
    token = exchange(okta, code, verifier).json()["refresh_token"]
    assert revoke(okta, token, client="write_service").status_code == 200  # not its token: ignored
    assert refresh(okta, token).status_code == 200  # (the web app keeps its refresh token: no rotation)
    assert revoke(okta, token).status_code == 200
    response = refresh(okta, token)
    assert response.status_code == 400
    assert response.json()["error_description"] == "The refresh token is invalid or expired."


@pytest.fixture
def refresh_lifetime(okta):
    """Sets the gateway rule's refresh-token lifetime ("Refresh token lifetime" in the rule)."""
    rule = okta._state.tenant.authorization_servers[0].policies[0].rules[0]
    assert "authorization_code" in rule.grant_types and rule.refresh_token_lifetime is None
    yield lambda seconds: setattr(rule, "refresh_token_lifetime", seconds)
    rule.refresh_token_lifetime = None


def test_a_refresh_token_expires_with_the_rules_lifetime(okta, ada, refresh_lifetime):
    refresh_lifetime(3600)
    code, verifier = get_code(okta, ada)
    token = exchange(okta, code, verifier).json()["refresh_token"]
    info = introspect(okta, token).json()
    assert info["active"] is True and info["exp"] - info["iat"] == 3600
    assert refresh(okta, token).status_code == 200
    okta._state.store.refresh_tokens[token].expires_at = time.time() - 1  # an hour went by
    response = refresh(okta, token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert response.json()["error_description"] == "The refresh token is invalid or expired."
    assert introspect(okta, token).json() == {"active": False}


def test_an_unlimited_refresh_token_has_no_exp(okta, ada):
    code, verifier = get_code(okta, ada)
    token = exchange(okta, code, verifier).json()["refresh_token"]
    info = introspect(okta, token).json()
    assert info["active"] is True and "exp" not in info


def test_userinfo(okta, ada):
    code, verifier = get_code(okta, ada, scope="openid email calculator.add")
    token = exchange(okta, code, verifier).json()["access_token"]
    info = requests.get(okta.endpoint("userinfo"), headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert info == {"sub": ada.uid, "email": ada.login, "email_verified": True}
    assert requests.get(okta.endpoint("userinfo"), timeout=10).status_code == 401


def test_web_app_may_also_use_client_credentials(okta):
    creds = okta.clients["web"]
    response = requests.post(okta.token_endpoint, auth=(creds.client_id, creds.client_secret),
                             data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == creds.client_id and "uid" not in claims and "auth_time" not in claims


def test_an_app_without_the_code_grant_gets_an_error_redirect_with_its_state(okta):
    response = requests.get(authorize_url(okta, client="service_with_redirect"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["unauthorized_client"] and query["state"] == ["state-123"]


def test_a_code_whose_user_is_gone_is_invalid(okta, ada):
    code, verifier = get_code(okta, ada)
    users = okta._state.tenant.users
    okta._state.tenant.users = [user for user in users if user.login != ada.login]  # deleted meanwhile
    try:
        response = exchange(okta, code, verifier)
    finally:
        okta._state.tenant.users = users
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "The authorization code is invalid or has expired."}
