"""Private-key client authentication (``private_key_jwt``): the local server checks a client assertion as Okta does.

Sources (okta/okta-developer-docs, ``packages/@okta/vuepress-site/docs/``):

- [JWT guide] ``guides/build-self-signed-jwt/main/index.md`` "Gather claims information": ``aud`` "the
  full URL of the resource", ``exp`` required, refused "if the expiration time is more than one hour in
  the future or if the token is already expired"; ``jti`` optional, "if you specify this parameter, the
  token can only be used once"; ``iat`` optional, "must be a time before the request is received";
  private-key algorithms RS256, RS384, RS512, ES256, ES384, ES512.
- [service app] ``guides/implement-oauth-for-okta-serviceapp/main/index.md``: ``iss``/``sub`` "must be
  the same as the client_id"; "private_key_jwt ... is the only supported method for OAuth service apps
  that want to get access tokens with Okta scopes" (the org authorization server); *Save keys in Okta*:
  "include a kid as all keys in the JWKS must have a unique ID", "up to 50 signing keys per app".
- the error catalogue (``oauth2-error-codes.json``, release 2026.08.1): each refusal's status, error and
  description, by internal code (named beside each case).

"Inferred" marks a choice the documents do not make (see ``helpers/local_okta/client_assertions.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.tenant import App

KEY_APP = "0oa1calckeysvc5jwtq8"
BARE_APP = "0oa1calcbarekeysvc0x"  # a private-key app with no key yet
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public(key, kid: str) -> dict:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(label="bare_key_service", name="No key yet", client_id=BARE_APP,
                           grant_types=("client_credentials",), token_endpoint_auth_method="private_key_jwt"))
    tenant.server("default").policies[-1].assigned_to += ("bare_key_service",)
    local = start_local_okta(tenant=tenant, name="test-okta-fidelity-pkjwt")
    local.register_public_key("key_service", public(KEY, "rsa-1"))
    local.register_public_key("key_service", public(EC_KEY, "ec-1"))
    yield local
    local.stop()


def assertion(okta, *, key=KEY, kid: str | None = "rsa-1", algorithm="RS256", drop=(), **claims) -> str:
    now = int(time.time())
    body = {"iss": KEY_APP, "sub": KEY_APP, "aud": okta.token_endpoint, "iat": now, "exp": now + 60,
            "jti": str(uuid.uuid4()), **claims}
    for name in drop:
        body.pop(name)
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def token_request(okta, client_assertion: str, url: str | None = None, **form) -> requests.Response:
    data = {"grant_type": "client_credentials", "scope": "calculator.add",
            "client_assertion_type": JWT_BEARER, "client_assertion": client_assertion, **form}
    return requests.post(url or okta.token_endpoint, data=data, timeout=10)


def refused(response: requests.Response, description: str, status: int = 401, error: str = "invalid_client") -> bool:
    assert (response.status_code, response.json()) == (status, {"error": error, "error_description": description})
    return True


# -- the happy path ----------------------------------------------------------------------------------


def test_a_valid_assertion_gets_a_token_for_the_app(okta):
    answer = token_request(okta, assertion(okta))
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["cid"] == KEY_APP and claims["scp"] == ["calculator.add"] and claims["sub"] == KEY_APP


def test_an_ec_key_signs_too(okta):  # [JWT guide]: ES256 is a private-key algorithm
    assert token_request(okta, assertion(okta, key=EC_KEY, kid="ec-1", algorithm="ES256")).status_code == 200


def test_the_policy_still_decides_the_scopes(okta):  # the app's rule: calculator.add and calculator.subtract
    answer = token_request(okta, assertion(okta), scope="calculator.add calculator.subtract")
    assert answer.status_code == 200 and answer.json()["scope"] == "calculator.add calculator.subtract"
    assert token_request(okta, assertion(okta), scope="reports.read").json()["error"] == "invalid_scope"


# -- each refusal, in the catalogue's words ----------------------------------------------------------


def test_a_wrong_assertion_type(okta):  # client_assertion_type_invalid: 400 invalid_request
    assert refused(token_request(okta, assertion(okta), client_assertion_type="jwt"),
                   "The client_assertion_type is invalid.", 400, "invalid_request")


def test_an_assertion_that_is_no_jwt(okta):  # client_assertion_invalid_jwt
    assert refused(token_request(okta, "not.a-jwt"), "The parsing of the client_assertion failed.")


def test_an_issuer_that_is_no_client(okta):  # client_assertion_invalid_issuer
    assert refused(token_request(okta, assertion(okta, iss="0oa1nosuchclient0000")),
                   "The issuer claim for client_assertion is not a valid client_id.")


def test_a_client_id_field_naming_another_client(okta):  # client_assertion_invalid_issuer (inferred: iss must be it)
    assert refused(token_request(okta, assertion(okta), client_id="0oa1calcwritesvc7kpz"),
                   "The issuer claim for client_assertion is not a valid client_id.")
    assert token_request(okta, assertion(okta), client_id=KEY_APP).status_code == 200  # the same client: fine


def test_a_subject_other_than_the_client(okta):  # client_assertion_invalid_subject
    assert refused(token_request(okta, assertion(okta, sub="someone-else")),
                   "The subject claim for client_assertion is not a valid client_id.")


def test_an_app_without_keys(okta):  # client_assertion_jwks_not_configured
    assert refused(token_request(okta, assertion(okta, iss=BARE_APP, sub=BARE_APP)),
                   "The client does not have a JWKSet configured, but the client_assertion requires one.")


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_never_hmac_with_the_public_key_nor_no_signature(okta, algorithm):
    # client_assertion_invalid_signature_algorithm; [JWT guide] private_key_jwt: RS*/ES* only. An HMAC keyed
    # with the public key would let anyone who read the JWKS sign.
    # (built by hand: PyJWT itself refuses to use a public key as an HMAC secret)
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signed = part({"alg": algorithm, "kid": "rsa-1", "typ": "JWT"}) + "." + part(
        {"iss": KEY_APP, "sub": KEY_APP, "aud": okta.token_endpoint, "exp": int(time.time()) + 60, "jti": str(uuid.uuid4())})
    secret = json.dumps(public(KEY, "rsa-1")).encode()
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest() if algorithm == "HS256" else b""
    forged = signed + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert refused(token_request(okta, forged), "The client_assertion JWT signature algorithm is invalid.")


def test_an_algorithm_that_does_not_fit_the_key(okta):  # client_assertion_invalid_signature_algorithm
    # an EC signature (ES256) naming the RSA key's kid
    assert refused(token_request(okta, assertion(okta, key=EC_KEY, kid="rsa-1", algorithm="ES256")),
                   "The client_assertion JWT signature algorithm is invalid.")


def test_an_unknown_kid(okta):  # client_assertion_invalid_kid
    assert refused(token_request(okta, assertion(okta, kid="not-registered")), "The client_assertion JWT kid is invalid.")


def test_another_key_behind_a_registered_kid(okta):  # client_assertion_invalid_signature
    assert refused(token_request(okta, assertion(okta, key=OTHER_KEY)), "The client_assertion signature is invalid.")


def test_without_a_kid_each_registered_key_is_tried(okta):  # inferred (RFC 7515: kid is optional)
    assert token_request(okta, assertion(okta, kid=None)).status_code == 200
    assert refused(token_request(okta, assertion(okta, key=OTHER_KEY, kid=None)), "The client_assertion signature is invalid.")


AUDIENCE = "The audience claim for client_assertion must be the endpoint invoked for the request."  # client_assertion_invalid_audience


def test_the_issuer_as_audience_is_refused(okta):  # what the MCP SDK's PrivateKeyJWTOAuthProvider signs for
    assert refused(token_request(okta, assertion(okta, aud=okta.issuer)), AUDIENCE)


@pytest.mark.parametrize("audience", ["{token}/", "{token}?x=1", "HTTPS://127.0.0.1:{port}/oauth2/default/v1/token"])
def test_the_audience_is_compared_exactly(okta, audience):
    aud = audience.format(token=okta.token_endpoint, port=okta.port)
    assert refused(token_request(okta, assertion(okta, aud=aud)), AUDIENCE)


def test_an_audience_array_holding_the_endpoint(okta):  # inferred (RFC 7519 4.1.3: aud may be an array)
    assert token_request(okta, assertion(okta, aud=[okta.token_endpoint, "https://else.example"])).status_code == 200


def test_another_servers_token_endpoint_is_refused(okta):
    assert refused(token_request(okta, assertion(okta, aud=okta.endpoint("token", "other"))), AUDIENCE)


def test_introspection_and_revocation_want_their_own_endpoint(okta):
    token = token_request(okta, assertion(okta)).json()["access_token"]
    data = {"token": token, "token_type_hint": "access_token", "client_assertion_type": JWT_BEARER}
    wrong = requests.post(okta.introspection_endpoint, data={**data, "client_assertion": assertion(okta)}, timeout=10)
    assert refused(wrong, AUDIENCE)  # signed for the token endpoint, sent to introspect
    right = requests.post(okta.introspection_endpoint, timeout=10,
                          data={**data, "client_assertion": assertion(okta, aud=okta.introspection_endpoint)})
    assert right.status_code == 200 and right.json()["active"] is True
    revoked = requests.post(okta.revocation_endpoint, timeout=10,
                            data={**data, "client_assertion": assertion(okta, aud=okta.revocation_endpoint)})
    assert revoked.status_code == 200


@pytest.mark.parametrize("claims", [{"drop": ("exp",)}, {"exp": "soon"}, {"exp": True}])
def test_exp_is_required_as_seconds(okta, claims):  # client_assertion_expiration_required
    assert refused(token_request(okta, assertion(okta, **claims)),
                   "The client_assertion must contain the 'exp' claim as seconds since epoch.")


def test_an_expired_assertion(okta):  # client_assertion_expired_token
    assert refused(token_request(okta, assertion(okta, iat=int(time.time()) - 120, exp=int(time.time()) - 1)),
                   "The client_assertion token is expired.")


def test_at_most_an_hour_ahead(okta):  # client_assertion_expires_too_far_in_future; [JWT guide] "more than one hour"
    assert refused(token_request(okta, assertion(okta, exp=int(time.time()) + 3600 + 30)),
                   "The client_assertion token has an expiration too far into the future.")
    assert token_request(okta, assertion(okta, exp=int(time.time()) + 3600 - 30)).status_code == 200


def test_issued_in_the_future(okta):  # client_assertion_issued_at_in_future
    assert refused(token_request(okta, assertion(okta, iat=int(time.time()) + 120)),
                   "The client_assertion token must be issued before the current time.")


def test_iat_is_optional(okta):  # [JWT guide] iat: Optional
    assert token_request(okta, assertion(okta, drop=("iat",))).status_code == 200


ALREADY_USED = "The client_assertion token has already been used."  # client_assertion_already_used


def test_a_replayed_assertion(okta):
    once = assertion(okta)
    assert token_request(okta, once).status_code == 200
    assert refused(token_request(okta, once), ALREADY_USED)


def test_a_jti_is_spent_by_the_client_not_by_the_assertion_text(okta):
    jti = str(uuid.uuid4())
    assert token_request(okta, assertion(okta, jti=jti)).status_code == 200
    assert refused(token_request(okta, assertion(okta, jti=jti, exp=int(time.time()) + 90)), ALREADY_USED)


def test_a_refused_assertion_does_not_spend_its_jti(okta):  # only a checked signature spends one
    jti = str(uuid.uuid4())
    assert token_request(okta, assertion(okta, key=OTHER_KEY, jti=jti)).status_code == 401
    assert token_request(okta, assertion(okta, jti=jti)).status_code == 200


def test_without_a_jti_okta_does_not_stop_a_replay(okta):  # [JWT guide]: jti optional, single use only "if you specify"
    once = assertion(okta, drop=("jti",))
    assert [token_request(okta, once).status_code for _ in range(2)] == [200, 200]


def test_concurrent_replays_get_one_token(okta):
    once, codes = assertion(okta), []
    threads = [threading.Thread(target=lambda: codes.append(token_request(okta, once).status_code)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] + [401] * 5


# -- a private-key app has no secret; the org authorization server --------------------------------------


def test_a_private_key_app_cannot_use_a_secret(okta):
    answer = requests.post(okta.token_endpoint, auth=(KEY_APP, "guessed-secret"), timeout=10,
                           data={"grant_type": "client_credentials", "scope": "calculator.add"})
    assert refused(answer, "Client authentication failed. Either the client or the client credentials are invalid.")


def test_even_when_a_stale_secret_is_on_the_app():
    # the wrong_client_secret scenario gives every confidential app a secret; a Public key / Private key
    # app still refuses it ([service app]: switching to it deletes the app's secrets)
    local = start_local_okta(name="test-pkjwt-stale-secret")
    try:
        local.set_scenario("wrong_client_secret")
        secret = local.tenant.app(label="key_service").client_secret
        assert secret
        answer = requests.post(local.token_endpoint, auth=(KEY_APP, secret), timeout=10,
                               data={"grant_type": "client_credentials", "scope": "calculator.add"})
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    finally:
        local.stop()


def test_the_org_authorization_server_takes_a_private_key(okta):
    # [service app] "Get an access token": client_credentials at {org}/oauth2/v1/token with an assertion for it
    org_token = okta.endpoint("token", "")
    answer = token_request(okta, assertion(okta, aud=org_token), url=org_token, scope="okta.users.read")
    assert answer.status_code == 200 and answer.json()["scope"] == "okta.users.read"
    assert refused(token_request(okta, assertion(okta), url=org_token, scope="okta.users.read"), AUDIENCE)
    secret_app = okta.clients["write_service"]  # unsupported_auth_method_client_creds
    answer = requests.post(org_token, auth=(secret_app.client_id, secret_app.client_secret), timeout=10,
                           data={"grant_type": "client_credentials", "scope": "okta.users.read"})
    assert refused(answer, "Client Credentials requests to the Org Authorization Server must use the "
                   "private_key_jwt token_endpoint_auth_method.")


# -- registering a public key ("Save keys in Okta > Add key") ------------------------------------------


@pytest.mark.parametrize("jwk, message", [
    ({**json.loads(RSAAlgorithm.to_jwk(KEY)), "kid": "x"}, "holds a private key"),
    ({"kty": "oct", "k": "c2VjcmV0", "kid": "x"}, "holds a private key"),
    ({k: v for k, v in public(KEY, "x").items() if k != "kid"}, "Give the key a kid"),
    (public(KEY, "rsa-1"), "already has a key with kid 'rsa-1'"),
    ({**public(KEY, "enc"), "use": "enc"}, "signing key"),
    ({"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"}, "not a valid public key"),
    ("not a dict", "JSON object"),
])
def test_what_add_key_refuses(okta, jwk, message):
    with pytest.raises(ValueError, match=message):
        okta.register_public_key("key_service", jwk)


def test_a_secret_app_takes_no_key_and_an_unknown_label_says_which_apps_do(okta):
    with pytest.raises(ValueError, match="authenticates with a client secret"):
        okta.register_public_key("write_service", public(KEY, "w"))
    with pytest.raises(ValueError, match="key_service"):
        okta.register_public_key("nope", public(KEY, "w"))


def test_at_most_fifty_keys_per_app():  # [service app] "You can add up to 50 signing keys per app"
    local = start_local_okta(name="test-pkjwt-fifty")
    try:
        for index in range(50):
            local.register_public_key("key_service", public(KEY, f"k{index}"))
        with pytest.raises(ValueError, match="at most 50"):
            local.register_public_key("key_service", public(KEY, "k50"))
    finally:
        local.stop()


def test_a_registered_key_survives_a_scenario_switch():
    local = start_local_okta(name="test-pkjwt-scenario")
    try:
        local.register_public_key("key_service", public(KEY, "rsa-1"))
        local.set_scenario("policy_not_assigned")
        local.set_scenario(None)
        assert token_request(local, assertion(local)).status_code == 200
    finally:
        local.stop()


def test_the_rate_limit_counts_a_private_key_client_as_itself():
    # Okta's rate limits are per client (rate-limit scenario, helpers.local_okta.rate_limits): a client that
    # authenticates with an assertion is counted under its iss, not lumped with every anonymous request
    from helpers.local_okta.rate_limits import client_of

    now = int(time.time())
    signed = jwt.encode({"iss": KEY_APP, "sub": KEY_APP, "exp": now + 60}, KEY, algorithm="RS256")
    body = f"grant_type=client_credentials&client_assertion={signed}".encode()
    assert client_of({}, body, {}) == KEY_APP
    assert client_of({}, b"client_assertion=not-a-jwt", {}) == "unknown"
