"""The AI agent token exchange (Cross App Access, XAA): names, Okta's refusals, the ID-JAG's shape.

An AI agent acting for a signed-in user gets its access token in two steps (Okta's *Set up AI
agent token exchange* guide, okta-developer-docs ``docs/guides/ai-agent-token-exchange/``, resource
type *Authorization server*):

1. at the **org** authorization server's ``/oauth2/v1/token``, an RFC 8693 token exchange of the
   user's ID token for an **ID-JAG** (Identity Assertion JWT Authorization Grant) addressed to a
   custom authorization server (``token_exchange.py``);
2. at that custom server's ``/oauth2/{id}/v1/token``, an RFC 7523 JWT bearer grant of the ID-JAG
   for an access token whose ``sub`` is the user and ``cid`` the agent (``jwt_bearer.py``).

The ID-JAG follows the IETF draft *Identity Assertion JWT Authorization Grant*
(draft-ietf-oauth-identity-assertion-authz-grant): header ``typ`` ``oauth-id-jag+jwt``; claims
``iss`` (the IdP, here the org), ``sub``, ``aud`` (the resource authorization server's issuer),
``client_id``, ``jti``, ``exp``, ``iat``, optional ``resource``, ``scope``, ``auth_time``, ``amr``.
Okta answers with ``expires_in`` 300 and refuses one that lives longer than 5 minutes.

Every refusal text below is from Okta's error catalogue (``oauth2-error-codes.json``, release
2026.08.1), its ``internalErrorCode`` beside it. Which refusal Okta gives for which mistake is
mostly not documented: where this module chooses, ``token_exchange.py``/``jwt_bearer.py`` say
"inferred".
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from . import errors

__all__ = [
    "AgentGrant",
    "ACCESS_TOKEN_TYPE",
    "ID_JAG_LIFETIME",
    "ID_JAG_TOKEN_TYPE",
    "ID_JAG_TYP",
    "ID_TOKEN_TYPE",
    "JWT_BEARER",
    "TOKEN_EXCHANGE",
    "id_jag_claims",
    "refuse_duplicates",
    "refusal",
    "set_cross_app_access",
]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
#: the ID-JAG's JOSE header ``typ`` (the IETF draft, section 3)
ID_JAG_TYP = "oauth-id-jag+jwt"
#: seconds an ID-JAG lives (Okta's response example: ``"expires_in": 300``); also the most a
#: custom server accepts (catalogue ``id_jag_lifetime_too_long``: "must not exceed 5 minutes")
ID_JAG_LIFETIME = 300

#: (HTTP status, error, error_description) per catalogue entry
REFUSALS: dict[str, tuple[int, str, str]] = {
    "feature_not_enabled": (403, "server_error", "The requested feature is not enabled in this environment."),
    "unsupported_grant_type_token_exchange": (
        400, "unsupported_grant_type", "'urn:ietf:params:oauth:grant-type:token-exchange' grant type is not supported."),
    "invalid_requested_token_type": (400, "invalid_request", "'requested_token_type' is invalid or not supported."),
    "invalid_subject_token_type": (400, "invalid_request", "'subject_token_type' is invalid or not supported."),
    "invalid_subject_token": (400, "invalid_request", "'subject_token' is invalid."),
    "invalid_subject_token_authorization_server": (
        400, "invalid_request", "'subject_token' is invalid: the authorization server that issued it is not valid."),
    "invalid_subject_token_no_delegation_link": (
        400, "invalid_request", "'subject_token' is invalid: no delegation policy authorizes this token."),
    "invalid_subject_token_client_not_registered": (
        400, "invalid_request",
        "'subject_token' is invalid: the client application is not registered for delegation to this agent."),
    "invalid_subject_token_user_inactive": (
        400, "invalid_request", "'subject_token' is invalid: the user account is not active."),
    "invalid_subject_token_user_not_assigned": (
        400, "invalid_request", "'subject_token' is invalid: the user is not assigned to the client application."),
    "token_exchange_subject_token_expired": (
        400, "invalid_grant", "The 'subject_token' either expired or the session associated with it was terminated."),
    "token_exchange_invalid_audience": (
        400, "invalid_target", "Token Exchange requests must include a valid audience of the authorization server."),
    "token_exchange_invalid_resource": (400, "invalid_target", "'resource' is invalid or not supported."),
    "token_exchange_incomplete_resource_configuration": (
        400, "invalid_target", "The resource app is not completely configured or user is not assigned to the app."),
    "missing_scopes": (400, "invalid_scope", "No scopes were requested."),
    "no_matching_scope": (400, "invalid_scope", errors.SCOPES_NOT_CONFIGURED),
    "scope_denied": (400, "access_denied", "Some of the requested scopes were denied by the policy. Denied scopes: {0}."),
    # step 2: the JWT bearer grant at the custom authorization server
    "id_jag_scopes_in_request": (400, "invalid_request", "The id-jag request must not include a 'scope' parameter."),
    "jwt_bearer_grant_invalid_issuer": (
        401, "invalid_token", "The issuer of the token is not permitted to use the JWT Bearer Grant."),
    "jwt_bearer_grant_invalid_audience": (
        400, "invalid_grant", "The audience of the JWT Bearer Grant must match the the issuer of the authorization server."),
    "id_jag_untrusted_issuer": (400, "invalid_grant", "The issuer of the id-jag is not a trusted authorization server."),
    "id_jag_invalid_signature": (400, "invalid_grant", "The signature of the id-jag is invalid."),
    "id_jag_expired": (400, "invalid_grant", "The id-jag is expired."),
    "id_jag_issued_in_future": (400, "invalid_grant", "The id-jag is issued in the future."),
    "id_jag_lifetime_too_long": (400, "invalid_grant", "The lifetime of the id-jag must not exceed 5 minutes."),
    "id_jag_client_mismatch": (
        400, "invalid_grant", "The 'client_id' in the JWT Bearer Grant must match the 'client_id' used to authenticate the client."),
    "id_jag_replayed": (400, "invalid_grant", "The id-jag was already used."),
    "id_jag_invalid_subject": (400, "invalid_grant", "The 'sub' claim in the id-jag is invalid."),
    "id_jag_lacking_scopes": (400, "invalid_grant", "The id-jag must include at least one scope."),
    "id_jag_resource_mismatch": (
        400, "invalid_grant", "The 'resource' claim in the id-jag does not match the 'resource' parameter in the request."),
    "id_jag_resource_not_allowed_for_as": (
        400, "invalid_grant", "The 'resource' claim in the id-jag is not valid for this authorization server."),
}


def refusal(internal_code: str, request=None, *values: str) -> errors.OktaError:
    """Okta's error for the catalogue entry ``internal_code`` (``values`` fill in ``{0}``...)."""
    status, error, description = REFUSALS[internal_code]
    return errors.OktaError(error, description.format(*values), status, request)


