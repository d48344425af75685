"""helpers.agent_exchange: the AI agent's client for Okta's token exchange, end to end against the local server.

The flow: the user signs in to the agent (an ID token from the org authorization server), the agent
exchanges it for an ID-JAG, then for an access token at the calculator's authorization server, and
calls the calculator, which sees the user as ``sub`` and the agent as ``client_id``. Refusals raise
errors that name Okta's error and a fix and never hold a token, an assertion or the key.
"""

import pytest
import requests
from fastmcp import Client

from helpers.agent_exchange import (AgentSignInError, ExchangeError, IdJag, exchange_id_jag, finish_sign_in, local_agent,
                                    request_id_jag, sign_in_with_password, start_sign_in)
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.local_okta.signin import sign_in
from helpers.verification import Protection


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="local-okta-agent-exchange-test")
    yield local
    local.stop()


@pytest.fixture(scope="module")
def agent(okta):
    return local_agent(okta)


@pytest.fixture(scope="module")
def user_tokens(okta, agent):
    user = okta.users[0]
    return sign_in_with_password(agent, user.login, user.password)


@pytest.mark.anyio
async def test_the_agent_calls_the_calculator_as_the_user(okta, agent, user_tokens):
    calculator = start_calculator(Protection.from_settings(okta.settings()), name="calculator-agent-exchange-test")
    try:
        id_jag = request_id_jag(agent, user_tokens.id_token, audience=okta.issuer, scope="calculator.add")
        token = exchange_id_jag(agent, id_jag)
        async with Client(calculator.mcp_url, auth=token.access_token) as client:
            assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
            me = (await client.call_tool("get_me", {})).data
        assert (me["sub"], me["client_id"], me["scopes"]) == ("ada@example.com", agent.client_id, ["calculator.add"])
    finally:
        calculator.stop()


def test_the_users_own_id_token_opens_nothing_at_the_calculator(okta, user_tokens):
    """Token passthrough refused: the ID token is for the agent (its aud), not for the MCP server."""
    calculator = start_calculator(Protection.from_settings(okta.settings()), name="calculator-agent-exchange-test")
    try:
        answer = requests.post(calculator.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10,
                               headers={"Authorization": f"Bearer {user_tokens.id_token}",
                                        "Accept": "application/json, text/event-stream"})
        assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]
    finally:
        calculator.stop()


def test_the_id_token_is_the_agents_and_checked(okta, agent, user_tokens):
    assert user_tokens.claims["aud"] == agent.client_id and user_tokens.claims["iss"] == okta.org_issuer
    assert user_tokens.claims["sub"] == okta.users[0].uid


def test_refusals_name_oktas_error_and_the_fix_and_show_no_token(okta, agent, user_tokens):
    with pytest.raises(ExchangeError) as wrong_audience:
        request_id_jag(agent, user_tokens.id_token, audience="https://elsewhere.example.com/oauth2/default", scope="calculator.add")
    assert (wrong_audience.value.status, wrong_audience.value.error) == (400, "invalid_target")
    assert "audience to the issuer" in wrong_audience.value.fix
    id_jag = request_id_jag(agent, user_tokens.id_token, audience=okta.issuer, scope="calculator.add")
    exchange_id_jag(agent, id_jag)
    with pytest.raises(ExchangeError) as replayed:
        exchange_id_jag(agent, id_jag)
    assert replayed.value.description == "The id-jag was already used." and "single-use" in replayed.value.fix
    for error in (wrong_audience.value, replayed.value):
        shown = f"{error} {error!r} {error.args!r}"
        assert user_tokens.id_token not in shown and id_jag.token not in shown and "eyJ" not in shown
        assert error.__cause__ is None and error.__context__ is None  # no chained traceback


def test_scopes_the_connection_does_not_allow_are_named(okta, agent, user_tokens):
    with pytest.raises(ExchangeError) as raised:
        request_id_jag(agent, user_tokens.id_token, audience=okta.issuer, scope="calculator.add calculator.subtract")
    assert "[calculator.subtract]" in str(raised.value) and "Resource connections" in raised.value.fix


