"""The authorize endpoint and the pages a person sees: sign-in, consent, and the way back.

``GET /v1/authorize`` is validated by oauthlib (client, redirect URI, ``state``, PKCE,
scopes, policy); a request Okta must not redirect gets an error page, any other error goes back
to the redirect URI. Then the person signs in on a form (``POST`` to the same URL). What it
follows from Okta:

- the user must be assigned to the app, else ``access_denied`` "User is not assigned to the
  client application." (catalogue ``user_not_assigned``);
- consent is shown only when the app requires consent and a requested scope asks for it
  (Okta's request-user-consent guide); a trusted app (the default) goes straight back;
- ``response_mode=form_post`` answers with a page that posts the result to the redirect URI,
  ``fragment`` in the fragment; the parameters may come in a ``POST`` body instead of the query
  (Okta's release 2025.x: "send user data securely in a POST request body to the /authorize
  endpoint"); ``prompt``, ``max_age``, ``response_mode`` and the PKCE challenge's characters are
  checked with the catalogue's texts;
- consent once given is remembered per user, app, authorization server and scope ("the user
  isn't prompted for consent if they already consented", request-user-consent guide), unless
  ``prompt=consent``;
- the password policy locks a user out after ``Tenant.lockout_attempts`` failures in a row
  (Okta's default policy: 10); a sign-in transaction lives ``TRANSACTION_LIFETIME`` seconds for
  every step, not only the first; and no page may be framed (clickjacking).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import errors, pages
from .iss_parameter import response_issuer, with_iss
from .state import OktaState, now

__all__ = ["TRANSACTION_LIFETIME", "authorize_endpoint", "fatal_page"]

#: A sign-in transaction (the pages between GET /authorize and the redirect) lives this long.
TRANSACTION_LIFETIME = 600
#: Pages a person sees must never be shown inside another site's frame.
#: A redirect carrying a code or tokens in its query or fragment ([OIDC ref] response_mode).
NO_REFERRER = {"Referrer-Policy": "no-referrer"}
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'", "Cache-Control": "no-store"}


def page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=NO_FRAMING)


def fatal_page(exc: oauth2_errors.OAuth2Error) -> HTMLResponse:
    """Okta's error page for a request it must not redirect (bad client id or redirect URI)."""
    if isinstance(exc, (oauth2_errors.InvalidClientIdError, oauth2_errors.MissingClientIdError)):
        detail = errors.INVALID_CLIENT_ID
    elif isinstance(exc, (oauth2_errors.MismatchingRedirectURIError, oauth2_errors.InvalidRedirectURIError,
                          oauth2_errors.MissingRedirectURIError)):
        detail = errors.REDIRECT_NOT_REGISTERED
    else:
        detail = errors.translate_parameter_error(exc.description or exc.error)
    return page(pages.error_page(summary="400 Bad Request", detail=detail), 400)


def back_to_client(redirect_uri: str, params: dict[str, str], response_mode: str | None, iss: str | None = None) -> Response:
    """The answer to the client: a redirect with the query, or (``form_post``) a page that posts it.
    ``iss``: the issuer, added as RFC 9207's ``iss`` parameter (only with the switch on, ``iss_parameter.py``)."""
    if iss:
        params = {**params, "iss": iss}
    if response_mode == "form_post":
        return page(pages.form_post_page(redirect_uri, params))
    if response_mode == "fragment":
        return RedirectResponse(redirect_uri + "#" + urlencode(params), status_code=302, headers=NO_REFERRER)
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302, headers=NO_REFERRER)


