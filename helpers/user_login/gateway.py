"""The gateway's side of signing a user in: Authorization Code + PKCE, tokens, refresh.

:class:`UserLogin` is what an AI gateway does for one user of one MCP server:

1. **discover** the authorization server from the MCP server's URL (:mod:`helpers.discovery`);
2. **begin** a sign-in (:meth:`UserLogin.begin`): a fresh ``state`` and PKCE verifier, the
   authorization URL to send the user to, and a listener on the redirect URI;
3. **complete** it when the redirect arrives (:meth:`PendingSignIn.complete`, called by the
   listener): check ``state``, exchange the code with the verifier, store the tokens;
4. hand out a valid **access token** (:meth:`UserLogin.access_token`), refreshing it shortly
   before it expires, and after the MCP server answers 401 (:class:`UserTokenAuth`);
   a rotated refresh token replaces the old one, which is never sent again.

The protocol messages are built and parsed by oauthlib's ``WebApplicationClient`` and sent
by requests-oauthlib's ``OAuth2Session``; this module keeps the state around them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from oauthlib.common import generate_token
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from requests_oauthlib import OAuth2Session

from .. import background
from ..discovery import Discovered, discover
from ..display import mask_token
from ..settings import ClientCredentials
from .callback import result_page, start_listener
from .errors import (
    AuthorizationCodeError,
    AuthorizationError,
    ConsentDeniedError,
    LoginError,
    NotSignedInError,
    RefreshTokenError,
    SignInTimeoutError,
    StateMismatchError,
)
from .transport import allow_loopback_http, check_url

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "USER_SCOPES",
    "PendingSignIn",
    "UserLogin",
    "UserTokens",
]

#: The redirect URI the tutorial's web app registers (the local tenant registers it too).
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"

#: Scopes about the user asked for on top of the MCP server's own; ``offline_access`` is what
#: makes Okta issue a refresh token.
USER_SCOPES = ("openid", "profile", "email", "offline_access")

#: How long a sign-in may take, from the link to the redirect (seconds).
DEFAULT_SIGN_IN_TIMEOUT = 300.0

LISTENER_NAME = "user-login-callback"


@dataclass(frozen=True, repr=False)
class UserTokens:
    """The tokens stored for the signed-in user. ``repr`` masks every token.

    ``obtained_at`` and ``expires_at`` are seconds on the gateway's clock; ``expires_at`` comes
    from ``expires_in`` (the gateway treats the access token as opaque, as OAuth intends).
    """

    access_token: str
    refresh_token: str | None
    id_token: str | None
    scopes: tuple[str, ...]
    obtained_at: float
    expires_at: float | None
    token_type: str = "Bearer"

    @property
    def lifetime(self) -> float | None:
        return None if self.expires_at is None else self.expires_at - self.obtained_at

    def expires_in(self, now: float) -> float | None:
        return None if self.expires_at is None else self.expires_at - now

    def is_due(self, now: float, margin: float) -> bool:
        """Whether to refresh now: less than ``margin`` seconds left (at most half the lifetime)."""
        if self.expires_at is None:
            return False
        return self.expires_at - now <= min(margin, (self.lifetime or 0) / 2)

    def __repr__(self) -> str:
        return (
            f"UserTokens(access_token={mask_token(self.access_token)!r}, "
            f"refresh_token={'<present>' if self.refresh_token else '<none>'}, "
            f"id_token={'<present>' if self.id_token else '<none>'}, scopes={list(self.scopes)!r})"
        )


class UserLogin:
    """An AI gateway signing one user in to the MCP server at ``mcp_url`` and keeping them in.

    ``client`` is the web app's id and secret (``settings.require_web_client()``); a public
    client (no secret) sends its ``client_id`` instead of authenticating. ``scopes`` default to
    :data:`USER_SCOPES` plus the scopes the MCP server publishes. ``resource`` (RFC 8707) is
    sent on the authorization request when given; Okta's handling of it varies by org, so it
    is off by default. An access token is refreshed once less than ``refresh_margin`` seconds
    (at most half its lifetime) are left. ``clock`` is the gateway's clock (tests move it).
    """

    def __init__(
        self,
        mcp_url: str,
        client: ClientCredentials,
        *,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        scopes: Sequence[str] | None = None,
        resource: str | None = None,
        refresh_margin: float = 30.0,
        http_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        discovered: Discovered | None = None,
    ) -> None:
        check_url(redirect_uri, "redirect URI")
        self.mcp_url = mcp_url
        self.client = client
        self.redirect_uri = redirect_uri
        self.resource = resource
        self.refresh_margin = refresh_margin
        self.http_timeout = http_timeout
        self._clock = clock
        self.discovered = discovered or discover(mcp_url, timeout=http_timeout)
        metadata = self.discovered.metadata
        if not metadata.get("authorization_endpoint"):
            raise LoginError(
                f"The authorization server {self.discovered.issuer} publishes no "
                "authorization_endpoint, so it cannot sign users in."
            )
        check_url(self.authorization_endpoint, "authorization endpoint")
        check_url(self.token_endpoint, "token endpoint")
        if scopes is None:
            scopes = (*USER_SCOPES, *self.discovered.scopes_supported)
        self.scopes: tuple[str, ...] = tuple(dict.fromkeys(scopes))
        self._tokens: UserTokens | None = None
        self._lock = threading.RLock()
        #: what happened so far: ``sign-ins``, ``refreshes``, ``retries after 401``
        self.stats: Counter[str] = Counter()

    # -- where things are ----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.discovered.issuer

    @property
    def authorization_endpoint(self) -> str:
        return self.discovered.authorization_endpoint

    @property
    def token_endpoint(self) -> str:
        return self.discovered.token_endpoint

    @property
    def revocation_endpoint(self) -> str | None:
        return self.discovered.metadata.get("revocation_endpoint")

    # -- signing in ----------------------------------------------------------------------

    def begin(
        self,
        *,
        listen: bool = True,
        timeout: float = DEFAULT_SIGN_IN_TIMEOUT,
        listener_name: str = LISTENER_NAME,
    ) -> PendingSignIn:
        """Start a sign-in: a new ``state`` and PKCE pair, the URL to open, and (``listen``)
        a listener on the redirect URI that completes the sign-in when the browser arrives.

        The sign-in (and its listener) ends at the first redirect, or after ``timeout``
        seconds. Starting another sign-in under the same ``listener_name`` cancels this one.
        """
        return PendingSignIn(self, listen=listen, timeout=timeout, listener_name=listener_name)

    @property
    def tokens(self) -> UserTokens | None:
        """The stored tokens, or ``None`` when no user is signed in."""
        return self._tokens

    @property
    def signed_in(self) -> bool:
        return self._tokens is not None

    def now(self) -> float:
        """The gateway's clock."""
        return self._clock()

    def forget(self) -> None:
        """Drop the stored tokens (without telling the authorization server)."""
        with self._lock:
            self._tokens = None

    def _store(self, token: dict[str, Any], previous: UserTokens | None = None) -> UserTokens:
        now = self._clock()
        expires_in = token.get("expires_in")
        scope = token.get("scope") or (previous.scopes if previous else ())
        scopes = tuple(scope.split() if isinstance(scope, str) else scope)
        tokens = UserTokens(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or (previous.refresh_token if previous else None),
            id_token=token.get("id_token") or (previous.id_token if previous else None),
            scopes=tuple(sorted(scopes)),
            obtained_at=now,
            expires_at=None if expires_in is None else now + float(expires_in),
            token_type=str(token.get("token_type", "Bearer")),
        )
        with self._lock:
            self._tokens = tokens
        return tokens

    def _token_request_auth(self) -> dict[str, Any]:
        """How this client authenticates at the token endpoint (requests-oauthlib arguments)."""
        if self.client.client_secret:
            return {"auth": requests.auth.HTTPBasicAuth(self.client.client_id, self.client.client_secret)}
        return {"include_client_id": True}

    def _resource_parameter(self) -> dict[str, str]:
        """RFC 8707: the ``resource`` sent with authorization and token requests, if configured."""
        return {"resource": self.resource} if self.resource else {}

    # -- staying signed in ---------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token for the user, refreshed first when it is about to expire."""
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                raise NotSignedInError(
                    "No user is signed in to this gateway. Sign in first: pending = login.begin(), "
                    "then open pending.url and await pending.wait()."
                )
            if tokens.is_due(self._clock(), self.refresh_margin):
                tokens = self.refresh()
            return tokens.access_token

    def refresh(self, *, stale_access_token: str | None = None) -> UserTokens:
        """Use the refresh token for new tokens now; the rotated refresh token replaces the old.

        With ``stale_access_token`` (the token the MCP server just rejected), nothing happens
        if the stored token is already a different one (another request refreshed it).
        Raises :class:`RefreshTokenError` (and forgets the tokens) when the authorization
        server refuses the refresh token: the user must sign in again.
        """
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                raise NotSignedInError("No user is signed in, so there is nothing to refresh. Sign in first.")
            if stale_access_token is not None and tokens.access_token != stale_access_token:
                return tokens
            if not tokens.refresh_token:
                raise RefreshTokenError(
                    "The access token expired and there is no refresh token. Ask for the "
                    "offline_access scope and allow the Refresh Token grant on the app (and in the "
                    "access policy rule), or sign the user in again."
                )
            session = OAuth2Session(client=WebApplicationClient(self.client.client_id))
            auth = self._token_request_auth()
            extra = {"client_id": self.client.client_id} if auth.pop("include_client_id", False) else {}
            try:
                with allow_loopback_http(self.token_endpoint):
                    token = session.refresh_token(
                        self.token_endpoint,
                        refresh_token=tokens.refresh_token,
                        timeout=self.http_timeout,
                        **auth,
                        **extra,
                        **self._resource_parameter(),
                    )
            except oauth_errors.InvalidGrantError as exc:
                self._tokens = None
                raise RefreshTokenError(
                    f"The authorization server refused the refresh token (invalid_grant: "
                    f"{exc.description}). It was revoked, has expired, or was already used "
                    "(rotation). The stored tokens are gone: sign the user in again."
                ) from None
            except oauth_errors.OAuth2Error as exc:
                raise LoginError(_token_endpoint_error("refreshing the token", exc)) from None
            except requests.RequestException as exc:
                raise LoginError(
                    f"Could not reach the token endpoint {self.token_endpoint} to refresh the "
                    f"token ({type(exc).__name__}). Check the network and try again."
                ) from None
            self.stats["refreshes"] += 1
            return self._store(token, previous=tokens)

    def sign_out(self) -> bool:
        """Revoke the refresh token at the authorization server and forget the tokens.

        Returns whether a revocation request was sent. Access tokens already issued stay
        valid at resource servers that verify JWTs locally, until they expire.
        """
        with self._lock:
            tokens, self._tokens = self._tokens, None
        if tokens is None or not tokens.refresh_token or not self.revocation_endpoint:
            return False
        check_url(self.revocation_endpoint, "revocation endpoint")
        data = {"token": tokens.refresh_token, "token_type_hint": "refresh_token"}
        auth = None
        if self.client.client_secret:
            auth = (self.client.client_id, self.client.client_secret)
        else:
            data["client_id"] = self.client.client_id
        response = requests.post(self.revocation_endpoint, data=data, auth=auth, timeout=self.http_timeout)
        if response.status_code != 200:
            raise LoginError(
                f"The revocation endpoint answered HTTP {response.status_code}; the tokens were "
                "forgotten here but may still be valid at the authorization server."
            )
        return True

    def auth(self) -> UserTokenAuth:
        """An ``httpx2.Auth`` for ``fastmcp.Client(url, auth=...)``: calls tools as this user."""
        from .bearer import UserTokenAuth

        return UserTokenAuth(self)

    def __repr__(self) -> str:
        who = "signed in" if self._tokens else "not signed in"
        return f"<UserLogin {self.mcp_url} {who}>"


