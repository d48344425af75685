"""Device sign-in (RFC 8628) from the program's side: start it, show the code, poll for tokens.

For a program that cannot bring a browser back to itself (a remote kernel, a CLI, an agent)::

    started = start_device_sign_in(device_endpoint, client, ["openid", "offline_access"])
    print(started.instructions())          # "Open https://{org}/activate and enter the code ..."
    token = poll_device_sign_in(token_endpoint, client, started)   # waits, then the token response

:func:`poll_device_sign_in` waits ``interval`` seconds before every poll (5 when the server names
none), adds 5 s for good after ``slow_down`` (RFC 8628 3.5), stops with
:class:`DeviceCodeExpiredError` on ``expired_token`` (or once the code's lifetime has passed:
polling on is pointless) and with :class:`DeviceAccessDeniedError` on ``access_denied``; any other
refusal is a :class:`DeviceSignInError`. It never polls in a busy loop, and ``sleep`` and
``clock`` can be handed in (tests run it in milliseconds). Messages never contain the device code
or a token. oauthlib's ``DeviceClient`` builds the token request's body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from oauthlib.oauth2 import DeviceClient

from ..display import mask_token
from ..rate_limits import seconds_until_reset
from ..settings import ClientCredentials, ConfigurationError, Settings
from .errors import LoginError
from .transport import check_endpoint

__all__ = [
    "DEFAULT_INTERVAL", "DeviceAccessDeniedError", "DeviceAuthorization", "DeviceCodeExpiredError",
    "DeviceSignIn", "DeviceSignInError", "poll_device_sign_in", "require_device_client", "start_device_sign_in",
]

#: RFC 8628 3.2: "If no value is provided, clients MUST use 5 as the default."
DEFAULT_INTERVAL = 5.0
#: RFC 8628 3.5: after ``slow_down`` the interval "MUST be increased by 5 seconds".
SLOW_DOWN_STEP = 5.0


class DeviceSignInError(LoginError):
    """The device sign-in failed; ``error`` is the authorization server's error code."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class DeviceCodeExpiredError(DeviceSignInError):
    """The code expired before the user approved it: start a new device sign-in."""


class DeviceAccessDeniedError(DeviceSignInError):
    """The user (or the authorization server) denied the device."""


