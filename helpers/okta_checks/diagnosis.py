"""What an Okta answer means, and what to change in Okta's Admin Console to fix it.

The fixes name menu paths and fields the way the console shows them (as Okta's guides of 2026
name them: *Applications and Resources > Applications*, *Security > API*), so a learner can
follow them click by click. :func:`token_error` turns a token-endpoint error
(``{"error", "error_description"}``) into a cause and a fix.
"""

from __future__ import annotations

__all__ = ["AUTH_SERVER", "SERVICE_APP", "WEB_APP", "TokenDiagnosis", "sign_in_error", "token_error"]

from dataclasses import dataclass

#: The page of the custom authorization server in the console.
AUTH_SERVER = "Security > API > Authorization Servers > (your server)"
#: The page of the service (machine-to-machine) app.
SERVICE_APP = "Applications and Resources > Applications > (your API Services app)"
#: The page of the web app the gateway signs users in with.
WEB_APP = "Applications and Resources > Applications > (your Web app)"

ISSUER_FIX = (
    f"Copy the Issuer URI from {AUTH_SERVER} > Settings (it ends in /oauth2/default for the "
    "server every org has) into OAUTH_ISSUER, exactly, without a trailing slash."
)
AUDIENCE_FIX = (
    f"Copy the Audience from {AUTH_SERVER} > Settings into OAUTH_AUDIENCE. Okta puts that "
    "audience in every token it issues; no request parameter changes it."
)
JWKS_URI_FIX = (
    "Remove OAUTH_JWKS_URI from .env (the server reads jwks_uri from the issuer's metadata), "
    "or set it to the metadata's jwks_uri ({issuer}/v1/keys)."
)
ADD_SCOPE_FIX = (
    f"{AUTH_SERVER} > Scopes > Add Scope: Name {{scope}}. Tick 'Include in public metadata' so "
    "clients can discover it."
)
CLIENT_SECRET_FIX = (
    f"{SERVICE_APP} > General > Client Credentials: copy the Client ID into M2M_CLIENT_ID and the "
    "current Client secret into M2M_CLIENT_SECRET (regenerating a secret makes the old one invalid), "
    "and likewise READ_M2M_CLIENT_SECRET and CLIENT_SECRET for the read-only service and the web app."
)
APP_GRANT_FIX = (
    f"{SERVICE_APP} > General > General Settings > Edit > Grant type: check Client Credentials "
    "(an app made with Create App Integration > API Services has it; a Web app does not by default)."
)
POLICY_FIX = (
    f"{AUTH_SERVER} > Access Policies: the app needs a policy assigned to it (Add Policy, "
    "Assign to: The following clients: your app; or Edit an existing policy's Assigned to "
    "clients), with a rule that allows the grant (edit the rule > IF Grant type is: check Client "
    "Credentials) and every scope requested (AND Scopes requested: add each one). Rules "
    "are allowlists: a request with one scope the rule does not list matches no rule."
)
DEFAULT_POLICY_FIX = (
    f"{AUTH_SERVER} > Access Policies: a policy assigned to All clients (often the 'Default Policy', "
    "whose rule allows Any scopes) matched the request the read-only app's own policy refused: "
    "policies are tried in priority order until a rule matches. Deactivate that policy, or assign it "
    "to specific clients only."
)
READ_ONLY_APP_FIX = (
    "Optional, for notebook 05: create a second API Services app, give it its own access policy "
    "whose rule allows Client Credentials with the scope calculator.add only, and put its Client ID "
    "and secret into READ_M2M_CLIENT_ID and READ_M2M_CLIENT_SECRET."
)
UNKNOWN_CLIENT_FIX = (
    f"{SERVICE_APP} > General > Client Credentials: copy the Client ID into M2M_CLIENT_ID exactly "
    "(Okta does not know the one in .env: a typo, or an app of another org)."
)
DPOP_FIX = (
    f"{SERVICE_APP} > General > General Settings > Edit: untick 'Require Demonstrating Proof of "
    "Possession (DPoP) header in token requests' (the tutorial's clients send bearer tokens)."
)
PRIVATE_KEY_JWT_FIX = (
    "This is the org authorization server, which takes no client secret for client credentials and "
    "issues tokens for Okta's own APIs only. Use a custom authorization server: " 
)
SIGN_IN_YOURSELF = (
    "Notebook 06 signs you in with your browser; if it fails there, its error names the fix "
    "(user not assigned, a rule without Authorization Code or offline_access, the Refresh Token "
    "grant, refresh token rotation)."
)
SIGN_IN_FIX = f"Check the web app ({WEB_APP} > General) and sign in again."
USER_NOT_ASSIGNED_FIX = f"{WEB_APP} > Assignments > Assign > Assign to People (or Groups): add the user."
REFRESH_TOKEN_FIX = (
    f"{WEB_APP} > General > General Settings > Edit > Grant type: check Refresh Token; and keep "
    f"offline_access among the scopes of the gateway's rule ({AUTH_SERVER} > Access Policies)."
)
GATEWAY_RULE_FIX = (
    f"{AUTH_SERVER} > Access Policies > (the web app's policy) > edit the rule: IF Grant type is: "
    "check Authorization Code; AND Scopes requested: openid, profile, email, offline_access, "
    "calculator.add and calculator.subtract."
)
RULE_SCOPES_FIX = (
    f"{AUTH_SERVER} > Access Policies > (the app's policy) > edit the rule > AND Scopes requested: "
    "add {scope}."
)
REDIRECT_URI_FIX = (
    f"{WEB_APP} > General > General Settings > Edit > LOGIN > Sign-in redirect URIs: add "
    "{redirect_uri} exactly (scheme, host, port and path must all match)."
)
PKCE_FIX = (
    f"{WEB_APP} > General > Client Credentials > Edit: tick 'Require PKCE as additional verification', "
    "so that Okta refuses every code exchange without PKCE, not only this gateway's."
)
ROTATION_FIX = (
    f"{WEB_APP} > General > General Settings > Edit > Refresh Token: select 'Rotate token after every "
    "use' (keep the 30 s grace period). A web app's refresh token is persistent by default; with "
    "rotation a stolen refresh token is good for one use, and reusing an old one revokes the family."
)
WEB_CLIENT_ID_FIX = f"{WEB_APP} > General > Client Credentials: copy the Client ID into CLIENT_ID."

