"""What mutation testing found unchecked in the gateway's token requests (helpers.user_login.token_requests).

Each test pins down something a user or the network sees that no other test held in place
(mutmut survivors). A token endpoint the test controls (HTTPS on 127.0.0.1, :mod:`helpers.background`)
answers with what a real authorization server can send: refusals, 429s, redirects, slow answers.
The error messages built from them are checked where words matter (which error, its description,
what to do), and the requests for what they carry (form, client authentication, no redirects).
The sign-in in progress is tested in test_mutants_pending_2.py, with this file's endpoint.
"""

from __future__ import annotations

import base64
import time

import anyio
import pytest
from oauthlib.oauth2 import WebApplicationClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers import background
from helpers.settings import ClientCredentials
from helpers.user_login import InsecureURLError, LoginError
from helpers.user_login.errors import RateLimitedLoginError
from helpers.user_login.token_requests import exchange_code, refresh_tokens, revoke_refresh_token

WEB = ClientCredentials("0oa1mutantsweb000001", "web-secret")
SPA = ClientCredentials("0oa1mutantsspa000001", None)  # a public client: PKCE alone
REDIRECT = "http://127.0.0.1:49999/callback"  # the redirect URI a code exchange names (nothing listens there)


TOKENS = {"access_token": "an-access-token", "token_type": "Bearer", "expires_in": 3600}


class TokenEndpoint:
    """HTTPS endpoints under ``/v1/`` answering what the test sets (per path, else the default);
    each request's path, form and headers are recorded."""

    def __init__(self, name: str = "test-mutants-pending-token") -> None:
        self.answers: dict[str, tuple] = {}
        self.default: tuple = (200, TOKENS, {}, 0.0)
        self.requests: list[dict] = []

        async def answer(request: Request) -> Response:
            form = await request.form()
            path = request.path_params["name"]
            self.requests.append({"path": path, "form": dict(form), "headers": dict(request.headers)})
            status, body, headers, delay = self.answers.get(path, self.default)
            await anyio.sleep(delay)
            return JSONResponse(body, status_code=status, headers=headers)

        self.server = background.start(Starlette(routes=[Route("/v1/{name}", answer, methods=["POST"])]),
                                       name=name, tls=True)
        self.url = f"{self.server.url}/v1/token"
        self.revoke_url = f"{self.server.url}/v1/revoke"

    def answer(self, status: int, *, path: str | None = None, headers: dict | None = None, delay: float = 0.0,
               **body) -> None:
        answer = (status, body, headers or {}, delay)
        if path is None:
            self.default = answer
        else:
            self.answers[path] = answer


@pytest.fixture(scope="module")
def endpoint():
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.server.stop()


@pytest.fixture(autouse=True)
def fresh(request):
    if "endpoint" in request.fixturenames:
        endpoint = request.getfixturevalue("endpoint")
        endpoint.requests.clear()
        endpoint.answers.clear()
        endpoint.answer(200, **TOKENS)


def exchange(endpoint: TokenEndpoint, timeout: float = 5) -> dict:
    return exchange_code(token_endpoint=endpoint.url, oauth_client=WebApplicationClient(WEB.client_id), client=WEB,
                         redirect_uri=REDIRECT, code="the-code", code_verifier="v" * 43, resource=None, timeout=timeout)


def refresh(endpoint: TokenEndpoint, client: ClientCredentials = WEB, **options) -> dict:
    options = {"resource": None, "timeout": 5, **options}
    return refresh_tokens(token_endpoint=endpoint.url, client=client, refresh_token="the-refresh-token", **options)


def revoke(endpoint: TokenEndpoint, client: ClientCredentials = WEB, **options) -> None:
    options = {"revocation_endpoint": endpoint.revoke_url, "timeout": 5, **options}
    revoke_refresh_token(client=client, refresh_token="the-refresh-token", **options)


def refusal(call, endpoint: TokenEndpoint) -> str:
    with pytest.raises(LoginError) as caught:
        call(endpoint)
    return str(caught.value)


# -- token_requests: a refusal other than invalid_grant ------------------------------------------


@pytest.mark.parametrize("call, doing", [(exchange, "the authorization code"), (refresh, "refreshing the token")])
def test_a_known_refusal_names_error_and_description_once_and_says_what_to_do(endpoint, call, doing):
    endpoint.answer(401, error="invalid_client", error_description="Client authentication failed.")
    message = refusal(call, endpoint)
    assert f"refused {doing}: invalid_client: Client authentication failed. Check CLIENT_ID and CLIENT_SECRET" in message
    assert ".." not in message and "None" not in message


@pytest.mark.parametrize("error, hint", [
    ("unauthorized_client", "Allow the grant type"),
    ("access_denied", "Check the access policy"),
    ("invalid_scope", "Ask only for scopes"),
    ("invalid_target", "This authorization server rejects the RFC 8707"),
])
def test_each_known_refusal_gets_its_own_advice(endpoint, error, hint):
    endpoint.answer(400, error=error, error_description="Refused.")
    assert f"{error}: Refused. {hint}" in refusal(exchange, endpoint)