def _open_connections(listener: background.BackgroundServer) -> int:
    """How many connections the listener's uvicorn server still holds open."""
    state = getattr(getattr(listener, "_server", None), "server_state", None)
    return len(state.connections) if state is not None else 0


def _token_endpoint_error(doing: str, exc: oauth_errors.OAuth2Error) -> str:
    hints = {
        "invalid_client": "Check CLIENT_ID and CLIENT_SECRET in .env against the web app's General tab.",
        "unauthorized_client": "Allow the grant type on the web app (General Settings > Grant type).",
        "access_denied": "Check the access policy and its rule on the authorization server.",
        "invalid_scope": "Ask only for scopes the authorization server defines.",
    }
    hint = hints.get(exc.error, "")
    return f"The token endpoint refused {doing}: {exc.error}: {exc.description}. {hint}".rstrip()


class PendingSignIn:
    """One sign-in in progress: the URL to open, and what completes it.

    ``state`` and the PKCE ``code_verifier`` belong to this sign-in alone and are used once:
    the first redirect (or :meth:`complete`) consumes them, successful or not. The callback
    listener stops after that redirect, after the timeout, or on :meth:`cancel`.
    """

    _active: dict[str, PendingSignIn] = {}
    _active_lock = threading.Lock()

    def __init__(self, login: UserLogin, *, listen: bool, timeout: float, listener_name: str) -> None:
        self.login = login
        self.redirect_uri = login.redirect_uri
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._client = WebApplicationClient(login.client.client_id)
        self._state: str | None = generate_token(43)
        self._code_verifier: str | None = self._client.create_code_verifier(64)
        challenge = self._client.create_code_challenge(self._code_verifier, "S256")
        extra = login._resource_parameter()
        with allow_loopback_http(login.authorization_endpoint):
            #: the authorization URL: open it in a browser to sign in
            self.url: str = self._client.prepare_request_uri(
                login.authorization_endpoint,
                redirect_uri=self.redirect_uri,
                scope=list(login.scopes),
                state=self._state,
                code_challenge=challenge,
                code_challenge_method="S256",
                **extra,
            )
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._used = False
        self._result: UserTokens | None = None
        self._error: LoginError | None = None
        self._listener: background.BackgroundServer | None = None
        self._stopper: threading.Thread | None = None
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._listener_name = listener_name
        if listen:  # one listener per name (and port): a new sign-in replaces the waiting one
            with PendingSignIn._active_lock:
                previous = PendingSignIn._active.get(listener_name)
                PendingSignIn._active[listener_name] = self
            if previous is not None:
                previous.cancel("a new sign-in was started")
            self._listener = start_listener(self.redirect_uri, self._on_callback, name=listener_name)
        self._timer.start()

    # -- state ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the sign-in is over (signed in, failed, timed out or cancelled)."""
        return self._done.is_set()

    @property
    def is_listening(self) -> bool:
        return self._listener is not None and self._listener.is_running

    @property
    def tokens(self) -> UserTokens | None:
        return self._result

    # -- completing ----------------------------------------------------------------------

    def complete(self, redirect_url: str) -> UserTokens:
        """Finish the sign-in with the URL the browser was redirected to.

        The listener calls this; call it yourself when the browser cannot reach this
        machine's 127.0.0.1 (copy the address the browser ended on). Raises
        :class:`StateMismatchError`, :class:`ConsentDeniedError`,
        :class:`AuthorizationError` or :class:`AuthorizationCodeError`.
        """
        with self._lock:
            if self._used:
                raise LoginError(
                    "This sign-in is already over: its state and PKCE verifier are single use. "
                    "Start a new one with login.begin()."
                )
            self._used = True
            state, verifier = self._state, self._code_verifier
            self._state = self._code_verifier = None  # single use, whatever happens next
        self._timer.cancel()
        try:
            tokens = self._exchange(redirect_url, state, verifier)
        except LoginError as exc:
            self._finish(error=exc)
            raise
        self._finish(result=tokens)
        return tokens

    def _exchange(self, redirect_url: str, state: str, verifier: str) -> UserTokens:
        login = self.login
        try:
            with allow_loopback_http(redirect_url):
                params = self._client.parse_request_uri_response(redirect_url, state=state)
        except oauth_errors.MismatchingStateError:
            raise StateMismatchError(
                "The redirect's state does not match the sign-in this gateway started. It may be "
                "a forged redirect (CSRF) or a link from an older sign-in, so nothing was "
                "exchanged. Start a new sign-in with login.begin()."
            ) from None
        except oauth_errors.AccessDeniedError as exc:
            raise ConsentDeniedError(
                f"The user did not allow access (access_denied: {exc.description}). No tokens "
                "were issued. Sign in again and choose Allow; if no consent page was shown, "
                "check that the user is assigned to the app in Okta."
            ) from None
        except oauth_errors.MissingCodeError:
            raise AuthorizationError(
                "The redirect carries neither a code nor an error: it is not an answer to an "
                "authorization request. Start a new sign-in with login.begin()."
            ) from None
        except oauth_errors.OAuth2Error as exc:
            raise AuthorizationError(
                f"The authorization server redirected back with error={exc.error}: "
                f"{exc.description}. Fix the request or the app's setup, then sign in again.",
                error=exc.error,
                description=exc.description or "",
            ) from None

        session = OAuth2Session(client=self._client, redirect_uri=self.redirect_uri)
        auth = login._token_request_auth()
        try:
            with allow_loopback_http(login.token_endpoint):
                token = session.fetch_token(
                    login.token_endpoint,
                    code=params["code"],
                    code_verifier=verifier,
                    timeout=login.http_timeout,
                    **auth,
                    **login._resource_parameter(),
                )
        except oauth_errors.InvalidGrantError as exc:
            raise AuthorizationCodeError(
                f"The token endpoint refused the authorization code (invalid_grant: "
                f"{exc.description}). A code is single use and expires after a few minutes, and "
                "the PKCE verifier and redirect URI must match the authorization request. "
                "Start a new sign-in with login.begin()."
            ) from None
        except oauth_errors.OAuth2Error as exc:
            raise LoginError(_token_endpoint_error("the authorization code", exc)) from None
        except requests.RequestException as exc:
            raise LoginError(
                f"Could not reach the token endpoint {login.token_endpoint} "
                f"({type(exc).__name__}). Check the network, then start a new sign-in."
            ) from None
        login.stats["sign-ins"] += 1
        return login._store(token)

    def _on_callback(self, query: str) -> tuple[int, str]:
        """The listener's handler: complete with the redirect, answer the browser."""
        with self._lock:
            used = self._used
        if used:
            return 400, result_page(
                "Sign-in already finished",
                "This sign-in has already been completed or has ended. Go back to the notebook.",
            )
        try:
            self.complete(f"{self.redirect_uri}?{query}")
        except LoginError as exc:
            return 400, result_page("Sign-in failed", f"{exc} You can close this tab.")
        return 200, result_page(
            "Signed in", "You are signed in to the calculator gateway. You can close this tab and go back to the notebook."
        )

    def _finish(self, *, result: UserTokens | None = None, error: LoginError | None = None) -> None:
        self._result, self._error = result, error
        # Stop the listener from another thread: its own worker is still sending the page.
        self._stopper = threading.Thread(
            target=self._stop_listener, kwargs={"grace": 2.0}, name="user-login-listener-stop", daemon=True
        )
        self._stopper.start()
        self._done.set()

    def _stop_listener(self, grace: float = 0.0) -> None:
        """Stop the listener; first give the browser up to ``grace`` s to take the page and
        close its connection (the side that closes first keeps the port in TIME_WAIT, and
        the next sign-in needs this port again)."""
        self._timer.cancel()
        listener = self._listener
        if listener is not None:
            deadline = time.monotonic() + grace
            while _open_connections(listener) and time.monotonic() < deadline:
                time.sleep(0.01)
            listener.stop()
        with PendingSignIn._active_lock:
            if PendingSignIn._active.get(self._listener_name) is self:
                del PendingSignIn._active[self._listener_name]

    def _expire(self) -> None:
        self.cancel(f"no redirect arrived within {self.timeout:g} s")

    def cancel(self, reason: str = "it was cancelled") -> None:
        """End the sign-in now (if it is still waiting) and stop its listener."""
        with self._lock:
            waiting = not self._used
            self._used = True
            self._state = self._code_verifier = None
        if waiting:
            self._result = None
            self._error = SignInTimeoutError(
                f"The sign-in ended: {reason}. The listener on {self.redirect_uri} has been "
                "stopped. Start a new sign-in with login.begin() and finish it in time. If your "
                "browser runs on another machine than this notebook's kernel, it cannot reach "
                "127.0.0.1 here: copy the address the browser ended on and call "
                "pending.complete(address) instead."
            )
            self._done.set()
        self._stop_listener()

    # -- waiting -------------------------------------------------------------------------

    def wait_blocking(self, timeout: float | None = None) -> UserTokens:
        """Block until the sign-in is over; the tokens, or the sign-in's error."""
        remaining = self.deadline - time.monotonic() if timeout is None else timeout
        if not self._done.wait(max(remaining, 0)):
            self.cancel(f"no redirect arrived within {self.timeout if timeout is None else timeout:g} s")
        if self._stopper is not None:
            self._stopper.join()
        self._stop_listener()
        return self._outcome()

    async def wait(self, timeout: float | None = None) -> UserTokens:
        """Wait (without blocking the event loop) until the redirect arrives; the tokens.

        ``timeout`` defaults to what is left of the sign-in's own timeout. When it passes,
        the sign-in is cancelled and :class:`SignInTimeoutError` raised.
        """
        limit = self.deadline - time.monotonic() if timeout is None else timeout
        end = time.monotonic() + max(limit, 0)
        try:
            while not self._done.is_set():
                if time.monotonic() >= end:
                    self.cancel(f"no redirect arrived within {self.timeout if timeout is None else timeout:g} s")
                    break
                await asyncio.sleep(0.02)
        finally:
            if not self._done.is_set():  # the wait itself was cancelled (interrupted cell)
                self.cancel("waiting for it was interrupted")
        stopper = self._stopper
        while stopper is not None and stopper.is_alive():
            await asyncio.sleep(0.02)
        self._stop_listener()
        return self._outcome()

    def _outcome(self) -> UserTokens:
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def __repr__(self) -> str:
        status = "done" if self.done else "waiting"
        return f"<PendingSignIn {status} redirect_uri={self.redirect_uri}>"
