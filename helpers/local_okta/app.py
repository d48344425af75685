"""The HTTP side of the local Okta: Starlette routes in Okta's URL layout.

=====================================================================  ==========================
``/oauth2/{id}/.well-known/oauth-authorization-server``                metadata (RFC 8414)
``/oauth2/{id}/.well-known/openid-configuration``                      metadata (OpenID)
``/.well-known/oauth-authorization-server/oauth2/{id}``                 RFC 8414 path-inserted form
``/oauth2/{id}/v1/authorize|token|keys|introspect|revoke|userinfo``    a custom authorization server
``/.well-known/oauth-authorization-server``, ``/oauth2/v1/*``          the org authorization server
``/oauth2/v1/clients``                                                 registration: refused (``registration.py``)
=====================================================================  ==========================

An unknown authorization server id answers 404 with Okta's ``E0000007`` body. The routes
only translate between HTTP and oauthlib; oauthlib (with ``validator.py``) decides. Requests
must name a loopback ``Host`` and come from no ``Origin`` or a loopback one (FastMCP's
``HostOriginGuardMiddleware``): 421 or 403 otherwise, so DNS rebinding cannot reach it.

The server is HTTPS, like Okta (``helpers.local_tls``), and binds 127.0.0.1 only. The sign-in
pages and the authorize flow are in ``authorize.py``; the keys endpoint sends Okta's kind of
``Cache-Control``; client credentials in a URL's query are refused (catalogue
``client_credentials_in_query``); userinfo without ``openid`` answers 403 ``insufficient_scope``.
With the rate-limit scenario on (``rate_limits.py``), token, introspection and revocation
requests are counted per client and answered 429 past the limit, with Okta's headers.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, parse_qsl, urlencode

from fastmcp.server.http import HostOriginGuardMiddleware
from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors, rate_limits
from .authorize import authorize_endpoint
from .metadata import authorization_server_metadata
from .oauth import build_oauth_server
from .registration import registration_refused
from .state import ORG_SERVER, OktaState

__all__ = ["build_app"]

#: Okta's keys endpoint lets clients cache the JWKS, and asks them to check again once stale.
JWKS_CACHE_CONTROL = "max-age=3600, must-revalidate"
#: Client credentials that must never appear in a URL (they would end up in logs).
CREDENTIAL_PARAMETERS = ("client_secret", "client_assertion")


def build_app(state: OktaState) -> Starlette:
    """The ASGI app serving every authorization server of ``state``'s tenant."""
    oauth_servers: dict[str, Server] = {}

    def oauth(server_id: str) -> Server:
        if server_id not in oauth_servers:
            oauth_servers[server_id] = build_oauth_server(state, server_id)
        return oauth_servers[server_id]

    def known(server_id: str) -> bool:
        return server_id == ORG_SERVER or state.server(server_id) is not None

    # -- metadata --------------------------------------------------------------------

    def metadata_route(openid: bool, org: bool = False):
        async def handler(request: Request) -> Response:
            server_id = ORG_SERVER if org else request.path_params["server_id"]
            if not known(server_id):
                return _not_found(server_id)
            state.request_counts["metadata"] += 1
            return JSONResponse(authorization_server_metadata(state, server_id, openid=openid))

        return handler

    # -- /v1/* -----------------------------------------------------------------------

    async def custom_endpoint(request: Request) -> Response:
        return await dispatch(request, request.path_params["server_id"], request.path_params["endpoint"])

    async def org_endpoint(request: Request) -> Response:
        return await dispatch(request, ORG_SERVER, request.path_params["endpoint"])

    async def dispatch(request: Request, server_id: str, endpoint: str) -> Response:
        if not known(server_id):
            return _not_found(server_id)
        handler = {
            "authorize": authorize,
            "token": token,
            "keys": keys,
            "introspect": introspect,
            "revoke": revoke,
            "userinfo": userinfo,
            "clients": clients,
        }.get(endpoint)
        if handler is None:
            return _not_found(f"{endpoint} (not emulated by the local server)", kind="Endpoint")
        limiter = state.rate_limiter
        if limiter is None or endpoint not in rate_limits.LIMITED_ENDPOINTS:
            state.request_counts[endpoint] += 1
            return await handler(request, server_id)
        client = rate_limits.client_of(request.headers, await request.body(), request.query_params)
        allowed, headers = limiter.take(endpoint, client)
        if not allowed:  # counted by the limiter (rate_limit_report), not as an answered request
            response = rate_limits.too_many_requests(endpoint, headers)
        else:
            state.request_counts[endpoint] += 1
            response = await handler(request, server_id)
        response.headers.update(headers)  # Okta sends the three headers on every answer
        return response

    async def keys(request: Request, server_id: str) -> Response:
        return JSONResponse(state.keys[server_id].jwks(), headers={"Cache-Control": JWKS_CACHE_CONTROL})

    async def token(request: Request, server_id: str) -> Response:
        if request.method != "POST":
            return _method_not_allowed()
        if any(name in request.query_params for name in CREDENTIAL_PARAMETERS):  # client_credentials_in_query
            return _json_error(400, "invalid_request", errors.CREDENTIALS_IN_QUERY)
        body = await _form_body(request)
        headers, payload, status = _oauthlib_answer(oauth(server_id).create_token_response, request, body)
        grant_type = _form_value(body, "grant_type")
        payload, status = errors.translate_token_error(payload, status, grant_type)
        return _oauthlib_response(headers, payload, status)

    async def post_to_oauthlib(request: Request, create_response, from_query: tuple[str, ...] = ()) -> Response:
        """A POST-only endpoint answered by one of oauthlib's ``create_*_response`` methods
        (``from_query``: parameters also read from the query when the body lacks them)."""
        if request.method != "POST":
            return _method_not_allowed()
        body = await _form_body(request, from_query)
        headers, payload, status = _oauthlib_answer(create_response, request, body)
        payload, status = errors.translate_token_error(payload, status, grant_type="(none)")
        return _oauthlib_response(headers, payload, status)

    async def introspect(request: Request, server_id: str) -> Response:
        # A public client names itself in the query ([OIDC ref] /introspect); the body wins if both do.
        return await post_to_oauthlib(request, oauth(server_id).create_introspect_response,
                                      from_query=("client_id",))

    async def revoke(request: Request, server_id: str) -> Response:
        return await post_to_oauthlib(request, oauth(server_id).create_revocation_response)

    async def userinfo(request: Request, server_id: str) -> Response:
        # Okta takes the access token from the Authorization header or a POST body, never the query.
        in_header = request.headers.get("Authorization", "").lower().startswith("bearer ")
        in_body = request.method == "POST" and "access_token" in parse_qs((await request.body()).decode("utf-8", "replace"))
        if "access_token" in request.query_params:
            return _bearer_error(400, "invalid_request", errors.ACCESS_TOKEN_IN_QUERY)
        if in_header and in_body:
            return _bearer_error(400, "invalid_request", errors.ACCESS_TOKEN_TWICE)
        if not (in_header or in_body):
            return _bearer_error(401, "invalid_request", errors.ACCESS_TOKEN_MISSING)
        body = (await request.body()).decode("utf-8", "replace") if in_body else None
        valid, checked = oauth(server_id).verify_request(str(request.url), request.method, body, dict(request.headers))
        if not valid:
            return _bearer_error(401, "invalid_token", "The access token is invalid.")
        user, scopes = checked.okta_user, checked.okta_claims["scp"]
        if "openid" not in scopes:  # the OIDC API reference: userinfo needs openid
            return _bearer_error(403, "insufficient_scope", "The access token provided does not contain the required scopes.")
        claims = {"sub": user.uid}
        if "profile" in scopes:
            claims.update(name=user.name, preferred_username=user.login)
        if "email" in scopes:
            claims.update(email=user.email, email_verified=True)
        return JSONResponse(claims)

    async def clients(request: Request, server_id: str) -> Response:
        """Dynamic client registration: an org admin API at Okta, refused without its token."""
        if server_id != ORG_SERVER:
            return _not_found("clients (not emulated by the local server)", kind="Endpoint")
        return registration_refused()

    authorize = authorize_endpoint(state, oauth)

    routes = [
        Route("/oauth2/{server_id}/.well-known/oauth-authorization-server", metadata_route(False)),
        Route("/oauth2/{server_id}/.well-known/openid-configuration", metadata_route(True)),
        Route("/.well-known/oauth-authorization-server/oauth2/{server_id}", metadata_route(False)),
        Route("/.well-known/openid-configuration/oauth2/{server_id}", metadata_route(True)),
        Route("/.well-known/oauth-authorization-server", metadata_route(False, org=True)),
        Route("/.well-known/openid-configuration", metadata_route(True, org=True)),
        Route("/oauth2/v1/{endpoint:path}", org_endpoint, methods=["GET", "POST"]),
        Route("/oauth2/{server_id}/v1/{endpoint:path}", custom_endpoint, methods=["GET", "POST"]),
    ]
    # DNS rebinding: a web page whose host name resolves to 127.0.0.1 must not reach this server,
    # and a page on another origin must not post to it (FastMCP's guard, as on the calculator).
    guard = Middleware(HostOriginGuardMiddleware, allowed_hosts=[], mode="strict")
    return Starlette(routes=routes, middleware=[guard])


