"""The life of issued tokens: refresh tokens (rotation, grace, reuse), introspection, revocation.

A mixin of :class:`~helpers.local_okta.validator.OktaRequestValidator` (oauthlib asks these
questions after a grant has been validated). What it follows:

- refresh-token rotation is an *app* setting ("Rotate token after every use"; a web app's
  default is a persistent token); a rotated-out token works for the app's grace period, and
  reusing it later "immediately invalidates the most recently issued refresh token and all access
  tokens issued since the user authenticated" (Okta's refresh-tokens guide);
- a rotated token keeps the expiry of the family's first token;
- revoking a refresh token also revokes the access tokens issued with it (revoke-tokens guide);
- a client introspects only its own refresh tokens; any other answers ``{"active": false}``;
- a refresh token unused for its rule's window (seven days by default) expires ("The refresh
  token lifetime does expire every seven days if it hasn't been used", refresh-tokens guide);
- an ID token of this server introspects as active with its claims ([OIDC ref] /introspect takes
  "an access token, ID token, refresh token, or device secret").
"""

from __future__ import annotations

import time

from . import errors
from .state import RefreshRecord, now

__all__ = ["TokenLifecycle", "clock"]


def clock() -> float:
    """Now, in seconds since the epoch (a function, so that a test can move it days ahead)."""
    return time.time()


class TokenLifecycle:
    """Refresh, save, introspect, revoke and userinfo for one authorization server (a mixin)."""

    # -- refresh tokens ------------------------------------------------------------------

    def _refresh_record(self, token: str) -> RefreshRecord | None:
        with self.state.store.lock:
            record = self.state.store.refresh_tokens.get(token)
        if record is None or record.server_id != self.server_id:
            return None
        current = clock()
        if record.expires_at is not None and current > record.expires_at:
            return None
        last_used = record.last_used_at if record.last_used_at is not None else record.issued_at
        if record.idle_window is not None and current - last_used > record.idle_window:
            return None
        return record

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        record = self._refresh_record(refresh_token)
        if record is None or record.client_id != client.client_id:
            raise errors.invalid_grant(errors.REFRESH_INVALID, request)
        if record.replaced_by is not None:  # rotated out: the grace period, or reuse
            if time.time() - (record.rotated_at or 0) > self.state.grace_period(client):
                self.state.store.revoke_family(record.family)  # reuse detected
                raise errors.invalid_grant(errors.REFRESH_INVALID, request)
            request.okta_within_grace = True
        user = self.state.tenant.user(record.login)
        if user is None:
            raise errors.invalid_grant(errors.REFRESH_INVALID, request)
        denied = [scope for scope in (request.scope or "").split() if scope not in record.scopes]
        if denied:  # catalogue refresh_scopes_denied: a refresh may narrow the scopes, never widen them
            raise errors.OktaError("access_denied", errors.REFRESH_SCOPES_DENIED.format(errors.listed(denied)), 400, request)
        request.user = request.okta_user = user
        request.okta_auth_time = record.auth_time
        record.last_used_at = clock()  # used: its idle window starts again
        request.okta_refresh = record
        request.okta_family = record.family
        request.okta_rule = self._evaluate(client, record.grant_type, record.scopes, request)
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        return list(request.okta_refresh.scopes)

    def is_within_original_scope(self, request_scopes, refresh_token, request, *args, **kwargs) -> bool:
        return False

    def rotate_refresh_token(self, request) -> bool:
        """Rotate when the app says so, except for a token used again within its grace period."""
        return request.client.rotates_refresh_tokens and not getattr(request, "okta_within_grace", False)

    # -- issued tokens -------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        family = getattr(request, "okta_family", "")
        if family and "access_token" in token:
            claims = self.state.keys[self.server_id].verify(token["access_token"]) or {}
            if "jti" in claims:
                self.state.store.remember_access_token(family, claims["jti"])
        new, old = token.get("refresh_token"), request.refresh_token
        if getattr(request, "okta_within_grace", False):  # the grace period: hand back the newest
            token["refresh_token"] = self.state.store.newest_in_family(old)
            return
        if not new or new == old:
            return
        issued, previous = now(), getattr(request, "okta_refresh", None)
        if previous is not None:
            expires_at = previous.expires_at  # a rotated token inherits the first token's expiry
        else:
            lifetime = request.okta_rule.refresh_token_lifetime
            expires_at = None if lifetime is None else issued + lifetime
        window = getattr(previous, "idle_window", None) or request.okta_rule.refresh_token_window
        record = RefreshRecord(
            server_id=self.server_id, client_id=request.client.client_id, scopes=list(request.scopes),
            login=request.okta_user.login, auth_time=request.okta_auth_time, issued_at=issued,
            expires_at=expires_at, family=family, idle_window=window, last_used_at=clock(),
            grant_type=previous.grant_type if previous is not None else (request.grant_type or "authorization_code"),
        )
        with self.state.store.lock:
            self.state.store.refresh_tokens[new] = record
            if old and old in self.state.store.refresh_tokens:  # rotation: the old one is on its grace period
                self.state.store.refresh_tokens[old].replaced_by = new
                self.state.store.refresh_tokens[old].rotated_at = time.time()

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

    def _id_token_answer(self, token: str) -> dict | None:
        """An unexpired ID token of this server: its claims, as Okta's introspection lists them."""
        claims = self.state.keys[self.server_id].verify(token)
        if not claims or "scp" in claims or not str(claims.get("jti", "")).startswith("ID."):
            return None
        if claims.get("iss") != self.state.issuer(self.server_id) or claims.get("exp", 0) <= clock():
            return None
        user = next((u for u in self.state.tenant.users if u.uid == claims.get("sub")), None)
        answer = {**claims, "client_id": claims.get("aud"), "token_type": "Bearer"}
        if user is not None:
            answer["username"] = user.login
        return answer

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs) -> dict | None:
        id_token = self._id_token_answer(token)
        if id_token is not None:
            return id_token
        claims = self._access_claims(token)
        if claims is not None:
            result = {
                "scope": " ".join(claims["scp"]), "username": claims["sub"], "exp": claims["exp"],
                "iat": claims["iat"], "sub": claims["sub"], "aud": claims["aud"], "iss": claims["iss"],
                "jti": claims["jti"], "token_type": "Bearer", "client_id": claims["cid"],
            }
            if "uid" in claims:
                result["uid"] = claims["uid"]
            return result
        record = self._refresh_record(token)
        if record is None or record.replaced_by is not None or record.client_id != request.client.client_id:
            return None  # another client's refresh token is not this client's business
        user = self.state.tenant.user(record.login)
        result = {
            "scope": " ".join(record.scopes), "username": record.login, "iat": record.issued_at,
            "sub": record.login, "aud": self._server().audience, "iss": self.state.issuer(self.server_id),
            "token_type": "Bearer", "client_id": record.client_id,
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
                self.state.store.revoke_refresh_token(token)  # and the access tokens issued with it
                return
        claims = self.state.keys[self.server_id].verify(token)
        if claims and claims.get("cid") == client_id and "jti" in claims:
            with self.state.store.lock:
                self.state.store.revoked_jtis.add(claims["jti"])

    # -- userinfo (oauthlib's ResourceEndpoint) ------------------------------------------

    def validate_bearer_token(self, token, scopes, request) -> bool:
        claims = self._access_claims(token) if token else None
        if claims is None:
            return False
        user = self.state.tenant.user(claims["sub"]) if "uid" in claims else None
        if user is None:
            return False
        request.okta_user = user
        request.okta_claims = claims
        return True
