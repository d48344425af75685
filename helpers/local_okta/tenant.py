"""The local Okta tenant as data: authorization servers, scopes, apps, policies, users.

Everything the local authorization server does is decided by a :class:`Tenant`, the way an
Okta org is decided by what an admin clicked in the console (navikt/mock-oauth2-server
works the same way: configure data, not code). :func:`default_tenant` builds the tenant
the tutorial describes; the misconfiguration scenarios in :data:`SCENARIOS` are *data
transforms* of a tenant (and, for mistakes made in ``.env``, of the settings a learner
would have copied), so every scenario can be read as "this is what was set up wrong".

    >>> tenant = default_tenant()
    >>> [app.label for app in tenant.apps]
    ['web', 'read_service', 'write_service']
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "OIDC_SCOPES",
    "AccessPolicy",
    "App",
    "AuthorizationServer",
    "PolicyRule",
    "Scenario",
    "SCENARIOS",
    "Scope",
    "Tenant",
    "TestUser",
    "apply_scenario",
    "default_tenant",
    "new_okta_id",
]

#: Scopes every Okta authorization server knows without configuration (OpenID Connect).
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")

#: Grant types an Okta custom authorization server supports (published in its metadata).
SUPPORTED_GRANT_TYPES = (
    "authorization_code",
    "implicit",
    "refresh_token",
    "password",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
)

_ID_ALPHABET = string.ascii_letters + string.digits


def new_okta_id(prefix: str) -> str:
    """An id shaped like Okta's: a three-character type prefix plus 17 random characters.

    ``0oa`` is an app (client id), ``00u`` a user, ``aus`` an authorization server, ``00o``
    an identity provider.
    """
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


@dataclass
class Scope:
    """A custom scope defined on an authorization server (Security > API > Scopes).

    ``metadata_publish`` is Okta's "Include in public metadata" checkbox: only published
    scopes appear in ``scopes_supported``. ``default`` is "Set as a default scope": default
    scopes are granted when a client-credentials request names no scope.
    """

    name: str
    description: str = ""
    metadata_publish: bool = True
    default: bool = False


@dataclass
class PolicyRule:
    """A rule inside an access policy: which grants may get which scopes, for how long.

    ``scopes=("*",)`` means Okta's "Any scopes". Lifetimes are in seconds; Okta allows an
    access token lifetime of 5 minutes to 24 hours (the local server also accepts shorter
    values, for demonstrating expiry). ``refresh_token_lifetime=None`` means "unlimited".
    """

    name: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...] = ("*",)
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int | None = 90 * 24 * 3600
    rotate_refresh_token: bool = True

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


@dataclass
class AccessPolicy:
    """An access policy: assigned to some apps (by label), holding rules in priority order."""

    name: str
    assigned_to: tuple[str, ...]
    rules: list[PolicyRule] = field(default_factory=list)


@dataclass
class AuthorizationServer:
    """A custom authorization server (Security > API > Authorization Servers)."""

    id: str
    name: str
    audience: str
    scopes: list[Scope] = field(default_factory=list)
    policies: list[AccessPolicy] = field(default_factory=list)
    description: str = ""

    def scope(self, name: str) -> Scope | None:
        return next((s for s in self.scopes if s.name == name), None)


@dataclass
class App:
    """An app integration (Applications > Applications).

    ``client_secret=None`` on a confidential app means "generate one per start".
    ``token_endpoint_auth_method`` is ``client_secret_basic`` (also accepts
    ``client_secret_post``, as Okta does for secret-based apps) or ``none`` for a public
    client that must use PKCE.
    """

    label: str
    name: str
    client_id: str
    grant_types: tuple[str, ...]
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = ()
    token_endpoint_auth_method: str = "client_secret_basic"
    require_pkce: bool = False

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


@dataclass
class TestUser:
    """A person who can sign in on the local sign-in page."""

    __test__ = False  # not a pytest test class, despite the name

    login: str
    password: str
    uid: str
    name: str

    @property
    def email(self) -> str:
        return self.login


@dataclass
class Tenant:
    """Everything the local Okta org holds.

    ``org_scopes`` are the scopes the org authorization server grants (Okta API scopes).
    ``resource_parameter`` switches RFC 8707 handling: when True a ``resource`` parameter is
    accepted only when it equals the audience (else ``invalid_target``); when False it is
    ignored, like the ``audience`` form field.
    """

    authorization_servers: list[AuthorizationServer]
    apps: list[App]
    users: list[TestUser]
    org_scopes: tuple[str, ...] = ("okta.users.read", "okta.apps.read")
    resource_parameter: bool = True
    idp_id: str = "00o1calculatoridp000"

    def app(self, *, label: str | None = None, client_id: str | None = None) -> App | None:
        for app in self.apps:
            if (label is not None and app.label == label) or (
                client_id is not None and app.client_id == client_id
            ):
                return app
        return None

    def server(self, server_id: str) -> AuthorizationServer | None:
        return next((s for s in self.authorization_servers if s.id == server_id), None)

    def user(self, login: str) -> TestUser | None:
        return next((u for u in self.users if u.login.lower() == login.strip().lower()), None)

    def with_generated_secrets(self) -> Tenant:
        """A copy where every confidential app without a secret gets a fresh random one."""
        tenant = copy.deepcopy(self)
        for app in tenant.apps:
            if not app.is_public and app.client_secret is None:
                app.client_secret = secrets.token_urlsafe(30)
        return tenant


CALCULATOR_AUDIENCE = "https://calculator-mcp-server.example.com"
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8765/callback", "http://localhost:8765/callback")


def default_tenant(redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS) -> Tenant:
    """The tenant the tutorial sets up in Okta's console, ready to use.

    - authorization server ``default`` with audience ``https://calculator-mcp-server.example.com``
      and the custom scopes ``calculator.add`` and ``calculator.subtract`` (both published, no
      default scope);
    - a second authorization server ``other`` (its own keys and audience) for the
      "JWKS URI from another authorization server" scenario;
    - apps: ``web`` (CalculatorMCPClient: client_credentials, authorization_code,
      refresh_token; redirect URIs ``redirect_uris``), ``read_service`` (allowed
      ``calculator.add`` only) and ``write_service`` (allowed both scopes);
    - access policies assigning each app its rule; two test users.

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
                rules=[
                    PolicyRule(
                        "Users and the gateway",
                        grant_types=("authorization_code", "client_credentials"),
                    )
                ],
            ),
            AccessPolicy(
                "Read-only services",
                assigned_to=("read_service",),
                rules=[
                    PolicyRule("Add only", ("client_credentials",), scopes=("calculator.add",))
                ],
            ),
            AccessPolicy(
                "Write services",
                assigned_to=("write_service",),
                rules=[
                    PolicyRule(
                        "Add and subtract",
                        ("client_credentials",),
                        scopes=("calculator.add", "calculator.subtract"),
                    )
                ],
            ),
        ],
    )
    other = AuthorizationServer(
        id="other",
        name="other",
        audience="api://other",
        description="Another team's authorization server (for the wrong-JWKS scenario)",
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
        ),
        App(
            label="read_service",
            name="Calculator read-only service",
            client_id="0oa1calcreadsvc4x9qd",
            grant_types=("client_credentials",),
        ),
        App(
            label="write_service",
            name="Calculator write service",
            client_id="0oa1calcwritesvc7kpz",
            grant_types=("client_credentials",),
        ),
    ]
    users = [
        TestUser("ada@example.com", "Analytical-Engine-1843", "00u1adalovelace00001", "Ada Lovelace"),
        TestUser("alan@example.com", "Bombe-Enigma-1940", "00u1alanturing000002", "Alan Turing"),
    ]
    return Tenant(authorization_servers=[default, other], apps=apps, users=users)


