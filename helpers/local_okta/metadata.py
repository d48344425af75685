"""The discovery documents an Okta authorization server publishes (RFC 8414 and OpenID).

Built here rather than with oauthlib's ``MetadataEndpoint``: that class refuses an
``http://`` issuer (it checks ``is_secure_transport``, which only the process-wide
``OAUTHLIB_INSECURE_TRANSPORT`` variable relaxes), and Okta's documents carry fields it
does not produce.

Two endpoints Okta lists are left out because the local server does not serve them:
``registration_endpoint`` (dynamic client registration, which at Okta needs an admin's token) and
``end_session_endpoint`` (sign-out). A client that reads the metadata then finds no endpoint
rather than a 404. ``device_authorization_endpoint`` is ``{issuer}/v1/device/authorize``
(``device.py``).
"""

from __future__ import annotations

from typing import Any

from .iss_parameter import METADATA_FIELD as ISS_FIELD
from .state import ORG_SERVER, OktaState
from .tenant import OIDC_SCOPES, SUPPORTED_GRANT_TYPES

__all__ = ["authorization_server_metadata"]

_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"]


def authorization_server_metadata(state: OktaState, server_id: str, *, openid: bool) -> dict[str, Any]:
    """``{issuer}/.well-known/oauth-authorization-server`` (or ``openid-configuration``)."""
    server = state.server(server_id)
    endpoint = lambda name: state.endpoint(server_id, name)  # noqa: E731
    published = [scope.name for scope in server.scopes if scope.metadata_publish]
    claims = ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "sub"]
    document: dict[str, Any] = {
        "issuer": state.issuer(server_id),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
    }
    if openid:
        document["userinfo_endpoint"] = endpoint("userinfo")
    document.update(
        {
            "jwks_uri": endpoint("keys"),
            "response_types_supported": [
                "code", "id_token", "code id_token", "code token", "id_token token", "code id_token token",
            ],
            "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
            "grant_types_supported": list(SUPPORTED_GRANT_TYPES),
            "subject_types_supported": ["public"],
            "scopes_supported": list(OIDC_SCOPES) + published,
            "token_endpoint_auth_methods_supported": list(_AUTH_METHODS),
            "claims_supported": claims if not openid else claims + [
                "name", "email", "email_verified", "preferred_username", "auth_time", "amr",
                "idp", "nonce", "at_hash",
            ],
            "code_challenge_methods_supported": ["S256"],
            "introspection_endpoint": endpoint("introspect"),
            "introspection_endpoint_auth_methods_supported": list(_AUTH_METHODS),
            "revocation_endpoint": endpoint("revoke"),
            "revocation_endpoint_auth_methods_supported": list(_AUTH_METHODS),
            "device_authorization_endpoint": endpoint("device/authorize"),
            # Okta honours request= (a signed request object); the local server does not read it, so
            # it says so rather than advertise Okta's true and ignore the parameter.
            "request_parameter_supported": False,
        }
    )
    if openid:
        document["id_token_signing_alg_values_supported"] = ["RS256"]
    if state.cimd_urls:  # the CIMD switch (cimd.py): off by default
        document["client_id_metadata_document_supported"] = True
    if state.authorization_response_iss:  # RFC 9207, behind a switch (iss_parameter.py: inferred)
        document[ISS_FIELD] = True
    if server_id == ORG_SERVER:
        document["scopes_supported"] = list(OIDC_SCOPES) + [s.name for s in server.scopes]
    return document
