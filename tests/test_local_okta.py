"""The local Okta: metadata, JWKS, client credentials, Okta's errors, verification, clients.

One server per module (``okta`` fixture). User sign-in flows are in
``test_local_okta_user_flows.py``, misconfiguration scenarios and key rotation in
``test_local_okta_scenarios.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import jwt
import pytest
import requests

from child_output import Lines
from helpers import background
from helpers.local_okta import LocalOkta, default_tenant, start_local_okta
from helpers.local_okta.tenant import Scope

SCOPES = "calculator.add calculator.subtract"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-local-okta")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean(okta):
    yield
    okta.set_scenario(None)
    okta.set_access_token_lifetime(None)
    okta.set_resource_parameter_check(True)


def client_credentials(okta, label="write_service", scope=SCOPES, **data):
    creds = okta.clients[label]
    return requests.post(
        okta.token_endpoint,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials", "scope": scope, **data},
        timeout=10,
    )


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# -- metadata and keys ---------------------------------------------------------------------


def test_metadata_documents_follow_okta_url_layout(okta):
    base = okta.url
    issuer = f"{base}/oauth2/default"
    docs = {
        "rfc8414": requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json(),
        "path_inserted": requests.get(
            f"{base}/.well-known/oauth-authorization-server/oauth2/default", timeout=10
        ).json(),
        "openid": requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json(),
    }
    for doc in docs.values():
        assert doc["issuer"] == issuer == okta.issuer
        assert doc["authorization_endpoint"] == f"{issuer}/v1/authorize"
        assert doc["token_endpoint"] == f"{issuer}/v1/token"
        assert doc["jwks_uri"] == f"{issuer}/v1/keys"
        assert doc["introspection_endpoint"] == f"{issuer}/v1/introspect"
        assert doc["revocation_endpoint"] == f"{issuer}/v1/revoke"
        assert doc["code_challenge_methods_supported"] == ["S256"]
        assert doc["subject_types_supported"] == ["public"]
        assert {"client_credentials", "authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
        assert {"calculator.add", "calculator.subtract", "openid", "offline_access"} <= set(doc["scopes_supported"])
        assert {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"} <= set(
            doc["token_endpoint_auth_methods_supported"]
        )
        assert {"ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "sub"} <= set(doc["claims_supported"])
    assert "userinfo_endpoint" not in docs["rfc8414"]
    assert docs["openid"]["userinfo_endpoint"] == f"{issuer}/v1/userinfo"
    assert docs["openid"]["id_token_signing_alg_values_supported"] == ["RS256"]
    assert okta.metadata_url == f"{issuer}/.well-known/oauth-authorization-server"


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/nope/.well-known/oauth-authorization-server",
        "/oauth2/nope/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/oauth2/nope",
        "/oauth2/nope/v1/keys",
        "/oauth2/nope/v1/token",
    ],
)
def test_unknown_authorization_server_is_404(okta, path):
    response = requests.post(okta.url + path, timeout=10) if path.endswith("token") else requests.get(
        okta.url + path, timeout=10
    )
    assert response.status_code == 404
    assert response.json()["errorCode"] == "E0000007"
    assert "nope" in response.json()["errorSummary"]


def test_unpublished_scope_is_missing_from_scopes_supported_but_still_grantable():
    tenant = default_tenant()
    tenant.authorization_servers[0].scopes.append(Scope("calculator.secret", metadata_publish=False))
    tenant.authorization_servers[0].policies[2].rules[0].scopes += ("calculator.secret",)
    okta = start_local_okta(tenant=tenant, name="test-local-okta-unpublished")
    try:
        supported = requests.get(okta.metadata_url, timeout=10).json()["scopes_supported"]
        assert "calculator.add" in supported and "calculator.secret" not in supported
        response = client_credentials(okta, scope="calculator.secret")
        assert response.status_code == 200, response.text
        assert claims_of(response.json()["access_token"])["scp"] == ["calculator.secret"]
    finally:
        okta.stop()


def test_jwks_publishes_rsa_signing_keys_and_tokens_name_their_kid(okta):
    jwks = requests.get(okta.jwks_uri, timeout=10).json()
    assert len(jwks["keys"]) == 2  # the signing key and the next one, like Okta
    for key in jwks["keys"]:
        assert {k: key[k] for k in ("kty", "alg", "use")} == {"kty": "RSA", "alg": "RS256", "use": "sig"}
        assert key["kid"] and key["n"] and key["e"] == "AQAB"
        assert "d" not in key  # never the private part
    header = jwt.get_unverified_header(client_credentials(okta).json()["access_token"])
    assert header["alg"] == "RS256" and "typ" not in header  # no "typ", like Okta
    assert header["kid"] in [key["kid"] for key in jwks["keys"]]


# -- client credentials --------------------------------------------------------------------


def test_client_credentials_token_has_oktas_claims(okta):
    response = client_credentials(okta)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPES
    assert "refresh_token" not in body and "id_token" not in body
    claims = claims_of(body["access_token"])
    client_id = okta.clients["write_service"].client_id
    assert list(claims) == ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "scp", "sub"]
    assert claims["ver"] == 1
    assert claims["jti"].startswith("AT.") and len(claims["jti"]) > 20
    assert claims["iss"] == okta.issuer
    assert claims["aud"] == okta.audience == "https://calculator-mcp-server.example.com"
    assert claims["cid"] == claims["sub"] == client_id
    assert claims["scp"] == ["calculator.add", "calculator.subtract"]
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 5


def test_each_token_has_a_fresh_jti(okta):
    first, second = (claims_of(client_credentials(okta).json()["access_token"])["jti"] for _ in range(2))
    assert first != second


def test_client_ids_look_like_oktas_and_secrets_are_generated_per_start(okta):
    for label, creds in okta.clients.items():
        assert creds.client_id.startswith("0oa") and len(creds.client_id) == 20
        app = okta.tenant.app(label=label)
        if app.is_public or app.uses_private_key:  # a Native app (mcp_client, device_app), a Public key / Private key app
            assert creds.client_secret is None
            continue
        assert creds.client_secret and len(creds.client_secret) >= 32
    other = LocalOkta()
    assert other.clients["web"].client_id == okta.clients["web"].client_id
    assert other.clients["web"].client_secret != okta.clients["web"].client_secret


def test_secret_given_in_tenant_data_is_kept():
    tenant = default_tenant()
    tenant.apps[2].client_secret = "a-secret-from-the-tenant-data-0123456789"
    assert LocalOkta(tenant).clients["write_service"].client_secret == "a-secret-from-the-tenant-data-0123456789"


def test_client_secret_post_is_accepted(okta):
    creds = okta.clients["write_service"]
    response = requests.post(
        okta.token_endpoint,
        data={
            "grant_type": "client_credentials",
            "scope": "calculator.add",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["cid"] == creds.client_id


def test_read_service_gets_add_only(okta):
    response = client_credentials(okta, "read_service", "calculator.add")
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["scp"] == ["calculator.add"]


def test_audience_form_field_is_accepted_and_ignored(okta):
    response = client_credentials(okta, audience="https://somewhere-else.example.com")
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["aud"] == okta.audience


def test_resource_parameter_switch(okta):
    assert client_credentials(okta, resource=okta.audience).status_code == 200
    wrong = client_credentials(okta, resource="https://other.example.com")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_target"
    okta.set_resource_parameter_check(False)
    ignored = client_credentials(okta, resource="https://other.example.com")
    assert ignored.status_code == 200
    assert claims_of(ignored.json()["access_token"])["aud"] == okta.audience


def test_access_token_lifetime_override_allows_short_lived_tokens(okta):
    okta.set_access_token_lifetime(1)
    body = client_credentials(okta).json()
    claims = claims_of(body["access_token"])
    assert body["expires_in"] == 1 and claims["exp"] - claims["iat"] == 1
    okta.set_access_token_lifetime(None)
    assert client_credentials(okta).json()["expires_in"] == 3600
    time.sleep(1.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            body["access_token"],
            jwt.PyJWKClient(okta.jwks_uri).get_signing_key_from_jwt(body["access_token"]),
            algorithms=["RS256"],
            audience=okta.audience,
            issuer=okta.issuer,
        )
    creds = okta.clients["write_service"]
    introspected = requests.post(
        okta.introspection_endpoint,
        auth=(creds.client_id, creds.client_secret),
        data={"token": body["access_token"]},
        timeout=10,
    ).json()
    assert introspected == {"active": False}
    with pytest.raises(ValueError):
        okta.set_access_token_lifetime(0)


# -- Okta's error table --------------------------------------------------------------------

CLIENT_AUTH_FAILED = "Client authentication failed. Either the client or the client credentials are invalid."


def _basic(client_id: str, secret: str) -> dict:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _error_cases(okta):
    write, read, web = (okta.clients[k] for k in ("write_service", "read_service", "web"))
    cc = {"grant_type": "client_credentials", "scope": "calculator.add"}
    return {
        # Okta's catalogue: invalid_client_secret and invalid_client_id, two different bodies
        "wrong secret": (_basic(write.client_id, "not-the-secret"), cc, 401, "invalid_client",
                         "The client secret supplied for a confidential client is invalid."),
        "unknown client": (_basic("0oaUnknownClient12345", "x"), cc, 401, "invalid_client",
                           "Invalid value for 'client_id' parameter."),
        "no credentials": ({}, cc, 401, "invalid_client", "No client credentials found."),
        # the catalogue's invalid_basic_auth_creds
        "Authorization header that is not Basic credentials": (
            {"Authorization": "Basic !!!not-base64"}, cc, 401, "invalid_client",
            "Found Authentication header but was not valid client credentials.",
        ),
        # client_secret_jwt is not emulated: an app with a secret that sends an assertion is refused
        # (private_key_jwt: tests/test_okta_fidelity_private_key_jwt.py); an assertion that is no
        # JWT gets the catalogue's client_assertion_invalid_jwt
        "client assertion": (
            {}, {**cc, "client_id": write.client_id, "client_assertion": jwt.encode({"iss": write.client_id}, "k" * 32),
                 "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
            401, "invalid_client", CLIENT_AUTH_FAILED,
        ),
        "client assertion that is no JWT": (
            {}, {**cc, "client_id": write.client_id, "client_assertion": "eyJ.x.y",
                 "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
            401, "invalid_client", "The parsing of the client_assertion failed.",
        ),
        # the Basic header names one app, the body's client_id another: whose request is it?
        "client_id in the body differs from Basic": (
            _basic(write.client_id, write.client_secret), {**cc, "client_id": read.client_id}, 401, "invalid_client",
            CLIENT_AUTH_FAILED,
        ),
        "header and body credentials": (
            _basic(write.client_id, write.client_secret),
            {**cc, "client_id": write.client_id, "client_secret": write.client_secret},
            401,
            "invalid_request",
            "Cannot supply multiple client credentials. Use one of the following: credentials in the "
            "Authorization header, credentials in the post body, or a client_assertion in the post body.",
        ),
        "no grant_type": (
            _basic(write.client_id, write.client_secret),
            {"scope": "calculator.add"},
            400,
            "invalid_request",
            "The token request must specify a 'grant_type'. Valid values: [authorization_code, implicit, "
            "refresh_token, password, client_credentials, urn:ietf:params:oauth:grant-type:device_code]",
        ),
        "unsupported grant_type": (
            _basic(write.client_id, write.client_secret),
            {"grant_type": "urn:example:magic", "scope": "calculator.add"},
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant "
            "types: [authorization_code, implicit, refresh_token, password, client_credentials, "
            "urn:ietf:params:oauth:grant-type:device_code].",
        ),
        "grant not allowed for app": (
            _basic(read.client_id, read.client_secret),
            {"grant_type": "authorization_code", "code": "abc", "redirect_uri": "http://127.0.0.1:8765/callback"},
            400,
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: "
            "[client_credentials].",
        ),
        "scope not configured": (
            _basic(write.client_id, write.client_secret),
            {"grant_type": "client_credentials", "scope": "calculator.multiply"},
            400,
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        ),
        "no scope and no default scopes": (
            _basic(write.client_id, write.client_secret),
            {"grant_type": "client_credentials"},
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ),
        "openid with client credentials": (
            _basic(web.client_id, web.client_secret),
            {"grant_type": "client_credentials", "scope": "openid calculator.add"},
            400,
            "invalid_scope",
            "Cannot request 'openid' scopes using client credentials.",
        ),
        "scope the rule does not allow": (  # rules are allowlists: no rule matches (no_matching_policy)
            _basic(read.client_id, read.client_secret),
            {"grant_type": "client_credentials", "scope": "calculator.add calculator.subtract"},
            401,
            "access_denied",
            "Policy evaluation failed for this request, please check the policy configurations.",
        ),
        "invalid refresh token": (
            _basic(web.client_id, web.client_secret),
            {"grant_type": "refresh_token", "refresh_token": "not-a-refresh-token"},
            400,
            "invalid_grant",
            "The refresh token is invalid or expired.",
        ),
        "invalid authorization code": (
            _basic(web.client_id, web.client_secret),
            {"grant_type": "authorization_code", "code": "nope", "redirect_uri": "http://127.0.0.1:8765/callback"},
            400,
            "invalid_grant",
            "The authorization code is invalid or has expired.",
        ),
    }


ERROR_CASES = [
    "wrong secret", "unknown client", "no credentials", "client_id in the body differs from Basic",
    "Authorization header that is not Basic credentials", "client assertion", "client assertion that is no JWT",
    "header and body credentials", "no grant_type",
    "unsupported grant_type", "grant not allowed for app", "scope not configured",
    "no scope and no default scopes", "openid with client credentials", "scope the rule does not allow",
    "invalid refresh token", "invalid authorization code",
]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_token_endpoint_errors_are_oktas(okta, case):
    cases = _error_cases(okta)
    assert set(cases) == set(ERROR_CASES)
    headers, data, status, error, description = cases[case]
    response = requests.post(okta.token_endpoint, headers=headers, data=data, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": error, "error_description": description}


def test_token_endpoint_refuses_get(okta):
    assert requests.get(okta.token_endpoint, timeout=10).status_code == 405


# -- verification by resource servers ------------------------------------------------------


def test_token_verifies_with_pyjwt_against_published_jwks(okta):
    token = client_credentials(okta).json()["access_token"]
    key = jwt.PyJWKClient(okta.jwks_uri).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=okta.audience, issuer=okta.issuer)
    assert claims["scp"] == ["calculator.add", "calculator.subtract"]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=["RS256"], audience="api://default", issuer=okta.issuer)
    with pytest.raises(jwt.InvalidSignatureError):
        tampered = token.rsplit(".", 1)[0] + "." + base64.urlsafe_b64encode(b"x" * 256).rstrip(b"=").decode()
        jwt.decode(tampered, key, algorithms=["RS256"], audience=okta.audience)


def test_token_verifies_with_the_calculators_verifier(okta):
    from helpers.verification import OktaJWTVerifier

    token = client_credentials(okta, "read_service", "calculator.add").json()["access_token"]

    async def verify(audience):
        verifier = OktaJWTVerifier(jwks_uri=okta.jwks_uri, issuer=okta.issuer, audience=audience)
        return await verifier.verify_token(token)

    access = asyncio.run(verify(okta.audience))
    assert access is not None
    assert access.scopes == ["calculator.add"]
    assert access.client_id == okta.clients["read_service"].client_id
    assert asyncio.run(verify("api://default")) is None


# -- three client styles -------------------------------------------------------------------


def _assert_equivalent(okta, token: str, client_id: str) -> None:
    claims = jwt.decode(
        token,
        jwt.PyJWKClient(okta.jwks_uri).get_signing_key_from_jwt(token),
        algorithms=["RS256"],
        audience=okta.audience,
        issuer=okta.issuer,
    )
    assert (claims["cid"], claims["sub"], claims["scp"]) == (client_id, client_id, ["calculator.add"])


def test_curl_gets_a_token(okta):
    curl = shutil.which("curl")
    if curl is None:
        print("curl is not installed: skipping the cURL client style")
        pytest.skip("curl is not installed")
    creds = okta.clients["write_service"]
    output = subprocess.run(
        [curl, "-s", "-u", f"{creds.client_id}:{creds.client_secret}", "-d", "grant_type=client_credentials",
         "-d", "scope=calculator.add", okta.token_endpoint],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout
    _assert_equivalent(okta, json.loads(output)["access_token"], creds.client_id)


def test_requests_with_http_basic_gets_a_token(okta):
    creds = okta.clients["write_service"]
    response = requests.post(
        okta.token_endpoint,
        auth=requests.auth.HTTPBasicAuth(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials", "scope": "calculator.add"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    _assert_equivalent(okta, response.json()["access_token"], creds.client_id)


def test_requests_oauthlib_gets_a_token(okta, monkeypatch):
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # http:// loopback only, this test only
    creds = okta.clients["write_service"]
    session = OAuth2Session(client=BackendApplicationClient(client_id=creds.client_id))
    token = session.fetch_token(
        okta.token_endpoint, client_id=creds.client_id, client_secret=creds.client_secret, scope=["calculator.add"]
    )
    assert token["token_type"] == "Bearer" and token["scope"] == ["calculator.add"]
    _assert_equivalent(okta, token["access_token"], creds.client_id)


def test_library_never_sets_insecure_transport_globally(okta):
    client_credentials(okta)
    requests.get(okta.metadata_url, timeout=10)
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


# -- the org authorization server ----------------------------------------------------------


def test_org_server_metadata_and_tokens_are_for_okta_only(okta):
    doc = requests.get(f"{okta.url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert doc["issuer"] == okta.org_issuer == okta.url
    assert doc["token_endpoint"] == f"{okta.url}/oauth2/v1/token"
    assert doc["jwks_uri"] == f"{okta.url}/oauth2/v1/keys"
    assert "calculator.add" not in doc["scopes_supported"]
    creds = okta.clients["write_service"]
    refused = requests.post(
        doc["token_endpoint"], auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10,
    )
    # catalogue unsupported_auth_method_client_creds: a client secret is not enough here
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_client", "error_description": (
        "Client Credentials requests to the Org Authorization Server must use the private_key_jwt "
        "token_endpoint_auth_method."
    )}


# -- serving -------------------------------------------------------------------------------


def test_server_binds_loopback_only(okta):
    sock = background._registry["test-local-okta"]._server.servers[0].sockets[0]
    assert sock.getsockname()[0] == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", okta.port), timeout=2):
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks the outgoing interface
        other_address = probe.getsockname()[0]
    except OSError:
        other_address = None
    finally:
        probe.close()
    if not other_address or other_address.startswith("127."):
        print("no non-loopback interface: only the bound address was checked")
        return
    with pytest.raises(OSError):
        socket.create_connection((other_address, okta.port), timeout=2).close()


def test_restarting_a_name_replaces_the_server():
    first = start_local_okta(name="test-local-okta-restart")
    second = start_local_okta(name="test-local-okta-restart")
    try:
        assert not first.is_running and second.is_running
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", first.port), timeout=2).close()
        assert requests.get(second.jwks_uri, timeout=10).status_code == 200
    finally:
        second.stop()


def test_request_counts_count_each_endpoint(okta):
    okta.request_counts.clear()
    client_credentials(okta)
    client_credentials(okta, "read_service", "calculator.add")
    requests.get(okta.jwks_uri, timeout=10)
    requests.get(okta.metadata_url, timeout=10)
    assert okta.request_counts == {"token": 2, "keys": 1, "metadata": 1}
    okta.request_counts.clear()  # what the tests do between cases: counting starts again from zero
    requests.get(okta.metadata_url, timeout=10)
    assert okta.request_counts == {"metadata": 1}


def test_settings_describe_the_local_server(okta):
    settings = okta.settings()
    assert settings.mode == "local"
    assert (settings.issuer, settings.audience, settings.jwks_uri) == (okta.issuer, okta.audience, None)  # read from metadata
    assert settings.read_only_client == okta.clients["read_service"]
    assert settings.m2m_client == okta.clients["write_service"]
    assert settings.web_client == okta.clients["web"]
    assert okta.clients["write_service"].client_secret not in repr(settings)


def test_users_are_the_tenants_test_users(okta):
    users = okta.users
    assert len(users) == 2
    for user in users:
        assert user.uid.startswith("00u") and len(user.uid) == 20
        assert "@" in user.login and user.password and user.name


def test_normal_operation_prints_nothing(okta, capfd):
    capfd.readouterr()
    client_credentials(okta)
    client_credentials(okta, "read_service", "calculator.subtract")  # an error response
    requests.get(okta.url + "/oauth2/nope/v1/keys", timeout=10)
    requests.get(okta.authorization_endpoint + "?client_id=nope", timeout=10)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_env_block_lists_the_variables_in_order(okta):
    block = okta.env_block()
    names = [line.split("=", 1)[0] for line in block.splitlines() if not line.startswith("#")]
    assert names == [
        "OAUTH_ISSUER", "OAUTH_AUDIENCE", "M2M_CLIENT_ID", "M2M_CLIENT_SECRET",
        "READ_M2M_CLIENT_ID", "READ_M2M_CLIENT_SECRET", "CLIENT_ID", "CLIENT_SECRET", "DEVICE_CLIENT_ID", "MCP_CLIENT_ID",
        "OAUTH_CA_FILE",
    ]
    assert f"OAUTH_ISSUER={okta.issuer}" in block.splitlines()
    assert f"M2M_CLIENT_SECRET={okta.clients['write_service'].client_secret}" in block.splitlines()
    assert all(f"#   {user.login} / {user.password}" in block for user in okta.users)


def test_command_line_runs_in_the_foreground_until_interrupted():
    # A child inherits an *ignored* SIGINT (a test run started as a background job, `pytest &`,
    # ignores it), and would then never see the Ctrl-C below: give it the default while it starts.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(  # -X faulthandler: SIGABRT prints every thread's stack if it hangs
            [sys.executable, "-X", "faulthandler", "-m", "helpers.local_okta", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        lines, output = [], Lines(process.stdout, seconds=20)
        while True:
            line = output.next()  # never blocks past the deadline, even if the child hangs silently
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        env = dict(line.split("=", 1) for line in lines if line.startswith(("OAUTH_", "M2M_", "CLIENT_")))
        assert env["OAUTH_ISSUER"].startswith("https://127.0.0.1:") and env["OAUTH_ISSUER"].endswith("/oauth2/default")
        creds = (env["M2M_CLIENT_ID"], env["M2M_CLIENT_SECRET"])
        response = requests.post(
            env["OAUTH_ISSUER"] + "/v1/token", auth=creds,
            data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10,
            verify=env["OAUTH_CA_FILE"],  # the CA that process made: trusted explicitly, never verify=False
        )
        assert response.status_code == 200
        assert claims_of(response.json()["access_token"])["aud"] == env["OAUTH_AUDIENCE"]
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0  # its stop may take 10 s itself (graceful, then forced)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            pytest.fail("Ctrl-C did not stop it within 30 s; its threads:\n" + process.communicate(timeout=10)[1][-6000:])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("header, expected", [
    ("Basic " + base64.b64encode(b"0oa1service:s3cr:et").decode(), ("0oa1service", "s3cr:et")),  # the first colon splits
    ("Basic " + base64.b64encode(b"0oa1%3Aservice:s%40cret").decode(), ("0oa1:service", "s@cret")),  # RFC 6749 2.3.1
    ("basic  " + base64.b64encode(b"a:b").decode() + " ", ("a", "b")),
    ("Basic " + base64.b64encode(b"no-colon").decode(), None),
    ("Basic !!!not-base64", None),
    ("Basic " + base64.b64encode("é:x".encode("latin-1")).decode(), None),  # not UTF-8
    ("Bearer " + base64.b64encode(b"a:b").decode(), None),
    ("Basic ", None),
    ("", None),
    (None, None),
], ids=["colon in the secret", "form-encoded", "scheme case and spaces", "no colon", "not base64", "not UTF-8",
        "another scheme", "no value", "empty", "absent"])
def test_basic_credentials_are_read_as_rfc_6749_says(header, expected):
    from helpers.local_okta.validator import _basic_credentials

    assert _basic_credentials(header) == expected
