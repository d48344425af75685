"""The local authorization server answers the AI agent token exchange (Cross App Access, ID-JAG) as Okta documents it.

Sources, in okta/okta-developer-docs under ``packages/@okta/vuepress-site/docs/``:
``guides/ai-agent-token-exchange/main/authserver/`` ("[guide]": ``exchange-token-for-idjag1.md`` the
step 1 request, ``exchange-token-id-response.md`` its answer, ``exchange-idjag-for-token.md`` step 2,
``token-exchange-flow.md`` who decides), ``guides/xaa-agent-to-app/main/index.md`` (resource
connections), and Okta's error catalogue (``oauth2-error-codes.json``, release 2026.08.1) by its
internal code. The ID-JAG's shape is the IETF draft *Identity Assertion JWT Authorization Grant*.
Which catalogue entry answers which mistake is mostly Okta's silence: those rows say "inferred".
"""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from helpers.agent_exchange import Agent, exchange_id_jag, local_agent, request_id_jag, sign_in_with_password
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.id_jag import set_cross_app_access
from helpers.local_okta.tenant import App, ResourceConnection

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
SECOND_AGENT = "0oa1calcsecondagent9"


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(  # a second AI agent with its own key and connection
        label="second_agent", name="Second assistant", client_id=SECOND_AGENT,
        grant_types=("authorization_code", TOKEN_EXCHANGE, JWT_BEARER), redirect_uris=("http://127.0.0.1:8765/callback",),
        token_endpoint_auth_method="private_key_jwt", require_pkce=True, assigned_users=("ada@example.com",)))
    tenant.resource_connections.append(ResourceConnection("second_agent", "default", scopes=("calculator.add",)))
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-id-jag")
    yield local
    local.stop()


@pytest.fixture(scope="module")
def agent(okta) -> Agent:
    return local_agent(okta, "ai_agent")


@pytest.fixture(scope="module")
def second_agent(okta) -> Agent:
    return local_agent(okta, "second_agent")


@pytest.fixture(scope="module")
def id_token(okta, agent) -> str:
    user = okta.users[0]
    return sign_in_with_password(agent, user.login, user.password).id_token


def step1(okta, agent, subject_token, **overrides):
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG, "audience": okta.issuer, "scope": "calculator.add",
            **agent.client_assertion(agent.org_token_endpoint)}
    form.update(overrides)
    return requests.post(agent.org_token_endpoint, data={k: v for k, v in form.items() if v is not None}, timeout=10)


def step2(okta, agent, assertion, server_id="default", **extra):
    endpoint = okta.endpoint("token", server_id)
    form = {"grant_type": JWT_BEARER, "assertion": assertion, **agent.client_assertion(endpoint), **extra}
    return requests.post(endpoint, data=form, timeout=10)


def refused(response, status, error, description):
    assert (response.status_code, response.json()) == (status, {"error": error, "error_description": description})


def forged_id_jag(okta, agent, *, issued=None, lifetime=300, server="", **claims):
    """An ID-JAG signed with a key of ``server`` (the org's by default), as the org would shape it."""
    now = int(time.time()) if issued is None else issued
    body = {"jti": f"IDJAG.test-{time.monotonic_ns()}", "iss": okta.org_issuer, "sub": okta.users[0].uid,
            "aud": okta.issuer, "client_id": agent.client_id, "exp": now + lifetime, "iat": now,
            "scope": "calculator.add", **claims}
    return okta.sign_token(body, server_id=server, headers={"typ": "oauth-id-jag+jwt"})


# -- step 1: the org authorization server issues the ID-JAG ----------------------------------------------

def test_step1_answers_an_id_jag_in_oktas_shape(okta, agent, id_token):
    """[guide] exchange-token-id-response.md: token_type N_A, expires_in 300, the ID-JAG as access_token."""
    response = step1(okta, agent, id_token)
    body = response.json()
    assert response.status_code == 200
    assert (body["token_type"], body["expires_in"], body["issued_token_type"]) == ("N_A", 300, ID_JAG)
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert header["typ"] == "oauth-id-jag+jwt"  # the IETF draft, section 3
    assert (claims["iss"], claims["aud"], claims["client_id"]) == (okta.org_issuer, okta.issuer, agent.client_id)
    assert claims["sub"] == okta.users[0].uid and claims["scope"] == "calculator.add"
    assert claims["exp"] - claims["iat"] == 300
    keys = requests.get(okta.org_issuer + "/oauth2/v1/keys", timeout=10).json()["keys"]  # verifiable with the org's JWKS
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    jwt.decode(body["access_token"], jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=okta.issuer)


