"""What can go wrong when a gateway signs a user in, each with a message that says what to do.

Every error is a :class:`LoginError`, so a caller can catch them all; the subclasses name the
cases a gateway must tell apart, because the fix differs:

==============================  ==============================================================
:class:`StateMismatchError`     the redirect's ``state`` is not the one this sign-in sent
                                (a forged or stale redirect): start a new sign-in
:class:`ConsentDeniedError`     access refused at sign-in (``error=access_denied``): the user
                                pressed "Don't Allow", is not assigned, or no rule matched
:class:`AuthorizationError`     Okta redirected back with another error (invalid scope, ...)
:class:`AuthorizationCodeError` the token endpoint refused the code: expired, already used,
                                PKCE or redirect URI mismatch (``invalid_grant``)
:class:`SignInTimeoutError`     no redirect arrived in time (or the sign-in was cancelled)
:class:`RefreshTokenError`      the refresh token was refused (revoked, expired, rotated
                                away) or there is none: sign the user in again
:class:`RateLimitedLoginError`  Okta answered 429 ("rate limited by Okta, retry after N s"):
                                nothing was refused or dropped; try again after the reset
:class:`NotSignedInError`       no tokens are stored
:class:`StepUpError`            a tool needs a scope the user has not granted, and asking
                                for it failed (refused, or no way to ask the user)
:class:`InsecureURLError`       an ``http://`` URL that is not on this machine
==============================  ==============================================================
"""

from __future__ import annotations

from ..error_chain import find_in_chain
from ..rate_limits import RateLimited, rate_limit_message

__all__ = [
    "AuthorizationCodeError",
    "AuthorizationError",
    "ConsentDeniedError",
    "InsecureURLError",
    "LoginError",
    "NotSignedInError",
    "RateLimitedLoginError",
    "RefreshTokenError",
    "SignInTimeoutError",
    "StateMismatchError",
    "StepUpError",
    "access_denied",
    "login_error_in",
]


class LoginError(RuntimeError):
    """Signing the user in, or keeping them signed in, failed; the message says what to do."""


class StateMismatchError(LoginError):
    """The redirect carried a ``state`` this sign-in did not send (or none at all)."""


class AuthorizationError(LoginError):
    """The authorization server redirected back with an error (``error`` and ``description``)."""

    def __init__(self, message: str, error: str = "", description: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class ConsentDeniedError(AuthorizationError):
    """Access was refused at sign-in: ``error=access_denied`` (the user said no, the user is not
    assigned to the app, or no access policy rule matched); ``description`` says which."""


class AuthorizationCodeError(LoginError):
    """The token endpoint refused the authorization code (``invalid_grant`` and friends)."""


class SignInTimeoutError(LoginError):
    """The sign-in ended without a redirect: it timed out, or was cancelled (a newer sign-in,
    an interrupted wait, a sign-in page that never redirected back)."""


class RefreshTokenError(LoginError):
    """The access token could not be renewed: no refresh token, or the server refused it."""


class RateLimitedLoginError(LoginError, RateLimited):
    """The token endpoint answered 429: ``retry_after`` seconds until ``X-Rate-Limit-Reset``.

    It refuses nothing: the refresh token and a code stay as they were, the tokens are kept."""

    def __init__(self, retry_after: float, url: str, doing: str) -> None:
        self.retry_after, self.url = retry_after, url
        super().__init__(f"{rate_limit_message(retry_after, url)} ({doing})")


class NotSignedInError(LoginError):
    """There are no tokens for the user: sign in first."""


class StepUpError(LoginError):
    """A tool call needs scopes the user has not granted, and the step-up sign-in did not get them."""

    def __init__(self, message: str, needed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.needed = needed


class InsecureURLError(LoginError):
    """An ``http://`` URL that is not a loopback address: tokens must travel over HTTPS."""


def access_denied(description: str | None) -> ConsentDeniedError:
    """The error for an ``access_denied`` redirect, with what to do by Okta's description."""
    description = description or ""
    if "not assigned" in description:
        fix = "Assign the user to the web app in Okta (the app's Assignments tab), then sign in again."
    elif "Policy evaluation failed" in description:
        fix = ("No access policy rule matched the sign-in: check that the web app's policy is assigned to it "
               "and that its rule allows Authorization Code and every scope asked for (offline_access too).")
    else:
        fix = "The user did not allow access. Sign in again and choose Allow."
    message = f"The authorization server refused access (access_denied: {description}). No tokens were issued. {fix}"
    return ConsentDeniedError(message, "access_denied", description)


def login_error_in(error: BaseException) -> LoginError | None:
    """The :class:`LoginError` behind ``error``, if any.

    MCP clients wrap what goes wrong while connecting (fastmcp raises
    ``RuntimeError("Client failed to connect: ...")`` from it, anyio may group it); this
    follows ``__cause__``, ``__context__`` and exception groups to find the gateway's own error.
    """
    return find_in_chain(error, LoginError)
