"""Step 1 of the AI agent token exchange: the org authorization server trades a user's ID token for an ID-JAG.

An oauthlib custom grant (``GrantTypeBase``), registered for
``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` in ``oauth.py``. The request, from
Okta's guide (``guides/ai-agent-token-exchange/main/authserver/exchange-token-for-idjag1.md``)::

    POST {org}/oauth2/v1/token
    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the user's ID token>  subject_token_type=urn:ietf:params:oauth:token-type:id_token
    requested_token_type=urn:ietf:params:oauth:token-type:id-jag
    audience=<the custom authorization server's issuer>  scope=<scopes at that server>
    client_assertion_type=...jwt-bearer  client_assertion=<signed with the agent's private key>

and the answer (``exchange-token-id-response.md``): ``{"token_type": "N_A", "expires_in": 300,
"access_token": <the ID-JAG>, "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag"}``.

**Who decides**: Okta, from the agent's *resource connection* (``Tenant.resource_connections``):
"The server validates the request based on the **Resource Connections** configuration and returns
the requested ID-JAG" (``token-exchange-flow.md``); the connection names the authorization server
and the scopes the agent may request. The user decided only earlier, by signing in to the agent:
"Okta accepts only ID token subject tokens minted for the current requesting client, which is the
AI agent" (same page).

Inferred (Okta's documents name the errors in its catalogue but not which check answers which):
the order of the checks; ``invalid_subject_token_client_not_registered`` for an ID token minted for
another client; ``invalid_subject_token_no_delegation_link`` for an access-token subject token
(machine access, whose delegation links the local tenant does not hold);
``token_exchange_incomplete_resource_configuration`` when the agent has no connection to the
audience; ``scope_denied`` for scopes the connection does not allow; ``missing_scopes`` for no scope;
``unsupported_grant_type_token_exchange`` for a token exchange at a custom authorization server (Okta's
custom servers do have an on-behalf-of token exchange for service apps, which is not emulated here).
"""

from __future__ import annotations

import time

import jwt

from . import errors
from .id_jag import (ACCESS_TOKEN_TYPE, AgentGrant, ID_JAG_LIFETIME, ID_JAG_TOKEN_TYPE, ID_JAG_TYP, ID_TOKEN_TYPE,
                     id_jag_claims, refuse_duplicates, refusal)
from .state import ORG_SERVER
from .tenant import OIDC_SCOPES, App, AuthorizationServer, ResourceConnection

__all__ = ["TokenExchangeGrant"]