def test_step1_audience_of_no_authorization_server_of_the_org(okta, agent, id_token):
    """Catalogue token_exchange_invalid_audience (400 invalid_target)."""
    text = "Token Exchange requests must include a valid audience of the authorization server."
    refused(step1(okta, agent, id_token, audience="https://elsewhere.example.com/oauth2/default"), 400, "invalid_target", text)
    refused(step1(okta, agent, id_token, audience=okta.org_issuer), 400, "invalid_target", text)
    refused(step1(okta, agent, id_token, audience=None), 400, "invalid_target", text)


def test_step1_scopes_the_resource_connection_does_not_allow(okta, agent, id_token):
    """[guide] token-exchange-flow.md: validated "based on the Resource Connections configuration";
    catalogue scope_denied (400 access_denied). Inferred: that this entry answers it."""
    refused(step1(okta, agent, id_token, scope="calculator.add calculator.subtract"), 400, "access_denied",
            "Some of the requested scopes were denied by the policy. Denied scopes: [calculator.subtract].")


def test_step1_no_connection_to_that_authorization_server(okta, agent, id_token):
    """Catalogue token_exchange_incomplete_resource_configuration (400 invalid_target). Inferred."""
    refused(step1(okta, agent, id_token, audience=okta.issuer_for("other"), scope="reports.read"), 400, "invalid_target",
            "The resource app is not completely configured or user is not assigned to the app.")


def test_step1_subject_token_invalid_expired_or_for_another_client(okta, agent):
    """Catalogue invalid_subject_token, token_exchange_subject_token_expired, and (inferred)
    invalid_subject_token_client_not_registered: "Okta accepts only ID token subject tokens minted for
    the current requesting client, which is the AI agent" ([guide] token-exchange-flow.md)."""
    now, user = int(time.time()), okta.users[0]
    id_claims = {"sub": user.uid, "ver": 1, "iss": okta.org_issuer, "aud": agent.client_id, "iat": now - 60,
                 "exp": now + 3600, "jti": "ID.test", "amr": ["pwd"], "auth_time": now - 60}
    refused(step1(okta, agent, "not-a-token"), 400, "invalid_request", "'subject_token' is invalid.")
    refused(step1(okta, agent, okta.sign_token(id_claims, server_id="default")), 400, "invalid_request",
            "'subject_token' is invalid.")  # iss says the org, the key is another server's
    expired = okta.sign_token({**id_claims, "exp": now - 1}, server_id="")
    refused(step1(okta, agent, expired), 400, "invalid_grant",
            "The 'subject_token' either expired or the session associated with it was terminated.")
    for_web = okta.sign_token({**id_claims, "aud": okta.clients["web"].client_id}, server_id="")
    refused(step1(okta, agent, for_web), 400, "invalid_request",
            "'subject_token' is invalid: the client application is not registered for delegation to this agent.")
    alan = okta.sign_token({**id_claims, "sub": okta.users[1].uid}, server_id="")  # not assigned to the agent
    refused(step1(okta, agent, alan), 400, "invalid_request",
            "'subject_token' is invalid: the user is not assigned to the client application.")


def test_step1_wrong_token_types(okta, agent, id_token):
    """Catalogue invalid_requested_token_type and invalid_subject_token_type (400 invalid_request)."""
    refused(step1(okta, agent, id_token, requested_token_type="urn:ietf:params:oauth:token-type:access_token"), 400,
            "invalid_request", "'requested_token_type' is invalid or not supported.")
    refused(step1(okta, agent, id_token, subject_token_type="urn:ietf:params:oauth:token-type:saml2"), 400,
            "invalid_request", "'subject_token_type' is invalid or not supported.")


def test_step1_only_at_the_org_server(okta, agent, id_token):
    """[guide] exchange-token-for-idjag1.md: the org server's /oauth2/v1/token. Catalogue
    unsupported_grant_type_token_exchange at a custom server (inferred)."""
    endpoint = okta.token_endpoint
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": id_token, "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG, "audience": okta.issuer, "scope": "calculator.add",
            **agent.client_assertion(endpoint)}
    refused(requests.post(endpoint, data=form, timeout=10), 400, "unsupported_grant_type",
            "'urn:ietf:params:oauth:grant-type:token-exchange' grant type is not supported.")


