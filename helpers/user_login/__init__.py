"""A user signs in through an AI gateway: Authorization Code + PKCE, then refresh tokens.

The gateway's side of the flow TrueFoundry's guide (GUIDE_MAP.md) describes::

    login = UserLogin(server.mcp_url, settings.require_web_client(), issuer=settings.issuer)
    pending = login.begin()            # state + PKCE, a listener on http://127.0.0.1:{free port}/callback
    print(pending.url)                 # the user opens it and signs in
    tokens = await pending.wait()      # the redirect arrived: code exchanged, tokens stored

    async with Client(server.mcp_url, auth=login.auth()) as client:   # tools, as the user
        me = await client.call_tool("get_me", {})

``issuer`` pins the authorization server the web app belongs to: an MCP server that names
another is refused before anything is sent. The gateway is bound to ``server.mcp_url``: its
``auth()`` sends the user's token there and nowhere else (:class:`UnboundServerError`). The
access token is refreshed shortly before it expires and after a 401; a rotated refresh token
replaces the old one; a 403 ``insufficient_scope`` leads to a step-up sign-in when
``login.auth(sign_in=...)`` says how to show one, for scopes the gateway may ask for only
(``allowed_scopes``). Every failure is a :class:`LoginError` whose message says what happened
and what to do. :func:`sign_in_with_password` drives the local sign-in page for tests and CI.

Modules: ``gateway`` (discovery, the token store, refresh, step-up), ``setup`` (the metadata
it needs, the scopes it may ask for), ``pending`` (one sign-in: state, PKCE, completion),
``token_requests`` (the token and revocation requests), ``issuer_check`` (RFC 9207 ``iss``),
``callback`` (the redirect listener),
``bearer`` (``httpx2.Auth`` for MCP clients), ``user_tokens``, ``transport`` (HTTPS endpoints,
a loopback or HTTPS redirect URI), ``automatic`` (password sign-in on the local pages), ``errors``,
``device`` (device sign-in, RFC 8628: ``login.sign_in_with_device()`` for a kernel or CLI without a
browser, with a Native app's client, ``require_device_client(settings)``).
"""

from ..bound_servers import UnboundServerError
from .automatic import sign_in_with_password
from .device import (
    DeviceAccessDeniedError,
    DeviceAuthorization,
    DeviceCodeExpiredError,
    DeviceSignInError,
    require_device_client,
)
from .bearer import SignInHandler, UserTokenAuth
from .errors import (
    AuthorizationCodeError,
    AuthorizationError,
    ConsentDeniedError,
    InsecureURLError,
    LoginError,
    NotSignedInError,
    RateLimitedLoginError,
    RefreshTokenError,
    SignInTimeoutError,
    StateMismatchError,
    StepUpError,
    login_error_in,
)
from .gateway import USER_SCOPES, UserLogin
from .issuer_check import IssuerMixUpError
from .pending import PendingSignIn
from .remote import browser_elsewhere
from .transport import is_loopback_http
from .user_tokens import UserTokens

__all__ = [
    "USER_SCOPES",
    "AuthorizationCodeError",
    "AuthorizationError",
    "ConsentDeniedError",
    "DeviceAccessDeniedError",
    "DeviceAuthorization",
    "DeviceCodeExpiredError",
    "DeviceSignInError",
    "InsecureURLError",
    "IssuerMixUpError",
    "LoginError",
    "NotSignedInError",
    "PendingSignIn",
    "RateLimitedLoginError",
    "RefreshTokenError",
    "SignInHandler",
    "SignInTimeoutError",
    "StateMismatchError",
    "StepUpError",
    "UserLogin",
    "UserTokenAuth",
    "UserTokens",
    "UnboundServerError",
    "is_loopback_http",
    "login_error_in",
    "require_device_client",
    "sign_in_with_password",
    "browser_elsewhere",
]
