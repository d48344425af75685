"""JWT verification in front of the calculator: every bad token refused, scopes per tool.

A small test issuer (an RSA key set served as a JWKS from a background server, with a
fetch counter and switchable outages) signs the tokens, so each case controls exactly
what is wrong with its token.
"""

import asyncio
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from helpers import background
from helpers.bad_tokens import alg_none, bad_tokens, hs256_with_public_key, tamper, typical_claims
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.settings import ConfigurationError
from helpers.verification import OktaJWTVerifier, Protection

pytestmark = pytest.mark.anyio

ISSUER_PATH = "/oauth2/default"
AUDIENCE = "https://calculator-mcp-server.example.com"
ACCEPT = {"Accept": "application/json, text/event-stream"}


class JwksIssuer:
    """Signing keys and a JWKS endpoint whose behaviour a test can switch."""

    def __init__(self, name="test-issuer"):
        self.keys = [self.new_key()]
        self.fetches = 0
        self.mode = "ok"  # "ok", "error" (HTTP 500) or "hang" (never answers)
        self.server = background.start(name=name, tls=True, app=Starlette(routes=[
            Route(ISSUER_PATH + "/v1/keys", self.jwks),
        ]))
        self.issuer = self.server.url + ISSUER_PATH
        self.jwks_uri = self.issuer + "/v1/keys"

    @staticmethod
    def new_key():
        return str(uuid.uuid4()), rsa.generate_private_key(public_exponent=65537, key_size=2048)

    async def jwks(self, request):
        self.fetches += 1
        deadline = time.monotonic() + 30
        while self.mode == "hang" and time.monotonic() < deadline:  # ends with the outage, not 30 s later
            await asyncio.sleep(0.05)
        if self.mode == "error":
            return JSONResponse({"error": "server_error"}, status_code=500)
        published = []
        for kid, key in self.keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            published.append({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "e": jwk["e"], "n": jwk["n"]})
        return JSONResponse({"keys": published})

    def claims(self, **overrides):
        now = int(time.time())
        claims = {
            "ver": 1, "jti": "AT." + uuid.uuid4().hex, "iss": self.issuer, "aud": AUDIENCE,
            "iat": now, "exp": now + 3600, "cid": "0oaservice", "sub": "0oaservice",
            "scp": ["calculator.add", "calculator.subtract"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not DROP}

    def token(self, key_index=-1, headers=None, algorithm="RS256", **overrides):
        kid, key = self.keys[key_index]
        return jwt.encode(self.claims(**overrides), key, algorithm=algorithm, headers={"kid": kid, **(headers or {})})

    def protection(self, **options):
        return Protection(issuer=self.issuer, audience=AUDIENCE, jwks_uri=self.jwks_uri, **options)


DROP = object()


@pytest.fixture(scope="module")
def issuer():
    issuer = JwksIssuer()
    yield issuer
    issuer.server.stop()


@pytest.fixture(scope="module")
def calculator(issuer):
    server = start_calculator(issuer.protection(), name="test-verified-calculator")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def issuer_answers(issuer):
    issuer.mode = "ok"
    yield


def post(url, body=None, token=None, headers=None, **kwargs):
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = body or {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    return requests.post(url, json=body, headers={**ACCEPT, **auth, **(headers or {})}, timeout=15, **kwargs)


def call(tool, **arguments):
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}


def result_of(response):
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return json.loads(data[0])["result"]


# --- the matrix of bad tokens and bad requests ----------------------------------------------

def forged_alg_none(issuer):
    return alg_none(issuer.claims(), issuer.keys[0][0])


def hs256_forgery(issuer):
    kid, key = issuer.keys[0]
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hs256_with_public_key(issuer.claims(), kid, public_pem)


def tampered_payload(issuer):
    return tamper(issuer.token(scp=["calculator.add"]), scp=["calculator.add", "calculator.subtract", "admin"])


def tampered_signature(issuer):
    header, payload, signature = issuer.token().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def attacker_key_with_real_kid(issuer):
    _, attacker = JwksIssuer.new_key()
    return jwt.encode(issuer.claims(), attacker, algorithm="RS256", headers={"kid": issuer.keys[0][0]})


def now():
    return int(time.time())


BAD_TOKENS = {
    "expired": lambda i: i.token(iat=now() - 7200, exp=now() - 3600),
    "expired a second ago": lambda i: i.token(iat=now() - 3600, exp=now() - 1),
    "wrong audience": lambda i: i.token(aud="api://default"),
    "wrong issuer": lambda i: i.token(iss="https://evil.example.com/oauth2/default"),
    "issuer with a trailing slash": lambda i: i.token(iss=i.issuer + "/"),
    "org authorization server": lambda i: i.token(iss=i.server.url, aud=i.server.url),
    "tampered payload": tampered_payload,
    "tampered signature": tampered_signature,
    "alg none": forged_alg_none,
    "HS256 signed with the public key": hs256_forgery,
    "RS512 instead of RS256": lambda i: i.token(algorithm="RS512"),
    "unknown kid": lambda i: i.token(headers={"kid": "not-a-published-key"}),
    "attacker key with a real kid": attacker_key_with_real_kid,
    "no exp": lambda i: i.token(exp=DROP),
    "no iat": lambda i: i.token(iat=DROP),
    "no aud": lambda i: i.token(aud=DROP),
    "no iss": lambda i: i.token(iss=DROP),
    "iat in the future": lambda i: i.token(iat=now() + 600, exp=now() + 4200),
    "nbf in the future": lambda i: i.token(nbf=now() + 600),
    "exp as a string": lambda i: i.token(exp=str(now() + 3600)),
    "ID token": lambda i: i.token(aud="0oawebapp", jti="ID.x", sub="00uuser", scp=DROP, nonce="n", amr=["pwd"]),
    "not a JWT": lambda i: "this-is-not-a-jwt",
    "two segments": lambda i: ".".join(i.token().split(".")[:2]),
    "empty segments": lambda i: "..",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_token_gets_401_invalid_token(calculator, issuer, case):
    token = BAD_TOKENS[case](issuer)
    for body in ({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}, call("add", a=1, b=2)):
        response = post(calculator.mcp_url, body, token=token)
        assert response.status_code == 401, (case, response.status_code, response.text[:200])
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert 'error="invalid_token"' in challenge
        assert f'resource_metadata="{calculator.url}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert '"result"' not in response.text


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic MG9hc2VydmljZTpzZWNyZXQ="},
    {"Authorization": "Bearer"},
    {"Authorization": "Token abc"},
], ids=["no Authorization header", "Basic credentials", "Bearer without a token", "another scheme"])
def test_request_without_a_bearer_token_gets_401_without_error(calculator, headers):
    response = requests.post(calculator.mcp_url, json=call("add", a=1, b=2), headers={**ACCEPT, **headers}, timeout=15)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert "error=" not in challenge  # RFC 6750 3.1: no error code when no token was sent
    assert "resource_metadata=" in challenge


