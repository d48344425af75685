"""oauthlib's ``Server`` wired for one authorization server of the local tenant.

oauthlib's pre-configured :class:`oauthlib.oauth2.Server` provides the authorization,
token, introspection, revocation and resource endpoints and every grant. This module
plugs the Okta specifics into oauthlib's extension points only:

- the request validator (``validator.py``) answers its questions from the tenant;
- ``token_generator`` / ``refresh_token_generator`` / ``token_expires_in`` shape tokens;
- token modifiers add ``id_token`` and drop refresh tokens Okta would not issue;
- custom validators check what Okta checks before signing anyone in: ``state`` (required),
  ``prompt=none`` (there is never a session here: ``login_required``), PKCE (required by the
  app, S256 only) and the RFC 8707 ``resource`` parameter, each with Okta's catalogue text;
- the PKCE table holds S256 only, so ``plain`` is never accepted;
- two custom grants for the AI agent token exchange (``token_exchange.py`` answers token exchange,
  ``jwt_bearer.py`` the JWT bearer grant of an ID-JAG at custom authorization servers).
"""

from __future__ import annotations

from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from . import errors
from .id_jag import JWT_BEARER, TOKEN_EXCHANGE
from .jwt_bearer import JwtBearerGrant
from .state import ORG_SERVER, OktaState
from .token_exchange import TokenExchangeGrant
from .tokens import access_token_generator, id_token_modifier, refresh_token_generator, token_lifetime
from .validator import OktaRequestValidator

__all__ = ["build_oauth_server"]


def _s256_or_okta_error(verifier: str, challenge: str) -> bool:
    """oauthlib's S256 check; a mismatch raises Okta's ``invalid_grant "PKCE verification failed."``."""
    if not code_challenge_method_s256(verifier, challenge):
        raise errors.invalid_grant(errors.PKCE_FAILED)
    return True


def build_oauth_server(state: OktaState, server_id: str) -> Server:
    """An oauthlib ``Server`` issuing Okta-shaped tokens for the authorization server ``server_id``."""
    validator = OktaRequestValidator(state, server_id)
    server = Server(
        validator,
        token_expires_in=lambda request: token_lifetime(state, request),
        token_generator=access_token_generator(state, server_id),
        refresh_token_generator=refresh_token_generator,
    )

    # PKCE: S256 only (an instance attribute shadowing oauthlib's class-level table).
    server.auth_grant._code_challenge_methods = {"S256": _s256_or_okta_error}

    def check_state_and_prompt(request) -> dict:
        if not request.state:  # invalid_state
            raise errors.invalid_request(errors.INVALID_STATE, request)
        if request.prompt and "none" in request.prompt.split():  # no sessions here: login_required
            raise errors.OktaError("login_required", errors.LOGIN_REQUIRED, 400, request)
        return {}

    def check_pkce(request) -> dict:
        if request.code_challenge is None:
            if validator.is_pkce_required(request.client_id, request):  # pkce_missing_challenge
                raise errors.invalid_request(errors.PKCE_REQUIRED, request)
        elif request.code_challenge_method != "S256":  # pkce_unsupported_code_challenge_method
            raise errors.invalid_request(errors.PKCE_METHOD_UNSUPPORTED, request)
        return {}

    def check_resource(request) -> dict:
        resource = request.resource
        if resource and state.tenant.resource_parameter and resource != state.server(server_id).audience:
            raise errors.invalid_target(resource, request)
        return {}

    server.auth_grant.custom_validators.pre_auth.extend([check_state_and_prompt, check_pkce, check_resource])
    for grant in (server.auth_grant, server.credentials_grant, server.refresh_grant):
        grant.custom_validators.post_token.append(check_resource)

    def drop_unwanted_refresh_token(token: dict, token_handler, request) -> dict:
        """Okta issues a refresh token only for ``offline_access`` on an app allowed the grant."""
        if "refresh_token" in token and not (
            "offline_access" in (request.scopes or [])
            and "refresh_token" in request.client.grant_types
        ):
            del token["refresh_token"]
        return token

    for grant in (server.auth_grant, server.refresh_grant):
        grant.register_token_modifier(id_token_modifier(state, server_id))
        grant.register_token_modifier(drop_unwanted_refresh_token)

    # Cross App Access: the token exchange for an ID-JAG (the org server; elsewhere refused in Okta's
    # words) and the JWT bearer grant of an ID-JAG (custom servers only: the org never takes its own)
    server.grant_types[TOKEN_EXCHANGE] = TokenExchangeGrant(validator, state, server_id)
    if server_id != ORG_SERVER:
        server.grant_types[JWT_BEARER] = JwtBearerGrant(validator, state, server_id)
    return server
