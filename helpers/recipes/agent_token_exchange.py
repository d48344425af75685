"""An AI agent gets an access token for an MCP server *as the user who signed in to it*: one file to copy.

What it is for: Okta's AI agent token exchange (Cross App Access, ID-JAG). Your agent is registered
in Okta (Directory > AI Agents) with a key pair; the user signed in to the agent, so it holds their
ID token. The agent must not send that ID token (or any token of the user's) to the MCP server: it
was not issued for it (token passthrough). Instead, two requests, each authenticated with a client
assertion signed by the agent's private key:

1. at the **org** authorization server, ``{org}/oauth2/v1/token``: an RFC 8693 token exchange of
   the ID token for an ID-JAG, a 5-minute, single-use grant for one custom authorization server
   (``audience``) with the scopes the agent's resource connection allows;
2. at that custom authorization server, ``{issuer}/v1/token``: an RFC 7523 JWT bearer grant of the
   ID-JAG (no ``scope``: the ID-JAG carries it) for an access token whose ``sub`` is the user and
   ``cid`` the agent.

How to use it (install ``PyJWT[crypto]`` and ``requests``)::

    from agent_token_exchange import AgentKey, access_token_for_user

    with open("/path/to/agent_private_key.pem") as file:      # only you can read it (chmod 600)
        key = AgentKey(client_id="0oa...", private_key_pem=file.read(), kid="the kid you registered")
    token = access_token_for_user(
        org_url="https://YOUR_ORG.okta.com", key=key, id_token=the_users_id_token,
        issuer="https://YOUR_ORG.okta.com/oauth2/default", scope="calculator.add",
    )
    # call the MCP server with it: fastmcp.Client(mcp_url, auth=token)

Every refusal raises :class:`AgentExchangeError` with Okta's ``error`` and ``error_description``;
no token, assertion or key is ever in its message. Source: Okta's *Set up AI agent token exchange*
guide (resource type *Authorization server*) and the IETF draft *Identity Assertion JWT
Authorization Grant*.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
import requests

__all__ = ["AgentExchangeError", "AgentKey", "access_token_for_user", "exchange_for_access_token", "exchange_id_jag",
           "request_id_jag"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


class AgentExchangeError(Exception):
    """Okta refused a step: ``status``, Okta's ``error`` and ``description`` (never a token)."""

    def __init__(self, step: str, status: int, error: str, description: str) -> None:
        self.step, self.status, self.error, self.description = step, status, error, description
        super().__init__(f"{step} refused: HTTP {status} {error}: {description}")


@dataclass(frozen=True)
class AgentKey:
    """The agent's client id and private key (PEM), and the ``kid`` of its public key in Okta."""

    client_id: str
    private_key_pem: str = field(repr=False)
    kid: str

    def assertion_for(self, token_endpoint: str) -> dict[str, str]:
        """The two form fields that authenticate the agent at ``token_endpoint``, and nowhere else."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": token_endpoint,
                  "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}  # single use, one minute
        signed = jwt.encode(claims, self.private_key_pem, algorithm="RS256", headers={"kid": self.kid})
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed}


def request_id_jag(org_url: str, key: AgentKey, id_token: str, issuer: str, scope: str) -> str:
    """Step 1: the user's ID token for an ID-JAG for ``issuer`` (a custom authorization server)."""
    endpoint = org_url.rstrip("/") + "/oauth2/v1/token"
    answer = _post("Step 1 (ID token for an ID-JAG)", endpoint, {
        "grant_type": TOKEN_EXCHANGE, "requested_token_type": ID_JAG,
        "subject_token": id_token, "subject_token_type": ID_TOKEN,
        "audience": issuer, "scope": scope, **key.assertion_for(endpoint),
    })
    if answer.get("issued_token_type") != ID_JAG:
        raise AgentExchangeError("Step 1 (ID token for an ID-JAG)", 200, "unexpected_response", "no ID-JAG in the answer")
    return answer["access_token"]  # token exchange names its result access_token; it is the ID-JAG


def exchange_id_jag(issuer: str, key: AgentKey, id_jag: str) -> str:
    """Step 2: the ID-JAG for an access token, at the one authorization server it is for."""
    endpoint = issuer.rstrip("/") + "/v1/token"
    answer = exchange_for_access_token(endpoint, id_jag, key.assertion_for(endpoint))
    if answer.get("token_type") != "Bearer":
        raise AgentExchangeError("Step 2 (ID-JAG for an access token)", 200, "unexpected_response", "no bearer token")
    return answer["access_token"]


def exchange_for_access_token(token_endpoint: str, id_jag: str, client_assertion: dict) -> dict:
    """Step 2: present the ID-JAG; Okta's token response, or an exception naming Okta's error."""
    return _post("Step 2 (ID-JAG for an access token)", token_endpoint,
                 {"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion})


def access_token_for_user(org_url: str, key: AgentKey, id_token: str, issuer: str, scope: str) -> str:
    """Both steps: an access token for ``issuer``'s resources, the user as ``sub``, the agent as ``cid``.
    Call it for every new access token: an ID-JAG is single-use and lives 5 minutes."""
    return exchange_id_jag(issuer, key, request_id_jag(org_url, key, id_token, issuer, scope))


def _post(step: str, endpoint: str, form: dict[str, str]) -> dict:
    if not endpoint.startswith("https://"):  # the user's ID token, the ID-JAG and assertions: never in clear text
        raise AgentExchangeError(step, 0, "insecure_endpoint", f"{endpoint} is not an https:// URL")
    try:
        response = requests.post(endpoint, data=form, headers={"Accept": "application/json"}, timeout=10,
                                 allow_redirects=False)
        body = response.json()
    except requests.RequestException as exc:
        raise AgentExchangeError(step, 0, "unreachable", f"{endpoint}: {type(exc).__name__}") from None
    except ValueError:
        raise AgentExchangeError(step, response.status_code, "unexpected_response", "not JSON") from None
    if response.status_code != 200 or not isinstance(body, dict):
        body = body if isinstance(body, dict) else {}
        raise AgentExchangeError(step, response.status_code, str(body.get("error", "unexpected_response"))[:80],
                                 str(body.get("error_description", ""))[:300])
    return body
