"""Notebook 07's MCP-client grader: the solution passes every row, a stub is told it is empty, and
each typical mistake fails the row that names it. Real sign-ins on the local server, no mocks."""

from __future__ import annotations

import pytest
from fastmcp.client.auth import OAuth

from helpers.authorization_server import AuthorizationServer
from helpers.exercises import ExerciseFeedback
from helpers.graders.mcp_client import check_mcp_client, grade_mcp_client
from helpers.local_okta import start_local_okta
from helpers.mcp_client import start_mcp_calculator

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Using in-memory token storage")]

ROWS = ["an OAuth for the calculator", "pre-registered client id", "no client secret", "issuer pinned", "redirect URI",
        "signs in and calls add", "token for this MCP server"]


@pytest.fixture(scope="module")
def auth_server():
    okta = start_local_okta(name="test-mcp-client-grader-okta")
    yield AuthorizationServer(okta.settings(), okta)
    okta.stop()


@pytest.fixture(scope="module")
def calculator(auth_server):
    server = start_mcp_calculator(auth_server, name="test-mcp-client-grader-calculator")
    yield server
    server.stop()


def solution(settings, issuer):
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=settings.mcp_client.client_id, callback_host="127.0.0.1", issuer=issuer)
    return mcp_client_auth


def failing(rows):
    return [row.name for row in rows if not row.passed]


async def test_the_solution_passes_every_row(calculator, auth_server):
    rows = await grade_mcp_client(solution(auth_server.settings, calculator.issuer), calculator, auth_server)
    assert [row.name for row in rows] == ROWS
    assert failing(rows) == []


async def test_check_reports_success(calculator, auth_server, capsys):
    await check_mcp_client(solution(auth_server.settings, calculator.issuer), calculator, auth_server, exercise="Exercise test 7.1")
    assert "redirect URI" in capsys.readouterr().out


async def test_a_do_nothing_stub_is_told_it_returns_nothing(calculator, auth_server):
    def mcp_client_auth(mcp_url):
        ...
    with pytest.raises(ExerciseFeedback, match="still returns nothing"):
        await check_mcp_client(mcp_client_auth, calculator, auth_server, exercise="Exercise test 7.1")


async def test_the_default_localhost_callback_fails_the_redirect_row(calculator, auth_server):
    """FastMCP's default callback_host is 'localhost': not the registered loopback IP."""
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=auth_server.settings.mcp_client.client_id, issuer=calculator.issuer)
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert failing(rows) == ["redirect URI", "signs in and calls add", "token for this MCP server"]
    got = {row.name: row.got for row in rows}["signs in and calls add"]
    assert "must be a Login redirect URI" in got


async def test_no_client_id_means_registration(calculator, auth_server):
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, callback_host="127.0.0.1", issuer=calculator.issuer)
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert failing(rows) == ["pre-registered client id", "signs in and calls add", "token for this MCP server"]
    assert "Registration failed" in {row.name: row.got for row in rows}["signs in and calls add"]


async def test_the_web_app_with_its_secret_fails_id_and_secret(calculator, auth_server):
    web = auth_server.local.clients["web"]
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=web.client_id, client_secret=web.client_secret, callback_host="127.0.0.1")
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert failing(rows)[:2] == ["pre-registered client id", "no client secret"]
    assert all(web.client_secret not in row.got for row in rows)


async def test_an_unpinned_client_fails_only_the_issuer_row(calculator, auth_server):
    """FastMCP without issuer= still signs in here (the metadata is honest), but would follow a lookalike."""
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=auth_server.settings.mcp_client.client_id, callback_host="127.0.0.1")
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert failing(rows) == ["issuer pinned"]
    assert "issuer=calculator.issuer" in {row.name: row.fix for row in rows}["issuer pinned"]


async def test_another_issuer_is_named(calculator, auth_server):
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=auth_server.settings.mcp_client.client_id, callback_host="127.0.0.1",
                     issuer=auth_server.settings.issuer)  # the default server: not the one the calculator names
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    by_name = {row.name: row for row in rows}
    assert by_name["issuer pinned"].got == "settings.issuer, another server"
    assert "issuer pinned" in failing(rows)
    why = by_name["issuer pinned"].why  # its own hint: the learner did pin, just the wrong server
    assert why.startswith("You pinned an issuer") and "settings.issuer" in why and "Without `issuer=`" not in why
    got = by_name["signs in and calls add"].got  # FastMCP's refusal, whole: never cut mid-word
    assert "Refusing to send pre-registered credentials" in got and len(got) > 240, got
    token = by_name["token for this MCP server"]  # no token: the hint points at the sign-in, not the audience
    assert token.got == "no token" and "failed sign-in" in token.why and "audience" not in token.why


async def test_a_raising_function_is_one_row(calculator, auth_server):
    def mcp_client_auth(mcp_url):
        return OAuth(mcp_url, client_id=..., callback_host=...)
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert [row.name for row in rows] == ["an OAuth for the calculator"] and failing(rows) == ["an OAuth for the calculator"]


async def test_the_wrong_url_fails_the_first_row(calculator, auth_server):
    def mcp_client_auth(mcp_url):
        return OAuth("http://127.0.0.1:9/mcp", client_id=auth_server.settings.mcp_client.client_id, callback_host="127.0.0.1")
    rows = await grade_mcp_client(mcp_client_auth, calculator, auth_server)
    assert failing(rows) == ["an OAuth for the calculator"]