def set_cross_app_access(okta, enabled: bool) -> None:
    """Cross App Access on a running :class:`~helpers.local_okta.LocalOkta` (the default), or off, as in an
    org without it: both steps then answer 403 ``feature_not_enabled``. Survives a scenario switch."""
    state = okta._state  # the package's own object: LocalOkta keeps no more switches than it must
    state.configured.cross_app_access = state.tenant.cross_app_access = bool(enabled)


def refuse_duplicates(request, names: tuple[str, ...]) -> None:
    """Okta's refusal of a parameter sent twice (catalogue ``illegal_duplicated_parameters``)."""
    twice = [name for name in names if name in request.duplicate_params]
    if twice:
        raise errors.invalid_request(errors.DUPLICATED_PARAMETERS.format(", ".join(twice)), request)


def id_jag_claims(*, issuer: str, user, audience: str, client_id: str, scopes: list[str], issued_at: int,
                  auth_time: int | None, resource: str | None = None) -> dict[str, Any]:
    """The claims of an ID-JAG the org authorization server issues (the IETF draft's order).

    ``sub`` is the user's Okta id (as in the ID token it was exchanged for); ``client_id`` the AI
    agent's client id (the same registration at the resource server here: one org).
    """
    claims: dict[str, Any] = {
        "jti": "IDJAG." + secrets.token_urlsafe(24),  # inferred: Okta's prefix for ID-JAGs is not documented
        "iss": issuer,
        "sub": user.uid,
        "aud": audience,
        "client_id": client_id,
        "exp": issued_at + ID_JAG_LIFETIME,
        "iat": issued_at,
    }
    if resource:
        claims["resource"] = resource
    claims["scope"] = " ".join(scopes)
    if auth_time is not None:
        claims["auth_time"] = auth_time
    claims["amr"] = ["pwd"]
    return claims


class AgentGrant(GrantTypeBase):
    """The two grants of the AI agent token exchange (``token_exchange.py``, ``jwt_bearer.py``): an
    oauthlib custom grant whose ``_exchange(request)`` returns the answer's body or raises Okta's error."""

    def __init__(self, request_validator, state, server_id: str) -> None:
        super().__init__(request_validator)
        self.state = state
        self.server_id = server_id

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            body = self._exchange(request)
        except oauth2_errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        return headers, json.dumps(body), 200

    def _exchange(self, request) -> dict:
        raise NotImplementedError