POLICY_EVALUATION_FAILED = "Policy evaluation failed"


@dataclass(frozen=True)
class TokenDiagnosis:
    """Why Okta refused a token request, and what to change."""

    cause: str
    fix: str


def token_error(error: str, description: str, scope: str, app: str = "service") -> TokenDiagnosis:
    """The cause and fix of a token-endpoint error for a client-credentials request for ``scope``
    (Okta answers in the OAuth shape or the ``errorCode``/``errorSummary`` shape; both are read)."""
    if error == "invalid_client" and "client_id" in description:
        return TokenDiagnosis("Okta does not know this client id", UNKNOWN_CLIENT_FIX)
    if error == "invalid_client" and "private_key_jwt" in description:
        return TokenDiagnosis("this is the org authorization server", PRIVATE_KEY_JWT_FIX + ISSUER_FIX)
    if error == "invalid_client":
        return TokenDiagnosis("Okta did not accept the client secret", CLIENT_SECRET_FIX)
    if error == "invalid_dpop_proof":
        return TokenDiagnosis("the app requires DPoP proofs, which this tutorial's clients do not send", DPOP_FIX)
    if error == "unauthorized_client":
        return TokenDiagnosis("the app is not allowed the Client Credentials grant", APP_GRANT_FIX)
    if error == "access_denied" and POLICY_EVALUATION_FAILED in description:
        return TokenDiagnosis(
            f"no access policy rule matched this {app} app's request for {scope}: the policy is not assigned "
            "to the app, its rule lacks the Client Credentials grant, or the rule does not allow these scopes",
            POLICY_FIX,
        )
    if error == "access_denied" and "denied by the policy" in description:
        return TokenDiagnosis(
            f"the policy rule does not grant {scope}", RULE_SCOPES_FIX.format(scope=scope)
        )
    if error == "invalid_scope" and "not configured" in description:
        return TokenDiagnosis(
            f"the authorization server has no scope named {scope}", ADD_SCOPE_FIX.format(scope=scope)
        )
    if error == "invalid_scope":
        return TokenDiagnosis(
            f"Okta refused the scope {scope}",
            f"Check the scope's spelling in the request and under {AUTH_SERVER} > Scopes.",
        )
    if error == "unsupported_grant_type":
        return TokenDiagnosis(
            "this authorization server does not offer the client-credentials grant",
            "OAUTH_ISSUER must be an Okta custom authorization server. " + ISSUER_FIX,
        )
    return TokenDiagnosis(
        f"Okta answered {error}",
        f"Check the app ({SERVICE_APP} > General) and the access policy ({AUTH_SERVER} > "
        "Access Policies); Okta's OAuth error reference explains the code.",
    )


def sign_in_error(error: str, description: str) -> TokenDiagnosis:
    """The cause and fix of an error a user's sign-in came back with (the redirect's ``error``)."""
    if "not assigned" in description:
        return TokenDiagnosis("the user is not assigned to the web app", USER_NOT_ASSIGNED_FIX)
    if error == "access_denied" and POLICY_EVALUATION_FAILED in description:
        return TokenDiagnosis(
            "no access policy rule matched the sign-in: the web app's policy is not assigned to it, its "
            "rule lacks Authorization Code, or the rule does not allow these scopes (offline_access?)",
            GATEWAY_RULE_FIX,
        )
    if error == "access_denied":
        return TokenDiagnosis("access was refused at sign-in (the consent page, or a policy)", USER_NOT_ASSIGNED_FIX)
    if error == "invalid_scope":
        return TokenDiagnosis("a requested scope does not exist on this authorization server",
                              ADD_SCOPE_FIX.format(scope="calculator.add"))
    return TokenDiagnosis(f"Okta answered {error}", SIGN_IN_FIX)
