"""What an Okta answer means, and what to change in Okta's Admin Console to fix it.

The fixes name menu paths and fields the way the console shows them, so a learner can
follow them click by click. :func:`token_error` turns a token-endpoint error
(``{"error", "error_description"}``) into a cause and a fix.
"""

from __future__ import annotations

__all__ = ["AUTH_SERVER", "SERVICE_APP", "WEB_APP", "TokenDiagnosis", "token_error"]

from dataclasses import dataclass

#: The page of the custom authorization server in the console.
AUTH_SERVER = "Security > API > Authorization Servers > (your server)"
#: The page of the service (machine-to-machine) app.
SERVICE_APP = "Applications > Applications > (your API Services app)"
#: The page of the web app the gateway signs users in with.
WEB_APP = "Applications > Applications > (your Web app)"

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
    "current Client secret into M2M_CLIENT_SECRET (regenerating a secret makes the old one invalid)."
)
APP_GRANT_FIX = (
    f"{SERVICE_APP} > General > General Settings > Edit > Grant type: check Client Credentials "
    "(an app made with Create App Integration > API Services has it; a Web app does not by default)."
)
POLICY_FIX = (
    f"{AUTH_SERVER} > Access Policies: the app needs a policy assigned to it (Add Policy, "
    "Assign to: The following clients: your app; or Edit an existing policy's Assigned to "
    "clients), and a rule in that policy that allows the grant (Add Rule / edit the rule > "
    "IF Grant type is: check Client Credentials)."
)
RULE_SCOPES_FIX = (
    f"{AUTH_SERVER} > Access Policies > (the app's policy) > edit the rule > AND Scopes requested: "
    "add {scope}, or choose Any scopes."
)
REDIRECT_URI_FIX = (
    f"{WEB_APP} > General > General Settings > Edit > LOGIN > Sign-in redirect URIs: add "
    "{redirect_uri} exactly (scheme, host, port and path must all match)."
)
WEB_CLIENT_ID_FIX = f"{WEB_APP} > General > Client Credentials: copy the Client ID into CLIENT_ID."

POLICY_EVALUATION_FAILED = "Policy evaluation failed"


@dataclass(frozen=True)
class TokenDiagnosis:
    """Why Okta refused a token request, and what to change."""

    cause: str
    fix: str


def token_error(error: str, description: str, scope: str) -> TokenDiagnosis:
    """The cause and fix of a token-endpoint error for a client-credentials request for ``scope``."""
    if error == "invalid_client":
        return TokenDiagnosis("Okta did not accept the client id and secret", CLIENT_SECRET_FIX)
    if error == "unauthorized_client":
        return TokenDiagnosis("the app is not allowed the Client Credentials grant", APP_GRANT_FIX)
    if error == "access_denied" and POLICY_EVALUATION_FAILED in description:
        return TokenDiagnosis(
            "no access policy rule lets this app use Client Credentials (the policy is not "
            "assigned to the app, or its rule lacks the grant)",
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