def test_step1_needs_the_agents_client_assertion(okta, agent, id_token):
    """A client assertion for another endpoint is refused (catalogue client_assertion_invalid_audience)."""
    response = step1(okta, agent, id_token, **agent.client_assertion(okta.token_endpoint))
    refused(response, 401, "invalid_client", "The audience claim for client_assertion must be the endpoint invoked for the request.")


def test_step1_other_apps_may_not_exchange(okta, agent, id_token):
    """An app that is not an AI agent: the token-exchange grant is not among its grant types (unauthorized_client)."""
    web = okta.clients["web"]
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": id_token, "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG, "audience": okta.issuer, "scope": "calculator.add"}
    response = requests.post(agent.org_token_endpoint, data=form, auth=(web.client_id, web.client_secret), timeout=10)
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


# -- step 2: the custom authorization server exchanges the ID-JAG ----------------------------------------

def test_step2_answers_a_token_for_the_user_held_by_the_agent(okta, agent, id_token):
    """[guide] exchange-idjag-for-token.md: token_type Bearer, expires_in 3600, scope; a standard Okta access token."""
    id_jag = request_id_jag(agent, id_token, audience=okta.issuer, scope="calculator.add")
    response = step2(okta, agent, id_jag.token)
    body = response.json()
    assert response.status_code == 200
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "calculator.add")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["uid"], claims["cid"]) == (okta.users[0].login, okta.users[0].uid, agent.client_id)
    assert (claims["iss"], claims["aud"], claims["scp"]) == (okta.issuer, okta.audience, ["calculator.add"])


def test_step2_an_id_jag_for_another_audience(okta, agent, id_token):
    """Catalogue jwt_bearer_grant_invalid_audience (400 invalid_grant)."""
    id_jag = request_id_jag(agent, id_token, audience=okta.issuer, scope="calculator.add")
    refused(step2(okta, agent, id_jag.token, server_id="other"), 400, "invalid_grant",
            "The audience of the JWT Bearer Grant must match the the issuer of the authorization server.")


def test_step2_a_replayed_id_jag(okta, agent, id_token):
    """Catalogue id_jag_replayed (400 invalid_grant): an ID-JAG is single-use."""
    id_jag = request_id_jag(agent, id_token, audience=okta.issuer, scope="calculator.add")
    assert step2(okta, agent, id_jag.token).status_code == 200
    refused(step2(okta, agent, id_jag.token), 400, "invalid_grant", "The id-jag was already used.")


def test_step2_expired_future_and_too_long(okta, agent):
    """Catalogue id_jag_expired, id_jag_issued_in_future, id_jag_lifetime_too_long (400 invalid_grant)."""
    now = int(time.time())
    refused(step2(okta, agent, forged_id_jag(okta, agent, issued=now - 400)), 400, "invalid_grant", "The id-jag is expired.")
    refused(step2(okta, agent, forged_id_jag(okta, agent, issued=now + 120)), 400, "invalid_grant",
            "The id-jag is issued in the future.")
    refused(step2(okta, agent, forged_id_jag(okta, agent, lifetime=301)), 400, "invalid_grant",
            "The lifetime of the id-jag must not exceed 5 minutes.")
    assert step2(okta, agent, forged_id_jag(okta, agent, lifetime=300)).status_code == 200


def test_step2_presented_by_another_client(okta, agent, second_agent, id_token):
    """Catalogue id_jag_client_mismatch (400 invalid_grant); the ID-JAG is not spent by the refusal."""
    id_jag = request_id_jag(agent, id_token, audience=okta.issuer, scope="calculator.add")
    refused(step2(okta, second_agent, id_jag.token), 400, "invalid_grant",
            "The 'client_id' in the JWT Bearer Grant must match the 'client_id' used to authenticate the client.")
    assert step2(okta, agent, id_jag.token).status_code == 200