@pytest.mark.parametrize("call", [exchange, refresh])
def test_an_unknown_refusal_ends_with_its_description_and_nothing_invented(endpoint, call):
    """No advice for an error the gateway has none for: the message ends with the server's words
    (only the server's own final period is dropped, not letters before it)."""
    endpoint.answer(400, error="server_error", error_description="The request failed at step X.")
    assert refusal(call, endpoint).endswith("server_error: The request failed at step X.")


def test_a_refusal_without_a_description_adds_no_words_of_its_own(endpoint):
    endpoint.answer(503, error="temporarily_unavailable")
    message = refusal(exchange, endpoint)
    assert message.startswith("The token endpoint refused the authorization code: temporarily_unavailable")
    assert message.split("temporarily_unavailable", 1)[1] == ": ."


# -- token_requests: what a refresh and a revocation send --------------------------------------


def basic(client: ClientCredentials) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()


def test_a_refresh_authenticates_a_confidential_client_in_the_header_only(endpoint):
    assert refresh(endpoint)["access_token"] == "an-access-token"
    (sent,) = endpoint.requests
    assert sent["form"] == {"grant_type": "refresh_token", "refresh_token": "the-refresh-token"}
    assert sent["headers"]["authorization"] == basic(WEB)


def test_a_refresh_by_a_public_client_sends_its_client_id_and_the_resource_when_configured(endpoint):
    refresh(endpoint, SPA, resource="https://mcp.example/mcp")
    (sent,) = endpoint.requests
    assert sent["form"] == {"grant_type": "refresh_token", "refresh_token": "the-refresh-token",
                            "client_id": SPA.client_id, "resource": "https://mcp.example/mcp"}
    assert "authorization" not in sent["headers"]


@pytest.mark.parametrize("call, doing", [(exchange, "exchange the code"), (refresh, "refresh the token")])
def test_a_token_request_gives_up_after_its_timeout(endpoint, call, doing):
    endpoint.answer(200, delay=1.5, **TOKENS)
    with pytest.raises(LoginError) as caught:
        call(endpoint, timeout=0.3)
    assert f"Could not {doing} at the token endpoint {endpoint.url} (ReadTimeout" in str(caught.value)


def test_a_rate_limited_refresh_says_the_tokens_are_kept(endpoint):
    endpoint.answer(429, headers={"X-Rate-Limit-Reset": str(int(time.time()) + 100)}, error="invalid_grant",
                    error_description="API call exceeded rate limit due to too many requests.")
    with pytest.raises(RateLimitedLoginError, match=r"retry after \d+ s .*\(the user's tokens are kept\)$"):
        refresh(endpoint, max_wait=0)


@pytest.mark.parametrize("client, form", [
    (WEB, {"token": "the-refresh-token", "token_type_hint": "refresh_token"}),
    (SPA, {"token": "the-refresh-token", "token_type_hint": "refresh_token", "client_id": SPA.client_id}),
])
def test_a_revocation_names_the_refresh_token_and_authenticates_as_the_client_is_registered(endpoint, client, form):
    endpoint.answer(200, path="revoke")
    revoke(endpoint, client)
    (sent,) = endpoint.requests
    assert (sent["path"], sent["form"]) == ("revoke", form)
    assert sent["headers"].get("authorization") == (basic(client) if client.client_secret else None)


def test_a_revocation_goes_to_https_only():
    with pytest.raises(InsecureURLError, match=r"The revocation endpoint 'http://revoke\.example/v1/revoke' is not"):
        revoke_refresh_token(revocation_endpoint="http://revoke.example/v1/revoke", client=WEB,
                             refresh_token="the-refresh-token", timeout=5)


def test_a_revocation_does_not_follow_a_redirect_with_the_refresh_token(endpoint):
    endpoint.answer(307, path="revoke", headers={"Location": "/v1/elsewhere"})
    with pytest.raises(LoginError, match=r"answered HTTP 307; .*may still be valid at the authorization server"):
        revoke(endpoint)
    assert [sent["path"] for sent in endpoint.requests] == ["revoke"]


def test_a_revocation_gives_up_after_its_timeout(endpoint):
    endpoint.answer(200, path="revoke", delay=1.5)
    with pytest.raises(LoginError, match=r"Could not reach the revocation endpoint .*\(ReadTimeout\)"):
        revoke(endpoint, timeout=0.3)


def test_a_rate_limited_revocation_says_when_to_retry_and_that_the_tokens_are_still_valid(endpoint):
    endpoint.answer(429, path="revoke", headers={"X-Rate-Limit-Reset": str(int(time.time()) + 42)})
    with pytest.raises(RateLimitedLoginError) as caught:
        revoke(endpoint)
    assert 40 < caught.value.retry_after <= 42 and caught.value.url == endpoint.revoke_url
    assert f"HTTP 429 from {endpoint.revoke_url}" in str(caught.value)
    assert "still valid at the authorization server" in str(caught.value)
