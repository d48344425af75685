"""Step 2 of the AI agent token exchange: a custom authorization server trades an ID-JAG for an access token.

An oauthlib custom grant (``GrantTypeBase``), registered for
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` on every custom authorization server in
``oauth.py``. The request, from Okta's guide
(``guides/ai-agent-token-exchange/main/authserver/exchange-idjag-for-token.md``)::

    POST {org}/oauth2/{authServerId}/v1/token
    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer  assertion=<the ID-JAG>
    client_assertion_type=...jwt-bearer  client_assertion=<signed with the agent's private key>

and the answer: ``{"token_type": "Bearer", "expires_in": 3600, "access_token", "scope"}``, a
standard Okta access token (``revoke.md``): ``sub`` the user's login, ``uid`` the user's id, ``cid``
the agent, ``scp`` the ID-JAG's scopes. The custom server does not decide again which scopes the
agent gets (no ``scope`` parameter is allowed: catalogue ``id_jag_scopes_in_request``); it checks that
the ID-JAG is genuine, for it, fresh, unused and presented by the client it names.

Checks with a catalogue entry each (texts in ``id_jag.py``): ``scope`` in the request, an assertion
that is not an ID-JAG (``jwt_bearer_grant_invalid_issuer``), an issuer other than this org
(``id_jag_untrusted_issuer``), the signature, ``aud`` not this server's issuer
(``jwt_bearer_grant_invalid_audience``), ``iat`` in the future, expired, lifetime over 5 minutes,
``client_id`` not the authenticated client, a ``jti`` already used (``id_jag_replayed``), an unknown
``sub``, no scope, and the ``resource`` claim. Inferred: the order of the checks; that a JWT without
``typ`` ``oauth-id-jag+jwt`` gets ``jwt_bearer_grant_invalid_issuer``; that an unparsable assertion gets
``id_jag_invalid_signature``; that no access policy is evaluated at this step (Okta's guide names none);
the lifetime (the guide's example: 3600 s). A used ``jti`` is remembered until its ID-JAG expires.
"""

from __future__ import annotations

import threading
import time

import jwt

from . import errors
from .id_jag import ID_JAG_LIFETIME, AgentGrant, ID_JAG_TYP, refuse_duplicates, refusal
from .state import ORG_SERVER, OktaState
from .tenant import App, AuthorizationServer
from .tokens import access_token_claims

__all__ = ["JwtBearerGrant"]

#: an access token from an ID-JAG lives this long (Okta's example response), unless overridden
ACCESS_TOKEN_LIFETIME = 3600


class JwtBearerGrant(AgentGrant):
    """RFC 7523 JWT bearer grant of an ID-JAG, as an Okta custom authorization server answers it."""

    def __init__(self, request_validator, state: OktaState, server_id: str) -> None:
        super().__init__(request_validator, state, server_id)
        self._used: dict[str, float] = {}  # jti -> exp of the ID-JAGs already exchanged here
        self._lock = threading.Lock()

    def _exchange(self, request) -> dict:
        if not self.state.tenant.cross_app_access:  # feature_not_enabled
            raise refusal("feature_not_enabled", request)
        if not self.request_validator.authenticate_client(request):  # private_key_jwt for an AI agent
            raise errors.invalid_client(request=request)
        agent: App = request.client
        self.validate_grant_type(request)
        refuse_duplicates(request, ("grant_type", "assertion", "resource"))
        if request.scope is not None:  # the ID-JAG carries the scopes Okta granted at step 1
            raise refusal("id_jag_scopes_in_request", request)
        assertion = request._params.get("assertion")
        if not assertion:
            raise errors.invalid_request(errors.MISSING_PARAMETER.format("assertion"), request)
        claims = self._verified_claims(assertion, request)
        if claims.get("client_id") != agent.client_id:
            raise refusal("id_jag_client_mismatch", request)
        user = next((u for u in self.state.tenant.users if u.uid == claims.get("sub")), None)
        if user is None:
            raise refusal("id_jag_invalid_subject", request)
        scopes = str(claims.get("scope") or "").split()
        if not scopes:
            raise refusal("id_jag_lacking_scopes", request)
        server = self.state.server(self.server_id)
        if any(server.scope(name) is None for name in scopes):
            raise errors.invalid_scope(request=request)  # no_matching_scope
        self._check_resource(claims.get("resource"), request._params.get("resource"), server, request)
        self._spend(claims, request)
        lifetime = self.state.access_token_lifetime or ACCESS_TOKEN_LIFETIME
        token_claims = access_token_claims(
            issuer=self.state.issuer(self.server_id), audience=server.audience, client_id=agent.client_id,
            scopes=scopes, lifetime=lifetime, user_login=user.login, user_id=user.uid,
            auth_time=claims.get("auth_time"))
        access_token = self.state.keys[self.server_id].sign(token_claims, access_token=True)
        return {"token_type": "Bearer", "expires_in": lifetime, "access_token": access_token, "scope": " ".join(scopes)}

    def _verified_claims(self, assertion: str, request) -> dict:
        """The ID-JAG's claims once it is shown to be an ID-JAG from this org, for this server, in time."""
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise refusal("id_jag_invalid_signature", request) from None
        if header.get("typ") != ID_JAG_TYP:
            raise refusal("jwt_bearer_grant_invalid_issuer", request)
        if unverified.get("iss") != self.state.issuer(ORG_SERVER):
            raise refusal("id_jag_untrusted_issuer", request)
        claims = self.state.keys[ORG_SERVER].verify(assertion)
        if claims is None:
            raise refusal("id_jag_invalid_signature", request)
        if claims.get("aud") != self.state.issuer(self.server_id):
            raise refusal("jwt_bearer_grant_invalid_audience", request)
        exp, iat, now = claims.get("exp"), claims.get("iat"), time.time()
        if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
            raise refusal("id_jag_invalid_signature", request)  # not an ID-JAG this org signed (inferred)
        if iat > now + 5:  # a little clock skew
            raise refusal("id_jag_issued_in_future", request)
        if exp <= now:
            raise refusal("id_jag_expired", request)
        if exp - iat > ID_JAG_LIFETIME:
            raise refusal("id_jag_lifetime_too_long", request)
        return claims

    def _check_resource(self, claim, parameter, server: AuthorizationServer, request) -> None:
        """The ID-JAG's ``resource`` claim: this server's (its audience or a connection's resource
        indicator for it), and the ``resource`` parameter, when sent, the same."""
        if parameter and parameter != claim:
            raise refusal("id_jag_resource_mismatch", request)
        if claim is None:
            return
        allowed = {server.audience} | {url for c in self.state.tenant.resource_connections
                                       if c.authorization_server == self.server_id for url in c.resource_indicators}
        if claim not in allowed:
            raise refusal("id_jag_resource_not_allowed_for_as", request)

    def _spend(self, claims: dict, request) -> None:
        """Record the ID-JAG's ``jti``: a second exchange of the same ID-JAG is refused (id_jag_replayed)."""
        jti, now = str(claims.get("jti", "")), time.time()
        with self._lock:
            for old in [k for k, exp in self._used.items() if exp <= now]:
                del self._used[old]
            if not jti or jti in self._used:
                raise refusal("id_jag_replayed", request)
            self._used[jti] = float(claims["exp"])