class TokenExchangeGrant(AgentGrant):
    """RFC 8693 token exchange for an ID-JAG, as Okta's org authorization server answers it."""

    # -- the checks, in order ----------------------------------------------------------------

    def _exchange(self, request) -> dict:
        tenant = self.state.tenant
        if not tenant.cross_app_access:  # feature_not_enabled
            raise refusal("feature_not_enabled", request)
        if self.server_id != ORG_SERVER:  # ID-JAGs come from the org server (inferred refusal)
            raise refusal("unsupported_grant_type_token_exchange", request)
        self.authenticate(request)
        agent: App = request.client
        self.validate_grant_type(request)  # the app's grant types (unauthorized_client)
        refuse_duplicates(request, ("grant_type", "subject_token", "subject_token_type", "requested_token_type",
                                    "audience", "scope", "resource"))
        params = request._params
        if params.get("requested_token_type") != ID_JAG_TOKEN_TYPE:
            raise refusal("invalid_requested_token_type", request)
        subject_type = params.get("subject_token_type")
        if subject_type not in (ID_TOKEN_TYPE, ACCESS_TOKEN_TYPE):
            raise refusal("invalid_subject_token_type", request)
        user, auth_time = self._subject(params.get("subject_token") or "", subject_type, agent, request)
        server = self._audience(params.get("audience") or "", request)
        connection = self._connection(agent, server, request)
        resource = params.get("resource") or None
        if resource is not None and resource not in connection.resource_indicators:
            raise refusal("token_exchange_invalid_resource", request)
        scopes = self._scopes(request.scopes or [], server, connection, request)
        key = self.state.keys[ORG_SERVER].current  # the org's published key: resource servers verify with its JWKS
        claims = id_jag_claims(issuer=self.state.issuer(ORG_SERVER), user=user, audience=self.state.issuer(server.id),
                               client_id=agent.client_id, scopes=scopes, issued_at=int(time.time()),
                               auth_time=auth_time, resource=resource)
        id_jag = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": ID_JAG_TYP})
        return {"token_type": "N_A", "expires_in": ID_JAG_LIFETIME, "access_token": id_jag,
                "issued_token_type": ID_JAG_TOKEN_TYPE}

    def authenticate(self, request) -> None:
        """The client authentication every token request passes (private_key_jwt for an AI agent)."""
        if not self.request_validator.authenticate_client(request):
            raise errors.invalid_client(request=request)

    def _subject(self, token: str, subject_type: str, agent: App, request):
        """The user the subject token names, after Okta's checks; ``(user, auth_time)``."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise refusal("invalid_subject_token", request) from None
        issuer_id = self._issuer_id(unverified.get("iss"))
        if issuer_id is None:
            raise refusal("invalid_subject_token_authorization_server", request)
        claims = self.state.keys[issuer_id].verify(token)  # signature only; expiry below
        if claims is None:
            raise refusal("invalid_subject_token", request)
        if subject_type == ACCESS_TOKEN_TYPE:  # machine access: needs a delegation link (not held here)
            raise refusal("invalid_subject_token_no_delegation_link", request)
        if "cid" in claims or not str(claims.get("jti", "")).startswith("ID."):  # an access token sent as an ID token
            raise refusal("invalid_subject_token", request)
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= time.time():
            raise refusal("token_exchange_subject_token_expired", request)
        if claims.get("aud") != agent.client_id:  # "only ID token subject tokens minted for ... the AI agent"
            raise refusal("invalid_subject_token_client_not_registered", request)
        user = next((u for u in self.state.tenant.users if u.uid == claims.get("sub")), None)
        if user is None:
            raise refusal("invalid_subject_token_user_inactive", request)
        if not agent.is_assigned(user.login):
            raise refusal("invalid_subject_token_user_not_assigned", request)
        return user, claims.get("auth_time")

    def _issuer_id(self, issuer) -> str | None:
        """The id of this org's authorization server whose issuer is ``issuer`` (org or custom)."""
        if issuer == self.state.issuer(ORG_SERVER):
            return ORG_SERVER
        return next((s.id for s in self.state.tenant.authorization_servers if self.state.issuer(s.id) == issuer), None)

    def _audience(self, audience: str, request) -> AuthorizationServer:
        """The custom authorization server whose issuer is ``audience`` (token_exchange_invalid_audience)."""
        server_id = self._issuer_id(audience)
        if not audience or server_id in (None, ORG_SERVER):
            raise refusal("token_exchange_invalid_audience", request)
        return self.state.tenant.server(server_id)

    def _connection(self, agent: App, server: AuthorizationServer, request) -> ResourceConnection:
        """The agent's active resource connection to ``server``: what Okta decides with."""
        for connection in self.state.tenant.resource_connections:
            if connection.active and connection.agent == agent.label and connection.authorization_server == server.id:
                return connection
        raise refusal("token_exchange_incomplete_resource_configuration", request)

    def _scopes(self, scopes: list[str], server: AuthorizationServer, connection: ResourceConnection, request) -> list[str]:
        """The requested scopes, if the server defines them and the connection allows every one."""
        if not scopes:
            raise refusal("missing_scopes", request)
        known = set(OIDC_SCOPES) | {scope.name for scope in server.scopes}
        if any(scope not in known for scope in scopes):
            raise refusal("no_matching_scope", request)
        denied = [scope for scope in scopes if scope not in connection.scopes]
        if denied:
            raise refusal("scope_denied", request, errors.listed(denied))
        return list(scopes)
