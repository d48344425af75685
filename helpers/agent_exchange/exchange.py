"""The AI agent's two token requests: the user's ID token for an ID-JAG, then the ID-JAG for an access token.

::

    id_jag = request_id_jag(agent, id_token, audience=settings.issuer, scope="calculator.add")
    token = exchange_id_jag(agent, id_jag)          # sent only to id_jag.audience's token endpoint
    async with Client(calculator.mcp_url, auth=token.access_token) as client: ...

Step 1 posts to the org authorization server (``{org}/oauth2/v1/token``) an RFC 8693 token exchange;
step 2 posts the ID-JAG to the custom authorization server it is for (``{issuer}/v1/token``) with the
RFC 7523 JWT bearer grant and **no** ``scope`` (Okta refuses one: the ID-JAG carries the scopes).
Both authenticate the agent with a client assertion for that endpoint. A refusal raises
:class:`ExchangeError`, naming Okta's error and what to fix; no token, assertion or key is ever in
a message or a ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from ..urls import is_https
from .agent import Agent, token_endpoint_of
from .errors import ExchangeError, refused

__all__ = ["ACCESS_TOKEN_TYPE", "ID_JAG_TOKEN_TYPE", "ID_TOKEN_TYPE", "JWT_BEARER", "TOKEN_EXCHANGE",
           "AgentToken", "IdJag", "exchange_id_jag", "request_id_jag"]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@dataclass(frozen=True)
class IdJag:
    """An ID-JAG: a 5-minute, single-use grant for one authorization server (``audience``)."""

    token: str = field(repr=False)
    audience: str
    expires_in: int


@dataclass(frozen=True)
class AgentToken:
    """The access token the agent uses at the MCP server: the user's, held by the agent."""

    access_token: str = field(repr=False)
    scope: str
    expires_in: int


def request_id_jag(agent: Agent, subject_token: str, *, audience: str, scope: str,
                   subject_token_type: str = ID_TOKEN_TYPE, timeout: float = 10.0) -> IdJag:
    """Step 1: exchange the user's ``subject_token`` (their ID token from signing in to the agent)
    at the org authorization server for an ID-JAG for ``audience`` (a custom authorization
    server's issuer), asking for ``scope`` (space-separated scopes at that server)."""
    endpoint = agent.org_token_endpoint
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": subject_token_type,
        "requested_token_type": ID_JAG_TOKEN_TYPE,
        "audience": audience,
        "scope": scope,
        **agent.client_assertion(endpoint),
    }
    body = _post("Step 1 (token exchange for an ID-JAG)", endpoint, form, timeout)
    if body.get("issued_token_type") != ID_JAG_TOKEN_TYPE or not isinstance(body.get("access_token"), str):
        raise ExchangeError("Step 1 (token exchange for an ID-JAG)", 200, "unexpected_response",
                            "the answer holds no ID-JAG (issued_token_type is not id-jag)",
                            "Check that the request went to the org authorization server's token endpoint.")
    return IdJag(body["access_token"], audience, int(body.get("expires_in", 0)))


def exchange_id_jag(agent: Agent, id_jag: IdJag, *, timeout: float = 10.0) -> AgentToken:
    """Step 2: present ``id_jag`` at the custom authorization server it is for (its audience) with
    the JWT bearer grant; the access token that server issues for the user and the agent."""
    endpoint = token_endpoint_of(id_jag.audience)
    form = {"grant_type": JWT_BEARER, "assertion": id_jag.token, **agent.client_assertion(endpoint)}
    body = _post("Step 2 (JWT bearer grant of the ID-JAG)", endpoint, form, timeout)
    if body.get("token_type") != "Bearer" or not isinstance(body.get("access_token"), str):
        raise ExchangeError("Step 2 (JWT bearer grant of the ID-JAG)", 200, "unexpected_response",
                            "the answer holds no bearer access token", "Check the authorization server's issuer.")
    return AgentToken(body["access_token"], str(body.get("scope", "")), int(body.get("expires_in", 0)))


def _post(step: str, endpoint: str, form: dict[str, str], timeout: float) -> dict:
    """POST ``form``; the JSON answer, or :class:`ExchangeError` (never the body: it may hold tokens)."""
    if not is_https(endpoint):  # the user's ID token, the ID-JAG and the assertion never travel in clear text
        raise ExchangeError(step, 0, "insecure_endpoint", f"{endpoint} is not an https:// URL",
                            "Use the org's and the authorization server's https:// URLs (Okta's always are).")
    try:
        response = requests.post(endpoint, data=form, headers={"Accept": "application/json"},
                                 timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise ExchangeError(step, 0, "unreachable", f"could not reach {endpoint} ({type(exc).__name__})",
                            "Check the org URL and that the authorization server is running.") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        raise refused(step, response.status_code, body)
    if not isinstance(body, dict):
        raise ExchangeError(step, response.status_code, "unexpected_response", "the answer is not a JSON object",
                            "Check the token endpoint's URL.")
    return body
