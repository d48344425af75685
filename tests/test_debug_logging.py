"""With DEBUG logging on, no secret reaches a log record (issue 22 #5).

A learner who turns on ``logging.basicConfig(level=logging.DEBUG)`` sees every logger's
records in the cell output: requests-oauthlib, oauthlib and urllib3 log request bodies,
headers, token answers and URLs at DEBUG. Real requests against the local server, then a
look at every record: no client secret, access, refresh or ID token, or PKCE verifier.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest
from fastmcp import Client

from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.settings import ANY_PORT_REDIRECT_URI
from helpers.tokens.fetching import fetch_token_with_requests, fetch_token_with_requests_oauthlib
from helpers.user_login import UserLogin, sign_in_with_password
from helpers.verification import Protection

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-debug-logging-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-debug-logging-calculator")
    yield server
    server.stop()


def leaked(log_text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets found in the log, as sent or URL-encoded (at least 8 characters)."""
    return sorted(name for name, value in secrets.items()
                  if value and len(value) >= 8 and (value in log_text or quote(value, safe="") in log_text))


def all_records(caplog) -> str:
    return "\n".join(f"{record.name}: {record.getMessage()}" for record in caplog.records)


async def test_debug_logs_of_token_requests_and_a_sign_in_hold_no_secret(okta, calculator, caplog):
    caplog.set_level(logging.DEBUG)
    m2m, web = okta.clients["write_service"], okta.clients["web"]
    found = {"m2m client secret": m2m.client_secret, "web client secret": web.client_secret}
    for name, client in (("m2m", m2m), ("web", web)):
        found[f"{name} Basic credentials"] = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()

    found["token (requests-oauthlib)"] = fetch_token_with_requests_oauthlib(
        okta.token_endpoint, m2m, "calculator.add").access_token
    found["token (requests)"] = fetch_token_with_requests(okta.token_endpoint, m2m, "calculator.add").access_token

    login = UserLogin(calculator.mcp_url, web, issuer=okta.issuer, redirect_uri=ANY_PORT_REDIRECT_URI)
    pending = login.begin(timeout=10)
    found["PKCE verifier"] = pending._code_verifier
    user = okta.users[0]
    sign_in_with_password(pending, user.login, user.password)
    tokens = await pending.wait()
    found.update({"user access token": tokens.access_token, "refresh token": tokens.refresh_token,
                  "ID token": tokens.id_token})
    async with Client(calculator.mcp_url, auth=login.auth()) as client:
        assert (await client.call_tool("add", {"a": 1, "b": 2})).data == 3
    refreshed = login.refresh()
    found.update({"refreshed access token": refreshed.access_token, "new refresh token": refreshed.refresh_token})
    login.sign_out()

    log_text = all_records(caplog)
    assert any(record.name.startswith(("urllib3", "oauthlib", "requests_oauthlib")) for record in caplog.records)
    assert leaked(log_text, found) == []


def test_a_level_the_program_set_is_kept_and_query_values_are_hidden(caplog):
    from helpers.log_safety import keep_secrets_out_of_logs

    chosen = logging.getLogger("requests_oauthlib")
    chosen.setLevel(logging.DEBUG)
    try:
        keep_secrets_out_of_logs()
        assert chosen.level == logging.DEBUG  # an explicit choice is the program's
        assert logging.getLogger("oauthlib").getEffectiveLevel() == logging.INFO
    finally:
        chosen.setLevel(logging.INFO)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s', "http", "127.0.0.1", 8765, "GET", "/callback?code=abc123secret&state=xyz", "HTTP/1.1", 200, 10)
    assert caplog.records[-1].getMessage() == 'http://127.0.0.1:8765 "GET /callback?code=...&state=... HTTP/1.1" 200 10'
