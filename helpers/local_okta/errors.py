"""Okta's error codes, HTTP statuses and texts, as oauthlib exceptions.

Every text comes from Okta's error catalogue (``oauth2-error-codes.json`` in
okta/okta-developer-docs, release 2026.08.1; the catalogue's internal code is named beside each).
The request validator raises these from inside oauthlib's grant validation, so oauthlib turns
them into the JSON body ``{"error", "error_description"}`` with Okta's status.
:func:`translate_token_error` rewrites the few errors oauthlib raises itself (before any
validator hook runs) into Okta's wording.
"""

from __future__ import annotations

import json

from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from .tenant import SUPPORTED_GRANT_TYPES

CLIENT_AUTH_FAILED = "Client authentication failed. Either the client or the client credentials are invalid."  # invalid_client
INVALID_CLIENT_ID = "Invalid value for 'client_id' parameter."  # invalid_client_id
INVALID_CLIENT_SECRET = "The client secret supplied for a confidential client is invalid."  # invalid_client_secret
ORG_SERVER_NEEDS_PRIVATE_KEY_JWT = (  # unsupported_auth_method_client_creds
    "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method."
)
NO_CLIENT_CREDENTIALS = "No client credentials found."  # missing_client_credentials
MULTIPLE_CREDENTIALS = (  # multiple_client_credentials
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
CREDENTIALS_IN_QUERY = "Client credentials cannot be supplied via query parameters."  # client_credentials_in_query
SCOPES_NOT_CONFIGURED = "One or more scopes are not configured for the authorization server resource."
NO_DEFAULT_SCOPES = (
    "The authorization server resource does not have any configured default scopes, 'scope' must be provided."
)
OPENID_WITH_CLIENT_CREDENTIALS = "Cannot request 'openid' scopes using client credentials."  # openid_not_allowed_client_creds
CLIENT_ASSERTION_INVALID_JWT = "The parsing of the client_assertion failed."  # client_assertion_invalid_jwt
POLICY_EVALUATION_FAILED = "Policy evaluation failed for this request, please check the policy configurations."  # no_matching_policy
USER_NOT_ASSIGNED = "User is not assigned to the client application."  # user_not_assigned
CODE_INVALID = "The authorization code is invalid or has expired."
REFRESH_INVALID = "The refresh token is invalid or expired."  # invalid_refresh_token
GRANT_OF_ANOTHER_CLIENT = (  # mismatched_client
    "The grant was issued to another client. Please make sure the 'client_id' matches the one used at the authorize request."
)
GRANT_OF_ANOTHER_SERVER = "The grant was issued for another authorization server."  # mismatched_authorization_server
PKCE_FAILED = "PKCE verification failed."  # pkce_verification_failed
PKCE_NOT_STARTED = "PKCE code challenge should be specified in the authorize request for code verification."  # pkce_missing_challenge_verifier_present
PKCE_REQUIRED = "PKCE code challenge is required by the application."  # pkce_missing_challenge
PKCE_VERIFIER_REQUIRED = "PKCE code verifier is required by the application."  # pkce_missing_verifier
PKCE_METHOD_UNSUPPORTED = "PKCE code challenge method is not supported. Valid values: [S256]"  # pkce_unsupported_code_challenge_method
REDIRECT_MISMATCH = "The 'redirect_uri' does not match the redirection URI used in the authorization request."
REDIRECT_NOT_REGISTERED = "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
INVALID_STATE = "The authentication request has an invalid 'state' parameter."  # invalid_state
LOGIN_REQUIRED = "The client specified not to prompt, but the user is not logged in."  # login_required
USER_DENIED = "The resource owner or authorization server denied the request."  # access_denied
DPOP_HEADER_MISSING = "The DPoP proof JWT header is missing."  # invalid_dpop_proof_missing_header
RESOURCE_REJECTED = "The authorization server has rejected the 'resource' parameter: {0}"  # unsupported_resource
REFRESH_SCOPES_DENIED = (  # refresh_scopes_denied
    "Some of the scopes requested for the refresh request were not granted in the original authorize request. "
    "Denied scopes: {0}."
)
CONSENT_WITH_CLIENT_CREDENTIALS = (  # consent_required_client_credentials
    "The following scopes require user consent and cannot be granted for the client credentials grant type: {0}."
)
RESPONSE_TYPE_UNSUPPORTED = (  # unsupported_response_type
    "The response type is not supported by the authorization server. Configured response types: {0}."
)
RESPONSE_MODE_UNSUPPORTED = (  # unsupported_response_mode
    "The response mode is not supported by the authorization server. Valid response modes: "
    "[query, fragment, form_post, okta_post_message]."
)
POST_MESSAGE_WITH_CODE = "'okta_post_message' response mode cannot be used with the 'code' response type."  # unsupported_response_mode_okta_post_message_with_code
INVALID_PROMPT = "Invalid value for 'prompt' parameter. Supported values: [none, consent, login, enroll_authenticator]"  # invalid_prompt
INVALID_MAX_AGE = "Invalid value for 'max_age' parameter. It should be within range 0 - 2^31-1."  # invalid_max_age
PKCE_ILLEGAL_CHARACTERS = "PKCE code challenge contains illegal characters."  # pkce_invalid_challenge
MISSING_PARAMETER = "The required parameter '{0}' is missing."  # missing_token_request_parameter
MISSING_TOKEN = "The 'token' parameter is required."  # request_missing_token
DUPLICATED_PARAMETERS = "Duplicate parameter provided in request. Duplicated parameters: [{0}]."  # illegal_duplicated_parameters
ACCESS_TOKEN_MISSING = "The access token is missing."  # access_token_missing (401)
ACCESS_TOKEN_IN_QUERY = "The access token cannot be presented in a query string."  # access_token_in_query
ACCESS_TOKEN_TWICE = "The access token cannot be specified in both the Authorization header and the request-body."  # access_token_duplicate


class OktaError(oauth2_errors.OAuth2Error):
    """An Okta error whose code and status differ from oauthlib's class of the same meaning."""

    def __init__(self, error: str, description: str, status_code: int, request=None) -> None:
        self.error = error
        super().__init__(description=description, status_code=status_code, request=request)


def _list(values) -> str:
    return "[" + ", ".join(values) + "]"


def listed(values) -> str:
    """Values as Okta lists them in a description: ``[a, b]``."""
    return _list(values)


def invalid_client(description: str = CLIENT_AUTH_FAILED, request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidClientError(description=description, request=request)


def multiple_credentials(request=None) -> oauth2_errors.OAuth2Error:
    return OktaError("invalid_request", MULTIPLE_CREDENTIALS, 401, request)


def unauthorized_grant(configured: tuple[str, ...], request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.UnauthorizedClientError(
        description=f"The client is not authorized to use the provided grant type. Configured grant types: {_list(configured)}.",
        request=request,
    )


def invalid_scope(description: str = SCOPES_NOT_CONFIGURED, request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidScopeError(description=description, request=request)


def access_denied_policy(request=None) -> oauth2_errors.OAuth2Error:
    return OktaError("access_denied", POLICY_EVALUATION_FAILED, 401, request)


def user_not_assigned(request=None) -> oauth2_errors.OAuth2Error:
    return OktaError("access_denied", USER_NOT_ASSIGNED, 400, request)


def invalid_target(resource: str, request=None) -> oauth2_errors.OAuth2Error:
    return OktaError("invalid_target", RESOURCE_REJECTED.format(resource), 400, request)


def invalid_grant(description: str, request=None) -> oauth2_errors.OAuth2Error:
    return oauth2_errors.InvalidGrantError(description=description, request=request)


def invalid_request(description: str, request=None, status: int = 400) -> oauth2_errors.OAuth2Error:
    return OktaError("invalid_request", description, status, request)


def dpop_missing(request=None) -> oauth2_errors.OAuth2Error:
    return OktaError("invalid_dpop_proof", DPOP_HEADER_MISSING, 400, request)


def token_error_body(error: str, description: str) -> str:
    return json.dumps({"error": error, "error_description": description})


def translate_token_error(body: str, status: int, grant_type: str | None) -> tuple[str, int]:
    """Okta's wording for the token-endpoint errors oauthlib raises before any validator hook.

    oauthlib routes a missing or unknown ``grant_type`` to its default grant, which answers
    ``unsupported_grant_type`` with no description, and reports a missing PKCE verifier as
    ``invalid_request "Code verifier required."``; Okta answers as below. Other errors pass
    through unchanged, but for a ``state`` oauthlib copies from the request.
    """
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return body, status
    if not isinstance(payload, dict) or "error" not in payload:
        return body, status
    error, description = payload["error"], payload.get("error_description", "")
    if "state" in payload:  # oauthlib echoes a posted `state`; a token error has none (RFC 6749 5.2, Okta)
        body = json.dumps({name: value for name, value in payload.items() if name != "state"})
    if error == "unsupported_grant_type" and not description:
        if not grant_type:  # token_request_missing_grant_type
            return token_error_body("invalid_request", f"The token request must specify a 'grant_type'. "
                                    f"Valid values: {_list(SUPPORTED_GRANT_TYPES)}"), 400
        return token_error_body("unsupported_grant_type", "The authorization grant type is not supported by the "
                                f"authorization server. Configured grant types: {_list(SUPPORTED_GRANT_TYPES)}."), 400
    if error == "invalid_request" and description == "Code verifier required.":
        return token_error_body("invalid_request", PKCE_VERIFIER_REQUIRED), 400
    if error == "invalid_request":
        translated = translate_parameter_error(description)
        if translated != description:
            return token_error_body("invalid_request", translated), 400
    return body, status


_MISSING = {"Missing code parameter.": "code", "Missing refresh token parameter.": "refresh_token",
            "Missing grant type.": "grant_type", "Missing redirect URI.": "redirect_uri",
            "Missing device_code parameter.": "device_code"}


def translate_parameter_error(description: str) -> str:
    """Okta's text for oauthlib's "Missing ... parameter." and "Duplicate ... parameter." errors."""
    if description == "Missing token parameter.":
        return MISSING_TOKEN
    if description in _MISSING:
        return MISSING_PARAMETER.format(_MISSING[description])
    if description.startswith("Duplicate ") and description.endswith(" parameter."):
        return DUPLICATED_PARAMETERS.format(description[len("Duplicate "):-len(" parameter.")].replace(" ", "_"))
    return description
