"""Security review of issue 23's code: each test is a failing case found in review, kept as a regression test.

Local server (must refuse what Okta refuses):
- a client assertion's ``jti`` is remembered until its ``exp``, not until ``exp`` rounded down (a
  replay in the last fraction of a second before a fractional ``exp`` was accepted);
- an assertion whose ``exp`` is ``NaN`` (JSON ``NaN``, which Python's parser reads) was a 500 (and,
  with the ``jti`` fix alone, would never expire): refused like a missing ``exp``;
- at ``/v1/device/authorize`` a client assertion is checked against that endpoint's URL (``aud``),
  not against ``/v1/authorize``'s.

Client side (copied into production):
- device sign-in (helper and recipe) never follows a redirect with the device code or the client's
  credentials (a 307 would re-post them to wherever ``Location`` points);
- the AI agent token exchange (helper and recipe) sends the user's ID token, the ID-JAG and client
  assertions to ``https://`` endpoints only, as ``private_key_client.fetch_token`` does.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.tenant import App
from helpers.tokens.private_key import PrivateKeyClient, public_jwk

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = public_jwk(KEY)["kid"]
DEVICE_KEY_APP = "0oa1secrevdevicekey01"


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant()
    tenant.apps.append(App(label="device_key_service", name="Device app with a key", client_id=DEVICE_KEY_APP,
                           grant_types=(DEVICE_GRANT,), token_endpoint_auth_method="private_key_jwt"))
    local = start_local_okta(tenant=tenant, name="test-security-review-23")
    local.register_public_key("key_service", public_jwk(KEY))
    local.register_public_key("device_key_service", public_jwk(KEY))
    yield local
    local.stop()


def _key_app(okta) -> str:
    return okta.tenant.app(label="key_service").client_id


def _assertion(client_id: str, audience: str, **claims) -> str:
    now = time.time()
    body = {"iss": client_id, "sub": client_id, "aud": audience, "iat": int(now), "exp": int(now) + 60,
            "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(body, KEY, algorithm="RS256", headers={"kid": KID})


def _token_request(okta, client_assertion: str) -> requests.Response:
    return requests.post(okta.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "scope": "calculator.add",
        "client_assertion_type": JWT_BEARER, "client_assertion": client_assertion})


# -- local server: client assertions -------------------------------------------------------------


def test_assertion_jti_is_remembered_until_its_fractional_exp(okta):
    """A jti was kept until int(exp): between int(exp) and exp the same assertion was accepted again."""
    while time.time() % 1 > 0.2:  # start early in a second, so the window below is ~0.9 s wide
        time.sleep(0.01)
    exp = int(time.time()) + 2.95
    signed = _assertion(_key_app(okta), okta.token_endpoint, exp=exp)
    first = _token_request(okta, signed)
    assert first.status_code == 200, first.text
    while time.time() < int(exp) + 0.15:  # past int(exp), still before exp
        time.sleep(0.02)
    assert time.time() < exp
    replay = _token_request(okta, signed)
    assert replay.status_code == 401, replay.text
    assert replay.json()["error_description"] == "The client_assertion token has already been used."


def test_assertion_with_nan_exp_is_refused_not_a_server_error(okta):
    """JSON NaN parses to float('nan'): every comparison with it is False, so no time check refused it."""
    now = int(time.time())
    payload = ('{"iss": "%s", "sub": "%s", "aud": "%s", "iat": %d, "exp": NaN, "jti": "%s"}'
               % (_key_app(okta), _key_app(okta), okta.token_endpoint, now, uuid.uuid4())).encode()
    signed = jwt.api_jws.encode(payload, KEY, algorithm="RS256", headers={"kid": KID})
    answer = _token_request(okta, signed)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_description"] == "The client_assertion must contain the 'exp' claim as seconds since epoch."


def test_device_authorize_checks_the_assertion_against_its_own_url(okta):
    """The endpoint was named by the last path segment, so /v1/device/authorize checked aud against /v1/authorize."""
    device_endpoint = okta.token_endpoint.rsplit("/", 1)[0] + "/device/authorize"
    authorize_endpoint = okta.token_endpoint.rsplit("/", 1)[0] + "/authorize"

    def device_request(audience: str) -> requests.Response:
        return requests.post(device_endpoint, timeout=10, data={
            "client_id": DEVICE_KEY_APP, "scope": "openid",
            "client_assertion_type": JWT_BEARER, "client_assertion": _assertion(DEVICE_KEY_APP, audience)})

    right = device_request(device_endpoint)
    assert "client_assertion" not in right.json().get("error_description", ""), right.text
    wrong = device_request(authorize_endpoint)
    assert wrong.status_code == 401, wrong.text
    assert wrong.json()["error_description"] == (
        "The audience claim for client_assertion must be the endpoint invoked for the request.")


# -- client side: no redirects with device codes, https only for the agent -------------------------


class _Recorder:
    """Stands in for ``requests.post``: records its keyword arguments, answers ``answer``."""

    def __init__(self, answer: dict, status: int = 200) -> None:
        self.calls: list[dict] = []
        self.answer, self.status = answer, status

    def __call__(self, url, **kwargs):
        self.calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = self.status
        response._content = __import__("json").dumps(self.answer).encode()
        response.headers["Content-Type"] = "application/json"
        return response


DEVICE_ANSWER = {"device_code": "dc-secret", "user_code": "BCDFGHJK", "verification_uri": "https://org.example/activate",
                 "expires_in": 600, "interval": 5}
TOKEN_ANSWER = {"access_token": "at", "token_type": "Bearer", "expires_in": 3600}


def test_helper_device_sign_in_never_follows_redirects(monkeypatch):
    from helpers.settings import ClientCredentials
    from helpers.user_login import device

    client = ClientCredentials("0oadevice", None)
    recorder = _Recorder(DEVICE_ANSWER)
    monkeypatch.setattr(device.requests, "post", recorder)
    started = device.start_device_sign_in("https://org.example/oauth2/default/v1/device/authorize", client, ["openid"])
    recorder.answer = TOKEN_ANSWER
    device.poll_device_sign_in("https://org.example/oauth2/default/v1/token", client, started,
                               sleep=lambda _: None)
    assert [call.get("allow_redirects") for call in recorder.calls] == [False, False]


def test_recipe_device_sign_in_never_follows_redirects(monkeypatch):
    from helpers.recipes import device_signin

    recorder = _Recorder(DEVICE_ANSWER)
    monkeypatch.setattr(device_signin.requests, "post", recorder)
    started = device_signin.start_device_sign_in("https://org.example/oauth2/default/v1/device/authorize",
                                                 "0oadevice", "openid")
    recorder.answer = TOKEN_ANSWER
    device_signin.poll_for_token("https://org.example/oauth2/default/v1/token", "0oadevice",
                                 started["device_code"], 5, sleep=lambda _: None)
    assert [call.get("allow_redirects") for call in recorder.calls] == [False, False]


def test_helper_agent_exchange_sends_tokens_over_https_only(monkeypatch):
    from helpers.agent_exchange import exchange
    from helpers.agent_exchange.agent import Agent

    recorder = _Recorder({"error": "x"}, 400)
    monkeypatch.setattr(exchange.requests, "post", recorder)
    agent = Agent("http://org.example", PrivateKeyClient("0oaagent", KEY))
    with pytest.raises(Exception) as step1:
        exchange.request_id_jag(agent, "the-users-id-token", audience="https://org.example/oauth2/default",
                                scope="calculator.add")
    with pytest.raises(Exception) as step2:
        exchange.exchange_id_jag(Agent("https://org.example", PrivateKeyClient("0oaagent", KEY)),
                                 exchange.IdJag("the-id-jag", "http://org.example/oauth2/default", 300))
    assert recorder.calls == [], "a token was posted over plain http"
    assert "https" in str(step1.value) and "https" in str(step2.value)
    assert "the-users-id-token" not in str(step1.value) and "the-id-jag" not in str(step2.value)


def test_recipe_agent_exchange_sends_tokens_over_https_only(monkeypatch):
    from helpers.recipes import agent_token_exchange as recipe

    recorder = _Recorder({"error": "x"}, 400)
    monkeypatch.setattr(recipe.requests, "post", recorder)
    pem = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key = recipe.AgentKey("0oaagent", pem, KID)
    with pytest.raises((recipe.AgentExchangeError, ValueError)):
        recipe.request_id_jag("http://org.example", key, "the-users-id-token", "https://org.example/oauth2/default", "s")
    with pytest.raises((recipe.AgentExchangeError, ValueError)):
        recipe.exchange_id_jag("http://org.example/oauth2/default", key, "the-id-jag")
    assert recorder.calls == [], "a token was posted over plain http"


def test_reset_does_not_make_a_spent_assertion_usable_again(okta):
    """``LocalOkta.reset()`` (forget codes, refresh tokens, consents) also forgot spent assertion jtis:
    a captured assertion still inside its exp was then accepted again, which Okta never does."""
    signed = _assertion(_key_app(okta), okta.token_endpoint)
    assert _token_request(okta, signed).status_code == 200
    okta.reset()
    replay = _token_request(okta, signed)
    assert replay.status_code == 401, replay.text
    assert replay.json()["error_description"] == "The client_assertion token has already been used."


# -- notebook 07's MCP-client exercise: FastMCP's OAuth without an issuer pin ----------------------


@pytest.fixture(scope="module")
def mcp_setup():
    from helpers.authorization_server import AuthorizationServer
    from helpers.mcp_client import start_mcp_calculator

    local = start_local_okta(name="test-security-review-23-mcp")
    auth_server = AuthorizationServer(local.settings(), local)
    calculator = start_mcp_calculator(auth_server, name="test-security-review-23-calculator")
    yield auth_server, calculator
    calculator.stop()
    local.stop()


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Using in-memory token storage")
async def test_mcp_client_grader_refuses_an_oauth_without_an_issuer_pin(mcp_setup):
    """The grader passes ``OAuth(mcp_url, client_id=..., callback_host=...)``: with no ``issuer=``, FastMCP
    follows whichever authorization server the MCP server's metadata names (the series' own clients pin it)."""
    from fastmcp.client.auth import OAuth

    from helpers.graders.mcp_client import grade_mcp_client

    auth_server, calculator = mcp_setup
    client_id = auth_server.settings.mcp_client.client_id
    rows = await grade_mcp_client(lambda url: OAuth(url, client_id=client_id, callback_host="127.0.0.1"),
                                  calculator, auth_server)
    assert [row.name for row in rows if not row.passed] == ["issuer pinned"], "an unpinned OAuth passes every row"


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Using in-memory token storage")
async def test_a_pinned_fastmcp_oauth_signs_in_too(mcp_setup):
    """The fix is available: FastMCP's ``OAuth(..., issuer=...)`` signs in against the local server."""
    from fastmcp.client.auth import OAuth

    from helpers.graders.mcp_client import grade_mcp_client

    auth_server, calculator = mcp_setup
    client_id = auth_server.settings.mcp_client.client_id
    rows = await grade_mcp_client(lambda url: OAuth(url, client_id=client_id, callback_host="127.0.0.1",
                                                    issuer=calculator.issuer), calculator, auth_server)
    assert [row.name for row in rows if not row.passed] == []


