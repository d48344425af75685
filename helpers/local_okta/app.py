"""The HTTP side of the local Okta: Starlette routes in Okta's URL layout.

=====================================================================  ==========================
``/oauth2/{id}/.well-known/oauth-authorization-server``                metadata (RFC 8414)
``/oauth2/{id}/.well-known/openid-configuration``                      metadata (OpenID)
``/.well-known/oauth-authorization-server/oauth2/{id}``                 RFC 8414 path-inserted form
``/oauth2/{id}/v1/authorize|token|keys|introspect|revoke|userinfo``    a custom authorization server
``/.well-known/oauth-authorization-server``, ``/oauth2/v1/*``          the org authorization server
=====================================================================  ==========================

An unknown authorization server id answers 404 with Okta's ``E0000007`` body. The routes
only translate between HTTP and oauthlib; oauthlib (with ``validator.py``) decides. Requests
must name a loopback ``Host`` and come from no ``Origin`` or a loopback one (FastMCP's
``HostOriginGuardMiddleware``): 421 or 403 otherwise, so DNS rebinding cannot reach it.

About ``http://``: oauthlib's *client* side refuses non-HTTPS URLs (``InsecureTransportError``)
unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` is set, and its ``MetadataEndpoint``
does the same for the issuer. The server endpoints used here (authorization, token,
introspection, revocation, resource in oauthlib 4.0.1) do not check the request URI's
scheme, so each request is handed to oauthlib with its real loopback URL and nothing
process-wide is changed. The only other place oauthlib looks at a scheme on the server side
is CORS (an ``http://`` Origin gets no CORS headers), which this server does not need. The
server binds 127.0.0.1 only (``helpers.background``), which is what makes plain HTTP
acceptable here and nowhere else.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import errors, pages
from .metadata import authorization_server_metadata
from .oauth import build_oauth_server
from .state import ORG_SERVER, OktaState, now

__all__ = ["build_app"]

#: A sign-in transaction (the page between GET /authorize and the redirect) lives this long.
TRANSACTION_LIFETIME = 600


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
        }.get(endpoint)
        if handler is None:
            return _not_found(f"{endpoint} (not emulated by the local server)", kind="Endpoint")
        state.request_counts[endpoint] += 1
        return await handler(request, server_id)

    async def keys(request: Request, server_id: str) -> Response:
        return JSONResponse(state.keys[server_id].jwks(), headers={"Cache-Control": "max-age=3600"})

    async def token(request: Request, server_id: str) -> Response:
        if request.method != "POST":
            return _method_not_allowed()
        body = (await request.body()).decode("utf-8", "replace")
        headers, payload, status = oauth(server_id).create_token_response(
            str(request.url), "POST", body, dict(request.headers)
        )
        grant_type = _form_value(body, "grant_type")
        payload, status = errors.translate_token_error(payload, status, grant_type)
        return _oauthlib_response(headers, payload, status)

    async def post_to_oauthlib(request: Request, create_response) -> Response:
        """A POST-only endpoint answered by one of oauthlib's ``create_*_response`` methods."""
        if request.method != "POST":
            return _method_not_allowed()
        body = (await request.body()).decode("utf-8", "replace")
        headers, payload, status = create_response(str(request.url), "POST", body, dict(request.headers))
        return _oauthlib_response(headers, payload, status)

    async def introspect(request: Request, server_id: str) -> Response:
        return await post_to_oauthlib(request, oauth(server_id).create_introspect_response)

    async def revoke(request: Request, server_id: str) -> Response:
        return await post_to_oauthlib(request, oauth(server_id).create_revocation_response)

    async def userinfo(request: Request, server_id: str) -> Response:
        valid, checked = oauth(server_id).verify_request(
            str(request.url), request.method, None, dict(request.headers), scopes=["openid"]
        )
        if not valid:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "The access token is invalid."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token", '
                         'error_description="The access token is invalid."'},
            )
        user, scopes = checked.okta_user, checked.okta_claims["scp"]
        claims = {"sub": user.uid}
        if "profile" in scopes:
            claims.update(name=user.name, preferred_username=user.login)
        if "email" in scopes:
            claims.update(email=user.email, email_verified=True)
        return JSONResponse(claims)

    # -- authorize and the sign-in page ----------------------------------------------

    async def authorize(request: Request, server_id: str) -> Response:
        if request.method == "POST":
            return await authorize_form(request, server_id)
        uri = str(request.url)
        try:
            scopes, info = oauth(server_id).validate_authorization_request(
                uri, "GET", None, dict(request.headers)
            )
        except oauth2_errors.FatalClientError as exc:
            return _fatal_page(exc)
        except oauth2_errors.OAuth2Error as exc:
            return RedirectResponse(exc.in_uri(exc.redirect_uri), status_code=302)
        app = state.tenant.app(client_id=info["client_id"])
        transaction = secrets.token_urlsafe(24)
        _forget_old_transactions(state)
        state.transactions[transaction] = {
            "server_id": server_id,
            "uri": uri,
            "scopes": list(scopes),
            "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"],
            "state": info["state"],
            "login": None,
            "created": time.monotonic(),
        }
        return HTMLResponse(
            pages.sign_in_page(action=request.url.path, transaction=transaction, app_name=app.name)
        )

    async def authorize_form(request: Request, server_id: str) -> Response:
        form = await request.form()
        transaction_id = str(form.get("transaction", ""))
        tx = state.transactions.get(transaction_id)
        if tx is None or tx["server_id"] != server_id:
            return HTMLResponse(
                pages.error_page(
                    summary="Sign-in expired",
                    detail="This sign-in request is unknown or has expired. "
                    "Start again from the application.",
                ),
                status_code=400,
            )
        app = state.tenant.app(client_id=tx["client_id"])
        action = request.url.path
        if form.get("step") == "sign_in":
            username = str(form.get("username", ""))
            user = state.tenant.user(username)
            if user is None or not secrets.compare_digest(
                str(form.get("password", "")).encode(), user.password.encode()
            ):
                return HTMLResponse(
                    pages.sign_in_page(
                        action=action,
                        transaction=transaction_id,
                        app_name=app.name,
                        username=username,
                        error="Unable to sign in: the username or password is incorrect.",
                    )
                )
            tx["login"], tx["auth_time"] = user.login, now()
            return HTMLResponse(
                pages.consent_page(
                    action=action,
                    transaction=transaction_id,
                    app_name=app.name,
                    user_name=user.name,
                    scopes=[(name, _scope_description(state, server_id, name)) for name in tx["scopes"]],
                )
            )
        if form.get("step") != "consent" or tx["login"] is None:
            return HTMLResponse(
                pages.error_page(summary="Sign in first", detail="Sign in before granting access."),
                status_code=400,
            )
        del state.transactions[transaction_id]
        if form.get("decision") != "allow":
            params = {"error": "access_denied", "error_description": errors.USER_DENIED}
            if tx["state"]:
                params["state"] = tx["state"]
            return RedirectResponse(_add_query(tx["redirect_uri"], params), status_code=302)
        user = state.tenant.user(tx["login"])
        try:
            headers, _, _ = oauth(server_id).create_authorization_response(
                tx["uri"],
                "GET",
                None,
                dict(request.headers),
                scopes=tx["scopes"],
                credentials={"user": user, "okta_user": user, "okta_auth_time": tx["auth_time"]},
            )
        except oauth2_errors.FatalClientError as exc:  # the tenant changed under the page
            return _fatal_page(exc)
        return RedirectResponse(headers["Location"], status_code=302)

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


