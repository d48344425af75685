"""The local Okta's misconfiguration scenarios (what a learner sees) and signing key rotation.

One server per module; every test switches the scenario back off.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from helpers.local_okta import SCENARIOS, start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.verification import OktaJWTVerifier, Protection

POLICY_FAILED = {
    "error": "access_denied",
    "error_description": "Policy evaluation failed for this request, please check the policy configurations.",
}
NOT_CONFIGURED = {
    "error": "invalid_scope",
    "error_description": "One or more scopes are not configured for the authorization server resource.",
}


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-local-okta-scenarios")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_scenario(okta):
    okta.set_scenario(None)
    yield
    okta.set_scenario(None)


def token_request(okta, scope="calculator.add", label="write_service", token_endpoint=None, creds=None):
    creds = creds or okta.clients[label]
    return requests.post(
        token_endpoint or okta.token_endpoint,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials", "scope": scope},
        timeout=10,
    )


def discovered_token_endpoint(settings) -> str:
    """What a client does with ``.env``: find the token endpoint in the issuer's metadata."""
    url = settings.issuer + "/.well-known/oauth-authorization-server"
    return requests.get(url, timeout=10).json()["token_endpoint"]


def verify_with_settings(token: str, settings):
    """The calculator's own check, configured from ``.env``: OktaJWTVerifier (the JWKS URI from
    OAUTH_JWKS_URI, or read from the issuer's metadata, as a real deployment does)."""
    verifier = Protection.from_settings(settings).verifier()
    return asyncio.run(verifier.verify_token(token))


PKCE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # any S256 challenge: the code is never exchanged


def test_scenarios_are_documented():
    assert set(SCENARIOS) == {
        "org_authorization_server", "audience_mismatch", "jwks_from_other_server", "no_custom_scope",
        "undefined_scope", "scope_not_published", "policy_not_assigned", "rule_without_client_credentials",
        "rule_without_scope", "default_policy_catches_all", "app_without_client_credentials",
        "wrong_client_secret", "unknown_client_id", "dpop_required", "redirect_uri_not_registered",
        "user_not_assigned", "no_refresh_token_grant", "rule_without_offline_access",
        "rule_without_authorization_code", "refresh_token_not_rotated", "pkce_not_required",
    }
    for scenario in SCENARIOS.values():
        assert scenario.mistake and scenario.symptom and scenario.fix and scenario.check
        assert (scenario.tenant is None) != (scenario.settings is None)


def test_unknown_scenario_is_refused(okta):
    with pytest.raises(ValueError, match="Unknown scenario 'typo'"):
        okta.set_scenario("typo")
    assert okta.scenario is None
    assert token_request(okta).status_code == 200


def test_correct_setup_works_end_to_end(okta):
    settings = okta.settings()
    token = token_request(okta, "calculator.add calculator.subtract",
                          token_endpoint=discovered_token_endpoint(settings), creds=settings.m2m_client)
    assert token.status_code == 200
    access = verify_with_settings(token.json()["access_token"], settings)
    assert access is not None and access.scopes == ["calculator.add", "calculator.subtract"]


def test_no_custom_scope(okta):
    okta.set_scenario("no_custom_scope")
    response = token_request(okta)
    assert (response.status_code, response.json()) == (400, NOT_CONFIGURED)
    supported = requests.get(okta.metadata_url, timeout=10).json()["scopes_supported"]
    assert not any(scope.startswith("calculator.") for scope in supported)
    okta.set_scenario(None)
    assert token_request(okta).status_code == 200


def test_undefined_scope(okta):
    okta.set_scenario("undefined_scope")
    assert token_request(okta, "calculator.add").status_code == 200
    response = token_request(okta, "calculator.add calculator.subtract")
    assert (response.status_code, response.json()) == (400, NOT_CONFIGURED)


def test_policy_not_assigned(okta):
    okta.set_scenario("policy_not_assigned")
    response = token_request(okta)
    assert (response.status_code, response.json()) == (401, POLICY_FAILED)


def test_rule_without_client_credentials(okta):
    okta.set_scenario("rule_without_client_credentials")
    for label in ("write_service", "read_service", "web"):
        response = token_request(okta, label=label)
        assert (response.status_code, response.json()) == (401, POLICY_FAILED)


