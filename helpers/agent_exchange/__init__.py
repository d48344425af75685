"""An AI agent acting for a user with Okta's AI agent token exchange (Cross App Access, ID-JAG).

The agent must not reuse the token the user signed in with at another server: that token is the
user's, for the agent (its ``aud``), and a server that accepted it would accept it from anyone who
held it (token passthrough, which the MCP specification forbids). Instead Okta issues the agent a
token of its own for the MCP server, in two steps (Okta's *Set up AI agent token exchange* guide)::

    agent = Agent(org_url, PrivateKeyClient.from_file(client_id, key_file))   # Directory > AI Agents
    user = sign_in_with_password(agent, login, password)          # the user signs in to the agent
    id_jag = request_id_jag(agent, user.id_token, audience=issuer, scope="calculator.add")   # org server
    token = exchange_id_jag(agent, id_jag)                        # the custom authorization server
    # token.access_token: sub = the user, cid = the agent, scp = what the resource connection allowed

Modules: ``agent`` (the agent's credentials and client assertions), ``user_sign_in`` (the ID token),
``exchange`` (the two steps), ``errors`` (:class:`ExchangeError`: Okta's error and what to fix).
Built on ``requests`` and PyJWT: the MCP SDK's ``IdentityAssertionOAuthProvider`` does step 2 only
and with a client secret only (and sends ``scope`` and ``resource``), so it cannot present an ID-JAG
for an agent registered with a private key; neither library does Okta's step 1.
"""

from .agent import CLIENT_ASSERTION_TYPE, Agent, agent_for, local_agent, token_endpoint_of
from .errors import ExchangeError
from .exchange import (ACCESS_TOKEN_TYPE, ID_JAG_TOKEN_TYPE, ID_TOKEN_TYPE, JWT_BEARER, TOKEN_EXCHANGE, AgentToken,
                       IdJag, exchange_id_jag, request_id_jag)
from .user_sign_in import AgentSignInError, PendingAgentSignIn, finish_sign_in, sign_in_with_password, start_sign_in

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "CLIENT_ASSERTION_TYPE",
    "ID_JAG_TOKEN_TYPE",
    "ID_TOKEN_TYPE",
    "JWT_BEARER",
    "TOKEN_EXCHANGE",
    "Agent",
    "AgentSignInError",
    "AgentToken",
    "agent_for",
    "ExchangeError",
    "IdJag",
    "PendingAgentSignIn",
    "exchange_id_jag",
    "finish_sign_in",
    "local_agent",
    "request_id_jag",
    "sign_in_with_password",
    "start_sign_in",
    "token_endpoint_of",
]
