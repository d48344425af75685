"""A local, Okta-compatible authorization server for the tutorial (no internet, no Okta org).

It behaves like an Okta *custom authorization server* (URL layout, metadata, JWKS, token
claims, error codes and texts) so the notebooks run unchanged against it or a real tenant.
The protocol is oauthlib's (``oauth.py``, ``validator.py``), tokens are signed with PyJWT
(``tokens.py``, ``keys.py``), the tenant is data (``tenant.py``), and the app is served by
uvicorn on 127.0.0.1 in a background thread (``helpers.background``).

    >>> okta = start_local_okta()
    >>> okta.issuer
    'https://127.0.0.1:53211/oauth2/default'
    >>> okta.clients["write_service"].client_id
    '0oa1calcwritesvc7kpz'
    >>> okta.set_scenario("policy_not_assigned"); okta.set_scenario(None)   # a learner's mistake, undone
    >>> okta.stop()

``python -m helpers.local_okta`` runs it in the foreground and prints a ``.env`` block.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import jwt
from cryptography.hazmat.primitives import serialization

from .. import background
from ..local_tls import local_ca
from ..settings import ClientCredentials, Settings
from .app import build_app
from .client_assertions import PublicKeys
from .state import ORG_SERVER, IssSwitch, OktaState
from .rate_limits import RateLimiter
from .defaults import default_tenant
from .mcp_resource import MCP_SERVER_ID, add_mcp_resource
from .device import DeviceSwitches
from .scenarios import SCENARIOS, Scenario
from .tenant import Tenant, TestUser

__all__ = ["SCENARIOS", "LocalOkta", "Scenario", "Tenant", "TestUser", "default_tenant", "start_local_okta"]

#: The audience a learner copies by mistake in the ``audience_mismatch`` scenario
#: (it is Okta's default audience for the ``default`` authorization server).
WRONG_AUDIENCE = "api://default"


class LocalOkta(DeviceSwitches, PublicKeys, IssSwitch):
    """One local Okta org: its tenant, keys and HTTP server (public keys of private-key apps: :class:`PublicKeys`).

    Build it with a :class:`Tenant` (default: :func:`default_tenant`) and :meth:`start` it,
    or call :func:`start_local_okta`. Properties describe the tenant's first custom authorization
    server (``default``), and so do methods given no other ``server_id``.
    """

    def __init__(self, tenant: Tenant | None = None) -> None:
        self._state = OktaState(tenant if tenant is not None else default_tenant())
        #: the ASGI app (also usable in-process, e.g. with an ASGI test client)
        self.app = build_app(self._state)
        self._server: background.BackgroundServer | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, port: int = 0, name: str = "local-okta") -> LocalOkta:
        """Serve on 127.0.0.1:``port`` (0 = a free port) under ``name``; restarts that name."""
        self._server = background.start(self.app, name=name, port=port, tls=True)
        self._state.base_url = self._server.url
        return self

    def stop(self) -> None:
        """Stop the HTTP server; safe to call more than once."""
        if self._server is not None:
            self._server.stop()

    @property
    def is_running(self) -> bool:
        return self._server is not None and self._server.is_running

    # -- where things are ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The org URL, e.g. ``https://127.0.0.1:53211`` (the org authorization server's issuer)."""
        return self._state.base_url

    @property
    def port(self) -> int:
        return self._server.port if self._server else 0

    def issuer_for(self, server_id: str | None = None) -> str:
        """The issuer of a custom authorization server (``""`` names the org server)."""
        return self._state.issuer(server_id)

    def endpoint(self, name: str, server_id: str | None = None) -> str:
        """``{issuer}/v1/{name}``, e.g. ``endpoint("introspect")``."""
        return self._state.endpoint(server_id, name)

    @property
    def issuer(self) -> str:
        return self.issuer_for(None)

    @property
    def org_issuer(self) -> str:
        return self.issuer_for(ORG_SERVER)

    @property
    def audience(self) -> str:
        return self._state.server(None).audience

    @property
    def jwks_uri(self) -> str:
        return self.endpoint("keys")

    @property
    def token_endpoint(self) -> str:
        return self.endpoint("token")

    @property
    def authorization_endpoint(self) -> str:
        return self.endpoint("authorize")

    @property
    def introspection_endpoint(self) -> str:
        return self.endpoint("introspect")

    @property
    def revocation_endpoint(self) -> str:
        return self.endpoint("revoke")

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/oauth-authorization-server"

    # -- who can get tokens --------------------------------------------------------------

    @property
    def clients(self) -> dict[str, ClientCredentials]:
        """Each app's credentials by label, as the learner copied them into ``.env``.

        In the ``wrong_client_secret`` scenario these are the *stale* secrets.
        """
        return {app.label: ClientCredentials(app.client_id, app.client_secret) for app in self._state.configured.apps}

    @property
    def users(self) -> list[TestUser]:
        """The test users who can sign in on the sign-in page."""
        return list(self._state.tenant.users)

    @property
    def tenant(self) -> Tenant:
        """The tenant as the server enforces it now (with the scenario applied). Read-only use."""
        return self._state.tenant

    def settings(self) -> Settings:
        """What ``.env`` would hold for this org (with the current scenario's mistake, if any).

        ``jwks_uri`` is left out, as in ``.env.example``: clients read it from the issuer's
        metadata, exactly as with a real tenant (a scenario may set a wrong one)."""
        issuer, audience, jwks_uri = self.issuer, self.audience, None
        clients = self.clients
        m2m = clients["write_service"]
        scenario = self._state.scenario
        if scenario == "org_authorization_server":
            issuer = self.org_issuer
        elif scenario == "audience_mismatch":
            audience = WRONG_AUDIENCE
        elif scenario == "jwks_from_other_server":
            jwks_uri = self.endpoint("keys", "other")
        elif scenario == "unknown_client_id":
            m2m = ClientCredentials("0oa1calcwritesvc7kpq", m2m.client_secret)  # one character off
        return Settings(
            mode="local",
            issuer=issuer,
            audience=audience,
            jwks_uri=jwks_uri,
            m2m_client=m2m, web_client=clients["web"], device_client=clients.get("device_app"),
            read_only_client=clients["read_service"], mcp_client=clients.get("mcp_client"),
            source="local authorization server",
        )

    def env_block(self) -> str:
        """The ``.env`` lines for this server, one ``NAME=value`` each, test users as comments."""
        settings = self.settings()
        m2m, web, reader = settings.m2m_client, settings.web_client, settings.read_only_client
        lines = [f"OAUTH_ISSUER={settings.issuer}", f"OAUTH_AUDIENCE={settings.audience}"]
        if settings.jwks_uri:
            lines.append(f"OAUTH_JWKS_URI={settings.jwks_uri}")
        lines += [
            f"M2M_CLIENT_ID={m2m.client_id}",
            f"M2M_CLIENT_SECRET={m2m.client_secret}",
            f"READ_M2M_CLIENT_ID={reader.client_id}",
            f"READ_M2M_CLIENT_SECRET={reader.client_secret}",
            f"CLIENT_ID={web.client_id}",
            f"CLIENT_SECRET={web.client_secret}", f"DEVICE_CLIENT_ID={settings.device_client.client_id}",
            f"MCP_CLIENT_ID={settings.mcp_client.client_id}",
            "# The local server is HTTPS with a certificate authority made for this run; trust it:",
            f"OAUTH_CA_FILE={local_ca().ca_path}",
            "# Test users for the sign-in page (login / password):",
        ]
        lines += [f"#   {user.login} / {user.password}  ({user.name})" for user in self.users]
        return "\n".join(lines)

    # -- switches ------------------------------------------------------------------------

    @property
    def scenario(self) -> str | None:
        return self._state.scenario

    def set_scenario(self, name: str | None) -> None:
        """Switch on a misconfiguration from :data:`SCENARIOS` (``None``: the correct setup)."""
        self._state.set_scenario(name)

    def rotate_keys(self, server_id: str | None = None) -> str:
        """Publish a new signing key next to the old one and sign new tokens with it; its kid."""
        return self._state.key_set(server_id).rotate()

    def retire_old_keys(self, server_id: str | None = None) -> list[str]:
        """Stop publishing all but the newest key; the retired kids."""
        return self._state.key_set(server_id).retire_old()

    def sign_token(self, claims: dict, server_id: str | None = None, headers: dict | None = None) -> str:
        """Sign arbitrary ``claims`` with this server's current key: RS256, header ``kid``.

        For demonstrations and tests only (notebook 03 forges expired, mis-addressed and
        claim-less tokens with it). A real Okta never signs what a caller asks it to.
        """
        key = self._state.key_set(server_id).current
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": None, **(headers or {})})

    def public_key_pem(self, server_id: str | None = None) -> bytes:
        """The current signing key's public half as PEM (what an attacker can read from the JWKS)."""
        public_key = self._state.key_set(server_id).current.private_key.public_key()
        return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def signing_kids(self, server_id: str | None = None) -> list[str]:
        """The ids of the keys that signed or sign, oldest first (the last one signs now)."""
        return self._state.key_set(server_id).kids

    def next_signing_kid(self, server_id: str | None = None) -> str:
        """The id of the key published ahead of the next rotation (it signs nothing yet)."""
        return self._state.key_set(server_id).next_kid

    def set_resource_parameter_check(self, enabled: bool) -> None:
        """RFC 8707 ``resource``: checked against the audience (True, ``invalid_target`` if it
        differs) or ignored like the ``audience`` field (False). Okta's handling varies by org."""
        self._state.configured.resource_parameter = bool(enabled)
        self._state.tenant.resource_parameter = bool(enabled)

    def add_mcp_resource(self, mcp_url: str, server_id: str = MCP_SERVER_ID) -> str:
        """Add an authorization server whose audience is the MCP server's URL (``mcp_resource.py``); its issuer."""
        return self.issuer_for(add_mcp_resource(self._state, mcp_url, server_id=server_id, scopes_from=self._state.server_id).id)

    def set_refresh_token_grace_period(self, seconds: int | None) -> None:
        """Override every app's refresh-token grace period (``None`` restores the apps').

        Local only, to show reuse detection without waiting Okta's 30 s default; Okta allows 0 to 60."""
        if seconds is not None and (not isinstance(seconds, int) or not 0 <= seconds <= 60):
            raise ValueError("The grace period is a whole number of seconds from 0 to 60, or None.")
        self._state.refresh_grace_period = seconds

    def set_access_token_lifetime(self, seconds: int | None) -> None:
        """Override every policy rule's access token lifetime (``None`` restores the rules').

        Local only, for demonstrating expiry: short values such as 2 s are allowed.
        """
        if seconds is not None and (not isinstance(seconds, int) or seconds < 1):
            raise ValueError("The access token lifetime must be a whole number of seconds >= 1, or None.")
        self._state.access_token_lifetime = seconds

    def set_rate_limit(self, limit: int | None, window: int = 5) -> None:
        """The rate-limit scenario: at most ``limit`` requests per client per endpoint (token,
        introspect, revoke) in each ``window`` seconds (1 to 5), then Okta's 429 (``None``: off)."""
        self._state.rate_limiter = None if limit is None else RateLimiter(limit, window)

    @contextlib.contextmanager
    def rate_limit_suspended(self) -> Iterator[None]:
        """No rate limit inside (a grader's own requests are not the client under test)."""
        limiter, self._state.rate_limiter = self._state.rate_limiter, None
        try:
            yield
        finally:
            self._state.rate_limiter = limiter

    def rate_limit_report(self) -> dict[str, int]:
        """``{"endpoint client": most 429s before one reset}`` (empty: none, or the scenario is off)."""
        limiter = self._state.rate_limiter
        return limiter.report() if limiter is not None else {}

    @property
    def request_counts(self) -> Counter[str]:
        """Requests per endpoint (``token``, ``keys``, ``authorize``, ``metadata``, ...); ``.clear()`` resets.
        A request the rate-limit scenario refused (429) is in :meth:`rate_limit_report`, not here."""
        return self._state.request_counts

    def forget_consents(self) -> None:
        """Forget every consent users gave (as an admin revoking the consent grants)."""
        with self._state.lock:
            self._state.consents.clear()

    def reset(self) -> None:
        """Forget issued codes, refresh tokens, revocations and consents, and zero the request counts."""
        self._state.store.clear()
        self._state.request_counts.clear()
        with self._state.lock:
            self._state.consents.clear()

    def __repr__(self) -> str:
        status = self.issuer if self.is_running else "stopped"
        return f"<LocalOkta {status} scenario={self.scenario!r}>"


def start_local_okta(port: int = 0, tenant: Tenant | None = None, name: str = "local-okta") -> LocalOkta:
    """Start a local Okta on 127.0.0.1 (``port=0``: a free port) and return it.

    Idempotent per ``name``: calling it again (re-running a notebook cell) stops the server
    running under that name and starts a fresh one (new keys, new secrets).
    """
    return LocalOkta(tenant).start(port=port, name=name)
