"""The mistakes learners make when setting up Okta, reproduced on the local authorization server.

Each :class:`Scenario` is a *data transform* of the tenant (what was clicked wrong in the
console) or of the settings a learner copied into ``.env``, so every scenario reads as "this
is what was set up wrong". One scenario per misconfiguration notebook 02's checklist warns
about; ``check`` names the setup check (``helpers.okta_checks``) that diagnoses it, and ``fix``
is what to change in the Admin Console or ``.env``.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .tenant import ALL_CLIENTS, AccessPolicy, AuthorizationServer, PolicyRule, Tenant

__all__ = ["SCENARIOS", "Scenario", "apply_scenario"]

POLICY_FAILED = '401 access_denied "Policy evaluation failed for this request, please check the policy configurations."'


@dataclass(frozen=True)
class Scenario:
    """A mistake a learner makes when setting up Okta.

    ``tenant`` transforms what the server holds; ``settings`` names what the learner's ``.env``
    holds instead of the right value (``"issuer"``, ``"audience"``, ``"jwks_uri"``,
    ``"m2m_client_id"``). ``symptom`` is what the learner sees; ``fix`` what to change;
    ``check`` the setup check that finds it (``"sign_in"``: found when a user signs in).
    """

    name: str
    mistake: str
    symptom: str
    fix: str
    check: str
    tenant: Callable[[Tenant], None] | None = None
    settings: str | None = None


def _server(tenant: Tenant) -> AuthorizationServer:
    server = tenant.server("default")
    assert server is not None
    return server


def _apps(tenant: Tenant, *labels: str):
    return [app for app in tenant.apps if app.label in labels]


def _remove_scopes(*names: str) -> Callable[[Tenant], None]:
    def transform(tenant: Tenant) -> None:
        _server(tenant).scopes = [s for s in _server(tenant).scopes if s.name not in names]
    return transform


def _unpublish_scopes(tenant: Tenant) -> None:
    for scope in _server(tenant).scopes:
        scope.metadata_publish = False


def _policy_not_assigned(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        policy.assigned_to = ()


def _rule_without_client_credentials(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        for rule in policy.rules:
            rule.grant_types = tuple(g for g in rule.grant_types if g != "client_credentials") or ("authorization_code",)


def _rule_without_subtract(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        if "write_service" in policy.assigned_to:
            for rule in policy.rules:
                rule.scopes = ("calculator.add",)


def _default_policy(tenant: Tenant) -> None:
    _server(tenant).policies.append(AccessPolicy("Default Policy", assigned_to=(ALL_CLIENTS,), rules=[
        PolicyRule("Default Policy Rule", ("client_credentials", "authorization_code")),
    ]))


def _rule_without_offline_access(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        if "web" in policy.assigned_to:
            for rule in policy.rules:
                rule.scopes = ("openid", "profile", "email", "calculator.add", "calculator.subtract")


def _app_without_client_credentials(tenant: Tenant) -> None:
    for app in _apps(tenant, "read_service", "write_service"):  # created as web apps
        app.grant_types = ("authorization_code",)
        app.redirect_uris = ("http://localhost:8080/authorization-code/callback",)


def _wrong_client_secret(tenant: Tenant) -> None:
    for app in tenant.apps:
        if not app.is_public:
            app.client_secret = secrets.token_urlsafe(30)


def _dpop_required(tenant: Tenant) -> None:
    for app in tenant.apps:
        app.dpop_required = True


def _redirect_uri_not_registered(tenant: Tenant) -> None:
    for app in _apps(tenant, "web"):
        app.redirect_uris = ("http://localhost:8080/authorization-code/callback",)


def _user_not_assigned(tenant: Tenant) -> None:
    for app in _apps(tenant, "web"):
        app.assigned_users = ()


def _no_refresh_token_grant(tenant: Tenant) -> None:
    for app in _apps(tenant, "web"):
        app.grant_types = tuple(g for g in app.grant_types if g != "refresh_token")


def _rule_without_authorization_code(tenant: Tenant) -> None:
    for policy in _server(tenant).policies:
        if "web" in policy.assigned_to:
            for rule in policy.rules:
                rule.grant_types = tuple(g for g in rule.grant_types if g != "authorization_code")


def _persistent_refresh_token(tenant: Tenant) -> None:
    for app in _apps(tenant, "web"):
        app.rotate_refresh_token = False  # "Use persistent token", a web app's default


def _pkce_not_required(tenant: Tenant) -> None:
    for app in _apps(tenant, "web"):
        app.require_pkce = False


_SCENARIO_LIST = [
    Scenario("org_authorization_server",
             "OAUTH_ISSUER names the org authorization server (https://{domain}) instead of a custom one.",
             "Client-credentials requests with a client secret answer 401 invalid_client \"Client Credentials requests "
             "to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.\"; tokens it does "
             "issue are for Okta's own APIs (iss and aud https://{domain}).",
             "Set OAUTH_ISSUER to the custom authorization server's Issuer URI (ends in /oauth2/default).",
             check="issuer", settings="issuer"),
    Scenario("audience_mismatch",
             "OAUTH_AUDIENCE in .env is api://default (the default server's out-of-the-box audience), but the "
             "authorization server's Audience was changed.",
             "Tokens are issued, but the calculator refuses every one: its aud is not the audience it expects.",
             "Copy the Audience shown on Security > API > Authorization Servers > (your server) into OAUTH_AUDIENCE.",
             check="token_claims", settings="audience"),
    Scenario("jwks_from_other_server", "OAUTH_JWKS_URI in .env points to another authorization server's keys.",
             "Tokens are issued, but signature verification fails: the token's kid is not in that key set.",
             "Remove OAUTH_JWKS_URI (it is read from the issuer's metadata) or use {issuer}/v1/keys.",
             check="jwks_uri", settings="jwks_uri"),
    Scenario("no_custom_scope", "No custom scope was added to the authorization server.",
             "400 invalid_scope \"One or more scopes are not configured for the authorization server resource.\"; "
             "scopes_supported lists only the OpenID Connect scopes.",
             "Security > API > Authorization Servers > (your server) > Scopes > Add Scope: calculator.add and calculator.subtract.",
             check="token:calculator.add", tenant=_remove_scopes("calculator.add", "calculator.subtract")),
    Scenario("undefined_scope", "calculator.subtract was never added to the authorization server.",
             "scope=calculator.add works; calculator.subtract answers 400 invalid_scope \"One or more scopes are not "
             "configured for the authorization server resource.\"",
             "Add the missing scope on the authorization server, or correct its spelling in the client.",
             check="token:calculator.subtract", tenant=_remove_scopes("calculator.subtract")),
    Scenario("scope_not_published", "The scopes were added without 'Include in public metadata'.",
             "Tokens work, but clients that read scopes_supported (MCP gateways) do not see the calculator scopes.",
             "Edit each scope and tick 'Include in public metadata'.", check="scopes", tenant=_unpublish_scopes),
    Scenario("policy_not_assigned", "The access policy is not assigned to the apps.", POLICY_FAILED,
             "Access Policies > (the policy) > Assigned to clients: add the app.",
             check="token:calculator.add", tenant=_policy_not_assigned),
    Scenario("rule_without_client_credentials", "The policy rule does not allow the Client Credentials grant.",
             POLICY_FAILED + " for client-credentials requests.",
             "Edit the rule: IF Grant type is > check Client Credentials.",
             check="token:calculator.add", tenant=_rule_without_client_credentials),
    Scenario("rule_without_scope", "The write service's rule lists calculator.add only.",
             "calculator.add works; a request for calculator.subtract matches no rule: " + POLICY_FAILED,
             "Edit the rule: AND Scopes requested > add calculator.subtract.",
             check="token:calculator.subtract", tenant=_rule_without_subtract),
    Scenario("default_policy_catches_all",
             "The authorization server still has a 'Default Policy' assigned to All clients with Any scopes (Okta's "
             "default server comes with a basic policy and rule).",
             "The read-only service gets calculator.subtract: requests its own rule refuses match the Default Policy.",
             "Security > API > Authorization Servers > (your server) > Access Policies: deactivate the Default Policy, "
             "or assign it to specific clients only, so each app matches its own policy alone.",
             check="read_only", tenant=_default_policy),
    Scenario("app_without_client_credentials", "The service apps were created as Web apps, without Client Credentials.",
             "400 unauthorized_client \"The client is not authorized to use the provided grant type. Configured grant "
             "types: [authorization_code].\"",
             "Create an API Services app, or enable Client Credentials under the app's General Settings > Grant type.",
             check="token:calculator.add", tenant=_app_without_client_credentials),
    Scenario("wrong_client_secret", "The client secrets in .env are stale (they were regenerated in Okta).",
             "401 invalid_client \"The client secret supplied for a confidential client is invalid.\"",
             "Copy the current secret from the app's General tab into .env.",
             check="token:calculator.add", tenant=_wrong_client_secret),
    Scenario("unknown_client_id", "M2M_CLIENT_ID in .env is not the app's client id (a typo, or another org's app).",
             "401 invalid_client \"Invalid value for 'client_id' parameter.\"",
             "Copy the Client ID from the service app's General tab into M2M_CLIENT_ID.",
             check="token:calculator.add", settings="m2m_client_id"),
    Scenario("dpop_required", "'Require Demonstrating Proof of Possession (DPoP) header in token requests' is ticked.",
             "400 invalid_dpop_proof \"The DPoP proof JWT header is missing.\" for every token request.",
             "The app's General Settings: untick 'Require Demonstrating Proof of Possession (DPoP) header in token requests'.",
             check="token:calculator.add", tenant=_dpop_required),
    Scenario("redirect_uri_not_registered", "The gateway's redirect URI is not a Sign-in redirect URI of the web app.",
             "The authorize URL shows an error page (HTTP 400) \"The 'redirect_uri' parameter must be a Login redirect "
             "URI in the client app settings\" and never redirects back.",
             "Add the redirect URI under the web app's General Settings > Sign-in redirect URIs.",
             check="redirect_uri", tenant=_redirect_uri_not_registered),
    Scenario("user_not_assigned", "Nobody is assigned to the web app.",
             "After signing in, the redirect carries access_denied \"User is not assigned to the client application.\"",
             "The web app's Assignments tab: Assign > Assign to People (or Groups).",
             check="sign_in", tenant=_user_not_assigned),
    Scenario("no_refresh_token_grant", "The web app does not have the Refresh Token grant.",
             "Sign-in works, but no refresh token comes back: the user must sign in again when the access token expires.",
             "The web app's General Settings > Grant type: check Refresh Token (and keep offline_access in the rule).",
             check="sign_in", tenant=_no_refresh_token_grant),
    Scenario("rule_without_offline_access", "The gateway's policy rule lists scopes without offline_access.",
             "Signing in with offline_access matches no rule: the redirect carries access_denied \"Policy evaluation "
             "failed for this request, please check the policy configurations.\"",
             "Edit the gateway's rule: AND Scopes requested > add offline_access.",
             check="sign_in", tenant=_rule_without_offline_access),
    Scenario("rule_without_authorization_code", "The gateway's policy rule allows Client Credentials only.",
             "Every sign-in matches no rule: the redirect carries access_denied \"Policy evaluation failed for this "
             "request, please check the policy configurations.\"",
             "Edit the gateway's rule: IF Grant type is > check Authorization Code.",
             check="sign_in", tenant=_rule_without_authorization_code),
    Scenario("refresh_token_not_rotated", "The web app keeps 'Use persistent token' (a web app's default).",
             "Every refresh returns the same refresh token: a stolen one works until it expires, and notebook 06's "
             "rotation never happens.",
             "The web app's General Settings > Refresh Token: select 'Rotate token after every use'.",
             check="sign_in", tenant=_persistent_refresh_token),
    Scenario("pkce_not_required", "'Require PKCE as additional verification' is not ticked on the web app.",
             "Sign-ins work (the gateway always sends PKCE), but Okta would also exchange a code for a client "
             "that sends none.",
             "The web app's General > Client Credentials: tick 'Require PKCE as additional verification'.",
             check="pkce", tenant=_pkce_not_required),
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
        raise ValueError(f"Unknown scenario {name!r}. Choose one of: {', '.join(SCENARIOS)} (or None).") from None
    if scenario.tenant is not None:
        scenario.tenant(result)
    return result
