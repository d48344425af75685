"""oauthlib's ``RequestValidator`` over the local tenant: the decisions Okta makes, as data lookups.

oauthlib runs the protocol (which checks happen for which grant, in which order); this class
answers its questions from the tenant: is this client who it says, may it use this grant,
are these scopes configured and does an access policy grant them, is this code or refresh
token valid. Where Okta's answer is an error with its own wording, the method raises the
error from ``errors.py`` instead of returning ``False``, so oauthlib sends Okta's text.

One validator serves one authorization server (``server_id``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from urllib.parse import unquote

from oauthlib.oauth2 import RequestValidator

from . import errors
from .state import CODE_LIFETIME, CodeRecord, OktaState, RefreshRecord, now
from .tenant import OIDC_SCOPES, App, AuthorizationServer, PolicyRule, Tenant

__all__ = ["OktaRequestValidator", "evaluate_policy"]


def evaluate_policy(
    tenant: Tenant, server: AuthorizationServer, app: App, grant_type: str, scopes: list[str], request=None
) -> PolicyRule:
    """The policy rule that grants ``scopes`` to ``app`` for ``grant_type``, as Okta picks it.

    The first policy (in priority order) assigned to the app is evaluated; its first rule
    whose grant types include ``grant_type`` and whose scopes cover the request wins.
    No policy or no rule for the grant: 401 access_denied "Policy evaluation failed...".
    Rules for the grant exist but none covers every scope: 400 access_denied naming the
    denied scopes.
    """
    policy = next((p for p in server.policies if app.label in p.assigned_to), None)
    if policy is None:
        raise errors.access_denied_policy(request)
    rules = [rule for rule in policy.rules if grant_type in rule.grant_types]
    if not rules:
        raise errors.access_denied_policy(request)
    for rule in rules:
        if all(rule.allows(scope) for scope in scopes):
            return rule
    denied = [scope for scope in scopes if not rules[0].allows(scope)]
    raise errors.scopes_denied(denied, request)


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


class OktaRequestValidator(RequestValidator):
    """Answers oauthlib's questions for one authorization server of the local tenant."""

    def __init__(self, state: OktaState, server_id: str) -> None:
        super().__init__()
        self.state = state
        self.server_id = server_id

    # -- helpers -------------------------------------------------------------------------

    def _server(self) -> AuthorizationServer:
        server = self.state.server(self.server_id)
        if server is None:  # the app routes unknown ids to 404 before oauthlib runs
            raise LookupError(f"unknown authorization server {self.server_id!r}")
        return server

    def _app(self, client_id: str | None) -> App | None:
        return self.state.tenant.app(client_id=client_id) if client_id else None

    @staticmethod
    def _param(request, name: str) -> str | None:
        return request._params.get(name) or None

    # -- client authentication -----------------------------------------------------------

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        """Public apps (auth method ``none``) sending only ``client_id`` skip authentication."""
        if request.headers.get("Authorization") or request.client_secret:
            return True
        if self._param(request, "client_assertion"):
            return True
        app = self._app(request.client_id)
        return not (app is not None and app.is_public)

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        basic = _basic_credentials(request.headers.get("Authorization"))
        body_secret = request.client_secret
        assertion = self._param(request, "client_assertion")
        if basic and (body_secret or assertion) or (body_secret and assertion):
            raise errors.multiple_credentials(request)
        if basic:
            client_id, secret = basic
            if request.client_id and request.client_id != client_id:
                raise errors.client_auth_failed(request)
        elif body_secret:
            client_id, secret = request.client_id, body_secret
        elif assertion:
            # private_key_jwt / client_secret_jwt are not emulated: no app here has a JWKS
            raise errors.client_auth_failed(request)
        else:
            raise errors.no_client_credentials(request)
        app = self._app(client_id)
        if app is None or app.is_public or app.client_secret is None:
            raise errors.client_auth_failed(request)
        if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
            raise errors.client_auth_failed(request)
        request.client = app
        request.client_id = app.client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        app = self._app(client_id)
        if app is None or not app.is_public:
            raise errors.client_auth_failed(request)
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
        return app is not None and redirect_uri in app.redirect_uris

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
        user = request.okta_user
        record = CodeRecord(
            server_id=self.server_id,
            client_id=client_id,
            redirect_uri=request.redirect_uri,
            scopes=list(request.scopes),
            login=user.login,
            auth_time=request.okta_auth_time,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            nonce=request.nonce,
            expires_at=time.monotonic() + CODE_LIFETIME,
        )
        with self.state.store.lock:
            self.state.store.codes[code["code"]] = record

    # -- grants and scopes ---------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type not in client.grant_types:
            raise errors.unauthorized_grant(client.grant_types, request)
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return [scope.name for scope in self._server().scopes if scope.default]

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        server = self._server()
        grant_type = request.grant_type or "authorization_code"  # authorize requests have none
        if not scopes:
            raise errors.no_default_scopes(request)
        if grant_type == "client_credentials" and "openid" in scopes:
            raise errors.openid_with_client_credentials(request)
        known = set(OIDC_SCOPES) | {scope.name for scope in server.scopes}
        if any(scope not in known for scope in scopes):
            raise errors.invalid_scope_not_configured(request)
        app = client if isinstance(client, App) else self._app(client_id)
        request.okta_rule = evaluate_policy(self.state.tenant, server, app, grant_type, scopes, request)
        return True

    # -- authorization code exchange -----------------------------------------------------

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        record = self.state.store.take_code(code)  # single use: spent even if the exchange fails
        if (
            record is None
            or record.server_id != self.server_id
            or record.client_id != client.client_id
            or time.monotonic() > record.expires_at
        ):
            raise errors.code_invalid(request)
        user = self.state.tenant.user(record.login)
        if user is None:
            raise errors.code_invalid(request)
        request.okta_code = record
        request.scopes = list(record.scopes)
        request.user = request.okta_user = user
        request.okta_auth_time = record.auth_time
        request.okta_nonce = record.nonce
        request.okta_rule = evaluate_policy(
            self.state.tenant, self._server(), client, "authorization_code", request.scopes, request
        )
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
            raise errors.redirect_mismatch(request)
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        self.state.store.take_code(code)  # already taken by validate_code; kept for clarity

    # -- refresh tokens ------------------------------------------------------------------

    def _refresh_record(self, token: str) -> RefreshRecord | None:
        with self.state.store.lock:
            record = self.state.store.refresh_tokens.get(token)
        if record is None or record.server_id != self.server_id:
            return None
        if record.expires_at is not None and time.time() > record.expires_at:
            return None
        return record

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        record = self._refresh_record(refresh_token)
        if record is None or record.client_id != client.client_id:
            raise errors.refresh_invalid(request)
        user = self.state.tenant.user(record.login)
        if user is None:
            raise errors.refresh_invalid(request)
        request.user = request.okta_user = user
        request.okta_auth_time = record.auth_time
        request.okta_refresh = record
        request.okta_rule = evaluate_policy(
            self.state.tenant, self._server(), client, "authorization_code", record.scopes, request
        )
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        return list(request.okta_refresh.scopes)

    def is_within_original_scope(self, request_scopes, refresh_token, request, *args, **kwargs) -> bool:
        return False

    def rotate_refresh_token(self, request) -> bool:
        return request.okta_rule.rotate_refresh_token

    # -- issued tokens -------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        new = token.get("refresh_token")
        old = request.refresh_token
        if not new or new == old:
            return
        rule: PolicyRule = request.okta_rule
        issued = now()
        record = RefreshRecord(
            server_id=self.server_id,
            client_id=request.client.client_id,
            scopes=list(request.scopes),
            login=request.okta_user.login,
            auth_time=request.okta_auth_time,
            issued_at=issued,
            expires_at=None if rule.refresh_token_lifetime is None else issued + rule.refresh_token_lifetime,
        )
        with self.state.store.lock:
            self.state.store.refresh_tokens[new] = record
            if old:  # rotation: the refresh token just used stops working
                self.state.store.refresh_tokens.pop(old, None)

    # -- introspection and revocation ----------------------------------------------------

    def _access_claims(self, token: str) -> dict | None:
        claims = self.state.keys[self.server_id].verify(token)
        if not claims or "scp" not in claims or claims.get("iss") != self.state.issuer(self.server_id):
            return None
        if claims.get("exp", 0) <= time.time():
            return None
        with self.state.store.lock:
            if claims.get("jti") in self.state.store.revoked_jtis:
                return None
        return claims

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs) -> dict | None:
        claims = self._access_claims(token)
        if claims is not None:
            result = {
                "scope": " ".join(claims["scp"]),
                "username": claims["sub"],
                "exp": claims["exp"],
                "iat": claims["iat"],
                "sub": claims["sub"],
                "aud": claims["aud"],
                "iss": claims["iss"],
                "jti": claims["jti"],
                "token_type": "Bearer",
                "client_id": claims["cid"],
            }
            if "uid" in claims:
                result["uid"] = claims["uid"]
            return result
        record = self._refresh_record(token)
        if record is None:
            return None
        user = self.state.tenant.user(record.login)
        result = {
            "scope": " ".join(record.scopes),
            "username": record.login,
            "iat": record.issued_at,
            "sub": record.login,
            "aud": self._server().audience,
            "iss": self.state.issuer(self.server_id),
            "token_type": "Bearer",
            "client_id": record.client_id,
        }
        if record.expires_at is not None:
            result["exp"] = int(record.expires_at)
        if user is not None:
            result["uid"] = user.uid
        return result

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        client_id = request.client.client_id
        with self.state.store.lock:
            record = self.state.store.refresh_tokens.get(token)
            if record is not None and record.client_id == client_id and record.server_id == self.server_id:
                del self.state.store.refresh_tokens[token]
                return
        claims = self.state.keys[self.server_id].verify(token)
        if claims and claims.get("cid") == client_id and "jti" in claims:
            with self.state.store.lock:
                self.state.store.revoked_jtis.add(claims["jti"])

    # -- userinfo (oauthlib's ResourceEndpoint) ------------------------------------------

    def validate_bearer_token(self, token, scopes, request) -> bool:
        claims = self._access_claims(token) if token else None
        if claims is None or not all(scope in claims["scp"] for scope in scopes or []):
            return False
        user = self.state.tenant.user(claims["sub"]) if "uid" in claims else None
        if user is None:
            return False
        request.okta_user = user
        request.okta_claims = claims
        return True

