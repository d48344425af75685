"""The gateway's side of signing a user in: Authorization Code + PKCE, tokens, refresh, step-up.

:class:`UserLogin` is what an AI gateway does for one user of one MCP server:

1. **discover** the authorization server from the MCP server's URL (:mod:`helpers.discovery`),
   trusting only the ``issuer`` the web app was registered with: the app's secret, the user's
   sign-in and the PKCE verifier never go to an authorization server the MCP server names
   on its own;
2. **begin** a sign-in (:meth:`UserLogin.begin`, a :class:`~.pending.PendingSignIn`): a fresh
   ``state`` and PKCE verifier, the authorization URL, and a listener on the redirect URI;
3. **complete** it when the redirect arrives: check ``state``, then ``iss`` (RFC 9207, the mix-up
   attack: ``issuer_check.py``), exchange the code, store tokens;
4. hand out a valid **access token** (:meth:`UserLogin.access_token`), refreshing it shortly
   before it expires. While the token endpoint fails, one refresh attempt is made at a time
   (its failure shared by every caller that waited), with a growing pause between attempts,
   and the access token is used until it has really expired;
5. **step up** (:meth:`UserLogin.astep_up`) when a tool needs a scope the user has not granted:
   a new sign-in for the union of the scopes held and the ones named.

The protocol messages are built and parsed by oauthlib and sent by requests-oauthlib
(``token_requests.py``); this module keeps the state around them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..backoff import SharedBackoff
from ..bound_servers import BoundServers
from ..discovery import Discovered, discover
from ..pacing import RENEWALS_AFTER_401, STEP_UPS, Pace
from ..settings import ANY_PORT_REDIRECT_URI, ClientCredentials
from .bearer import SignInHandler, UserTokenAuth
from .device import DeviceSignIn
from .errors import LoginError, NotSignedInError, RefreshTokenError
from .pending import PendingSignIn
from .setup import (USER_SCOPES, allowed_scopes_for, check_sign_in_metadata, choose_client, first_scopes,
                    no_refresh_token_message)
from .step_up import step_up
from .token_requests import refresh_tokens, revoke_refresh_token
from .transport import check_endpoint, check_redirect_uri
from .user_tokens import UserTokens

__all__ = ["USER_SCOPES", "UserLogin"]

#: How long a sign-in may take, from the link to the redirect (seconds).
DEFAULT_SIGN_IN_TIMEOUT = 300.0

LISTENER_NAME = "user-login-callback"


class UserLogin(DeviceSignIn):
    """An AI gateway signing one user in to the MCP server at ``mcp_url`` and keeping them in:
    :meth:`auth` sends the user's token to ``mcp_url``'s origin only (:mod:`helpers.bound_servers`),
    step-up asks only for ``allowed_scopes`` (default: :func:`.setup.allowed_scopes_for`). ``client`` is the web app's id and secret (``settings.require_web_client()``); a public
    client (no secret) sends its ``client_id`` instead of authenticating. ``issuer`` is the
    authorization server that app belongs to (``settings.issuer``): an MCP server that names
    any other is refused with :class:`~helpers.discovery.IssuerMismatchError`. ``scopes``
    default to :data:`USER_SCOPES` plus what the MCP server asks for (the scope of its 401
    challenge, else its ``scopes_supported``). ``send_resource`` adds the RFC 8707 ``resource``
    parameter (the MCP server's URL) to authorization and token requests; Okta takes the
    audience from the authorization server and may reject ``resource``, so it is off unless
    the authorization server is known to accept it (``settings.send_resource_parameter``).
    An access token is refreshed once less than ``refresh_margin`` seconds (at most half its
    lifetime) are left. ``clock`` is the gateway's clock (tests move it). ``redirect_uri`` is
    where the browser comes back: by default ``http://127.0.0.1:0/callback``, port 0 meaning a
    free port for each sign-in (RFC 8252, 7.3; the local server accepts any loopback port); Okta
    compares it exactly, so with a tenant pass the one registered (``settings.redirect_uri``).
    ``client_metadata_url``: this client's metadata document (CIMD), used as its client id where the
    authorization server advertises CIMD, ``client`` elsewhere (:func:`~.setup.choose_client`).
    """

    def __init__(
        self,
        mcp_url: str,
        client: ClientCredentials,
        *,
        issuer: str,
        redirect_uri: str = ANY_PORT_REDIRECT_URI,
        scopes: Sequence[str] | None = None,
        allowed_scopes: Sequence[str] | None = None,
        send_resource: bool = False,
        refresh_margin: float = 30.0,
        http_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        discovered: Discovered | None = None,
        client_metadata_url: str | None = None,
    ) -> None:
        check_redirect_uri(redirect_uri)
        self.bound_servers = BoundServers(mcp_url)  # read by UserTokenAuth
        self.mcp_url = mcp_url
        self.redirect_uri = redirect_uri
        self.refresh_margin = refresh_margin
        self.http_timeout = http_timeout
        self._clock = clock
        self.discovered = discovered or discover(mcp_url, issuer=issuer, timeout=http_timeout)
        check_sign_in_metadata(self.discovered, issuer)
        self.client = choose_client(self.discovered, client, client_metadata_url)  # CIMD only where advertised
        check_endpoint(self.authorization_endpoint, "authorization endpoint")
        check_endpoint(self.token_endpoint, "token endpoint")
        #: RFC 8707: the resource sent with authorization and token requests (None: not sent)
        self.resource: str | None = self.discovered.resource if send_resource else None
        self.scopes: tuple[str, ...] = first_scopes(self.discovered, scopes)
        #: every scope a step-up may ask for; a 403 naming another is refused without asking the user
        self.allowed_scopes: frozenset[str] = allowed_scopes_for(self.discovered, self.scopes, allowed_scopes)
        self._tokens: UserTokens | None = None
        self._lock = threading.RLock()
        self._backoff = SharedBackoff(clock=clock)
        self.step_up_lock = threading.Lock()  # one step-up sign-in at a time (step_up.py)
        self.step_up_gates: dict[frozenset[str], SharedBackoff] = {}  # a failed step-up, shared
        self.step_up_pace = Pace(*STEP_UPS, clock=clock)  # at most three step-up sign-ins a minute
        self._refreshes_after_401 = Pace(*RENEWALS_AFTER_401, clock=clock)
        #: what happened so far: ``sign-ins``, ``refreshes``, ``retries after 401``, ``step-ups``
        self.stats: Counter[str] = Counter()

    # -- where things are ----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.discovered.issuer

    @property
    def authorization_endpoint(self) -> str:
        return self.discovered.metadata["authorization_endpoint"]

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
        scopes: Sequence[str] | None = None,
        listen: bool = True,
        timeout: float = DEFAULT_SIGN_IN_TIMEOUT,
        listener_name: str = LISTENER_NAME,
    ) -> PendingSignIn:
        """Start a sign-in: a new ``state`` and PKCE pair, the URL to open, and (``listen``)
        a listener on the redirect URI that completes the sign-in when the browser arrives.

        ``scopes`` default to this gateway's. The sign-in (and its listener) ends at the first
        redirect carrying its ``state``, or after ``timeout`` seconds. Starting another sign-in
        under the same ``listener_name`` cancels this one.
        """
        return PendingSignIn(
            self, scopes=self.scopes if scopes is None else scopes, listen=listen, timeout=timeout,
            listener_name=listener_name,
        )

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

    def store_tokens(self, token: dict[str, Any], previous: UserTokens | None = None) -> UserTokens:
        """Keep a token response (from a code exchange or a refresh) as the user's tokens."""
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
            self._backoff.succeeded()
        return tokens

    # -- staying signed in ---------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token for the user, refreshed first when it is about to expire.

        When the refresh fails for a reason that may pass (the token endpoint is down), the
        stored access token is returned while it has not expired; only then is the error raised.
        """
        ticket = self._backoff.ticket()
        with self._lock:
            tokens = self._signed_in_tokens(ticket)
            if not tokens.is_due(self._clock(), self.refresh_margin):
                return tokens.access_token
            shared = self._backoff.failure_to_share(ticket)
            if shared is None:
                try:  # while the access token is valid, a 429's reset is not worth a wait
                    return self._refresh_now(tokens, max_wait=None if tokens.is_expired(self._clock()) else 0.0).access_token
                except RefreshTokenError:
                    raise  # the refresh token is dead: the user must sign in again
                except LoginError as exc:
                    shared = exc
            if not tokens.is_expired(self._clock()):
                return tokens.access_token
            raise shared

    def refresh(self, *, stale_access_token: str | None = None) -> UserTokens:
        """Use the refresh token for new tokens now; the rotated refresh token replaces the old.

        With ``stale_access_token`` (the token the MCP server just rejected), nothing happens
        if the stored token is already a different one (another request refreshed it).
        Raises :class:`RefreshTokenError` (and forgets the tokens) when the authorization
        server refuses the refresh token: the user must sign in again.
        """
        ticket = self._backoff.ticket()
        with self._lock:
            tokens = self._signed_in_tokens(ticket)
            if stale_access_token is not None and tokens.access_token != stale_access_token:
                return tokens
            shared = self._backoff.failure_to_share(ticket)
            if shared is not None:
                raise shared
            return self._refresh_now(tokens)

    def refresh_after_401(self, rejected: str) -> UserTokens | None:
        """:meth:`refresh` after a 401 to ``rejected``, at most once every 10 s (else ``None``)."""
        with self._lock:
            tokens = self._tokens
            if tokens is not None and tokens.access_token != rejected:
                return tokens  # another request refreshed it already
            if tokens is not None and not self._refreshes_after_401.take():
                return None
            return self.refresh(stale_access_token=rejected)

    def _signed_in_tokens(self, ticket: int) -> UserTokens:
        tokens = self._tokens
        if tokens is not None:
            return tokens
        shared = self._backoff.failed_since(ticket)
        if isinstance(shared, RefreshTokenError):  # it ended the session while this caller waited
            raise shared
        raise NotSignedInError(
            "No user is signed in to this gateway. Sign in first: pending = login.begin(), "
            "then open pending.url and await pending.wait()."
        )

    def _refresh_now(self, tokens: UserTokens, max_wait: float | None = None) -> UserTokens:
        """One refresh (under the lock); its failure is shared with the callers waiting (a 429 drops nothing)."""
        if not tokens.refresh_token:
            error = RefreshTokenError(no_refresh_token_message(self.discovered))
            self._backoff.failed(error)
            raise error
        try:
            token = refresh_tokens(
                token_endpoint=self.token_endpoint, client=self.client, refresh_token=tokens.refresh_token,
                resource=self.resource, timeout=self.http_timeout, max_wait=max_wait,
            )
        except RefreshTokenError as exc:
            self._tokens = None
            self._backoff.failed(exc)
            raise
        except LoginError as exc:
            self._backoff.failed(exc)
            raise
        self.stats["refreshes"] += 1
        return self.store_tokens(token, previous=tokens)

    # -- step-up -------------------------------------------------------------------------

    async def astep_up(self, needed: Sequence[str], sign_in: SignInHandler | None) -> str:
        """An access token that also carries ``needed``: the user signs in again for the union
        of the scopes asked before, the scopes held and ``needed`` (see :func:`.step_up.step_up`)."""
        return await step_up(self, tuple(needed), sign_in)

    # -- signing out ---------------------------------------------------------------------

    def sign_out(self) -> bool:
        """Revoke the refresh token at the authorization server and forget the tokens.

        Returns whether a revocation request was sent. Access tokens already issued stay
        valid at resource servers that verify JWTs locally, until they expire.
        """
        with self._lock:
            tokens, self._tokens = self._tokens, None
        if tokens is None or not tokens.refresh_token or not self.revocation_endpoint:
            return False
        revoke_refresh_token(
            revocation_endpoint=self.revocation_endpoint, client=self.client,
            refresh_token=tokens.refresh_token, timeout=self.http_timeout,
        )
        return True

    def auth(self, *, sign_in: SignInHandler | None = None) -> UserTokenAuth:
        """An ``httpx2.Auth`` for ``fastmcp.Client(url, auth=...)``: calls tools as this user.

        ``sign_in`` lets it step up: on 403 ``insufficient_scope`` the user is asked (through
        ``sign_in(pending)``) for the missing scopes, and the call is retried once.
        """
        return UserTokenAuth(self, sign_in=sign_in)

    def __repr__(self) -> str:
        who = "signed in" if self._tokens else "not signed in"
        return f"<UserLogin {self.mcp_url} {who}>"