@dataclass(frozen=True, repr=False)
class DeviceAuthorization:
    """The device authorization endpoint's answer: what to show the user, and the device code
    (kept by the program, never shown; ``repr`` masks it). ``started_at`` is on the poller's clock."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    started_at: float

    @property
    def expires_at(self) -> float:
        return self.started_at + self.expires_in

    def instructions(self) -> str:
        """What to tell the user: where to go and which code to enter."""
        minutes = max(1, round(self.expires_in / 60))
        return (f"On any device with a browser, open {self.verification_uri} and enter the code "
                f"{self.user_code} (valid for {minutes} minute{'s' if minutes != 1 else ''}).")

    def __repr__(self) -> str:
        return (f"DeviceAuthorization(user_code={self.user_code!r}, verification_uri={self.verification_uri!r}, "
                f"device_code={mask_token(self.device_code)!r}, expires_in={self.expires_in!r}, interval={self.interval!r})")


def require_device_client(settings: Settings) -> ClientCredentials:
    """The Native app for device sign-in (``DEVICE_CLIENT_ID``), or an error saying what to create."""
    if settings.device_client is None:
        raise ConfigurationError(
            "DEVICE_CLIENT_ID is not set (or still a placeholder): device sign-in needs a Native app. Create one in "
            "Okta (Applications > Create App Integration > OIDC - OpenID Connect > Native Application; Grant type: "
            "Device Authorization and Refresh Token; assign yourself), allow Device Authorization in the access "
            "policy rule, and copy its Client ID into DEVICE_CLIENT_ID in .env.")
    return settings.device_client


def _client_auth(client: ClientCredentials) -> dict[str, Any]:
    """A confidential client authenticates with HTTP Basic; a Native app sends its ``client_id``."""
    return {"auth": (client.client_id, client.client_secret)} if client.client_secret else {}


def start_device_sign_in(
    device_authorization_endpoint: str,
    client: ClientCredentials,
    scopes: Sequence[str],
    *,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> DeviceAuthorization:
    """Ask the authorization server for a device code and a user code (RFC 8628 3.1)."""
    check_endpoint(device_authorization_endpoint, "device authorization endpoint")
    try:
        response = requests.post(device_authorization_endpoint, data={"client_id": client.client_id, "scope": " ".join(scopes)},
                                 headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False,
                                 **_client_auth(client))
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LoginError(f"Could not start a device sign-in at {device_authorization_endpoint} "
                         f"({type(exc).__name__}). Check the network and that the authorization server is up.") from None
    if response.status_code != 200 or not isinstance(body, dict) or "device_code" not in body:
        error = body.get("error", f"HTTP {response.status_code}") if isinstance(body, dict) else f"HTTP {response.status_code}"
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        hint = (" Give the app the Device Authorization grant (a Native app: General > Grant type)."
                if error == "unauthorized_client" else "")
        reason = ": ".join(part for part in (error, description.strip()) if part).rstrip(".") + "."
        raise DeviceSignInError(f"The device authorization endpoint refused: {reason}{hint}", error)
    return DeviceAuthorization(
        device_code=str(body["device_code"]), user_code=str(body["user_code"]),
        verification_uri=str(body["verification_uri"]), verification_uri_complete=body.get("verification_uri_complete"),
        expires_in=float(body.get("expires_in", 600)), interval=float(body.get("interval") or DEFAULT_INTERVAL),
        started_at=clock(),
    )


def poll_device_sign_in(
    token_endpoint: str,
    client: ClientCredentials,
    started: DeviceAuthorization,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Poll the token endpoint until the user approves; the token response (RFC 8628 3.4, 3.5)."""
    check_endpoint(token_endpoint, "token endpoint")
    body = DeviceClient(client.client_id).prepare_request_body(started.device_code, include_client_id=not client.client_secret)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    interval = max(started.interval, 1.0)
    while True:
        if clock() + interval > started.expires_at:
            raise DeviceCodeExpiredError("The device code expired before the user approved it: start a new device "
                                         "sign-in and approve it sooner.", "expired_token")
        sleep(interval)
        try:
            response = requests.post(token_endpoint, data=body, headers=headers, timeout=timeout,
                                     allow_redirects=False, **_client_auth(client))  # never re-post the device code
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise LoginError(f"Could not poll the token endpoint {token_endpoint} ({type(exc).__name__}). "
                             "Check the network, then start a new device sign-in.") from None
        if response.status_code == 200 and isinstance(answer, dict) and "access_token" in answer:
            return answer
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        description = answer.get("error_description", "") if isinstance(answer, dict) else ""
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP  # for this and every later poll
            continue
        if response.status_code == 429:  # Okta's rate limit: wait until the reset (the loop adds the interval)
            sleep(max(0.0, seconds_until_reset(response.headers) - interval))
            continue
        if error == "expired_token":
            raise DeviceCodeExpiredError("The device code expired before the user approved it: start a new device "
                                         "sign-in and approve it sooner.", error)
        if error == "access_denied":
            raise DeviceAccessDeniedError(f"The device sign-in was denied: {description} Nothing was granted; "
                                          "start again if that was a mistake.", error)
        raise DeviceSignInError(f"The token endpoint refused the device code: {error or f'HTTP {response.status_code}'}: "
                                f"{description}".rstrip(": "), error)


def _print_instructions(started: DeviceAuthorization) -> None:
    print(started.instructions())


class DeviceSignIn:
    """``UserLogin.sign_in_with_device`` (a mixin): the gateway signs a user in with a device code."""

    def sign_in_with_device(
        self,
        *,
        show: Callable[[DeviceAuthorization], None] = _print_instructions,
        scopes: Sequence[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Any:
        """Sign the user in without a redirect: ``show(started)`` tells them where to go and which
        code to enter (default: print it), then the token endpoint is polled until they approve. The
        tokens are stored and refreshed as after a browser sign-in. The gateway's ``client`` must be
        an app with the Device Authorization grant (a Native app, :func:`require_device_client`)."""
        endpoint = self.discovered.metadata.get("device_authorization_endpoint")
        if not endpoint:
            raise DeviceSignInError(f"The authorization server {self.issuer} advertises no device_authorization_endpoint: "
                                    "sign in with the browser (login.begin()) instead.")
        started = start_device_sign_in(endpoint, self.client, self.scopes if scopes is None else scopes,
                                       timeout=self.http_timeout, clock=clock)
        show(started)
        token = poll_device_sign_in(self.token_endpoint, self.client, started, sleep=sleep, clock=clock,
                                    timeout=self.http_timeout)
        self.stats["sign-ins"] += 1
        return self.store_tokens(token)
