"""The three ways to fetch a client-credentials token, against the local authorization server."""

import os
import threading

import jwt
import pytest

from helpers.local_okta import start_local_okta
from helpers.local_okta import default_tenant
from helpers.settings import ClientCredentials
from helpers.tokens import (
    TokenEndpointUnreachable,
    TokenError,
    TokenRequestError,
    TokenResponse,
    basic_credentials,
    curl_available,
    curl_command,
    fetch_token_with_curl,
    fetch_token_with_requests,
    fetch_token_with_requests_oauthlib,
)
from helpers.tokens import curl
from helpers.urls import is_loopback_url

SCOPES = ["calculator.add", "calculator.subtract"]
WAYS = {
    "curl": fetch_token_with_curl,
    "requests": fetch_token_with_requests,
    "requests_oauthlib": fetch_token_with_requests_oauthlib,
}
needs_curl = pytest.mark.skipif(not curl_available(), reason="curl is not installed")
way_params = [pytest.param(name, marks=needs_curl) if name == "curl" else name for name in WAYS]


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-tokens-okta")
    yield server
    server.stop()


@pytest.fixture
def write_client(okta):
    return okta.clients["write_service"]


def claims_of(token: TokenResponse) -> dict:
    return jwt.decode(token.access_token, options={"verify_signature": False})


@needs_curl
def test_three_ways_give_equivalent_tokens(okta, write_client):
    okta.request_counts.clear()
    tokens = {name: fetch(okta.token_endpoint, write_client, SCOPES) for name, fetch in WAYS.items()}
    assert okta.request_counts["token"] == 3  # one request each, no hidden retries

    claims = {name: claims_of(token) for name, token in tokens.items()}
    stable = {name: {k: v for k, v in c.items() if k not in ("jti", "iat", "exp")} for name, c in claims.items()}
    assert stable["curl"] == stable["requests"] == stable["requests_oauthlib"]
    assert stable["curl"]["cid"] == write_client.client_id
    assert sorted(stable["curl"]["scp"]) == SCOPES
    assert len({c["jti"] for c in claims.values()}) == 3, "each request must give a new token"
    assert {(t.token_type, t.expires_in, t.scopes) for t in tokens.values()} == {("Bearer", 3600, tuple(SCOPES))}
    assert len({jwt.get_unverified_header(t.access_token)["kid"] for t in tokens.values()}) == 1


@pytest.mark.parametrize("way", way_params)
def test_scopes_as_a_string_or_a_list(okta, write_client, way):
    token = WAYS[way](okta.token_endpoint, write_client, "calculator.add")
    assert token.scopes == ("calculator.add",)
    assert claims_of(token)["scp"] == ["calculator.add"]
    assert token.raw["access_token"] == token.access_token


@pytest.mark.parametrize("way", way_params)
def test_wrong_secret_is_okta_invalid_client(okta, write_client, way):
    wrong = ClientCredentials(write_client.client_id, "not-the-secret-0123456789")
    with pytest.raises(TokenRequestError) as info:
        WAYS[way](okta.token_endpoint, wrong, SCOPES)
    error = info.value
    assert (error.status, error.error) == (401, "invalid_client")
    assert error.error_description == "The client secret supplied for a confidential client is invalid."
    assert "HTTP 401 invalid_client" in str(error) and "client id and secret" in str(error)
    assert "not-the-secret" not in str(error)


@pytest.mark.parametrize("way", way_params)
def test_unknown_scope_is_okta_invalid_scope(okta, write_client, way):
    with pytest.raises(TokenRequestError) as info:
        WAYS[way](okta.token_endpoint, write_client, ["calculator.multiply"])
    assert (info.value.status, info.value.error) == (400, "invalid_scope")
    assert info.value.error_description == "One or more scopes are not configured for the authorization server resource."
    assert write_client.client_secret not in str(info.value)


@pytest.mark.parametrize("way", way_params)
def test_a_scope_the_rule_does_not_allow_is_policy_evaluation_failed(okta, way):
    """Rules are allowlists: a request with a scope the rule lacks matches no rule (Okta's guide)."""
    with pytest.raises(TokenRequestError) as info:
        WAYS[way](okta.token_endpoint, okta.clients["read_service"], SCOPES)
    assert (info.value.status, info.value.error) == (401, "access_denied")
    assert info.value.error_description.startswith("Policy evaluation failed for this request")


@pytest.mark.parametrize("way", way_params)
def test_unreachable_token_endpoint_is_a_clear_error(write_client, way):
    url = "https://127.0.0.1:9/oauth2/default/v1/token"  # port 9 (discard): nothing listens
    with pytest.raises(TokenEndpointUnreachable) as info:
        WAYS[way](url, write_client, SCOPES, timeout=3)
    assert info.value.token_url == url
    assert str(info.value).startswith(f"Could not reach the token endpoint {url} (")
    assert "connect" in info.value.reason.lower()
    assert write_client.client_secret not in str(info.value)


@pytest.mark.parametrize("way", way_params)
def test_an_answer_that_is_not_an_oauth_error(okta, write_client, way):
    with pytest.raises(TokenRequestError) as info:
        WAYS[way](okta.url + "/oauth2/nosuchserver/v1/token", write_client, SCOPES)
    assert info.value.status == 404
    assert not isinstance(info.value, TokenEndpointUnreachable)


def test_repr_masks_the_token(okta, write_client):
    token = fetch_token_with_requests(okta.token_endpoint, write_client, SCOPES)
    text = repr(token)
    assert token.access_token not in text and token.access_token[20:40] not in text
    assert f"<{len(token.access_token)} chars>" in text and "expires_in=3600" in text
    assert str(token) == text


