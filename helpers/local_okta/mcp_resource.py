"""An authorization server whose audience is an MCP server's URL: the production setup for MCP clients.

A standard MCP client (FastMCP's ``OAuth``, the MCP SDK's, Claude Code, Cursor...) always sends
the RFC 8707 ``resource`` parameter set to the MCP server's URL, and the MCP specification asks
the server to accept only tokens issued for that URL. So in production the authorization server
that protects an MCP server has that URL as its **audience** (Okta: Security > API >
Authorization Servers > Add Authorization Server > Audience; with Okta for AI Agents, a
*resource indicator* on the resource connection). The local server then accepts ``resource``
exactly when it equals that audience, as it does for every server (``oauth.py``), and refuses
anything else with Okta's ``invalid_target``.

The MCP server's URL is known only once it listens (a free port), so the server is added at run
time: :func:`add_mcp_resource` adds (or replaces) a custom authorization server with the
calculator's scopes and an access policy for the pre-registered MCP client app (``mcp_client``
in :func:`~helpers.local_okta.defaults.default_tenant`).
"""

from __future__ import annotations

import copy

from .cimd import CIMD_LABEL
from .keys import KeySet
from .scenarios import apply_scenario
from .state import OktaState
from .tenant import AccessPolicy, AuthorizationServer, PolicyRule

__all__ = ["MCP_CLIENT_LABEL", "MCP_SERVER_ID", "add_mcp_resource"]

#: The id of the authorization server for the MCP server (Okta-shaped: ``aus`` + 17 characters).
MCP_SERVER_ID = "aus1calcmcpserver7q2"
#: The pre-registered public client MCP clients use (the default tenant's Native app).
MCP_CLIENT_LABEL = "mcp_client"


def add_mcp_resource(
    state: OktaState,
    mcp_url: str,
    *,
    server_id: str = MCP_SERVER_ID,
    client_labels: tuple[str, ...] = (MCP_CLIENT_LABEL, CIMD_LABEL),
    scopes_from: str = "default",
) -> AuthorizationServer:
    """Add the authorization server ``server_id`` with audience ``mcp_url``; return it.

    Its scopes are copied from ``scopes_from`` (the calculator's); its one access policy lets
    ``client_labels`` use the authorization code grant for any of its scopes (OpenID Connect's
    and ``offline_access`` included; ``CIMD_LABEL``: clients with a registered metadata document,
    when that switch is on, ``cimd.py``). Calling it again replaces the server (a re-run cell), and
    keeps its signing keys. Raises ``ValueError`` for an ``mcp_url`` that is not an absolute
    ``http(s)://`` URL without a fragment (RFC 8707, section 2).
    """
    if not isinstance(mcp_url, str) or not mcp_url.startswith(("https://", "http://")) or "#" in mcp_url:
        raise ValueError(f"The MCP server's URL must be an absolute http(s) URL without a fragment, not {mcp_url!r}.")
    template = state.configured.server(scopes_from)
    if template is None:
        raise ValueError(f"There is no authorization server {scopes_from!r} to copy the scopes from.")
    server = AuthorizationServer(
        id=server_id,
        name="Calculator MCP server",
        audience=mcp_url,
        description="Issues tokens for the calculator MCP server (audience: its URL)",
        scopes=copy.deepcopy(template.scopes),
        policies=[
            AccessPolicy(
                "MCP clients",
                assigned_to=tuple(client_labels),
                rules=[PolicyRule("Users through an MCP client", grant_types=("authorization_code",))],
            )
        ],
    )
    with state.lock:
        servers = [s for s in state.configured.authorization_servers if s.id != server_id]
        state.configured.authorization_servers = [*servers, server]
        state.keys.setdefault(server_id, KeySet())
    state.tenant = apply_scenario(state.configured, state.scenario)
    return server
