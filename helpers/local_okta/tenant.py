"""The local Okta tenant as data: authorization servers, scopes, policies, apps, users.

Everything the local authorization server does is decided by a :class:`Tenant`, the way an
Okta org is decided by what an admin clicked in the console (navikt/mock-oauth2-server works
the same way: configure data, not code). Each field names the console setting it stands for
and Okta's default for it. :func:`~helpers.local_okta.defaults.default_tenant` builds the
tenant the tutorial sets up; :mod:`~helpers.local_okta.scenarios` holds the learners' mistakes.
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass, field

__all__ = [
    "ALL_CLIENTS",
    "OIDC_SCOPES",
    "SUPPORTED_GRANT_TYPES",
    "AccessPolicy",
    "App",
    "AuthorizationServer",
    "PolicyRule",
    "ResourceConnection",
    "Scope",
    "Tenant",
    "TestUser",
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

#: An access policy assigned to "All clients" (Assign to: All clients).
ALL_CLIENTS = "*"

_ID_ALPHABET = string.ascii_letters + string.digits


def new_okta_id(prefix: str) -> str:
    """An id shaped like Okta's: a three-character type prefix plus 17 random characters
    (``0oa`` an app, ``00u`` a user, ``aus`` an authorization server, ``00o`` an identity provider)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


@dataclass
class Scope:
    """A custom scope (Security > API > Authorization Servers > Scopes).

    ``metadata_publish``: "Include in public metadata" (only published scopes appear in
    ``scopes_supported``). ``default``: "Set as a default scope". ``consent_required``:
    "User consent: Required" (shown only to apps that require consent). ``block_services``:
    "Block services from requesting this scope", which the console ticks with consent (a
    client-credentials request for the scope is then refused); clear it to let services have it.
    """

    name: str
    description: str = ""
    metadata_publish: bool = True
    default: bool = False
    consent_required: bool = False
    block_services: bool = True


@dataclass
class PolicyRule:
    """A rule of an access policy: an allowlist of grant types and scopes, and token lifetimes.

    ``scopes=("*",)`` is "Any scopes"; otherwise a request matches only if it asks for nothing
    but these. Lifetimes are seconds (Okta allows 5 minutes to 24 hours for access tokens; the
    local server accepts shorter ones for demonstrations); ``refresh_token_lifetime=None`` is
    "Unlimited". ``refresh_token_window``: a refresh token not used for this long expires ("but will
    expire if not used every": seven days by default, Okta's refresh-tokens guide). The rule applies to
    any user assigned to the app ("Any user assigned the app").
    """

    name: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...] = ("*",)
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int | None = None
    refresh_token_window: int = 7 * 24 * 3600

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    def matches(self, grant_type: str, scopes: list[str]) -> bool:
        """Whether a request with this grant type and these scopes matches (rules are allowlists)."""
        return grant_type in self.grant_types and all(self.allows(scope) for scope in scopes)