def test_the_id_jag_goes_only_to_the_server_it_names(okta, agent, user_tokens):
    """exchange_id_jag posts to the token endpoint of the ID-JAG's audience: relabelled, Okta refuses it there."""
    id_jag = request_id_jag(agent, user_tokens.id_token, audience=okta.issuer, scope="calculator.add")
    relabelled = IdJag(id_jag.token, okta.issuer_for("other"), id_jag.expires_in)
    with pytest.raises(ExchangeError) as raised:
        exchange_id_jag(agent, relabelled)
    assert raised.value.error == "invalid_grant" and "audience of the JWT Bearer Grant" in raised.value.description


def test_reprs_hold_no_secret(okta, agent, user_tokens):
    id_jag = request_id_jag(agent, user_tokens.id_token, audience=okta.issuer, scope="calculator.add")
    token = exchange_id_jag(agent, id_jag)
    shown = " ".join(map(repr, (agent, id_jag, token, user_tokens)))
    assert "eyJ" not in shown and "PRIVATE" not in shown and "RSAPrivateKey object" not in shown


def test_an_unreachable_server_is_a_clear_error(agent):
    from helpers.agent_exchange import Agent

    nowhere = Agent("https://127.0.0.1:9", agent.key)
    with pytest.raises(ExchangeError) as raised:
        request_id_jag(nowhere, "x", audience="https://127.0.0.1:9/oauth2/default", scope="calculator.add")
    assert raised.value.error == "unreachable" and raised.value.__cause__ is None


def test_sign_in_refuses_a_foreign_state_and_an_unassigned_user(okta, agent):
    pending = start_sign_in(agent)
    user = okta.users[0]
    redirect = sign_in(pending.url, user.login, user.password)
    with pytest.raises(AgentSignInError, match="state"):
        finish_sign_in(agent, start_sign_in(agent), redirect)
    alan = okta.users[1]  # not assigned to the agent (Directory > AI Agents > User access)
    with pytest.raises(AgentSignInError, match="not assigned"):
        sign_in_with_password(agent, alan.login, alan.password)


def test_the_agent_from_env_settings(tmp_path):
    """AI_AGENT_CLIENT_ID and AI_AGENT_PRIVATE_KEY_FILE: both or neither; agent_for reads them with a real org."""
    from types import SimpleNamespace

    from helpers.agent_exchange import agent_for
    from helpers.settings import ConfigurationError, load_settings
    from helpers.tokens.private_key import write_key_pair

    tenant = {"OAUTH_ISSUER": "https://dev-123.okta.com/oauth2/default", "OAUTH_AUDIENCE": "https://calc.example.com",
              "M2M_CLIENT_ID": "0oa1", "M2M_CLIENT_SECRET": "s3cr3t"}
    auth_server = SimpleNamespace(local=None, settings=load_settings(environ=tenant, env_file=""))
    with pytest.raises(ConfigurationError, match="AI_AGENT_CLIENT_ID is not set"):
        agent_for(auth_server, environ=tenant, env_file="")
    with pytest.raises(ConfigurationError, match="AI_AGENT_CLIENT_ID is set but AI_AGENT_PRIVATE_KEY_FILE is not"):
        agent_for(auth_server, environ={**tenant, "AI_AGENT_CLIENT_ID": "0oaAgent"}, env_file="")
    files = write_key_pair(tmp_path / "agent")
    environ = {**tenant, "AI_AGENT_CLIENT_ID": "0oaAgent", "AI_AGENT_PRIVATE_KEY_FILE": str(files.private_key_file)}
    agent = agent_for(auth_server, environ=environ, env_file="")
    assert (agent.org_url, agent.client_id, agent.key.kid) == ("https://dev-123.okta.com", "0oaAgent", files.kid)
    assert agent.org_token_endpoint == "https://dev-123.okta.com/oauth2/v1/token"
