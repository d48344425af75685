"""The local authorization server answers MCP clients as Okta does (issue 23, notebook 07 sections 1-2).

Sources are in okta/okta-developer-docs under ``packages/@okta/vuepress-site/``: the OAuth error
catalogue ``data/oauth2-error-codes.json`` (release 2026.08.1, by internal code), the management
API's catalogue ``data/error-codes.json`` (by ``errorCode``), and guides under ``docs/``.

- Dynamic client registration: ``docs/guides/ai-configure-agent-for-gateway/main/index.md`` ("Okta
  doesn't accept Dynamic Client Registration ... must fall back to a pre-registered client_id");
  ``/oauth2/v1/clients`` is an admin API (``docs/guides/implement-oauth-for-okta-serviceapp/``).
  **Inferred**: the body of the refusal of an anonymous registration. Okta's documents do not print
  it; the local server answers with the management API's "Invalid token exception" (``E0000011``,
  401, "Invalid token provided", ``data/error-codes.json``).
- The metadata has no ``registration_endpoint``: a project decision (issue 23), not Okta's (Okta's
  metadata lists ``https://{yourOktaDomain}/oauth2/v1/clients``); a client reading it finds nothing
  to register at rather than an endpoint that always refuses.
- ``resource`` (RFC 8707): custom authorization servers accept it (``docs/release-notes/
  2026-okta-identity-engine/index.md``, 2026.08.2); a value that is not the server's audience gets
  ``invalid_target`` "The authorization server has rejected the 'resource' parameter: ..."
  (catalogue ``unsupported_resource``).
- The Native app (a public client) must use PKCE: catalogue ``pkce_missing_challenge``.
- Client ID metadata documents (switch, off by default): ``docs/guides/ai-agent-cimd-registration/
  main/index.md`` and the catalogue's ``cimd_*`` rows. **Beyond Okta's documents**: a registered
  CIMD URL signing a user in as a public client (Okta documents private_key_jwt with token exchange
  and JWT bearer only); the refusal at /authorize is an error page, as for an unknown client id
  (inferred).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from helpers.local_okta import start_local_okta
from helpers.local_okta.mcp_resource import MCP_SERVER_ID
from helpers.local_okta.signin import sign_in

MCP_URL = "http://127.0.0.1:8000/mcp"
REDIRECT = "http://127.0.0.1:8766/callback"
RESOURCE_REJECTED = "The authorization server has rejected the 'resource' parameter: {0}"  # unsupported_resource


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="test-okta-fidelity-mcp-clients")
    local.add_mcp_resource(MCP_URL)
    yield local
    local.stop()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(okta, server_id=MCP_SERVER_ID, challenge=None, **extra) -> str:
    params = {"client_id": okta.clients["mcp_client"].client_id, "response_type": "code", "scope": "calculator.add",
              "redirect_uri": REDIRECT, "state": "st-1", **extra}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return okta.endpoint("authorize", server_id) + "?" + urlencode(params)


def redirect_query(okta, url: str) -> dict[str, str]:
    user = okta.users[0]
    return {k: v[0] for k, v in parse_qs(urlsplit(sign_in(url, user.login, user.password)).query).items()}


# -- dynamic client registration -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "SSWS not-an-api-token"}], ids=["anonymous", "bad-token"])
def test_registration_is_refused_like_okta_management_api(okta, headers):
    """Inferred body: the management API's E0000011 (error-codes.json "Invalid token exception", 401)."""
    metadata = {"client_name": "Some MCP client", "redirect_uris": ["http://127.0.0.1:33418/callback"],
                "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"}
    response = requests.post(okta.url + "/oauth2/v1/clients", json=metadata, headers=headers, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["errorCode"] == "E0000011"
    assert body["errorSummary"] == "Invalid token provided"
    assert body["errorLink"] == "E0000011"
    assert body["errorId"].startswith("oae") and body["errorCauses"] == []
    assert "client_id" not in body  # nothing was registered


def test_registration_is_not_an_endpoint_of_a_custom_authorization_server(okta):
    response = requests.post(okta.issuer + "/v1/clients", json={}, timeout=10)
    assert response.status_code == 404 and response.json()["errorCode"] == "E0000007"


@pytest.mark.parametrize("document", ["oauth-authorization-server", "openid-configuration"])
@pytest.mark.parametrize("server", ["default", MCP_SERVER_ID, "org"])
def test_metadata_names_no_registration_endpoint(okta, document, server):
    base = okta.url if server == "org" else okta.issuer_for(server)
    metadata = requests.get(f"{base}/.well-known/{document}", timeout=10).json()
    assert "registration_endpoint" not in metadata
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]  # public clients with PKCE


