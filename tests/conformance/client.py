"""The MCP client the official conformance suite drives (``tests/test_conformance.py``).

Run as ``python client.py <server-url>`` by ``@modelcontextprotocol/conformance client --command``,
with ``MCP_CONFORMANCE_SCENARIO`` naming the scenario and ``MCP_CONFORMANCE_CONTEXT`` (JSON) holding
what a person would have configured (a pre-registered ``client_id``, a secret or a key). It is the
project's client side, unchanged: :func:`helpers.discovery.discover`, :class:`helpers.user_login.UserLogin`
(authorization code + PKCE, the RFC 9207 ``iss`` check, ``offline_access`` only where listed) and
:class:`helpers.tokens.TokenManager` (client credentials). The one allowance, plain ``http://localhost``,
is in :mod:`plain_http`.

What a person configures, the harness plays too: :func:`configured_issuer` reads which
authorization server the scenario's MCP server uses, the way an administrator registering the
client would, and the client then pins it. The client never registers itself (no dynamic client
registration: Okta offers none to MCP clients) and never follows a server to another issuer.

Exit status: 0 when it signed in and listed the tools; 1 when it refused (the message says why);
2 when the scenario needs a client this branch does not have.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from urllib.parse import urlsplit

import requests

from plain_http import allow_plain_http_to_localhost

allow_plain_http_to_localhost()

from fastmcp import Client  # noqa: E402
from fastmcp.exceptions import ToolError  # noqa: E402

from helpers.challenge import bearer_challenge  # noqa: E402
from helpers.discovery import DiscoveryError, discover  # noqa: E402
from helpers.settings import ClientCredentials  # noqa: E402
from helpers.tokens import TokenError, TokenManager  # noqa: E402
from helpers.user_login import LoginError, UserLogin  # noqa: E402

SCENARIO = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
CONTEXT = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
#: A pre-registered client id (the suite's mock servers accept any); the context's wins.
CLIENT_ID = CONTEXT.get("client_id", "conformance-pre-registered-client")
#: This client's metadata document (CIMD), as its publisher configures it: the client id where an
#: authorization server advertises CIMD (the suite's CIMD scenario names this URL), CLIENT_ID elsewhere.
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


def configured_issuer(server_url: str) -> str:
    """The authorization server the MCP server names: what the administrator configures the client with."""
    parts = urlsplit(server_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    probe = requests.post(server_url, json={"jsonrpc": "2.0", "id": 0, "method": "ping"}, timeout=10,
                          headers={"Accept": "application/json, text/event-stream"})
    challenge = bearer_challenge(probe.headers) if probe.status_code == 401 else None
    for url in (challenge.resource_metadata if challenge else None,
                f"{origin}/.well-known/oauth-protected-resource{parts.path}",
                f"{origin}/.well-known/oauth-protected-resource"):
        if url:
            answer = requests.get(url, timeout=10)
            if answer.status_code == 200:
                return answer.json()["authorization_servers"][0]
    raise SystemExit("no protected resource metadata found to configure the client with")


async def use_tools(server_url: str, auth) -> list[str]:
    """List the tools and call the first (a scenario may ask for more scopes on the call)."""
    async with Client(server_url, auth=auth) as mcp:
        tools = [tool.name for tool in await mcp.list_tools()]
        if tools:
            await mcp.call_tool(tools[0], {})
        return tools


def browser(pending) -> None:
    """The user's browser: the authorization URL (the suite's server signs in at once), then the redirect."""
    answer = requests.get(pending.url, allow_redirects=False, timeout=10)
    requests.get(answer.headers["Location"], allow_redirects=False, timeout=10)  # to the gateway's listener


def authorization_code(server_url: str) -> None:
    login = UserLogin(server_url, ClientCredentials(CLIENT_ID, CONTEXT.get("client_secret")),
                      issuer=configured_issuer(server_url), send_resource=True, client_metadata_url=CLIENT_METADATA_URL)
    pending = login.begin(timeout=20)
    browser(pending)
    pending.wait_blocking()
    print("tools:", asyncio.run(use_tools(server_url, login.auth(sign_in=browser))))


def client_credentials(server_url: str) -> None:
    found = discover(server_url, issuer=configured_issuer(server_url))
    if "private_key_pem" in CONTEXT:
        try:
            import helpers.tokens.private_key  # noqa: F401, PLC0415  (helper A's branch)
        except ImportError:
            print("private_key_jwt needs helpers/tokens/private_key.py (branch pkjwt)", file=sys.stderr)
            raise SystemExit(2) from None
        manager = private_key_manager(found, server_url)
    else:
        client = ClientCredentials(CONTEXT["client_id"], CONTEXT["client_secret"])
        manager = TokenManager.for_client_credentials(found.token_endpoint, client, (), mcp_servers=server_url, way="requests")
    print("tools:", asyncio.run(use_tools(server_url, manager)))


def private_key_manager(found, server_url: str):
    """TokenManager with private_key_jwt (helper A's client): the assertion's ``aud`` is the token
    endpoint, as Okta requires; the suite expects the issuer, so the scenario refuses it."""
    from private_key_client import manager_for  # noqa: PLC0415  (tests/conformance)

    return manager_for(found, server_url, CONTEXT)


def enterprise_managed(context: dict) -> None:
    """The ID-JAG client (helpers.agent_exchange) does Okta's AI agent token exchange: the agent
    authenticates with private_key_jwt at both steps, at Okta's org authorization server. The
    scenario gives a client secret (client_secret_basic) and its own IdP, so it cannot run as Okta would."""
    try:
        import helpers.agent_exchange  # noqa: F401, PLC0415
    except ImportError:
        print("the ID-JAG client is helper B's (helpers/agent_exchange, branch idjag)", file=sys.stderr)
        raise SystemExit(2) from None
    print("not run: helpers.agent_exchange authenticates the agent with private_key_jwt (Okta's rule for AI "
          f"agents); the scenario offers only {sorted(k for k in context if 'secret' in k or 'key' in k)}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    server_url = sys.argv[-1]
    try:
        if SCENARIO == "auth/enterprise-managed-authorization":
            enterprise_managed(CONTEXT)
        if SCENARIO.startswith("auth/client-credentials"):
            client_credentials(server_url)
        else:
            authorization_code(server_url)
    except (DiscoveryError, LoginError, TokenError, ToolError, RuntimeError) as exc:  # RuntimeError: fastmcp's "failed to connect"
        print(f"refused: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