# ---------------------------------------------------------------------------------------
# Misconfiguration scenarios
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A mistake a learner makes when setting up Okta, reproduced on the local server.

    ``tenant`` transforms what the server holds (what was clicked in the console);
    ``settings`` names what the learner's ``.env`` would hold instead of the right value
    (``"issuer"``, ``"audience"``, ``"jwks_uri"`` or ``None``). ``symptom`` is what the
    learner sees; ``fix`` is what to change in Okta or in ``.env``.
    """

    name: str
    mistake: str
    symptom: str
    fix: str
    tenant: Callable[[Tenant], None] | None = None
    settings: str | None = None


def _server(tenant: Tenant) -> AuthorizationServer:
    server = tenant.server("default")
    assert server is not None
    return server


def _no_custom_scope(tenant: Tenant) -> None:
    _server(tenant).scopes = []


def _undefined_scope(tenant: Tenant) -> None:
    server = _server(tenant)
    server.scopes = [s for s in server.scopes if s.name != "calculator.subtract"]


def _policy_not_assigned(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        policy.assigned_to = ()


def _rule_without_client_credentials(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        for rule in policy.rules:
            rule.grant_types = tuple(g for g in rule.grant_types if g != "client_credentials") or (
                "authorization_code",
            )


def _app_without_client_credentials(tenant: Tenant) -> None:
    for app in tenant.apps:
        if app.label != "web":  # the learner created the services as web apps
            app.grant_types = ("authorization_code",)
            app.redirect_uris = ("http://localhost:8080/authorization-code/callback",)


def _wrong_client_secret(tenant: Tenant) -> None:
    for app in tenant.apps:
        if not app.is_public:
            app.client_secret = secrets.token_urlsafe(30)


def _redirect_uri_not_registered(tenant: Tenant) -> None:
    for app in tenant.apps:
        if app.label == "web":
            app.redirect_uris = ("http://localhost:8080/authorization-code/callback",)


_SCENARIO_LIST = [
    Scenario(
        "no_custom_scope",
        "No custom scope was added to the authorization server.",
        "Token requests with scope=calculator.add answer 400 invalid_scope \"One or more scopes "
        "are not configured for the authorization server resource.\"; scopes_supported lists "
        "only the OpenID Connect scopes.",
        "Security > API > Authorization Servers > default > Scopes > Add Scope: calculator.add "
        "and calculator.subtract.",
        tenant=_no_custom_scope,
    ),
    Scenario(
        "undefined_scope",
        "The client requests a scope the authorization server does not define "
        "(calculator.subtract was never added).",
        "scope=calculator.add works; scope=\"calculator.add calculator.subtract\" answers 400 "
        "invalid_scope \"One or more scopes are not configured for the authorization server "
        "resource.\"",
        "Add the missing scope on the authorization server, or correct its spelling in the client.",
        tenant=_undefined_scope,
    ),
    Scenario(
        "policy_not_assigned",
        "The access policy is not assigned to the app.",
        "401 access_denied \"Policy evaluation failed for this request, please check the "
        "policy configurations.\"",
        "Access Policies > the policy > Assigned to clients: add the app.",
        tenant=_policy_not_assigned,
    ),
    Scenario(
        "rule_without_client_credentials",
        "The policy rule does not allow the Client Credentials grant.",
        "401 access_denied \"Policy evaluation failed for this request, please check the "
        "policy configurations.\" for client-credentials requests.",
        "Edit the rule: IF Grant type is > check Client Credentials.",
        tenant=_rule_without_client_credentials,
    ),
    Scenario(
        "app_without_client_credentials",
        "The service apps were created without the Client Credentials grant (as web apps).",
        "400 unauthorized_client \"The client is not authorized to use the provided grant "
        "type. Configured grant types: [authorization_code].\"",
        "Create an API Services app, or enable Client Credentials under the app's General "
        "Settings > Grant type.",
        tenant=_app_without_client_credentials,
    ),
    Scenario(
        "wrong_client_secret",
        "The client secret in .env is stale (the secret was regenerated in Okta).",
        "401 invalid_client \"Client authentication failed. Either the client or the client "
        "credentials are invalid.\"",
        "Copy the current secret from the app's General tab into .env.",
        tenant=_wrong_client_secret,
    ),
    Scenario(
        "org_authorization_server",
        "OAUTH_ISSUER names the org authorization server (https://{domain}) instead of a custom "
        "one (https://{domain}/oauth2/default).",
        "Requests for calculator scopes answer 400 invalid_scope \"One or more scopes are not "
        "configured for the authorization server resource.\"; tokens the org server does issue "
        "(user sign-in, Okta API scopes) have iss and aud = https://{domain}, which the resource "
        "server rejects. The setup checks see an issuer without /oauth2/.",
        "Set OAUTH_ISSUER to the custom authorization server's Issuer URI (ends in /oauth2/default).",
        settings="issuer",
    ),
    Scenario(
        "audience_mismatch",
        "OAUTH_AUDIENCE in .env (api://default) differs from the authorization server's audience.",
        "Tokens are issued fine, but the resource server rejects every token: its aud claim "
        "(https://calculator-mcp-server.example.com) is not the audience it expects.",
        "Copy the audience from Security > API > Authorization Servers > default into .env.",
        settings="audience",
    ),
    Scenario(
        "jwks_from_other_server",
        "OAUTH_JWKS_URI in .env points to another authorization server's keys.",
        "Tokens are issued fine, but signature verification fails: the token's kid is not in "
        "that key set.",
        "Remove OAUTH_JWKS_URI (it is read from the issuer's metadata) or use {issuer}/v1/keys.",
        settings="jwks_uri",
    ),
    Scenario(
        "redirect_uri_not_registered",
        "The gateway's redirect URI is not a Sign-in redirect URI of the web app.",
        "The authorize URL shows an error page (HTTP 400) \"The 'redirect_uri' parameter must "
        "be a Login redirect URI in the client app settings\" and never redirects back.",
        "Add the redirect URI under the web app's General Settings > Sign-in redirect URIs.",
        tenant=_redirect_uri_not_registered,
    ),
]

#: Every misconfiguration scenario by name. ``LocalOkta.set_scenario(name)`` switches one on.
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _SCENARIO_LIST}


def apply_scenario(tenant: Tenant, name: str | None) -> Tenant:
    """A copy of ``tenant`` as it would be with the named misconfiguration (``None``: as is)."""
    result = copy.deepcopy(tenant)
    if name is None:
        return result
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"Unknown scenario {name!r}. Choose one of: {', '.join(SCENARIOS)} (or None)."
        ) from None
    if scenario.tenant is not None:
        scenario.tenant(result)
    return result