# -- the authorization server for the MCP server: audience = its URL ---------------------------


def test_mcp_server_metadata_and_audience(okta):
    metadata = requests.get(okta.issuer_for(MCP_SERVER_ID) + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["issuer"] == okta.issuer_for(MCP_SERVER_ID)
    assert {"calculator.add", "calculator.subtract", "offline_access"} <= set(metadata["scopes_supported"])
    assert okta.tenant.server(MCP_SERVER_ID).audience == MCP_URL


def test_resource_equal_to_the_mcp_url_gets_a_token_for_it(okta):
    verifier, challenge = pkce_pair()
    query = redirect_query(okta, authorize_url(okta, challenge=challenge, resource=MCP_URL))
    assert "code" in query, query
    response = requests.post(okta.endpoint("token", MCP_SERVER_ID), data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": okta.clients["mcp_client"].client_id, "resource": MCP_URL}, timeout=10)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == MCP_URL and claims["cid"] == okta.clients["mcp_client"].client_id
    assert claims["iss"] == okta.issuer_for(MCP_SERVER_ID)


@pytest.mark.parametrize("resource", ["http://127.0.0.1:8001/mcp", MCP_URL + "/", "https://calculator-mcp-server.example.com"])
def test_another_resource_is_refused_at_authorize(okta, resource):
    """catalogue unsupported_resource: the redirect carries invalid_target and Okta's text."""
    _, challenge = pkce_pair()
    query = redirect_query(okta, authorize_url(okta, challenge=challenge, resource=resource))
    assert query["error"] == "invalid_target"
    assert query["error_description"] == RESOURCE_REJECTED.format(resource)


def test_mcp_url_is_refused_by_a_server_with_another_audience(okta):
    """The mismatched setup: the MCP server names the `default` server, whose audience is not its URL."""
    _, challenge = pkce_pair()
    url = authorize_url(okta, server_id="default", challenge=challenge, resource=MCP_URL)
    query = redirect_query(okta, url)
    assert query["error"] == "invalid_target"
    assert query["error_description"] == RESOURCE_REJECTED.format(MCP_URL)


def test_mismatched_resource_is_refused_at_the_token_endpoint(okta):
    verifier, challenge = pkce_pair()
    query = redirect_query(okta, authorize_url(okta, challenge=challenge, resource=MCP_URL))
    response = requests.post(okta.endpoint("token", MCP_SERVER_ID), data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": okta.clients["mcp_client"].client_id, "resource": "http://127.0.0.1:9/other"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_target",
                               "error_description": RESOURCE_REJECTED.format("http://127.0.0.1:9/other")}


# -- the pre-registered public client ------------------------------------------------------


def test_mcp_client_app_is_a_public_native_app(okta):
    app = okta.tenant.app(label="mcp_client")
    assert app.is_public and app.client_secret is None and app.require_pkce
    assert set(app.grant_types) == {"authorization_code", "refresh_token"}
    assert all(uri.startswith("http://127.0.0.1:") for uri in app.redirect_uris)
    assert okta.settings().mcp_client.client_id == app.client_id and okta.settings().mcp_client.client_secret is None


def test_public_client_without_pkce_is_refused(okta):
    """catalogue pkce_missing_challenge: "PKCE code challenge is required by the application."."""
    query = redirect_query(okta, authorize_url(okta, resource=MCP_URL))
    assert query["error"] == "invalid_request"
    assert query["error_description"] == "PKCE code challenge is required by the application."


def test_add_mcp_resource_replaces_and_keeps_keys(okta):
    kids = okta.signing_kids(MCP_SERVER_ID)
    okta.add_mcp_resource(MCP_URL)
    assert [s.id for s in okta.tenant.authorization_servers].count(MCP_SERVER_ID) == 1
    assert okta.signing_kids(MCP_SERVER_ID) == kids


@pytest.mark.parametrize("bad", ["calculator", "ftp://127.0.0.1/mcp", "http://127.0.0.1:8000/mcp#x", None])
def test_add_mcp_resource_wants_an_absolute_url(okta, bad):
    with pytest.raises(ValueError, match="absolute http"):
        okta.add_mcp_resource(bad)


# -- client ID metadata documents (CIMD), behind a switch -----------------------------------
# guides/ai-agent-cimd-registration/main/index.md: registered CIMD URLs only, exact match; the
# document's client_id must be the URL, redirect_uris a non-empty array. Catalogue texts by internal
# code (cimd_*). Going further than Okta documents (a CIMD URL as a public client for the
# authorization code grant) is the local server's demo, marked in cimd.py.

CIMD_DOCUMENTS: dict[str, object] = {}


@pytest.fixture(scope="module")
def cimd_host():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from helpers import background

    def document(request):
        found = CIMD_DOCUMENTS.get(request.path_params["name"])
        return Response(found, media_type="application/json") if isinstance(found, str) else JSONResponse(found)

    host = background.start(Starlette(routes=[Route("/cimd/{name}", document)]), name="test-cimd-host", tls=True)
    yield host
    host.stop()


@pytest.fixture
def cimd(okta, cimd_host):
    from helpers.local_okta.cimd import set_client_id_metadata_documents

    def register(name, document, registered=True):
        url = f"{cimd_host.url}/cimd/{name}"
        CIMD_DOCUMENTS[name] = document(url) if callable(document) else document
        set_client_id_metadata_documents(okta, [url] if registered else [f"{cimd_host.url}/cimd/someone-else"])
        return url

    yield register
    set_client_id_metadata_documents(okta, None)


def good_document(url):
    return {"client_id": url, "client_name": "A CIMD client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}


def cimd_authorize(okta, url, redirect=REDIRECT):
    _, challenge = pkce_pair()
    params = {"client_id": url, "response_type": "code", "scope": "calculator.add", "redirect_uri": redirect,
              "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256", "resource": MCP_URL}
    return requests.get(okta.endpoint("authorize", MCP_SERVER_ID) + "?" + urlencode(params), allow_redirects=False, timeout=10)


def test_cimd_is_off_by_default(okta, cimd_host):
    CIMD_DOCUMENTS["off"] = good_document(f"{cimd_host.url}/cimd/off")
    metadata = requests.get(okta.issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert "client_id_metadata_document_supported" not in metadata
    answer = cimd_authorize(okta, f"{cimd_host.url}/cimd/off")
    assert answer.status_code == 400 and "Invalid value for 'client_id' parameter." in unescape(answer.text)


def test_cimd_switched_on_is_advertised_and_signs_in(okta, cimd):
    url = cimd("good", good_document)
    metadata = requests.get(okta.issuer_for(MCP_SERVER_ID) + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["client_id_metadata_document_supported"] is True
    query = redirect_query(okta, cimd_authorize(okta, url).url)
    assert "code" in query, query


@pytest.mark.parametrize("name, document, text", [
    ("mismatch", lambda url: {**good_document(url), "client_id": url + "x"},
     "The 'client_id' in the metadata document does not match the URL used to fetch it."),  # cimd_client_id_mismatch
    ("no-uris", lambda url: {k: v for k, v in good_document(url).items() if k != "redirect_uris"},
     "The metadata document is missing the required 'redirect_uris' field."),  # cimd_missing_redirect_uris
    ("empty-uris", lambda url: {**good_document(url), "redirect_uris": []},
     "The metadata document is missing the required 'redirect_uris' field."),  # cimd_missing_redirect_uris
    ("not-json", "{not json", "The metadata document could not be parsed as valid JSON."),  # cimd_invalid_metadata_json
    ("keys", lambda url: {**good_document(url), "token_endpoint_auth_method": "private_key_jwt"},
     "The metadata document contains invalid client configuration details."),  # cimd_invalid_client_details
])
def test_cimd_document_refusals(okta, cimd, name, document, text):
    url = cimd(name, document)
    answer = cimd_authorize(okta, url)
    assert answer.status_code == 400 and not answer.is_redirect  # an error page: the client is not known
    assert text in unescape(answer.text)
    token = requests.post(okta.endpoint("token", MCP_SERVER_ID), data={
        "grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT, "code_verifier": "v" * 43,
        "client_id": url}, timeout=10)
    assert token.status_code == 400
    assert token.json() == {"error": "invalid_client_metadata", "error_description": text}


def test_cimd_url_not_registered(okta, cimd):
    """cimd_client_id_not_matching_entity: exact match with a registered URL only."""
    url = cimd("unregistered", good_document, registered=False)
    answer = cimd_authorize(okta, url)
    assert answer.status_code == 400
    assert "The CIMD client does not match any configured CIMD client entity." in unescape(answer.text)


def test_cimd_redirect_uris_match_exactly(okta, cimd):
    """No RFC 8252 port leeway for a document's redirect URIs: only what it lists."""
    url = cimd("exact", good_document)
    answer = cimd_authorize(okta, url, redirect="http://127.0.0.1:8767/callback")
    assert answer.status_code == 400 and not answer.is_redirect
    assert "Login redirect URI" in answer.text


def test_cimd_urls_must_be_https(okta):
    from helpers.local_okta.cimd import set_client_id_metadata_documents

    with pytest.raises(ValueError, match="https"):
        set_client_id_metadata_documents(okta, ["http://127.0.0.1:1/cimd.json"])