def test_empty_bearer_token_is_invalid(calculator):
    response = requests.post(calculator.mcp_url, json=call("add", a=1, b=2),
                             headers={**ACCEPT, "Authorization": "Bearer "}, timeout=15)
    assert response.status_code == 401
    assert "result" not in response.text


# --- valid tokens, and scopes per tool ------------------------------------------------------

def test_valid_token_calls_tools(calculator, issuer):
    token = issuer.token()
    assert result_of(post(calculator.mcp_url, call("add", a=2, b=3), token=token))["structuredContent"] == {"result": 5}
    assert result_of(post(calculator.mcp_url, call("subtract", a=2, b=3), token=token))["structuredContent"] == {"result": -1}


def test_leeway_accepts_a_slightly_early_iat(calculator, issuer):
    token = issuer.token(iat=now() + 10)
    assert post(calculator.mcp_url, token=token).status_code == 200


def test_tools_list_shows_only_what_the_token_may_call(calculator, issuer):
    listed = lambda scopes: sorted(t["name"] for t in result_of(post(calculator.mcp_url, token=issuer.token(scp=scopes)))["tools"])
    assert listed(["calculator.add", "calculator.subtract"]) == ["add", "get_me", "subtract"]
    assert listed(["calculator.add"]) == ["add", "get_me"]
    assert listed([]) == ["get_me"]