@dataclass
class AccessPolicy:
    """An access policy: assigned to some apps (by label, or :data:`ALL_CLIENTS`), with rules in
    priority order. Policies themselves are in priority order in :attr:`AuthorizationServer.policies`."""

    name: str
    assigned_to: tuple[str, ...]
    rules: list[PolicyRule] = field(default_factory=list)
    active: bool = True

    def applies_to(self, app_label: str) -> bool:
        return self.active and (ALL_CLIENTS in self.assigned_to or app_label in self.assigned_to)


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
    """An app integration (Applications and Resources > Applications).

    ``client_secret=None`` on a confidential app means "generate one per start".
    ``token_endpoint_auth_method``: ``client_secret_basic`` (``client_secret_post`` is accepted
    too, as Okta does), ``private_key_jwt`` ("Public key / Private key": no secret, the client signs
    a client assertion with a key whose public half is in ``jwks``, the console's *Public keys*),
    or ``none`` for a public client that must use PKCE.
    ``require_pkce``: "Require PKCE as additional verification". ``rotate_refresh_token``:
    "Refresh token behavior: Rotate token after every use", with ``refresh_grace_period`` seconds
    (default 30, 0 to 60); ``None`` is Okta's default: rotate for a public client (SPA), a
    persistent token for a web app.
    ``consent_required``: "User consent: Require consent" (off: a trusted app). ``dpop_required``:
    "Require Demonstrating Proof of Possession (DPoP) header in token requests".
    ``assigned_users``: the logins assigned to the app (Assignments); ``None`` for a service app.
    """

    label: str
    name: str
    client_id: str
    grant_types: tuple[str, ...]
    client_secret: str | None = field(default=None, repr=False)  # never in a log or a traceback
    redirect_uris: tuple[str, ...] = ()
    token_endpoint_auth_method: str = "client_secret_basic"
    require_pkce: bool = False
    rotate_refresh_token: bool | None = None
    refresh_grace_period: int = 30
    consent_required: bool = False
    dpop_required: bool = False
    assigned_users: tuple[str, ...] | None = None
    jwks: list[dict] = field(default_factory=list)  # public JWKs, for private_key_jwt

    @property
    def uses_private_key(self) -> bool:
        return self.token_endpoint_auth_method == "private_key_jwt"

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def rotates_refresh_tokens(self) -> bool:
        return self.is_public if self.rotate_refresh_token is None else self.rotate_refresh_token

    def is_assigned(self, login: str) -> bool:
        return self.assigned_users is not None and login.lower() in (u.lower() for u in self.assigned_users)


@dataclass
class ResourceConnection:
    """An AI agent's connection to a resource (Directory > AI Agents > the agent > Resource
    connections > Add resource connection; resource type **Authorization server**).

    This is what Okta decides with when the agent asks the org authorization server for an
    ID-JAG (the token-exchange guide: "The server validates the request based on the
    **Resource Connections** configuration"): ``agent`` is the AI agent's app label,
    ``authorization_server`` the id of the custom authorization server that protects the
    resource, ``scopes`` the scopes the agent is allowed to request from it, and
    ``resource_indicators`` the protected resources' URLs ("Resource indicator"; empty: none
    configured). ``active``: the connection is enabled.
    """

    agent: str
    authorization_server: str
    scopes: tuple[str, ...]
    resource_indicators: tuple[str, ...] = ()
    active: bool = True


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
    ignored, like the ``audience`` form field. ``lockout_attempts``: the password policy's
    "Lock out user after N unsuccessful attempts" (Okta's default policy: 10).
    ``resource_connections``: the AI agents' connections to resources (:class:`ResourceConnection`);
    ``cross_app_access``: the org has the AI agent token exchange (Cross App Access, XAA: Okta for
    AI Agents, or an SSO org such as the Integrator Free Plan); False answers the catalogue's
    ``feature_not_enabled`` to both of its steps.
    """

    authorization_servers: list[AuthorizationServer]
    apps: list[App]
    users: list[TestUser]
    org_scopes: tuple[str, ...] = ("okta.users.read", "okta.apps.read")
    resource_parameter: bool = True
    idp_id: str = "00o1calculatoridp000"
    lockout_attempts: int = 10
    resource_connections: list[ResourceConnection] = field(default_factory=list)
    cross_app_access: bool = True

    def app(self, *, label: str | None = None, client_id: str | None = None) -> App | None:
        for app in self.apps:
            if (label is not None and app.label == label) or (client_id is not None and app.client_id == client_id):
                return app
        return None

    def server(self, server_id: str) -> AuthorizationServer | None:
        return next((s for s in self.authorization_servers if s.id == server_id), None)

    def user(self, login: str) -> TestUser | None:
        return next((u for u in self.users if u.login.lower() == login.strip().lower()), None)

    def with_generated_secrets(self) -> Tenant:
        """A copy where every app that authenticates with a secret but has none gets a fresh random one."""
        tenant = copy.deepcopy(self)
        for app in tenant.apps:
            if not app.is_public and not app.uses_private_key and app.client_secret is None:
                app.client_secret = secrets.token_urlsafe(30)
        return tenant