def authorize_endpoint(state: OktaState, oauth: Callable[[str], Server]):
    """The handler of ``/v1/authorize`` (GET: start; POST: the sign-in and consent forms)."""
    iss = partial(response_issuer, state)  # RFC 9207 iss for a server id, or None (switched off)

    async def authorize(request: Request, server_id: str) -> Response:
        if request.method == "POST":
            form = await request.form()
            if "transaction" not in form and "client_id" in form:  # the authorization request in a POST body
                return start(request, server_id, str(request.url.replace(query=urlencode(list(form.multi_items())))))
            return await submitted(request, server_id)
        return start(request, server_id, str(request.url))

    def start(request: Request, server_id: str, uri: str) -> Response:
        query = dict(parse_qsl(urlsplit(uri).query))
        mode = query.get("response_mode")
        try:
            scopes, info = oauth(server_id).validate_authorization_request(uri, "GET", None, dict(request.headers))
        except oauth2_errors.FatalClientError as exc:
            return fatal_page(exc)
        except oauth2_errors.OAuth2Error as exc:
            params = dict(exc.twotuples)
            if exc.error == "unsupported_response_type" or (
                    exc.error == "unauthorized_client" and query.get("response_type") != "code"):
                params = {"error": "unsupported_response_type", "error_description": errors.RESPONSE_TYPE_UNSUPPORTED.format("[code]")}
            if query.get("state"):
                params["state"] = query["state"]
            return back_to_client(exc.redirect_uri, params, mode if mode in ("form_post", "fragment") else None, iss(server_id))
        refused = _invalid_parameter(query)
        if refused is not None:
            params = {"error": refused[0], "error_description": refused[1], "state": info["state"]}
            return back_to_client(info["redirect_uri"], params, mode if mode in ("form_post", "fragment") else None, iss(server_id))
        transaction = secrets.token_urlsafe(24)
        _forget_old_transactions(state)
        state.transactions[transaction] = {
            "server_id": server_id, "uri": uri, "scopes": list(scopes), "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"], "state": info["state"], "login": None,
            "response_mode": mode, "created": time.monotonic(), "ask_consent_again": "consent" in query.get("prompt", "").split(),
        }
        app = state.app(info["client_id"])
        return page(pages.sign_in_page(action=request.url.path, transaction=transaction, app_name=app.name))

    async def submitted(request: Request, server_id: str) -> Response:
        form = await request.form()
        transaction_id = str(form.get("transaction", ""))
        tx = state.transactions.get(transaction_id)
        if tx is None or tx["server_id"] != server_id or time.monotonic() - tx["created"] > TRANSACTION_LIFETIME:
            state.transactions.pop(transaction_id, None)
            return page(pages.error_page(summary="Sign-in expired", detail="This sign-in request is unknown or has "
                                         "expired. Start again from the application."), 400)
        app, action = state.app(tx["client_id"]), request.url.path
        if form.get("step") == "sign_in":
            username = str(form.get("username", ""))
            user = state.tenant.user(username)
            if user is None or not state.password_accepted(user, str(form.get("password", ""))):
                return page(pages.sign_in_page(action=action, transaction=transaction_id, app_name=app.name,
                                               username=username, error="Unable to sign in"))
            tx["login"], tx["auth_time"] = user.login, now()
            if not app.is_assigned(user.login):
                del state.transactions[transaction_id]
                return deny(tx, "access_denied", errors.USER_NOT_ASSIGNED)
            asked = [name for name in tx["scopes"] if _needs_consent(state, server_id, name)
                     and (tx["ask_consent_again"] or (server_id, app.client_id, user.login, name) not in state.consents)]
            if not (app.consent_required and asked):
                del state.transactions[transaction_id]
                return grant(request, server_id, tx)
            return page(pages.consent_page(action=action, transaction=transaction_id, app_name=app.name,
                                           user_name=user.name, scopes=[(n, _describe(state, server_id, n)) for n in tx["scopes"]]))
        if form.get("step") != "consent" or tx["login"] is None:
            return page(pages.error_page(summary="Sign in first", detail="Sign in before granting access."), 400)
        del state.transactions[transaction_id]
        if form.get("decision") != "allow":
            return deny(tx, "access_denied", errors.USER_DENIED)
        with state.lock:  # remembered: the next sign-in asks no more for these scopes
            state.consents.update((server_id, app.client_id, tx["login"], name) for name in tx["scopes"])
        return grant(request, server_id, tx)

    def deny(tx: dict, error: str, description: str) -> Response:
        params = {"error": error, "error_description": description}
        if tx["state"]:
            params["state"] = tx["state"]
        return back_to_client(tx["redirect_uri"], params, tx["response_mode"], iss(tx["server_id"]))

    def grant(request: Request, server_id: str, tx: dict) -> Response:
        user = state.tenant.user(tx["login"])
        try:
            headers, _, _ = oauth(server_id).create_authorization_response(
                tx["uri"], "GET", None, dict(request.headers), scopes=tx["scopes"],
                credentials={"user": user, "okta_user": user, "okta_auth_time": tx["auth_time"]},
            )
        except oauth2_errors.FatalClientError as exc:  # the tenant changed under the page
            return fatal_page(exc)
        except oauth2_errors.OAuth2Error as exc:
            return deny(tx, exc.error, exc.description)
        location = headers["Location"]
        if tx["response_mode"] == "form_post":
            return back_to_client(tx["redirect_uri"], dict(_query_pairs(location)), "form_post", iss(server_id))
        return RedirectResponse(with_iss(location, iss(server_id)), status_code=302, headers=NO_REFERRER)

    return authorize


def _query_pairs(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).query)


_PROMPTS = {"none", "consent", "login", "enroll_authenticator"}
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]*")


def _invalid_parameter(query: dict[str, str]) -> tuple[str, str] | None:
    """The catalogue's error for a parameter value Okta refuses that oauthlib lets through."""
    if query.get("prompt") is not None and not set(query["prompt"].split()) <= _PROMPTS:
        return "invalid_request", errors.INVALID_PROMPT
    max_age = query.get("max_age")
    if max_age is not None and not (max_age.isdigit() and int(max_age) < 2**31):
        return "invalid_request", errors.INVALID_MAX_AGE
    mode = query.get("response_mode")
    if mode == "okta_post_message":
        return "unsupported_response_mode", errors.POST_MESSAGE_WITH_CODE
    if mode is not None and mode not in ("query", "fragment", "form_post"):
        return "unsupported_response_mode", errors.RESPONSE_MODE_UNSUPPORTED
    if not _PKCE_CHALLENGE.fullmatch(query.get("code_challenge", "")):
        return "invalid_request", errors.PKCE_ILLEGAL_CHARACTERS
    return None


def _needs_consent(state: OktaState, server_id: str, name: str) -> bool:
    server = state.server(server_id)
    scope = server.scope(name) if server else None
    return name in ("profile", "email", "address", "phone", "offline_access") or bool(scope and scope.consent_required)


def _describe(state: OktaState, server_id: str, name: str) -> str:
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