@pytest.mark.parametrize("scopes, tool, needed", [
    (["calculator.add"], "subtract", "calculator.subtract"),
    (["calculator.subtract"], "add", "calculator.add"),
    ([], "add", "calculator.add"),
    (["openid", "calculator.ad"], "add", "calculator.add"),
])
def test_missing_scope_gets_403_insufficient_scope(calculator, issuer, scopes, tool, needed):
    response = post(calculator.mcp_url, call(tool, a=5, b=3), token=issuer.token(scp=scopes))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{needed}"' in challenge
    assert f'resource_metadata="{calculator.url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert response.json()["error"] == "insufficient_scope"
    assert "result" not in response.text


def test_batch_with_one_forbidden_call_is_refused(calculator, issuer):
    batch = [call("add", a=1, b=1), call("subtract", a=1, b=1)]
    response = post(calculator.mcp_url, batch, token=issuer.token(scp=["calculator.add"]))
    assert response.status_code == 403
    assert 'scope="calculator.subtract"' in response.headers["www-authenticate"]


def test_get_me_needs_only_a_valid_token(calculator, issuer):
    me = result_of(post(calculator.mcp_url, call("get_me"), token=issuer.token(scp=[], sub="ada@example.com", uid="00uada")))
    info = me["structuredContent"]
    assert info["sub"] == "ada@example.com" and info["uid"] == "00uada"
    assert info["audience"] == AUDIENCE and info["issuer"] == issuer.issuer
    assert info["scopes"] == []


def test_oversized_body_gets_413(calculator, issuer):
    response = post(calculator.mcp_url, call("add", a=1, b=2, padding="x" * 2_000_000), token=issuer.token())
    assert response.status_code == 413


# --- discovery --------------------------------------------------------------------------------

def test_protected_resource_metadata(calculator, issuer):
    response = requests.get(calculator.url + "/.well-known/oauth-protected-resource/mcp", timeout=5)
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == calculator.mcp_url
    assert metadata["authorization_servers"] == [issuer.issuer]
    assert metadata["scopes_supported"] == ["calculator.add", "calculator.subtract"]
    assert metadata["bearer_methods_supported"] == ["header"]


