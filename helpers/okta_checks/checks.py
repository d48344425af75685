"""The setup checks: does the authorization server look the way Okta's console should have set it up?

:func:`run_checks` asks the authorization server named in the settings (real Okta, or the local
one) what a client and the calculator will ask it, in order, and returns a
:class:`~helpers.okta_checks.results.CheckReport`. A check that depends on an earlier one that
failed is ``SKIPPED`` and names it. Every network call has a short timeout, and every failure
becomes a failed check with a message, never an exception. The checks live by subject:
``server_checks`` (issuer, metadata, keys, grants, scopes), ``token_checks`` (tokens, the
read-only app, claims, verification), ``user_checks`` (redirect URI, a user's sign-in) and
``device_checks`` (the Native app's Device Authorization grant, with ``device=True``).

No secret and no whole token ever goes into a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import requests

from helpers.local_okta.defaults import DEFAULT_REDIRECT_URIS
from helpers.settings import ANY_PORT_REDIRECT_URI, Settings

from . import device_checks, server_checks, token_checks, user_checks
from .http import Problem, Run, network_fix
from .results import CheckReport, CheckResult, Status
from .server_checks import REQUIRED_GRANT_TYPES

__all__ = ["DEFAULT_REDIRECT_URI", "DEFAULT_SCOPES", "DEFAULT_TIMEOUT", "REQUIRED_GRANT_TYPES", "run_checks"]

#: The custom scopes the calculator's tools need.
DEFAULT_SCOPES = ("calculator.add", "calculator.subtract")
#: Where the gateway of notebook 06 receives the authorization code when OAUTH_REDIRECT_URI does
#: not say (the local tenant registers it for its web app). Pass ``redirect_uri=`` for another.
DEFAULT_REDIRECT_URI = DEFAULT_REDIRECT_URIS[0]
#: Seconds to wait for any one answer: a healthy Okta answers in well under a second.
DEFAULT_TIMEOUT = 5.0


def run_checks(
    settings: Settings,
    *,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    redirect_uri: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sign_in: Callable[[str], str] | None = None,
    device: bool = False,
) -> CheckReport:
    """Check the authorization server in ``settings`` and return every check's result.

    ``scopes``: the custom scopes a client-credentials token must be available for, one
    request per scope. ``redirect_uri``: the URI the gateway sends users back to (checked
    against the web app, ``settings.web_client``; default: ``settings.redirect_uri``, or
    :data:`DEFAULT_REDIRECT_URI` when that leaves the port to each sign-in). ``sign_in(authorize_url) -> redirect_url``:
    how a user signs in (the local server's test user; with a real tenant a person does it in
    notebook 06, and the check only says so). ``device``: also check that the Native app
    (``settings.device_client``) can start a device sign-in. ``timeout``: seconds per request. Never raises
    for a network or configuration problem: that is a failed check.
    """
    if redirect_uri is None:
        redirect_uri = DEFAULT_REDIRECT_URI if settings.redirect_uri == ANY_PORT_REDIRECT_URI else settings.redirect_uri
    run = Run(settings, tuple(scopes), redirect_uri, timeout, requests.Session(), sign_in=sign_in)
    steps: list[tuple[str, str, Sequence[str], Callable[[Run], tuple]]] = [
        ("issuer", "Issuer is a custom authorization server", (), server_checks.check_issuer),
        ("metadata", "Metadata document is reachable", ("issuer",), server_checks.check_metadata),
        ("metadata_issuer", "Metadata issuer equals OAUTH_ISSUER", ("metadata",), server_checks.check_metadata_issuer),
        ("jwks_uri", "OAUTH_JWKS_URI matches the metadata", ("metadata",), server_checks.check_jwks_uri),
        ("jwks", "JWKS has RS256 signing keys", ("metadata",), server_checks.check_jwks),
        ("grant_types", "Grant types supported", ("metadata",), server_checks.check_grant_types),
        ("scopes", "Custom scopes published", ("metadata",), server_checks.check_scopes),
    ]
    for scope in run.scopes:
        steps.append((f"token:{scope}", f"Client-credentials token for {scope}", ("metadata",), token_checks.token_check(scope)))
    steps += [
        ("token_claims", "Token claims iss, aud, scp", (), token_checks.check_token_claims),
        ("verification", "Token passes the server's verification", (), token_checks.check_verification),
        ("read_only", "Read-only app gets calculator.add only", ("metadata",), token_checks.check_read_only),
        ("redirect_uri", "Redirect URI is registered", ("metadata",), user_checks.check_redirect_uri),
        ("pkce", "Web app requires PKCE", ("redirect_uri",), user_checks.check_pkce_required),
        ("sign_in", "A user signs in (PKCE, rotating refresh token)", ("redirect_uri",), user_checks.check_sign_in),
    ]
    if device:
        steps.append(("device_grant", "Native app can start a device sign-in", ("metadata",), device_checks.check_device_grant))
    with run.http:
        for name, title, needs, check in steps:
            if name in ("token_claims", "verification"):
                needs = _token_needs(run)
            blocked = run.blocker(needs)
            if blocked is not None:
                failed_title = next(r.title for r in run.results if r.name == blocked)
                run.results.append(CheckResult(
                    name, title, Status.SKIPPED, f"needs '{failed_title}', which failed", blocked_by=blocked,
                ))
                continue
            try:
                status, seen, fix = check(run)
            except Problem as problem:
                status, seen, fix = Status.FAIL, str(problem), network_fix(name)
            except Exception as exc:  # an answer no check foresaw: still a result, never a traceback
                status, seen, fix = Status.FAIL, f"unexpected {type(exc).__name__} while checking", network_fix(name)
            run.results.append(CheckResult(name, title, status, seen, fix if status is not Status.PASS else None))
    return CheckReport(run.results)


def _token_needs(run: Run) -> tuple[str, ...]:
    """The claims and verification checks need one token; with none, the first failed token check blocks them."""
    if run.tokens:
        return ()
    names = [f"token:{scope}" for scope in run.scopes]
    return tuple(names) if names else ("metadata",)