def test_from_json_refuses_a_success_without_a_token():
    with pytest.raises(TokenRequestError, match="without an access_token"):
        TokenResponse.from_json({"token_type": "Bearer"}, "https://example.okta.com/oauth2/default/v1/token")


@pytest.mark.parametrize("expires_in, seconds", [(3600, 3600), (3600.0, 3600), ("300", 300), (None, None), ("soon", None)])
def test_from_json_reads_expires_in(expires_in, seconds):
    token = TokenResponse.from_json({"access_token": "x", "token_type": "Bearer", "expires_in": expires_in}, "u")
    assert token.expires_in == seconds


def test_curl_command_shows_no_secret_and_puts_none_on_the_command_line(okta, write_client):
    command = curl_command(okta.token_endpoint, write_client, SCOPES)
    secret = write_client.client_secret
    assert secret not in command.display() and secret not in repr(command)
    assert all(secret not in arg for arg in command.argv), "argv is visible to other users (ps)"
    assert secret in command.stdin and command.argv[command.argv.index("--config") + 1] == "-"
    shown = command.display()
    assert "--user" not in shown, "a secret after --user would show in ps and the shell history"
    assert shown.startswith("""printf 'user = "%s:%s"\\n' "$M2M_CLIENT_ID" "$M2M_CLIENT_SECRET" | curl """)
    assert "\n  --config - \\\n" in shown
    assert "--data 'grant_type=client_credentials&scope=calculator.add+calculator.subtract'" in shown
    assert f"--url {okta.token_endpoint}" in shown
    assert command.display_stdin() == f'user = "{write_client.client_id}:********<{len(secret)} chars>"'


@needs_curl
def test_the_displayed_curl_command_works_in_a_shell(okta, write_client):
    """What the notebook shows is what a learner copies: run it in sh with the variables set."""
    import subprocess

    shown = curl_command(okta.token_endpoint, write_client, SCOPES).display()
    env = {**os.environ, "M2M_CLIENT_ID": write_client.client_id, "M2M_CLIENT_SECRET": write_client.client_secret}
    result = subprocess.run(["sh", "-c", shown], env=env, capture_output=True, text=True, timeout=20, check=False)
    body, _, status = result.stdout.rpartition("\n")
    assert (result.returncode, status.split()[:1]) == (0, ["200"]), result.stderr  # "200 <X-Rate-Limit-Reset>"
    assert TokenResponse.from_json(__import__("json").loads(body), okta.token_endpoint).scopes == tuple(SCOPES)


def test_without_curl_the_error_shows_the_command(okta, write_client, monkeypatch):
    monkeypatch.setattr(curl.shutil, "which", lambda name: None)
    with pytest.raises(TokenError, match="curl is not installed") as info:
        fetch_token_with_curl(okta.token_endpoint, write_client, SCOPES)
    assert "--config -" in str(info.value) and write_client.client_secret not in str(info.value)


def test_basic_credentials_are_urlencoded_first():
    """RFC 6749 2.3.1: id and secret are form-urlencoded before HTTP Basic joins and Base64-encodes them."""
    assert basic_credentials("0oa1_x-Y", "AbC-123_xyz") == ("0oa1_x-Y", "AbC-123_xyz")  # Okta's: unchanged
    assert basic_credentials("svc:1", "p@ss:w%rd+ /x") == ("svc%3A1", "p%40ss%3Aw%25rd%2B%20%2Fx")


@pytest.mark.parametrize("way", way_params)
def test_a_secret_with_reserved_characters_works(way):
    """Without the encoding, a ':' or '%' in the secret would be read as a different secret."""
    tenant = default_tenant()
    tenant.app(label="write_service").client_secret = 'p@ss:w%rd+ /x"y'
    server = start_local_okta(tenant=tenant, name="test-tokens-okta-odd-secret")
    try:
        client = server.clients["write_service"]
        assert client.client_secret == 'p@ss:w%rd+ /x"y'
        assert WAYS[way](server.token_endpoint, client, SCOPES).scopes == tuple(SCOPES)
    finally:
        server.stop()


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8080/oauth2/default/v1/token", True),
    ("http://localhost/token", True),
    ("http://[::1]:9000/token", True),
    ("http://127.8.0.1/token", True),
    ("http://10.0.0.1/token", False),
    ("http://example.okta.com/oauth2/default/v1/token", False),
    ("http://127.0.0.1.example.com/token", False),
])
def test_is_loopback_url(url, loopback):
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize("url", ["http://example.okta.com/oauth2/default/v1/token", "http://127.0.0.1:1234/token"])
def test_plain_http_is_refused_before_sending_even_on_this_machine(monkeypatch, write_client, url):
    """The local authorization server is HTTPS like Okta, so no token endpoint is plain http."""
    sent = []
    monkeypatch.setattr("requests.Session.request", lambda *a, **k: sent.append(a))
    with pytest.raises(TokenError, match="Refusing to send client credentials"):
        fetch_token_with_requests_oauthlib(url, write_client, SCOPES)
    assert sent == []


class RecordingEnviron(dict):
    """``os.environ`` stand-in that remembers every variable set."""

    def __init__(self, base):
        super().__init__(base)
        self.set_names = []

    def __setitem__(self, name, value):
        self.set_names.append(name)
        super().__setitem__(name, value)


def test_no_process_wide_switch_while_fetching_concurrently(okta, write_client, monkeypatch):
    environ = RecordingEnviron(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    results, errors = [], []

    def fetch():
        try:
            results.append(fetch_token_with_requests_oauthlib(okta.token_endpoint, write_client, SCOPES))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 6
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in environ.set_names