def test_authorization_server_metadata_redirects_to_the_issuer(calculator, issuer):
    response = requests.get(calculator.url + "/.well-known/oauth-authorization-server", allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["location"] == issuer.issuer + "/.well-known/oauth-authorization-server"


# --- the JWKS: cache, cooldown, rotation, outages ------------------------------------------------

async def test_jwks_is_fetched_once_for_many_tokens(issuer):
    verifier = issuer.protection().verifier()
    issuer.fetches = 0
    for _ in range(50):
        assert await verifier.verify_token(issuer.token()) is not None
    assert issuer.fetches == 1


async def test_key_rotation_is_picked_up_without_a_restart():
    issuer = JwksIssuer(name="test-rotating-issuer")  # its own keys: rotating them here affects no other test
    verifier = issuer.protection(jwks_refresh_interval=0.2).verifier()
    old = issuer.token()
    assert await verifier.verify_token(old) is not None
    issuer.keys.append(JwksIssuer.new_key())  # the issuer publishes a new key and signs with it
    try:
        await asyncio.sleep(0.3)
        assert await verifier.verify_token(issuer.token()) is not None
        assert await verifier.verify_token(old) is not None  # old key still published
        del issuer.keys[0]  # old key retired
        await asyncio.sleep(0.3)
        assert await verifier.verify_token(issuer.token(headers={"kid": "gone"})) is None
        assert await verifier.verify_token(issuer.token()) is not None
    finally:
        issuer.server.stop()


@pytest.mark.parametrize("mode", ["error", "hang"])
def test_jwks_outage_gives_401_not_a_hang(issuer, mode):
    # verify_timeout_seconds=1: a hanging JWKS costs 1 s, and httpx's own 10 s would exceed the
    # 8 s limit, which leaves a loaded machine room. (A JWKS that is down altogether: see
    # test_load_and_faults.py, the issuer stopped mid-run.)
    server = start_calculator(issuer.protection(verify_timeout_seconds=1.0), name="test-outage-calculator")
    try:
        issuer.mode = mode  # the calculator's JWKS cache is still cold
        started = time.monotonic()
        response = post(server.mcp_url, call("add", a=1, b=2), token=issuer.token())
        assert time.monotonic() - started < 8
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    finally:
        issuer.mode = "ok"  # the hanging handler returns now, before the server stops
        server.stop()


# --- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["issuer", "audience", "jwks_uri"])
def test_verifier_refuses_to_skip_a_check(missing):
    values = {"issuer": "https://x.okta.com/oauth2/default", "audience": AUDIENCE,
              "jwks_uri": "https://x.okta.com/oauth2/default/v1/keys", missing: None}
    with pytest.raises(ConfigurationError, match=f"needs {missing}"):
        OktaJWTVerifier(**values)


# --- why the hardening exists: what stock FastMCP accepts -------------------------------------------

@pytest.mark.parametrize("case", ["no exp", "iat in the future"])
async def test_stock_jwt_verifier_accepts_what_ours_refuses(issuer, case):
    """FastMCP 4.2's JWTVerifier lets these through; if it stops doing so, revisit OktaJWTVerifier."""
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    token = BAD_TOKENS[case](issuer)
    stock = JWTVerifier(jwks_uri=issuer.jwks_uri, issuer=issuer.issuer, audience=AUDIENCE)
    assert await stock.verify_token(token) is not None
    assert await issuer.protection().verifier().verify_token(token) is None


async def test_stock_jwt_verifier_skips_the_audience_check_without_an_audience(issuer):
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    token = BAD_TOKENS["wrong audience"](issuer)
    stock = JWTVerifier(jwks_uri=issuer.jwks_uri, issuer=issuer.issuer, audience=None)
    assert await stock.verify_token(token) is not None
    with pytest.raises(ConfigurationError):
        OktaJWTVerifier(issuer=issuer.issuer, audience=None, jwks_uri=issuer.jwks_uri)


async def test_fastmcp_client_with_a_token_gets_get_me_without_the_token(calculator, issuer):
    from fastmcp import Client

    token = issuer.token(iat=1_790_000_000, exp=now() + 600, jti="AT.test")
    async with Client(calculator.mcp_url, auth=token) as client:
        names = sorted(tool.name for tool in await client.list_tools())
        me = (await client.call_tool("get_me", {})).data
        total = (await client.call_tool("add", {"a": 20, "b": 22})).data
    assert names == ["add", "get_me", "subtract"]
    assert total == 42
    assert me["sub"] == me["client_id"] == "0oaservice"
    assert me["scopes"] == ["calculator.add", "calculator.subtract"]
    assert me["issued_at"] == "2026-09-21T14:13:20Z"
    assert me["token_id"] == "AT.test"
    assert token not in json.dumps(me)


# --- the bad tokens notebook 03 shows, against the local authorization server ---------------------

def test_notebook_bad_tokens_are_refused_by_a_calculator_behind_the_local_server():
    okta = start_local_okta(name="test-bad-tokens-okta")
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-bad-tokens-calculator")
    try:
        claims = typical_claims(issuer=okta.issuer, audience=okta.audience, client_id="0oa1calcwritesvc7kpz",
                                scopes=["calculator.add", "calculator.subtract"])
        assert post(server.mcp_url, call("add", a=1, b=2), token=okta.sign_token(claims)).status_code == 200
        cases = bad_tokens(okta.sign_token, kid=okta.signing_kids()[-1], public_key_pem=okta.public_key_pem(),
                           claims=claims, web_client_id=okta.clients["web"].client_id)
        assert len(cases) == 10
        for case in cases:
            response = post(server.mcp_url, call("add", a=1, b=2), token=case.token)
            assert response.status_code == 401, case.name
            assert 'error="invalid_token"' in response.headers["www-authenticate"], case.name
    finally:
        server.stop()
        okta.stop()


def test_tamper_keeps_the_signature_and_changes_the_claims(issuer):
    token = issuer.token(scp=["calculator.add"])
    edited = tamper(token, scp=["admin"])
    assert edited.split(".")[2] == token.split(".")[2]
    assert jwt.decode(edited, options={"verify_signature": False})["scp"] == ["admin"]


# --- the verified-token cache ----------------------------------------------------------------------

async def test_a_verified_token_is_remembered_until_it_expires(issuer, monkeypatch):
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    calls = []
    original = JWTVerifier.load_access_token

    async def counting(self, token):
        calls.append(token)
        return await original(self, token)

    monkeypatch.setattr(JWTVerifier, "load_access_token", counting)
    verifier = issuer.protection().verifier()
    token = issuer.token(exp=now() + 2)
    assert await verifier.verify_token(token) is not None
    assert await verifier.verify_token(token) is not None
    assert len(calls) == 1  # the second request cost no RSA verification
    await asyncio.sleep(2.1)
    assert await verifier.verify_token(token) is None  # expired: verified again, and refused
    assert len(calls) == 2


async def test_the_cache_is_bounded_and_never_remembers_a_refusal(issuer):
    verifier = issuer.protection().verifier()
    verifier.cache_size = 3
    for _ in range(5):
        assert await verifier.verify_token(issuer.token()) is not None
    assert len(verifier._verified) == 3
    assert await verifier.verify_token(issuer.token(aud="api://default")) is None
    assert len(verifier._verified) == 3


# --- OktaJWTVerifier's own checks, called directly: FastMCP's HTTP layer refuses some of these
# --- tokens before the verifier runs, so only a direct call shows that the verifier refuses them

def token_of_length(issuer, length):
    """A correctly signed token exactly ``length`` characters long (a padding claim and header)."""
    for header_pad in range(4):  # base64 skips some lengths; a longer header shifts the total
        low, high = 0, length
        while low <= high:
            middle = (low + high) // 2
            token = issuer.token(headers={"x": "h" * header_pad}, pad="p" * middle)
            if len(token) == length:
                return token
            low, high = (middle + 1, high) if len(token) < length else (low, middle - 1)
    raise AssertionError(f"no token of {length} characters")


async def test_a_token_longer_than_the_cap_is_refused_before_it_is_parsed(issuer):
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    from helpers.verification import MAX_TOKEN_CHARS

    at_cap, over_cap = token_of_length(issuer, MAX_TOKEN_CHARS), token_of_length(issuer, MAX_TOKEN_CHARS + 1)
    stock = JWTVerifier(jwks_uri=issuer.jwks_uri, issuer=issuer.issuer, audience=AUDIENCE)
    assert await stock.verify_token(over_cap) is not None  # well signed: only the cap refuses it
    verifier = issuer.protection().verifier()
    assert await verifier.verify_token(at_cap) is not None
    assert await verifier.verify_token(over_cap) is None


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["string", True, None], ids=["a string", "true", "null"])
async def test_time_claims_that_are_not_numbers_are_refused(issuer, claim, value):
    number = {"exp": now() + 3600, "iat": now() - 10, "nbf": now() - 10}[claim]
    token = issuer.token(**{claim: str(number) if value == "string" else value})
    assert await issuer.protection().verifier().verify_token(token) is None


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
async def test_time_claims_may_be_fractional_seconds(issuer, claim):
    number = {"exp": now() + 3600.5, "iat": now() - 10.5, "nbf": now() - 10.5}[claim]
    assert await issuer.protection().verifier().verify_token(issuer.token(**{claim: number})) is not None


