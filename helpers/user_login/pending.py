"""One sign-in in progress: ``state`` and PKCE, the authorization URL, and its completion.

A :class:`PendingSignIn` is made by :meth:`UserLogin.begin <helpers.user_login.UserLogin.begin>`.
It holds a random ``state`` and PKCE ``code_verifier`` that belong to this sign-in alone, the
URL to send the user to, and (usually) a listener on the redirect URI. When the redirect
arrives, :meth:`PendingSignIn.complete` checks ``state`` **first**: a redirect that does not
carry this sign-in's ``state`` (a forged request from any web page, a stale link) is refused
and changes nothing, so it can neither complete nor cancel the sign-in. Only the redirect with
the right ``state`` spends ``state`` and verifier, whatever its outcome; its ``iss`` is then checked
against the issuer recorded here (RFC 9207, :mod:`.issuer_check`) before its code or error is used.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from urllib.parse import urlsplit, urlunsplit

from oauthlib.common import generate_token
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from .. import background
from .callback import open_connections as _open_connections, result_page, start_listener
from ..rate_limits import MARGIN, MAX_WAIT
from .errors import AuthorizationError, access_denied, LoginError, SignInTimeoutError, StateMismatchError
from .issuer_check import check_response_issuer, iss_advertised
from .token_requests import exchange_code
from .transport import carries_state, fixed_redirect_uri, redirect_for_oauthlib
from .user_tokens import UserTokens

__all__ = ["PendingSignIn"]
_handling = threading.local()  # .redirect: this thread is the listener's, answering the browser


class PendingSignIn:
    """One sign-in in progress: the URL to open, and what completes it.

    ``state`` and the PKCE ``code_verifier`` belong to this sign-in alone and are used once:
    the first redirect that carries this ``state`` (or :meth:`complete` with it) consumes them,
    successful or not; a redirect with another ``state`` is refused and changes nothing. The
    callback listener stops after the consuming redirect, after the timeout, or on :meth:`cancel`.
    """

    _active: dict[str, PendingSignIn] = {}
    _active_lock = threading.Lock()

    def __init__(
        self, login: Any, *, scopes: Sequence[str], listen: bool, timeout: float, listener_name: str
    ) -> None:
        self.login = login  # the UserLogin that began it
        #: the scopes this sign-in asks for
        self.scopes: tuple[str, ...] = tuple(dict.fromkeys(scopes))
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._used = False
        self._result: UserTokens | None = None
        self._error: LoginError | None = None
        self._stopper: threading.Thread | None = None
        self._client = WebApplicationClient(login.client.client_id)
        self._issuer, self._iss_advertised = login.issuer, iss_advertised(login.discovered.metadata)
        self._state: str | None = generate_token(43)
        self._code_verifier: str | None = self._client.create_code_verifier(64)
        challenge = self._client.create_code_challenge(self._code_verifier, "S256")
        self._listener: background.BackgroundServer | None = None
        self._listener_name = listener_name
        #: where the browser is sent back: the gateway's redirect URI (port 0 becomes the listener's port)
        self.redirect_uri: str = self._listen(login.redirect_uri) if listen else fixed_redirect_uri(login.redirect_uri)
        extra = {"resource": login.resource} if login.resource else {}
        #: the authorization URL: open it in a browser to sign in
        self.url: str = self._client.prepare_request_uri(
            login.authorization_endpoint,
            redirect_uri=self.redirect_uri,
            scope=list(self.scopes),
            state=self._state,
            code_challenge=challenge,
            code_challenge_method="S256",
            **extra,
        )
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _listen(self, redirect_uri: str) -> str:
        """Start the listener; return the redirect URI it serves (port 0 becomes the port it got).

        One listener per name: a new sign-in replaces the waiting one."""
        with PendingSignIn._active_lock:
            previous = PendingSignIn._active.get(self._listener_name)
            PendingSignIn._active[self._listener_name] = self
        if previous is not None:
            previous.cancel("a new sign-in was started")
        self._listener = start_listener(redirect_uri, self._on_callback, name=self._listener_name)
        parts = urlsplit(redirect_uri)
        if parts.port == 0:
            return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{self._listener.port}"))
        return redirect_uri

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
        machine's 127.0.0.1 (copy the address the browser ended on). A redirect without this
        sign-in's ``state`` raises :class:`StateMismatchError` and leaves the sign-in waiting;
        otherwise ``state`` and verifier are spent, and the outcome is the tokens or
        :class:`~.issuer_check.IssuerMixUpError` (a wrong or missing ``iss``, RFC 9207),
        :class:`ConsentDeniedError`, :class:`AuthorizationError` or :class:`AuthorizationCodeError`.
        """
        redirect_url = redirect_url.strip()  # a pasted address often comes with spaces or a line break
        with self._lock:
            if self._used:
                raise LoginError(
                    "This sign-in is already over: its state and PKCE verifier are single use. "
                    "Start a new one with login.begin()."
                )
            if not carries_state(redirect_url, self._state):
                raise StateMismatchError(
                    "The redirect's state does not match the sign-in this gateway started. It may be "
                    "a forged redirect (CSRF) or a link from an older sign-in, so nothing was "
                    "exchanged, and the sign-in this gateway started is still waiting."
                )
            redirect_for_oauthlib(redirect_url, self.redirect_uri)  # another address spends nothing
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
        check_response_issuer(redirect_url, expected_issuer=self._issuer, advertised=self._iss_advertised)
        try:
            params = self._client.parse_request_uri_response(
                redirect_for_oauthlib(redirect_url, self.redirect_uri), state=state
            )
        except oauth_errors.MismatchingStateError:
            raise StateMismatchError(
                "The redirect's state does not match the sign-in this gateway started. It may be "
                "a forged redirect (CSRF) or a link from an older sign-in, so nothing was "
                "exchanged. Start a new sign-in with login.begin()."
            ) from None
        except oauth_errors.AccessDeniedError as exc:
            raise access_denied(exc.description) from None
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

        token = exchange_code(
            token_endpoint=login.token_endpoint,
            oauth_client=self._client,
            client=login.client,
            redirect_uri=self.redirect_uri,
            code=params["code"],
            code_verifier=verifier,
            resource=login.resource,
            timeout=login.http_timeout,
        )
        login.stats["sign-ins"] += 1
        return login.store_tokens(token)

    def _on_callback(self, query: str) -> tuple[int, str]:
        """The listener's handler: complete with the redirect, answer the browser."""
        with self._lock:
            used = self._used
        if used:
            return 400, result_page(
                "Sign-in already finished",
                "This sign-in has already been completed or has ended. Go back to the notebook.",
            )
        _handling.redirect = True
        try:
            self.complete(f"{self.redirect_uri}?{query}")
        except StateMismatchError:
            return 400, result_page(
                "Not this sign-in",
                "This address does not answer the sign-in the gateway is waiting for, so it was "
                "ignored. If you are signing in, use the link the notebook showed.",
            )
        except LoginError as exc:
            return 400, result_page("Sign-in failed", f"{exc} You can close this tab.")
        finally:
            _handling.redirect = False
        return 200, result_page(
            "Signed in", "You are signed in to the calculator gateway. You can close this tab and go back to the notebook."
        )

    def _finish(self, *, result: UserTokens | None = None, error: LoginError | None = None) -> None:
        self._result, self._error = result, error
        if not getattr(_handling, "redirect", False):  # a pasted address: no browser at the listener
            self._stop_listener()
            self._done.set()
            return
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
                f"The sign-in ended: {reason}. The listener on {self.redirect_uri} has stopped. Start "
                "a new sign-in with login.begin() and finish it in time. A browser on another machine "
                "cannot reach 127.0.0.1 here: pass the address it ended on to pending.complete()."
            )
            self._done.set()
        self._stop_listener()

    def wait_blocking(self, timeout: float | None = None) -> UserTokens:
        """Block until the sign-in is over; the tokens, or the sign-in's error."""
        remaining = self.deadline - time.monotonic() if timeout is None else timeout
        if not self._done.wait(max(remaining, 0)):
            self.cancel(f"no redirect arrived within {self.timeout if timeout is None else timeout:g} s")
            self._done.wait(self._exchange_time())  # the redirect came in time: its code exchange may be running
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
        end, cancelled = time.monotonic() + max(limit, 0), False
        try:
            while not self._done.is_set() and not (cancelled and time.monotonic() >= end):
                if time.monotonic() >= end and not cancelled:
                    self.cancel(f"no redirect arrived within {self.timeout if timeout is None else timeout:g} s")
                    end, cancelled = time.monotonic() + self._exchange_time(), True  # as in wait_blocking
                await asyncio.sleep(0.02)
        finally:
            if not self._done.is_set():  # the wait itself was cancelled (interrupted cell)
                self.cancel("waiting for it was interrupted")
        stopper = self._stopper
        while stopper is not None and stopper.is_alive():
            await asyncio.sleep(0.02)
        self._stop_listener()
        return self._outcome()

    def _exchange_time(self) -> float:
        """How long a code exchange can take: two requests (one after a near 429's reset)."""
        return 2 * self.login.http_timeout + MAX_WAIT + MARGIN

    def _outcome(self) -> UserTokens:
        if self._error is not None:
            raise self._error
        if self._result is None:  # the redirect came in time, but its code exchange outlived _exchange_time()
            raise LoginError(f"The redirect arrived, but the code exchange at {self.login.token_endpoint} did not "
                             f"finish within {self._exchange_time():g} s. Check that it is reachable, then sign in again.")
        return self._result

    def __repr__(self) -> str:
        status = "done" if self.done else "waiting"
        return f"<PendingSignIn {status} redirect_uri={self.redirect_uri}>"