def _not_found(name: str, kind: str = "AuthorizationServer") -> JSONResponse:
    """Okta's 404 body for an unknown resource."""
    return JSONResponse(
        {
            "errorCode": "E0000007",
            "errorSummary": f"Not found: Resource not found: {name} ({kind})",
            "errorLink": "E0000007",
            "errorId": "oae" + secrets.token_hex(10),
            "errorCauses": [],
        },
        status_code=404,
    )


def _json_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _bearer_error(status: int, error: str, description: str) -> Response:
    """Userinfo's refusal: a 401 or 403 is the ``WWW-Authenticate`` challenge alone, with an empty
    body ([OIDC ref] /userinfo error examples); a 400 (catalogue errors) also has the JSON body."""
    challenge = f'Bearer error="{error}", error_description="{description}"'
    if status in (401, 403):
        return Response(b"", status_code=status, headers={"WWW-Authenticate": challenge})
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"WWW-Authenticate": challenge})


def _method_not_allowed() -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": "The endpoint only accepts POST."},
        status_code=405,
        headers={"Allow": "POST"},
    )


async def _form_body(request: Request, from_query: tuple[str, ...] = ()) -> str:
    """The form body re-encoded, so that oauthlib reads it as Okta does.

    Okta reads a raw space as a space (its own cURL examples send ``-d 'scope=openid
    offline_access'``); oauthlib refuses to read a body with any character that is not
    URL-encoded and then sees no parameter at all. Repeated parameters stay repeated.
    """
    raw = (await request.body()).decode("utf-8", "replace")
    pairs = parse_qsl(raw, keep_blank_values=True)
    pairs += [(name, request.query_params[name]) for name in from_query
              if name in request.query_params and all(key != name for key, _ in pairs)]
    return urlencode(pairs)


def _oauthlib_answer(create_response, request: Request, body: str) -> tuple[dict, str | None, int]:
    """oauthlib's answer to a POST. Okta reads these endpoints' parameters from the form body only
    (credentials in the query are refused before this), so the query is not handed on; and an
    error oauthlib raises instead of answering becomes its JSON answer, never a 500."""
    try:
        return create_response(str(request.url.replace(query="")), "POST", body, dict(request.headers))
    except OAuth2Error as exc:
        return dict(exc.headers), exc.json, exc.status_code


def _oauthlib_response(headers: dict, payload: str | None, status: int) -> Response:
    headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return Response(payload or "", status_code=status, headers=headers, media_type="application/json")


def _form_value(body: str, name: str) -> str | None:
    values = parse_qs(body).get(name)
    return values[0] if values else None