async def test_iat_is_allowed_the_leeway_into_the_future_and_no_more(issuer):
    verifier = issuer.protection(leeway_seconds=120).verifier()
    assert await verifier.verify_token(issuer.token(iat=now() + 60)) is not None
    assert await verifier.verify_token(issuer.token(iat=now() + 600, exp=now() + 4200)) is None
    strict = issuer.protection(leeway_seconds=0).verifier()
    assert await strict.verify_token(issuer.token(iat=now() + 60)) is None


async def test_a_cached_token_is_not_served_after_its_exp(issuer, monkeypatch):
    verifier = issuer.protection().verifier()
    token = issuer.token(exp=now() + 600)
    assert await verifier.verify_token(token) is not None
    later = time.time() + 601  # the clock moves past exp: the cache must not answer for it
    monkeypatch.setattr(time, "time", lambda: later)
    assert await verifier.verify_token(token) is None
    assert len(verifier._verified) == 0


async def test_a_zero_cache_size_remembers_nothing(issuer):
    verifier = issuer.protection().verifier()
    verifier.cache_size = 0
    assert await verifier.verify_token(issuer.token()) is not None
    assert len(verifier._verified) == 0


# --- the documented defaults and the cache's order, pinned (mutation testing found them unchecked) ---

def test_the_defaults_are_the_documented_ones(issuer):
    protection = issuer.protection()
    assert (protection.leeway_seconds, protection.jwks_refresh_interval, protection.verify_timeout_seconds) == (30.0, 30.0, 3.0)
    verifier = protection.verifier()
    assert (verifier.leeway_seconds, verifier.verify_timeout_seconds, verifier.cache_size) == (30.0, 3.0, 4096)
    assert verifier._jwks_refresh_interval == 30.0 and verifier.algorithm == "RS256"
    direct = OktaJWTVerifier(issuer=issuer.issuer, audience=AUDIENCE, jwks_uri=issuer.jwks_uri, base_url="https://mcp.example.com")
    assert (direct.leeway_seconds, direct.verify_timeout_seconds, direct.cache_size, direct._jwks_refresh_interval) == (30.0, 3.0, 4096, 30.0)
    assert str(direct.base_url).rstrip("/") == "https://mcp.example.com"


