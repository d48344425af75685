"""oauthlib's ``RequestValidator`` over the local tenant: the decisions Okta makes, as data lookups.

oauthlib runs the protocol (which checks happen for which grant, in which order); this class
answers its questions from the tenant: is this client who it says, may it use this grant, are
these scopes configured and does an access policy grant them (``policy.py``), is this code
valid. Where Okta's answer is an error with its own wording (from its catalogue, ``errors.py``),
the method raises it instead of returning ``False``, so oauthlib sends Okta's text. Refresh
tokens, introspection and revocation are in ``lifecycle.py``. One validator per authorization
server (``server_id``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from urllib.parse import unquote, urlsplit

from oauthlib.oauth2 import RequestValidator

from . import errors
from .cimd import CIMD_LABEL
from .device import DeviceCodeValidation
from .client_assertions import authenticate_client_assertion
from .lifecycle import TokenLifecycle
from .policy import evaluate_policy
from .redirects import is_registered_redirect_uri
from .state import CODE_LIFETIME, ORG_SERVER, CodeRecord, OktaState, now
from .tenant import OIDC_SCOPES, App, AuthorizationServer, PolicyRule

__all__ = ["OktaRequestValidator"]


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an ``Authorization: Basic`` header, or ``None``."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: both parts are form-urlencoded before Base64 (most clients skip it)
    return unquote(client_id), unquote(secret)


class OktaRequestValidator(DeviceCodeValidation, TokenLifecycle, RequestValidator):
    """Answers oauthlib's questions for one authorization server of the local tenant."""

    def __init__(self, state: OktaState, server_id: str) -> None:
        super().__init__()
        self.state = state
        self.server_id = server_id

    def _server(self) -> AuthorizationServer:
        server = self.state.server(self.server_id)
        if server is None:  # the app routes unknown ids to 404 before oauthlib runs
            raise LookupError(f"unknown authorization server {self.server_id!r}")
        return server

    def _app(self, client_id: str | None) -> App | None:
        return self.state.app(client_id)

    def _evaluate(self, app: App, grant_type: str, scopes: list[str], request) -> PolicyRule:
        return evaluate_policy(self._server(), app, grant_type, scopes, request)

    # -- client authentication -----------------------------------------------------------

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        """Public apps (auth method ``none``) sending only ``client_id`` skip authentication."""
        if request.headers.get("Authorization") or request.client_secret or request._params.get("client_assertion"):
            return True
        app = self._app(request.client_id)
        return not (app is not None and app.is_public)

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        basic = _basic_credentials(request.headers.get("Authorization"))
        body_secret, assertion = request.client_secret, request._params.get("client_assertion")
        if basic and (body_secret or assertion) or (body_secret and assertion):
            raise errors.multiple_credentials(request)
        if basic:
            client_id, secret = basic
            if request.client_id and request.client_id != client_id:
                raise errors.invalid_client(request=request)
        elif body_secret:
            client_id, secret = request.client_id, body_secret
        elif assertion:  # private_key_jwt (client_assertions.py); client_secret_jwt is not emulated
            return self._authenticate_assertion(request)
        elif request.headers.get("Authorization"):  # invalid_basic_auth_creds
            raise errors.invalid_client("Found Authentication header but was not valid client credentials.", request)
        else:
            raise errors.invalid_client(errors.NO_CLIENT_CREDENTIALS, request)
        app = self._app(client_id)
        if app is None:
            raise errors.invalid_client(errors.INVALID_CLIENT_ID, request)
        if app.is_public or app.uses_private_key or app.client_secret is None:
            raise errors.invalid_client(request=request)
        if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
            raise errors.invalid_client(errors.INVALID_CLIENT_SECRET, request)
        if self.server_id == ORG_SERVER and request.grant_type == "client_credentials":
            raise errors.invalid_client(errors.ORG_SERVER_NEEDS_PRIVATE_KEY_JWT, request)
        if app.dpop_required and not request.headers.get("DPoP"):
            raise errors.dpop_missing(request)
        request.client, request.client_id = app, app.client_id
        return True

    def _authenticate_assertion(self, request) -> bool:
        """A ``client_assertion`` (private_key_jwt), checked for the endpoint invoked (its ``aud``)."""
        path = urlsplit(request.uri).path.rstrip("/")  # .../v1/token, introspect, revoke, device/authorize
        endpoint = path.split("/v1/", 1)[-1]
        app = authenticate_client_assertion(self.state, self.server_id, dict(request._params),
                                            self.state.endpoint(self.server_id, endpoint), request)
        if app.dpop_required and not request.headers.get("DPoP"):
            raise errors.dpop_missing(request)
        request.client, request.client_id = app, app.client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        app = self._app(client_id)
        if app is None:
            raise errors.invalid_client(errors.INVALID_CLIENT_ID, request)
        if not app.is_public:
            raise errors.invalid_client(request=request)
        request.client = app
        return True

    # -- authorization endpoint ----------------------------------------------------------

    def validate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        app = self._app(client_id)
        if app is not None:
            request.client = app
        return app is not None

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        app = self._app(client_id)
        if app is not None and app.label == CIMD_LABEL:  # a metadata document's redirect URIs: exact match
            return redirect_uri in app.redirect_uris
        return app is not None and is_registered_redirect_uri(redirect_uri, app.redirect_uris)

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        return None  # Okta requires redirect_uri on every authorize request

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        app = self._app(client_id)
        if app is None or response_type != "code":
            return False
        if "authorization_code" not in app.grant_types:
            raise errors.unauthorized_grant(app.grant_types, request)
        return True

    def is_pkce_required(self, client_id, request) -> bool:
        app = self._app(client_id)
        return bool(app and (app.is_public or app.require_pkce))

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        record = CodeRecord(
            server_id=self.server_id, client_id=client_id, redirect_uri=request.redirect_uri,
            scopes=list(request.scopes), login=request.okta_user.login, auth_time=request.okta_auth_time,
            code_challenge=request.code_challenge, code_challenge_method=request.code_challenge_method,
            nonce=request.nonce, expires_at=time.monotonic() + CODE_LIFETIME,
            family=secrets.token_urlsafe(12),  # one sign-in: its refresh and access tokens
            rule=getattr(request, "okta_rule", None),
        )
        with self.state.store.lock:
            self.state.store.codes[code["code"]] = record

    # -- grants and scopes ---------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type not in client.grant_types:
            raise errors.unauthorized_grant(client.grant_types, request)
        return True

    def validate_user(self, username, password, client, request, *args, **kwargs) -> bool:
        """The password grant: no app of the tutorial may use it (Okta answers unauthorized_client)."""
        if "password" not in client.grant_types:
            raise errors.unauthorized_grant(client.grant_types, request)
        user = self.state.tenant.user(username or "")
        if user is None or not self.state.password_accepted(user, password or ""):  # with the lockout
            raise errors.invalid_grant("The credentials provided were invalid.", request)  # invalid_password_credentials
        request.user = request.okta_user = user
        request.okta_auth_time = now()
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return [scope.name for scope in self._server().scopes if scope.default]

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        server = self._server()
        grant_type = request.grant_type or "authorization_code"  # authorize requests have none
        if not scopes:
            raise errors.invalid_scope(errors.NO_DEFAULT_SCOPES, request)
        if grant_type == "client_credentials" and "openid" in scopes:
            raise errors.invalid_scope(errors.OPENID_WITH_CLIENT_CREDENTIALS, request)
        known = set(OIDC_SCOPES) | {scope.name for scope in server.scopes}
        if any(scope not in known for scope in scopes):
            raise errors.invalid_scope(request=request)
        if grant_type == "client_credentials":  # "Block services from requesting this scope" (consent guide)
            needs_consent = [name for name in scopes if (found := server.scope(name))
                             and found.consent_required and found.block_services]
            if needs_consent:
                raise errors.OktaError("consent_required", errors.CONSENT_WITH_CLIENT_CREDENTIALS.format(
                    errors.listed(needs_consent)), 400, request)
        app = client if isinstance(client, App) else self._app(client_id)
        request.okta_rule = self._evaluate(app, grant_type, scopes, request)
        return True

    # -- authorization code exchange -----------------------------------------------------

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        record = self.state.store.take_code(code)  # single use: spent even if the exchange fails
        if record is None or time.monotonic() > record.expires_at:
            raise errors.invalid_grant(errors.CODE_INVALID, request)
        if record.server_id != self.server_id:
            raise errors.invalid_request(errors.GRANT_OF_ANOTHER_SERVER, request)
        if record.client_id != client.client_id:
            raise errors.invalid_grant(errors.GRANT_OF_ANOTHER_CLIENT, request)
        if record.code_challenge is None and request.code_verifier is not None:
            raise errors.invalid_request(errors.PKCE_NOT_STARTED, request)
        user = self.state.tenant.user(record.login)
        if user is None:
            raise errors.invalid_grant(errors.CODE_INVALID, request)
        request.okta_code, request.scopes = record, list(record.scopes)
        request.user = request.okta_user = user
        request.okta_auth_time, request.okta_nonce, request.okta_family = record.auth_time, record.nonce, record.family
        # [OIDC ref] "Subtle behavior": for the authorization_code grant the policy is not evaluated
        # again; the rule matched at sign-in still decides the lifetimes.
        request.okta_rule = record.rule or self._evaluate(client, "authorization_code", request.scopes, request)
        return True

    def get_code_challenge(self, code, request):
        record = getattr(request, "okta_code", None)
        return record.code_challenge if record else None

    def get_code_challenge_method(self, code, request):
        record = getattr(request, "okta_code", None)
        return record.code_challenge_method if record else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs) -> bool:
        record = getattr(request, "okta_code", None)
        if record is None or redirect_uri != record.redirect_uri:
            raise errors.invalid_grant(errors.REDIRECT_MISMATCH, request)
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        self.state.store.take_code(code)  # already taken by validate_code; kept for clarity
