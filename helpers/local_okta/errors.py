"""Okta's error codes, HTTP statuses and texts, as oauthlib exceptions.

The request validator raises these from inside oauthlib's grant validation, so oauthlib
turns them into the JSON body ``{"error", "error_description"}`` with the right status.
:func:`translate_token_error` rewrites the few errors oauthlib raises itself (before any
validator hook runs) into Okta's wording.
"""

from __future__ import annotations

import json

from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from .tenant import SUPPORTED_GRANT_TYPES

__all__ = [
    "CLIENT_AUTH_FAILED",
    "access_denied_policy",
    "client_auth_failed",
    "code_invalid",
    "invalid_scope_not_configured",
    "translate_token_error",
]

CLIENT_AUTH_FAILED = (
    "Client authentication failed. Either the client or the client credentials are invalid."
)
NO_CLIENT_CREDENTIALS = "No client credentials found."
MULTIPLE_CREDENTIALS = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
SCOPES_NOT_CONFIGURED = "One or more scopes are not configured for the authorization server resource."
NO_DEFAULT_SCOPES = (
    "The authorization server resource does not have any configured default scopes, "
    "'scope' must be provided."
)
OPENID_WITH_CLIENT_CREDENTIALS = "Cannot request 'openid' scopes using client credentials."
POLICY_EVALUATION_FAILED = (
    "Policy evaluation failed for this request, please check the policy configurations."
)
CODE_INVALID = "The authorization code is invalid or has expired."
REFRESH_INVALID = "The refresh token is invalid or expired."
PKCE_FAILED = "PKCE verification failed."
REDIRECT_MISMATCH = (
    "The 'redirect_uri' does not match the redirection URI used in the authorization request."
)
REDIRECT_NOT_REGISTERED = (
    "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
)
INVALID_CLIENT_ID = "Invalid value for 'client_id' parameter."
PKCE_METHOD_UNSUPPORTED = "The code_challenge_method 'plain' is not supported. Supported values: [S256]."
USER_DENIED = "The resource owner or authorization server denied the request."


class _OktaError(oauth2_errors.OAuth2Error):
    """An Okta error whose code and status differ from oauthlib's class of the same meaning."""

    def __init__(self, error: str, description: str, status_code: int, request=None) -> None:
        self.error = error
        super().__init__(description=description, status_code=status_code, request=request)


def _list(values) -> str:
    return "[" + ", ".join(values) + "]"


def client_auth_failed(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidClientError(description=CLIENT_AUTH_FAILED, request=request)


def no_client_credentials(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidClientError(description=NO_CLIENT_CREDENTIALS, request=request)


def multiple_credentials(request=None) -> oauth2_errors.OAuth2Error:
    return _OktaError("invalid_request", MULTIPLE_CREDENTIALS, 401, request)


def unauthorized_grant(configured: tuple[str, ...], request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.UnauthorizedClientError(
        description="The client is not authorized to use the provided grant type. "
        f"Configured grant types: {_list(configured)}.",
        request=request,
    )


def invalid_scope_not_configured(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidScopeError(description=SCOPES_NOT_CONFIGURED, request=request)


def no_default_scopes(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidScopeError(description=NO_DEFAULT_SCOPES, request=request)


def openid_with_client_credentials(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidScopeError(description=OPENID_WITH_CLIENT_CREDENTIALS, request=request)


def access_denied_policy(request=None) -> oauth2_errors.OAuth2Error:
    return _OktaError("access_denied", POLICY_EVALUATION_FAILED, 401, request)


def scopes_denied(denied: list[str], request=None) -> oauth2_errors.OAuth2Error:
    return _OktaError(
        "access_denied",
        f"Some of the requested scopes were denied by the policy. Denied scopes: {_list(denied)}.",
        400,
        request,
    )


def invalid_target(audience: str, request=None) -> oauth2_errors.OAuth2Error:
    return _OktaError(
        "invalid_target",
        f"The 'resource' parameter must be the authorization server's audience: {audience}.",
        400,
        request,
    )


def code_invalid(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidGrantError(description=CODE_INVALID, request=request)


def refresh_invalid(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidGrantError(description=REFRESH_INVALID, request=request)


def pkce_failed(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidGrantError(description=PKCE_FAILED, request=request)


def redirect_mismatch(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidGrantError(description=REDIRECT_MISMATCH, request=request)


def pkce_method_unsupported(request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidRequestError(description=PKCE_METHOD_UNSUPPORTED, request=request)


def translate_token_error(body: str, status: int, grant_type: str | None) -> tuple[str, int]:
    """Okta's wording for the token-endpoint errors oauthlib raises before any validator hook.

    oauthlib routes a missing or unknown ``grant_type`` to its default grant, which answers
    ``unsupported_grant_type`` with no description, and reports a missing PKCE verifier as
    ``invalid_request "Code verifier required."``; Okta answers as below. Other errors pass
    through unchanged.
    """
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return body, status
    if not isinstance(payload, dict) or "error" not in payload:
        return body, status
    error, description = payload["error"], payload.get("error_description", "")
    if error == "unsupported_grant_type" and not description:
        if not grant_type:
            payload = {
                "error": "invalid_request",
                "error_description": "The token request must specify a 'grant_type'. "
                f"Valid values: {_list(SUPPORTED_GRANT_TYPES)}",
            }
        else:
            payload["error_description"] = (
                "The authorization grant type is not supported by the authorization server. "
                f"Configured grant types: {_list(SUPPORTED_GRANT_TYPES)}."
            )
        return json.dumps(payload), 400
    if error == "invalid_request" and description == "Code verifier required.":
        return json.dumps({"error": "invalid_grant", "error_description": PKCE_FAILED}), 400
    return body, status