def _method_not_allowed() -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": "The endpoint only accepts POST."},
        status_code=405,
        headers={"Allow": "POST"},
    )


def _oauthlib_response(headers: dict, payload: str | None, status: int) -> Response:
    headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return Response(payload or "", status_code=status, headers=headers, media_type="application/json")


def _fatal_page(exc: oauth2_errors.OAuth2Error) -> HTMLResponse:
    """Okta's error page for a request it must not redirect (bad client id or redirect URI)."""
    if isinstance(exc, (oauth2_errors.InvalidClientIdError, oauth2_errors.MissingClientIdError)):
        detail = errors.INVALID_CLIENT_ID
    elif isinstance(
        exc,
        (
            oauth2_errors.MismatchingRedirectURIError,
            oauth2_errors.InvalidRedirectURIError,
            oauth2_errors.MissingRedirectURIError,
        ),
    ):
        detail = errors.REDIRECT_NOT_REGISTERED
    else:
        detail = exc.description or exc.error
    return HTMLResponse(pages.error_page(summary="400 Bad Request", detail=detail), status_code=400)


def _form_value(body: str, name: str) -> str | None:
    values = parse_qs(body).get(name)
    return values[0] if values else None


def _add_query(uri: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(uri).query else "?"
    return uri + separator + urlencode(params)


def _scope_description(state: OktaState, server_id: str, name: str) -> str:
    builtin = {
        "openid": "Sign you in with your identity",
        "profile": "View your profile (name, username)",
        "email": "View your email address",
        "offline_access": "Keep access while you are away (refresh tokens)",
    }
    server = state.server(server_id)
    scope = server.scope(name) if server else None
    return scope.description if scope else builtin.get(name, "")


def _forget_old_transactions(state: OktaState) -> None:
    cutoff = time.monotonic() - TRANSACTION_LIFETIME
    for key in [k for k, tx in state.transactions.items() if tx["created"] < cutoff]:
        state.transactions.pop(key, None)