def test_step2_untrusted_issuer_bad_signature_and_not_an_id_jag(okta, agent):
    """Catalogue id_jag_untrusted_issuer, id_jag_invalid_signature (400 invalid_grant), and
    jwt_bearer_grant_invalid_issuer (401 invalid_token) for a JWT that is not an ID-JAG (inferred)."""
    from_other = forged_id_jag(okta, agent, server="other", iss=okta.issuer_for("other"))
    refused(step2(okta, agent, from_other), 400, "invalid_grant", "The issuer of the id-jag is not a trusted authorization server.")
    wrong_key = forged_id_jag(okta, agent, server="default")  # iss says the org; the key is not the org's
    refused(step2(okta, agent, wrong_key), 400, "invalid_grant", "The signature of the id-jag is invalid.")
    untyped = okta.sign_token(jwt.decode(forged_id_jag(okta, agent), options={"verify_signature": False}), server_id="")
    refused(step2(okta, agent, untyped), 401, "invalid_token", "The issuer of the token is not permitted to use the JWT Bearer Grant.")


def test_step2_scope_in_the_request(okta, agent):
    """Catalogue id_jag_scopes_in_request (400 invalid_request): the ID-JAG carries the scopes."""
    refused(step2(okta, agent, forged_id_jag(okta, agent), scope="calculator.add"), 400, "invalid_request",
            "The id-jag request must not include a 'scope' parameter.")


def test_step2_subject_scopes_and_resource(okta, agent):
    """Catalogue id_jag_invalid_subject, id_jag_lacking_scopes, id_jag_resource_mismatch,
    id_jag_resource_not_allowed_for_as (400 invalid_grant)."""
    refused(step2(okta, agent, forged_id_jag(okta, agent, sub="00u1nobodyatall00000")), 400, "invalid_grant",
            "The 'sub' claim in the id-jag is invalid.")
    refused(step2(okta, agent, forged_id_jag(okta, agent, scope="")), 400, "invalid_grant", "The id-jag must include at least one scope.")
    refused(step2(okta, agent, forged_id_jag(okta, agent, resource=okta.audience), resource="https://other.example.com"),
            400, "invalid_grant", "The 'resource' claim in the id-jag does not match the 'resource' parameter in the request.")
    refused(step2(okta, agent, forged_id_jag(okta, agent, resource="https://other.example.com")), 400, "invalid_grant",
            "The 'resource' claim in the id-jag is not valid for this authorization server.")


def test_step2_not_at_the_org_server(okta, agent):
    """The org never exchanges its own ID-JAG (the IETF draft, "Cross-Domain Use"): no JWT bearer grant there."""
    endpoint = agent.org_token_endpoint
    form = {"grant_type": JWT_BEARER, "assertion": forged_id_jag(okta, agent, aud=okta.org_issuer),
            **agent.client_assertion(endpoint)}
    response = requests.post(endpoint, data=form, timeout=10)
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_feature_not_enabled(okta, agent, id_token):
    """Catalogue feature_not_enabled (403 server_error) for both steps when the org has no Cross App Access."""
    id_jag = request_id_jag(agent, id_token, audience=okta.issuer, scope="calculator.add")
    set_cross_app_access(okta, False)
    try:
        for response in (step1(okta, agent, id_token), step2(okta, agent, id_jag.token)):
            refused(response, 403, "server_error", "The requested feature is not enabled in this environment.")
    finally:
        set_cross_app_access(okta, True)
    assert exchange_id_jag(agent, id_jag).scope == "calculator.add"  # the refusal spent nothing


def test_a_parameter_sent_twice(okta, agent, id_token):
    """Catalogue illegal_duplicated_parameters (400 invalid_request) on both steps."""
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": id_token, "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG, "scope": "calculator.add", **agent.client_assertion(agent.org_token_endpoint)}
    pairs = [*form.items(), ("audience", okta.issuer), ("audience", okta.issuer_for("other"))]
    refused(requests.post(agent.org_token_endpoint, data=pairs, timeout=10), 400, "invalid_request",
            "Duplicate parameter provided in request. Duplicated parameters: [audience].")
    endpoint = okta.token_endpoint
    pairs = [("grant_type", JWT_BEARER), ("assertion", forged_id_jag(okta, agent)), ("assertion", forged_id_jag(okta, agent)),
             *agent.client_assertion(endpoint).items()]
    refused(requests.post(endpoint, data=pairs, timeout=10), 400, "invalid_request",
            "Duplicate parameter provided in request. Duplicated parameters: [assertion].")