# -- tried and holding (kept as regression tests) -------------------------------------------------


def test_alg_none_and_hmac_with_the_public_key_are_refused(okta):
    client_id = _key_app(okta)
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": okta.token_endpoint, "iat": now, "exp": now + 60}
    public_pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    unsigned = jwt.encode({**claims, "jti": str(uuid.uuid4())}, None, algorithm="none", headers={"kid": KID})
    import hmac as _hmac, hashlib, base64, json as _json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(_json.dumps({"alg": "HS256", "kid": KID}).encode()) + "." + b64(
        _json.dumps({**claims, "jti": str(uuid.uuid4())}).encode())
    forged = signing_input + "." + b64(_hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    for assertion in (unsigned, forged):
        answer = _token_request(okta, assertion)
        assert answer.status_code == 401
        assert answer.json()["error_description"] == "The client_assertion JWT signature algorithm is invalid."


def test_a_forged_assertion_cannot_burn_someone_elses_jti(okta):
    client_id = _key_app(okta)
    jti = str(uuid.uuid4())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode({"iss": client_id, "sub": client_id, "aud": okta.token_endpoint, "iat": now,
                         "exp": now + 60, "jti": jti}, other, algorithm="RS256", headers={"kid": KID})
    assert _token_request(okta, forged).json()["error_description"] == "The client_assertion signature is invalid."
    assert _token_request(okta, _assertion(client_id, okta.token_endpoint, jti=jti)).status_code == 200


def test_a_spent_jti_is_refused_at_another_endpoint(okta):
    client_id = _key_app(okta)
    introspect = okta.token_endpoint.rsplit("/", 1)[0] + "/introspect"
    jti = str(uuid.uuid4())
    signed = _assertion(client_id, [okta.token_endpoint, introspect], jti=jti)
    assert _token_request(okta, signed).status_code == 200
    answer = requests.post(introspect, timeout=10, data={"token": "x", "token_type_hint": "access_token",
                                                         "client_assertion_type": JWT_BEARER, "client_assertion": signed})
    assert answer.status_code == 401
    assert answer.json()["error_description"] == "The client_assertion token has already been used."


def test_assertion_with_an_exp_beyond_float_range_is_refused_not_a_server_error(okta):
    """JSON integers have no size limit: ``exp - time.time()`` on 10**400 raised OverflowError (a 500)."""
    now = int(time.time())
    payload = ('{"iss": "%s", "sub": "%s", "aud": "%s", "iat": %d, "exp": 1%s, "jti": "%s"}'
               % (_key_app(okta), _key_app(okta), okta.token_endpoint, now, "0" * 400, uuid.uuid4())).encode()
    signed = jwt.api_jws.encode(payload, KEY, algorithm="RS256", headers={"kid": KID})
    answer = _token_request(okta, signed)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_description"] == "The client_assertion token has an expiration too far into the future."
