"""What the running local Okta holds at any moment: tenant, keys, codes, refresh tokens, sign-ins.

:class:`OktaState` is shared by the HTTP app, the oauthlib request validator and the Python API
(``LocalOkta``). The tenant is replaced as a whole when a scenario is switched (readers take one
reference per request, so they never see half a change); codes, refresh tokens and revocations
live in a :class:`Store` behind a lock.

Refresh tokens follow Okta's refresh-tokens guide: every token belongs to a *family* (one
sign-in). With rotation, a used token is replaced by a new one and stays valid for the app's
grace period (default 30 s); reusing it after that "immediately invalidates the most recently
issued refresh token and all access tokens issued since the user authenticated". Revoking a
refresh token also revokes the access tokens issued with it.

The org authorization server has the id :data:`ORG_SERVER` (an empty string, which can never be
a path segment, so ``/oauth2/{id}/...`` can never reach it).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .cimd import cimd_app
from .device import DEVICE_GRANT, DeviceFlow
from .keys import KeySet
from .rate_limits import RateLimiter
from .scenarios import apply_scenario
from .tenant import AccessPolicy, AuthorizationServer, PolicyRule, Scope, Tenant

__all__ = ["ORG_SERVER", "CodeRecord", "IssSwitch", "OktaState", "RefreshRecord", "Store"]

ORG_SERVER = ""

#: Authorization codes live this long (seconds), like Okta's.
CODE_LIFETIME = 300


@dataclass
class CodeRecord:
    """An issued authorization code and everything the token exchange must check against."""

    server_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    login: str
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    expires_at: float
    family: str = ""
    #: the policy rule matched at sign-in: Okta does not evaluate the policy again at the exchange
    rule: PolicyRule | None = None


@dataclass
class RefreshRecord:
    """An opaque refresh token's grant: who, which client, which scopes, until when, which family.

    ``replaced_by``/``rotated_at`` are set when rotation replaced it (it stays usable for the
    grace period); ``expires_at`` is inherited from the family's first token.
    """

    server_id: str
    client_id: str
    scopes: list[str]
    login: str
    auth_time: int
    issued_at: int
    expires_at: float | None
    family: str = ""
    replaced_by: str | None = None
    rotated_at: float | None = None
    #: seconds without use after which it expires (the rule's window), and when it was last used
    idle_window: float | None = None
    last_used_at: float | None = None
    #: the grant that signed the user in: a refresh is checked against the policy for it
    grant_type: str = "authorization_code"


@dataclass
class Store:
    """Codes, refresh tokens, and revoked access-token ids, behind one lock."""

    codes: dict[str, CodeRecord] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshRecord] = field(default_factory=dict)
    revoked_jtis: set[str] = field(default_factory=set)
    family_jtis: dict[str, set[str]] = field(default_factory=dict)  # access tokens issued per family
    assertion_jtis: dict[tuple[str, str], float] = field(default_factory=dict)  # (client id, jti): its exp
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def take_code(self, code: str) -> CodeRecord | None:
        """Remove and return a code: a code is spent by its first use, valid or not."""
        with self.lock:
            return self.codes.pop(code, None)

    def remember_access_token(self, family: str, jti: str) -> None:
        with self.lock:
            self.family_jtis.setdefault(family, set()).add(jti)

    def spend_assertion_jti(self, client_id: str, jti: str, expires_at: float) -> bool:
        """Record a client assertion's ``jti`` until its ``exp``; ``False`` if it was already used.

        Okta: "If you specify this parameter, the token can only be used once" (build-self-signed-jwt
        guide). An expired assertion is refused on its ``exp`` anyway, so its ``jti`` is forgotten then.
        """
        with self.lock:
            current = time.time()
            for key in [k for k, exp in self.assertion_jtis.items() if exp <= current]:
                del self.assertion_jtis[key]
            if (client_id, jti) in self.assertion_jtis:
                return False
            self.assertion_jtis[(client_id, jti)] = expires_at
            return True

    def newest_in_family(self, token: str) -> str:
        """Follow rotation from ``token`` to the family's newest refresh token."""
        with self.lock:
            while (record := self.refresh_tokens.get(token)) is not None and record.replaced_by:
                token = record.replaced_by
            return token

    def revoke_family(self, family: str) -> None:
        """Every refresh token of the family, and every access token issued since the sign-in."""
        with self.lock:
            for token in [t for t, r in self.refresh_tokens.items() if r.family == family]:
                del self.refresh_tokens[token]
            self.revoked_jtis |= self.family_jtis.pop(family, set())

    def revoke_refresh_token(self, token: str) -> None:
        """A refresh token and the access tokens issued with it (its whole family)."""
        with self.lock:
            record = self.refresh_tokens.get(token)
            if record is not None:
                self.revoke_family(record.family)

    def clear(self) -> None:
        with self.lock:
            self.codes.clear()
            self.refresh_tokens.clear()
            self.revoked_jtis.clear()
            self.family_jtis.clear()
            # assertion_jtis stay: a spent client assertion is refused until its exp, as at Okta


