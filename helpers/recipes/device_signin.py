"""Sign a person in from a program without a browser (RFC 8628, Device Authorization Grant): one file to copy.

What it is for: a CLI, an agent, a remote Jupyter kernel or a device calls an OAuth-protected API
*as a person*, but no browser can come back to it with a code. Instead it asks the authorization
server for a short *user code*, tells the person where to enter it (on their phone or laptop), and
asks the token endpoint every few seconds until the person has signed in and approved. Needs only
``requests`` (and the standard library).

How to use it (endpoints from ``{issuer}/.well-known/oauth-authorization-server``; at Okta the app
is a Native app with the *Device Authorization* grant, and the access policy rule allows it)::

    started = start_device_sign_in(
        "https://YOUR_ORG.okta.com/oauth2/default/v1/device/authorize",
        client_id="...",                                   # the Native app's (public: no secret)
        scope="openid offline_access calculator.add",
    )
    print(f"Open {started['verification_uri']} and enter {started['user_code']}")
    tokens = poll_for_token("https://YOUR_ORG.okta.com/oauth2/default/v1/token", "...",
                            started["device_code"], started.get("interval", 5))

``poll_for_token`` waits ``interval`` seconds before every poll, adds 5 s for good after
``slow_down``, and raises :class:`DeviceSignInError` on ``expired_token``, ``access_denied`` or any
other refusal; its messages never contain the device code or a token. Keep the device code to
yourself: whoever holds it gets the tokens once the person approves. Refresh the tokens as for any
sign-in (``grant_type=refresh_token`` with your ``client_id``).

What ``helpers/user_login`` (``UserLogin.sign_in_with_device``) adds on top: discovery of the device
endpoint from the MCP server with issuer pinning, https-only endpoints, a stop at the code's
lifetime, Okta's 429 handled, and the tokens kept and refreshed (with rotation) for the MCP client.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

__all__ = ["DEVICE_GRANT", "DeviceSignInError", "poll_for_token", "start_device_sign_in"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceSignInError(RuntimeError):
    """The device sign-in ended without tokens; ``error`` is the server's error code."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


def start_device_sign_in(device_authorization_endpoint: str, client_id: str, scope: str, timeout: float = 10) -> dict:
    """Ask for a device code: ``device_code`` (keep it secret), ``user_code`` and ``verification_uri``
    (show them), ``verification_uri_complete`` (for a QR code), ``expires_in`` and ``interval``."""
    if not device_authorization_endpoint.startswith("https://"):
        raise DeviceSignInError("the device authorization endpoint must be an https:// URL")
    response = requests.post(device_authorization_endpoint, data={"client_id": client_id, "scope": scope},
                             headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False)
    answer = response.json()
    if response.status_code != 200 or "device_code" not in answer:
        error = answer.get("error", f"HTTP {response.status_code}")
        raise DeviceSignInError(f"the device sign-in could not start: {error}: {answer.get('error_description', '')}", error)
    return answer


def poll_for_token(
    token_endpoint: str,
    client_id: str,
    device_code: str,
    interval: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 10,
) -> dict:
    """Poll the token endpoint until the person approves; the token response (RFC 8628, 3.4 and 3.5)."""
    if not token_endpoint.startswith("https://"):
        raise DeviceSignInError("the token endpoint must be an https:// URL")
    interval = interval or 5  # RFC 8628: 5 s when the server names no interval
    while True:
        sleep(interval)  # before every poll, never faster: the server counts
        # allow_redirects=False: a 307 would re-post the device code (whoever holds it gets the tokens)
        response = requests.post(token_endpoint, timeout=timeout, allow_redirects=False, data={
            "grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id})
        answer = response.json()
        if response.status_code == 200 and "access_token" in answer:
            return answer
        error = answer.get("error", f"HTTP {response.status_code}")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5  # for this poll and every later one
            continue
        if error == "expired_token":
            raise DeviceSignInError("the code expired before the person approved it: start a new device sign-in", error)
        if error == "access_denied":
            raise DeviceSignInError("the person (or the authorization server) denied the device sign-in", error)
        raise DeviceSignInError(f"the token endpoint refused the device code: {error}: "
                                f"{answer.get('error_description', '')}", error)