def test_app_without_client_credentials(okta):
    okta.set_scenario("app_without_client_credentials")
    response = token_request(okta)
    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "The client is not authorized to use the provided grant type. "
        "Configured grant types: [authorization_code].",
    }


def test_wrong_client_secret(okta):
    stale = okta.clients["write_service"]
    okta.set_scenario("wrong_client_secret")
    assert okta.clients["write_service"] == stale  # .env still holds the old secret
    assert okta.settings().m2m_client == stale
    response = token_request(okta)
    assert response.status_code == 401  # catalogue: invalid_client_secret
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "The client secret supplied for a confidential client is invalid.",
    }
    okta.set_scenario(None)
    assert token_request(okta).status_code == 200


def test_org_authorization_server(okta):
    okta.set_scenario("org_authorization_server")
    settings = okta.settings()
    assert settings.issuer == okta.url and "/oauth2/" not in settings.issuer
    token_endpoint = discovered_token_endpoint(settings)
    assert token_endpoint == f"{okta.url}/oauth2/v1/token"
    response = token_request(okta, token_endpoint=token_endpoint, creds=settings.m2m_client)
    assert (response.status_code, response.json()) == (401, {  # catalogue: unsupported_auth_method_client_creds
        "error": "invalid_client",
        "error_description": "Client Credentials requests to the Org Authorization Server must use the "
        "private_key_jwt token_endpoint_auth_method.",
    })
    # a user token from the org server is for Okta, not for the calculator
    web, user = okta.clients["web"], okta.users[0]
    verifier = "an-org-server-sign-in-verifier-0123456789-0123456789-abcdef"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = f"{okta.url}/oauth2/v1/authorize?" + urlencode({
        "client_id": web.client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:8765/callback", "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    code = sign_in(url, user.login, user.password).split("code=")[1].split("&")[0]
    token = requests.post(token_endpoint, auth=(web.client_id, web.client_secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:8765/callback",
        "code_verifier": verifier,
    }, timeout=10).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == claims["aud"] == okta.url
    okta.set_scenario(None)
    assert verify_with_settings(token, okta.settings()) is None  # the calculator refuses it


def test_audience_mismatch(okta):
    okta.set_scenario("audience_mismatch")
    settings = okta.settings()
    assert settings.audience == "api://default" != okta.audience
    response = token_request(okta, creds=settings.m2m_client)
    assert response.status_code == 200  # Okta issues the token...
    token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == okta.audience
    assert verify_with_settings(token, settings) is None  # ...the resource server refuses it


def test_jwks_from_other_server(okta):
    okta.set_scenario("jwks_from_other_server")
    settings = okta.settings()
    assert settings.jwks_uri == f"{okta.url}/oauth2/other/v1/keys"
    token = token_request(okta, creds=settings.m2m_client).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    other_kids = [key["kid"] for key in requests.get(settings.jwks_uri, timeout=10).json()["keys"]]
    assert other_kids and kid not in other_kids
    assert verify_with_settings(token, settings) is None
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(settings.jwks_uri).get_signing_key_from_jwt(token)


def test_redirect_uri_not_registered(okta):
    okta.set_scenario("redirect_uri_not_registered")
    url = okta.authorization_endpoint + "?" + urlencode({
        "client_id": okta.clients["web"].client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:8765/callback", "state": "s",
        "code_challenge": PKCE_CHALLENGE, "code_challenge_method": "S256",
    })
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "must be a Login redirect URI in the client app settings" in response.text
    okta.set_scenario(None)
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 200


def test_pkce_not_required(okta):
    # The tutorial's web app requires PKCE (catalogue pkce_missing_challenge: "PKCE code challenge
    # is required by the application."); without the tick, Okta starts a sign-in without one.
    url = okta.authorization_endpoint + "?" + urlencode({
        "client_id": okta.clients["web"].client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:8765/callback", "state": "s",
    })
    refused = requests.get(url, allow_redirects=False, timeout=10)
    assert refused.is_redirect and "PKCE+code+challenge+is+required" in refused.headers["Location"]
    okta.set_scenario("pkce_not_required")
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 200  # the sign-in page


def test_other_authorization_server_has_its_own_keys_and_issuer(okta):
    other_issuer = okta.issuer_for("other")
    doc = requests.get(f"{other_issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert doc["issuer"] == other_issuer and doc["jwks_uri"] == f"{other_issuer}/v1/keys"
    default_kids = {k["kid"] for k in requests.get(okta.jwks_uri, timeout=10).json()["keys"]}
    other_kids = {k["kid"] for k in requests.get(doc["jwks_uri"], timeout=10).json()["keys"]}
    assert default_kids.isdisjoint(other_kids)


# -- key rotation --------------------------------------------------------------------------


def _verify_pyjwt(okta, token):
    key = jwt.PyJWKClient(okta.jwks_uri, cache_jwk_set=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience=okta.audience, issuer=okta.issuer)


def test_key_rotation_publishes_both_then_retires_the_old(okta):
    old_token = token_request(okta).json()["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    announced = okta.next_signing_kid()
    assert announced in [key["kid"] for key in requests.get(okta.jwks_uri, timeout=10).json()["keys"]]
    new_kid = okta.rotate_keys()
    assert new_kid == announced != old_kid  # the key was published before it signed anything
    published = [key["kid"] for key in requests.get(okta.jwks_uri, timeout=10).json()["keys"]]
    assert set(published) == {old_kid, new_kid, okta.next_signing_kid()}
    assert okta.signing_kids() == [old_kid, new_kid]

    new_token = token_request(okta).json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert _verify_pyjwt(okta, old_token)["cid"] == _verify_pyjwt(okta, new_token)["cid"]
    assert verify_with_settings(old_token, okta.settings()) is not None
    assert verify_with_settings(new_token, okta.settings()) is not None

    assert okta.retire_old_keys() == [old_kid]
    published = [key["kid"] for key in requests.get(okta.jwks_uri, timeout=10).json()["keys"]]
    assert set(published) == {new_kid, okta.next_signing_kid()} and old_kid not in published
    assert _verify_pyjwt(okta, new_token)["scp"] == ["calculator.add"]
    with pytest.raises(jwt.PyJWKClientError):
        _verify_pyjwt(okta, old_token)
    assert verify_with_settings(old_token, okta.settings()) is None
    assert verify_with_settings(new_token, okta.settings()) is not None


def test_rotation_of_one_server_leaves_the_others_alone(okta):
    before = okta.signing_kids("other")
    okta.rotate_keys("default")
    assert okta.signing_kids("other") == before
    okta.retire_old_keys("default")
    assert len(okta.signing_kids("default")) == 1


def test_jwks_fetches_are_counted(okta):
    tokens = [token_request(okta).json()["access_token"] for _ in range(3)]
    okta.request_counts.clear()

    async def verify_all():
        verifier = OktaJWTVerifier(jwks_uri=okta.jwks_uri, issuer=okta.issuer, audience=okta.audience)
        return [await verifier.verify_token(token) for token in tokens]

    assert all(asyncio.run(verify_all()))
    assert okta.request_counts["keys"] == 1  # one fetch, then the verifier's cache
    assert okta.request_counts["token"] == 0


def test_policy_not_assigned_refuses_at_authorize_and_keeps_the_state(okta):
    # The denial is an error redirect to the app, carrying the request's state (RFC 6749 4.1.2.1),
    # so the client can tell which of its sign-ins it answers.
    okta.set_scenario("policy_not_assigned")
    try:
        url = okta.authorization_endpoint + "?" + urlencode({
            "client_id": okta.clients["web"].client_id, "response_type": "code", "scope": "openid calculator.add",
            "redirect_uri": "http://127.0.0.1:8765/callback", "state": "s-42",
            "code_challenge": PKCE_CHALLENGE, "code_challenge_method": "S256",
        })
        response = requests.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 302
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"] == ["access_denied"] and query["state"] == ["s-42"]
        assert query["error_description"] == ["Policy evaluation failed for this request, please check the policy configurations."]
    finally:
        okta.set_scenario(None)
