"""The tenant the tutorial sets up in Okta's Admin Console (notebook 02's checklist), as data.

    >>> tenant = default_tenant()
    >>> [app.label for app in tenant.apps]
    ['web', 'read_service', 'write_service', 'key_service', 'ai_agent']

Like a new Okta Integrator (developer) org, the ``default`` authorization server here has no
access policy of its own (Okta: "The default custom authorization server doesn't include a
basic access policy with the Okta Integrator Free Plan org"); the tutorial adds one per app.
Orgs of other plans come with a "Default Policy" for all clients: the
``default_policy_catches_all`` scenario shows what it does to a read-only app.
"""

from __future__ import annotations

from .id_jag import JWT_BEARER, TOKEN_EXCHANGE
from .tenant import AccessPolicy, App, AuthorizationServer, PolicyRule, ResourceConnection, Scope, Tenant, TestUser

__all__ = ["AI_AGENT_CLIENT_ID", "CALCULATOR_AUDIENCE", "DEFAULT_REDIRECT_URIS", "default_tenant"]

CALCULATOR_AUDIENCE = "https://calculator-mcp-server.example.com"
AI_AGENT_CLIENT_ID = "0oa1calcaiagentq3m8v"
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8765/callback", "http://localhost:8765/callback")
TEST_USERS = (
    TestUser("ada@example.com", "Analytical-Engine-1843", "00u1adalovelace00001", "Ada Lovelace"),
    TestUser("alan@example.com", "Bombe-Enigma-1940", "00u1alanturing000002", "Alan Turing"),
)


def default_tenant(redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS) -> Tenant:
    """The tenant the tutorial describes, ready to use.

    - authorization server ``default`` with audience ``https://calculator-mcp-server.example.com``
      and the custom scopes ``calculator.add`` and ``calculator.subtract`` (published);
    - a second authorization server ``other`` (its own keys and audience) for the
      "JWKS URI from another authorization server" and "code redeemed at another server" cases;
    - apps: ``web`` (CalculatorMCPClient, a Web app: client credentials, authorization code,
      refresh token; ``redirect_uris``; PKCE required; refresh tokens rotated with a 30 s grace
      period; both test users assigned), ``read_service`` and ``write_service`` (API Services),
      ``key_service`` (API Services with *Public key / Private key* client authentication: no
      secret, and no public key until one is registered, ``LocalOkta.register_public_key``);
    - one access policy per app, in priority order: the gateway may ask for any scope, the
      read-only service for ``calculator.add`` only, the write service for both;
    - last, ``ai_agent`` ("Calculator assistant"), an AI agent (Directory > AI Agents, Client
      registration "Public/private key": ``private_key_jwt``, its public key registered at run
      time) that Ada signs in to (its linked OIDC app: authorization code with PKCE) and that may
      exchange her ID token for an ID-JAG; its one resource connection, to the ``default``
      authorization server, allows ``calculator.add`` only (Okta decides with it at step 1).

    Client ids and user ids are fixed (stable notebook output); secrets are generated per start.
    """
    calculator_scopes = [
        Scope("calculator.add", "Add two numbers with the calculator MCP server"),
        Scope("calculator.subtract", "Subtract two numbers with the calculator MCP server"),
    ]
    default = AuthorizationServer(
        id="default",
        name="default",
        audience=CALCULATOR_AUDIENCE,
        description="Authorization server for the calculator MCP server",
        scopes=calculator_scopes,
        policies=[
            AccessPolicy(
                "Calculator gateway",
                assigned_to=("web",),
                rules=[PolicyRule("Users and the gateway", grant_types=("authorization_code", "client_credentials"))],
            ),
            AccessPolicy(
                "Read-only services",
                assigned_to=("read_service",),
                rules=[PolicyRule("Add only", ("client_credentials",), scopes=("calculator.add",))],
            ),
            AccessPolicy(
                "Write services",
                assigned_to=("write_service",),
                rules=[PolicyRule("Add and subtract", ("client_credentials",), scopes=("calculator.add", "calculator.subtract"))],
            ),
            AccessPolicy(
                "Key services",
                assigned_to=("key_service",),
                rules=[PolicyRule("Add and subtract", ("client_credentials",), scopes=("calculator.add", "calculator.subtract"))],
            ),
        ],
    )
    other = AuthorizationServer(
        id="other",
        name="other",
        audience="api://other",
        description="Another team's authorization server",
        scopes=[Scope("reports.read", "Read reports")],
        policies=[
            AccessPolicy(
                "Everyone",
                assigned_to=("web", "read_service", "write_service"),
                rules=[PolicyRule("Any", ("client_credentials", "authorization_code"))],
            )
        ],
    )
    apps = [
        App(
            label="web",
            name="CalculatorMCPClient",
            client_id="0oa1calcgatewayw3b7x",
            grant_types=("client_credentials", "authorization_code", "refresh_token"),
            redirect_uris=tuple(redirect_uris),
            require_pkce=True,
            rotate_refresh_token=True,
            assigned_users=tuple(user.login for user in TEST_USERS),
        ),
        App(label="read_service", name="Calculator read-only service", client_id="0oa1calcreadsvc4x9qd",
            grant_types=("client_credentials",)),
        App(label="write_service", name="Calculator write service", client_id="0oa1calcwritesvc7kpz",
            grant_types=("client_credentials",)),
        App(label="key_service", name="Calculator key service", client_id="0oa1calckeysvc5jwtq8",
            grant_types=("client_credentials",), token_endpoint_auth_method="private_key_jwt"),
        App(label="ai_agent", name="Calculator assistant", client_id=AI_AGENT_CLIENT_ID,
            grant_types=("authorization_code", TOKEN_EXCHANGE, JWT_BEARER), redirect_uris=tuple(redirect_uris),
            token_endpoint_auth_method="private_key_jwt", require_pkce=True,
            assigned_users=(TEST_USERS[0].login,)),
    ]
    connections = [ResourceConnection("ai_agent", "default", scopes=("calculator.add",))]
    return Tenant(authorization_servers=[default, other], apps=apps, users=list(TEST_USERS),
                  resource_connections=connections)
