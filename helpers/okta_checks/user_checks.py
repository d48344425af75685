"""The checks of the web app a gateway signs users in with: its redirect URI, whether it requires
PKCE, and (when someone can sign in) a whole sign-in: authorization code + PKCE, the user's
assignment, the refresh token and its rotation.

Against a real tenant a person must sign in, so the sign-in check runs only when the caller
provides ``sign_in`` (the local server's test user does, in tests and notebook 02).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

from helpers.discovery import Discovered

from . import diagnosis as fixes
from .http import Run, page_text
from .results import Status

__all__ = ["check_pkce_required", "check_redirect_uri", "check_sign_in"]

# A fixed PKCE verifier: the redirect check never exchanges a code, but some apps require a
# challenge before Okta even looks at the redirect URI.
_PKCE_VERIFIER = "okta-setup-checks-never-exchanged-verifier-0123456789"
_PKCE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(_PKCE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
SIGN_IN_SCOPES = ("openid", "offline_access", "calculator.add")


def _start_sign_in(run: Run, *, pkce: bool):
    """GET the authorize endpoint as a gateway starting a sign-in would (nobody signs in)."""
    params = {"client_id": run.settings.web_client.client_id, "response_type": "code", "scope": "openid",
              "redirect_uri": run.redirect_uri, "state": "okta-setup-check"}
    if pkce:
        params.update(code_challenge=_PKCE_CHALLENGE, code_challenge_method="S256")
    return run.request("GET", run.metadata["authorization_endpoint"], "authorize endpoint", params=params,
                       allow_redirects=False)


def check_redirect_uri(run: Run):
    uri = run.redirect_uri
    if run.settings.web_client is None:
        return Status.WARN, "CLIENT_ID is not set, so the web app's redirect URIs cannot be checked", \
            fixes.WEB_CLIENT_ID_FIX
    response = _start_sign_in(run, pkce=True)
    location = response.headers.get("Location", "")
    if response.is_redirect and location.startswith(uri):
        return Status.PASS, f"{uri}: Okta redirects back to it", None
    if response.is_redirect or response.status_code == 200:
        page = page_text(response.text) if response.status_code == 200 else ""
        if "redirect_uri" in page and "redirect URI" in page:
            return Status.FAIL, f"{uri}: an error page: \"{page[:160]}\"", fixes.REDIRECT_URI_FIX.format(redirect_uri=uri)
        return Status.PASS, f"{uri}: accepted, the sign-in page follows", None
    page = page_text(response.text)
    if "client_id" in page:
        return Status.FAIL, f"HTTP {response.status_code}, no redirect: \"{page[:160]}\"", fixes.WEB_CLIENT_ID_FIX
    if "redirect" in page.lower():
        return Status.FAIL, (
            f"{uri}: HTTP {response.status_code} error page, no redirect: \"{page[:160]}\""
        ), fixes.REDIRECT_URI_FIX.format(redirect_uri=uri)
    return Status.FAIL, f"HTTP {response.status_code} from the authorize endpoint: \"{page[:160]}\"", \
        f"Check the web app under {fixes.WEB_APP} > General."


def check_pkce_required(run: Run):
    """Start a sign-in without PKCE: an app that requires it refuses at once, before any sign-in page."""
    if run.settings.web_client is None:
        return Status.WARN, "CLIENT_ID is not set, so the web app cannot be checked", fixes.WEB_CLIENT_ID_FIX
    response = _start_sign_in(run, pkce=False)
    location = response.headers.get("Location", "")
    if response.is_redirect and location.startswith(run.redirect_uri):
        description = parse_qs(urlsplit(location).query).get("error_description", [""])[0]
        if "PKCE" in description:
            return Status.PASS, f"a sign-in without PKCE is refused: \"{description}\"", None
    elif response.status_code >= 400 and "PKCE" in page_text(response.text):
        return Status.PASS, f"a sign-in without PKCE is refused: \"{page_text(response.text)[:160]}\"", None
    return Status.WARN, "a sign-in without PKCE is accepted (the gateway sends PKCE; other clients might not)", \
        fixes.PKCE_FIX


def check_sign_in(run: Run):
    """Sign a user in with the web app (as notebook 06's gateway does) and read what went wrong."""
    from helpers.user_login import AuthorizationError, LoginError, UserLogin

    web = run.settings.web_client
    if web is None:
        return Status.WARN, "CLIENT_ID is not set, so nobody can sign in", fixes.WEB_CLIENT_ID_FIX
    if run.sign_in is None:
        return Status.WARN, "a person must sign in: notebook 06 does it with your browser", fixes.SIGN_IN_YOURSELF
    for endpoint in ("authorization_endpoint", "token_endpoint"):  # the web app's secret and a user go there
        run.credential_url(run.metadata.get(endpoint), endpoint.replace("_", " "))
    discovered = Discovered(resource=run.settings.audience or "", issuer=run.settings.issuer, metadata=run.metadata)
    try:
        login = UserLogin("https://calculator.invalid/mcp", web, issuer=run.settings.issuer, discovered=discovered,
                          redirect_uri=run.redirect_uri, scopes=SIGN_IN_SCOPES, http_timeout=run.timeout)
        pending = login.begin(listen=False, timeout=30)
        try:
            tokens = pending.complete(run.sign_in(pending.url))
        finally:
            pending.cancel("the check is over")
        if not tokens.refresh_token:
            return Status.FAIL, "signed in, but no refresh token came back", fixes.REFRESH_TOKEN_FIX
        renewed = login.refresh()
    except AuthorizationError as exc:
        found = fixes.sign_in_error(exc.error, exc.description)
        return Status.FAIL, f"the redirect carried {exc.error} \"{exc.description}\": {found.cause}", found.fix
    except LoginError as exc:
        return Status.FAIL, f"the sign-in failed: {exc}", fixes.SIGN_IN_FIX
    if renewed.refresh_token == tokens.refresh_token:
        return Status.FAIL, "signed in, but a refresh returned the same refresh token (not rotated)", \
            fixes.ROTATION_FIX
    return Status.PASS, "signed in with PKCE; a refresh token came back, and a refresh rotated it", None