class IssSwitch:
    """:class:`~helpers.local_okta.LocalOkta`'s RFC 9207 switch (a mixin over its ``_state``)."""

    _state: OktaState

    def set_authorization_response_iss(self, enabled: bool) -> None:
        """RFC 9207: add ``iss`` to every authorization response and advertise
        ``authorization_response_iss_parameter_supported`` (True), or neither (False, the default:
        no Okta document says Okta does; ``iss_parameter.py``)."""
        self._state.authorization_response_iss = bool(enabled)


class OktaState:
    """The mutable state of one local Okta org."""

    def __init__(self, tenant: Tenant) -> None:
        #: the tenant as configured (secrets filled in); what ``.env`` would hold is read from it
        self.configured: Tenant = tenant.with_generated_secrets()
        #: the tenant the server enforces (``configured`` with the scenario applied)
        self.tenant: Tenant = apply_scenario(self.configured, None)
        self.scenario: str | None = None
        self.base_url: str = "https://127.0.0.1"
        self.keys: dict[str, KeySet] = {ORG_SERVER: KeySet(publish_access_token_key=False)}  # Okta hides it
        for server in self.configured.authorization_servers:
            self.keys[server.id] = KeySet()
        self.store = Store()
        self.request_counts: Counter[str] = Counter()
        #: the rate-limit scenario (``rate_limits.py``): off unless set_rate_limit switches it on
        self.rate_limiter: RateLimiter | None = None
        self.access_token_lifetime: int | None = None
        self.refresh_grace_period: int | None = None  # local-only override of every app's
        self.authorization_response_iss = False  # RFC 9207 iss on redirects (iss_parameter.py); off like Okta's docs
        self.transactions: dict[str, dict] = {}  # sign-in page state, by random id
        self.device_flow = DeviceFlow()  # device codes (device.py)
        self.failed_sign_ins: Counter[str] = Counter()  # by login, for the lockout
        self.consents: set[tuple[str, str, str, str]] = set()  # (server id, client id, login, scope) granted
        self.lock = threading.Lock()
        #: client ID metadata documents (``cimd.py``): the registered CIMD URLs (empty: off), fetched documents
        self.cimd_urls: frozenset[str] = frozenset()
        self.cimd_cache: dict[str, tuple[float, object]] = {}

    def password_accepted(self, user, password: str) -> bool:
        """The password check with Okta's lockout, for the sign-in page and the password grant alike:
        after ``lockout_attempts`` failures in a row the user is locked out (the right password no
        longer helps); a success resets the count."""
        with self.lock:
            if self.failed_sign_ins[user.login] >= self.tenant.lockout_attempts:
                return False
            if hmac.compare_digest(password.encode(), user.password.encode()):
                self.failed_sign_ins.pop(user.login, None)
                return True
            self.failed_sign_ins[user.login] += 1
            return False

    # -- scenario ------------------------------------------------------------------------

    def set_scenario(self, name: str | None) -> None:
        self.tenant = apply_scenario(self.configured, name)  # raises on an unknown name
        self.scenario = name

    # -- authorization servers -----------------------------------------------------------

    # ``server_id=None`` names :attr:`server_id`, the tenant's first custom authorization server: the one
    # the tutorial uses (``default`` in the default tenant, an ``aus...`` id in ``rehearsal_tenant``).

    @property
    def server_id(self) -> str:
        return self.configured.authorization_servers[0].id

    def issuer(self, server_id: str | None) -> str:
        if server_id == ORG_SERVER:
            return self.base_url
        return f"{self.base_url}/oauth2/{self.server_id if server_id is None else server_id}"

    def endpoint(self, server_id: str | None, name: str) -> str:
        """``{issuer}/v1/{name}`` for a custom server, ``{base}/oauth2/v1/{name}`` for the org's."""
        if server_id == ORG_SERVER:
            return f"{self.base_url}/oauth2/v1/{name}"
        return f"{self.issuer(server_id)}/v1/{name}"

    def server(self, server_id: str | None) -> AuthorizationServer | None:
        """The authorization server as the tenant holds it now (the org server is synthesised)."""
        tenant = self.tenant
        if server_id == ORG_SERVER:
            return _org_server(tenant, self.base_url)
        return tenant.server(self.server_id if server_id is None else server_id)

    def key_set(self, server_id: str | None) -> KeySet:
        """The signing keys of an authorization server."""
        return self.keys[self.server_id if server_id is None else server_id]

    def app(self, client_id: str | None):
        """The app with this client id: the tenant's, or a registered CIMD URL's (``cimd.py``)."""
        return (self.tenant.app(client_id=client_id) or cimd_app(self, client_id)) if client_id else None

    def grace_period(self, app) -> int:
        return self.refresh_grace_period if self.refresh_grace_period is not None else app.refresh_grace_period


def _org_server(tenant: Tenant, base_url: str) -> AuthorizationServer:
    """The org authorization server: issues tokens for Okta's own APIs, ``aud`` = the org URL."""
    return AuthorizationServer(
        id=ORG_SERVER,
        name="Org Authorization Server",
        audience=base_url,
        scopes=[Scope(name, metadata_publish=True) for name in tenant.org_scopes],
        policies=[
            AccessPolicy(
                "Okta org",
                assigned_to=tuple(app.label for app in tenant.apps),
                rules=[PolicyRule("Any", ("authorization_code", "client_credentials", DEVICE_GRANT))],
            )
        ],
    )


def now() -> int:
    return int(time.time())
