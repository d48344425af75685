"""The token, revocation and introspection endpoints read their parameters from the form body,
as Okta's do: parameters in the query are not read (client credentials there are refused with
Okta's own error), and nothing a client sends makes the local server answer 500.

A learner who writes ``requests.post(token_url, params=...)`` instead of ``data=`` used to get an
ASGI traceback in their cell (oauthlib raises for a query on a POST) instead of Okta's answer.
"""

import pytest
import requests

from helpers.local_okta import start_local_okta


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="body-only-okta")
    yield server
    server.stop()


def test_a_token_request_in_the_query_gets_okta_s_missing_grant_type(okta):
    settings = okta.settings()
    web = settings.web_client
    answer = requests.post(f"{settings.issuer}/v1/token", auth=(web.client_id, web.client_secret),
                           params={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_description"].startswith("The token request must specify a 'grant_type'.")


def test_a_body_request_with_a_stray_query_is_answered_from_the_body(okta):
    settings = okta.settings()
    m2m = settings.m2m_client
    answer = requests.post(f"{settings.issuer}/v1/token?debug=1", auth=(m2m.client_id, m2m.client_secret),
                           data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["scope"] == "calculator.add"


@pytest.mark.parametrize("endpoint, missing", [("revoke", "token"), ("introspect", "token")])
def test_revocation_and_introspection_read_the_body_only(okta, endpoint, missing):
    settings = okta.settings()
    web = settings.web_client
    answer = requests.post(f"{settings.issuer}/v1/{endpoint}", auth=(web.client_id, web.client_secret),
                           params={"token": "x"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "error_description": f"The '{missing}' parameter is required."}