async def test_the_default_leeway_is_30_seconds_for_iat(issuer, monkeypatch):
    frozen = time.time()
    monkeypatch.setattr(time, "time", lambda: frozen)  # our check reads time.time(); PyJWT's does not
    verifier = issuer.protection().verifier()
    base = int(frozen)
    assert await verifier.verify_token(issuer.token(iat=frozen + 29.5, exp=base + 3600)) is not None
    assert await verifier.verify_token(issuer.token(iat=frozen + 30, exp=base + 3600)) is not None  # the edge: still in
    assert await verifier.verify_token(issuer.token(iat=frozen + 30.5, exp=base + 3600)) is None


@pytest.mark.parametrize("value", ["", 42], ids=["empty", "not a string"])
@pytest.mark.parametrize("name", ["issuer", "audience", "jwks_uri"])
def test_verifier_refuses_an_empty_or_non_string_setting(name, value):
    values = {"issuer": "https://x.okta.com/oauth2/default", "audience": AUDIENCE,
              "jwks_uri": "https://x.okta.com/oauth2/default/v1/keys", name: value}
    with pytest.raises(ConfigurationError, match=f"Token verification needs {name}; without it that check would be skipped"):
        OktaJWTVerifier(**values)


def test_a_plain_http_jwks_uri_in_the_configuration_is_refused_with_its_source():
    with pytest.raises(ConfigurationError, match=r"^The configuration gives the JWKS URI 'http://x.example.com/keys', which is not https://"):
        Protection(issuer="https://x.example.com/oauth2/default", audience=AUDIENCE, jwks_uri="http://x.example.com/keys")


def test_metadata_names_the_resource(calculator):
    metadata = requests.get(calculator.url + "/.well-known/oauth-protected-resource/mcp", timeout=5).json()
    assert metadata["resource_name"] == "Calculator MCP server"


async def test_the_cache_forgets_the_oldest_token_first(issuer):
    verifier = issuer.protection().verifier()
    verifier.cache_size = 2
    tokens = [issuer.token() for _ in range(3)]
    for token in tokens:
        assert await verifier.verify_token(token) is not None
    import hashlib

    assert list(verifier._verified) == [hashlib.sha256(t.encode()).digest() for t in tokens[1:]]
    verifier.cache_size = 1
    assert await verifier.verify_token(issuer.token()) is not None
    assert len(verifier._verified) == 1


def test_resource_metadata_url_takes_a_base_url_with_or_without_a_trailing_slash(issuer):
    protection = issuer.protection()
    expected = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert protection.resource_metadata_url("https://mcp.example.com/", "/mcp") == expected
    assert protection.resource_metadata_url("https://mcp.example.com", "/mcp") == expected
    assert protection.issuer_metadata_url() == issuer.issuer + "/.well-known/oauth-authorization-server"


def nested_json_token(issuer, part):
    """A token whose header or payload is 5,000 nested ``[`` (about 13 KB, under the cap);
    the payload one is validly signed, so only its parsing can refuse it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from helpers.bad_tokens import b64url

    kid, key = issuer.keys[-1]
    nested = b64url(b"[" * 5000)
    header = nested if part == "header" else b64url(json.dumps({"kid": kid, "alg": "RS256"}).encode())
    payload = nested if part == "payload" else b64url(json.dumps(issuer.claims()).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


@pytest.mark.parametrize("part", ["header", "payload"])
def test_deeply_nested_json_in_a_token_gets_401_not_500(calculator, issuer, part, caplog):
    from helpers.verification import MAX_TOKEN_CHARS

    token = nested_json_token(issuer, part)
    assert len(token) < MAX_TOKEN_CHARS
    response = post(calculator.mcp_url, call("add", a=1, b=2), token=token)
    assert response.status_code == 401, (response.status_code, response.text[:200])
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
