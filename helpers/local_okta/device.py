"""Device sign-in (RFC 8628, the Device Authorization Grant) as Okta serves it.

For a program that cannot open a browser where the user is (a remote kernel, a CLI, an agent):

1. it POSTs ``client_id`` and ``scope`` to ``{issuer}/v1/device/authorize`` and gets a
   ``device_code`` (kept), a ``user_code`` and a ``verification_uri`` (shown to the user);
2. the user opens ``https://{org}/activate`` on any device, enters the code, signs in and
   approves (``activate.py``);
3. meanwhile the program polls the token endpoint with
   ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` every ``interval`` seconds.

What follows Okta's *Configure Device Authorization Grant Flow* guide
(``docs/guides/device-authorization-grant/main/index.md``): a Native app with the *Device
Authorization* grant; the custom authorization server's policy rule must allow the grant (the org
server's needs nothing); an 8-letter ``user_code`` (``MHXTFRPK``), a UUID ``device_code``,
``verification_uri`` ``https://{yourOktaDomain}/activate``, ``verification_uri_complete`` with
``?user_code=``, ``expires_in`` 600 ("The unique user code is valid for 10 minutes"), ``interval``
5; a refresh token only for ``offline_access``. The polling answers are the catalogue's (internal
code beside each text). Inferred, where Okta's documents are silent: a poll sooner than the
interval after the previous one answers ``slow_down`` and adds 5 s to the interval from then on
(RFC 8628 3.5); an approved or denied code is spent by the poll that learns it; a code polled by
another client or at another authorization server is ``invalid_device_code``.

oauthlib's ``DeviceCodeGrant`` runs the token request; :class:`DeviceCodeValidation` (a mixin of
the request validator) answers its ``validate_device_code`` with Okta's errors.
``activate.approve`` plays the user on the local pages over HTTP, for tests and notebooks.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import errors

__all__ = [
    "DEFAULT_INTERVAL", "DEFAULT_LIFETIME", "DEVICE_GRANT", "DeviceCode",
    "DeviceCodeValidation", "DeviceFlow", "DeviceSwitches", "OktaDeviceCodeGrant", "device_authorize_endpoint",
]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Okta's guide: "The unique user code is valid for 10 minutes"; its example answers 600 and 5.
DEFAULT_LIFETIME = 600
DEFAULT_INTERVAL = 5
#: RFC 8628 3.5: after ``slow_down`` "the interval MUST be increased by 5 seconds".
SLOW_DOWN_STEP = 5
#: RFC 8628 6.1's base-20 alphabet (no vowels, no look-alikes); Okta's example code is 8 letters.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"

AUTHORIZATION_PENDING = "The device authorization is pending. Please try again later."  # authorization_pending (400)
SLOW_DOWN = "Slow down the polling frequency. Please try again later."  # slow_down (400)
EXPIRED_TOKEN = "The device code has expired."  # expired_token (400)
INVALID_DEVICE_CODE = "The device code is invalid or has expired."  # invalid_device_code (invalid_grant, 400)
INVALID_USER_CODE = "The user code is invalid or has expired."  # invalid_user_code (400)
ACCESS_DENIED = errors.USER_DENIED  # access_denied (403)


@dataclass
class DeviceCode:
    """One device authorization: what was asked, and where the user is with it."""

    server_id: str
    client_id: str
    scopes: list[str]
    user_code: str
    expires_at: float
    interval: float
    rule: object = None  # the policy rule matched at /device/authorize
    status: str = "pending"  # pending | approved | denied
    last_poll: float | None = None
    slow_down_next: bool = False  # set by DeviceFlow.demand_slower
    login: str | None = None
    auth_time: int | None = None


@dataclass
class DeviceFlow:
    """The device codes of one local org, behind a lock. ``clock`` (monotonic seconds) is a
    field so that a grader can run the flow on its own clock: the server then counts *its* time."""

    lifetime: int = DEFAULT_LIFETIME
    interval: int = DEFAULT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    codes: dict[str, DeviceCode] = field(default_factory=dict)  # by device_code
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def issue(self, server_id: str, client_id: str, scopes: list[str], rule) -> tuple[str, DeviceCode]:
        with self.lock:
            self._forget_old()
            taken = {code.user_code for code in self.codes.values()}
            user_code = _user_code()
            while user_code in taken:
                user_code = _user_code()
            device_code = str(uuid.uuid4())  # Okta's example device_code is a UUID
            record = DeviceCode(server_id, client_id, list(scopes), user_code,
                                self.clock() + self.lifetime, self.interval, rule)
            self.codes[device_code] = record
            return device_code, record

    def pending(self, user_code: str) -> DeviceCode | None:
        """The pending, unexpired authorization for what the user typed (case, spaces, dashes ignored)."""
        typed = "".join(ch for ch in user_code.upper() if ch.isalnum())
        with self.lock:
            for record in self.codes.values():
                if record.user_code == typed and record.status == "pending" and self.clock() <= record.expires_at:
                    return record
        return None

    def decide(self, record: DeviceCode, login: str, allow: bool) -> None:
        with self.lock:
            record.status, record.login, record.auth_time = ("approved" if allow else "denied"), login, int(time.time())

    def demand_slower(self, user_code: str) -> None:
        """Answer the next poll of this code ``slow_down`` (as if it came too soon) and add 5 s to its
        interval: a grader's way to see a client's ``slow_down`` handling without racing a clock."""
        record = self.pending(user_code)
        if record is None:
            raise LookupError("no pending device authorization has this user code")
        with self.lock:
            record.slow_down_next = True

    def _forget_old(self) -> None:
        cutoff = self.clock() - self.lifetime
        for key in [k for k, r in self.codes.items() if r.expires_at < cutoff]:
            del self.codes[key]


def _user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))


class DeviceSwitches:
    """``LocalOkta``'s device-sign-in switches (a mixin)."""

    def set_device_code_lifetime(self, seconds: int | None) -> None:
        """How long new device codes live (``None``: Okta's 600 s). Local only: a short one shows
        ``expired_token`` in a demo without waiting ten minutes."""
        if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1):
            raise ValueError("The device code lifetime must be a whole number of seconds >= 1, or None.")
        self._state.device_flow.lifetime = DEFAULT_LIFETIME if seconds is None else seconds

    @property
    def device_flow(self) -> DeviceFlow:
        """The device codes issued; its ``clock`` may be replaced so that a grader runs the flow on
        its own time (the server then counts intervals and expiry on that clock)."""
        return self._state.device_flow


class DeviceCodeValidation:
    """``validate_device_code`` for the request validator (a mixin): Okta's polling answers."""

    def validate_device_code(self, client_id, device_code, request, *args, **kwargs):
        flow: DeviceFlow = self.state.device_flow
        with flow.lock:
            record = flow.codes.get(device_code)
            if record is None or record.server_id != self.server_id or record.client_id != request.client.client_id:
                raise errors.invalid_grant(INVALID_DEVICE_CODE, request)  # invalid_device_code
            now = flow.clock()
            if now > record.expires_at:
                raise errors.OktaError("expired_token", EXPIRED_TOKEN, 400, request)  # expired_token
            too_soon = record.slow_down_next or (record.last_poll is not None and now - record.last_poll < record.interval)
            record.last_poll, record.slow_down_next = now, False
            if too_soon:  # RFC 8628 3.5: +5 s "for this and all subsequent requests" (inferred for Okta)
                record.interval += SLOW_DOWN_STEP
                raise errors.OktaError("slow_down", SLOW_DOWN, 400, request)  # slow_down
            if record.status == "pending":
                raise errors.OktaError("authorization_pending", AUTHORIZATION_PENDING, 400, request)  # authorization_pending
            del flow.codes[device_code]  # decided: spent by this poll
        if record.status == "denied":
            raise errors.OktaError("access_denied", ACCESS_DENIED, 403, request)  # access_denied
        user = self.state.tenant.user(record.login or "")
        if user is None:
            raise errors.invalid_grant(INVALID_DEVICE_CODE, request)
        request.scopes = list(record.scopes)
        request.user = request.okta_user = user
        request.okta_auth_time = record.auth_time
        request.okta_family = secrets.token_urlsafe(12)  # one sign-in: its refresh and access tokens
        return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED


class OktaDeviceCodeGrant(DeviceCodeGrant):
    """oauthlib's grant, with the token modifiers applied (``id_token``, no unwanted refresh token),
    as oauthlib's other grants do in their ``create_token_response``."""

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        token = token_handler.create_token(request, refresh_token=self.refresh_token)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200


def device_authorize_endpoint(state, oauth):
    """The handler of ``/v1/device/authorize`` (POST ``client_id``, ``scope``)."""

    async def device_authorize(request: Request, server_id: str) -> Response:
        if request.method != "POST":
            return JSONResponse({"error": "invalid_request", "error_description": "The endpoint only accepts POST."},
                                status_code=405, headers={"Allow": "POST"})
        body = (await request.body()).decode("utf-8", "replace")
        grant = oauth(server_id).device_code_grant
        checked = OAuthRequest(str(request.url.replace(query="")), "POST", body, dict(request.headers))
        checked.grant_type = DEVICE_GRANT  # the policy is evaluated for the device grant
        try:
            app = state.tenant.app(client_id=checked.client_id) if checked.client_id else None
            if app is not None and DEVICE_GRANT not in app.grant_types:  # unauthorized_client
                raise errors.unauthorized_grant(app.grant_types, checked)
            grant.validate_device_authorization_request(checked)
        except OAuth2Error as exc:
            if exc.error in ("invalid_client", "invalid_request") and not checked.client_id:
                exc = errors.invalid_client(errors.INVALID_CLIENT_ID, checked)
            elif exc.error == "invalid_request" and exc.description == "Invalid client_id parameter value.":
                exc = errors.invalid_client(errors.INVALID_CLIENT_ID, checked)
            elif exc.error == "invalid_request":  # illegal_duplicated_parameters and the like, in Okta's words
                exc = errors.invalid_request(errors.translate_parameter_error(exc.description or ""), checked)
            return JSONResponse(json.loads(exc.json), status_code=exc.status_code, headers={"Cache-Control": "no-store"})
        device_code, record = state.device_flow.issue(server_id, checked.client_id, checked.scopes,
                                                      getattr(checked, "okta_rule", None))
        activate = f"{state.base_url}/activate"
        return JSONResponse({
            "device_code": device_code,
            "user_code": record.user_code,
            "verification_uri": activate,
            "verification_uri_complete": f"{activate}?user_code={record.user_code}",
            "expires_in": state.device_flow.lifetime,
            "interval": state.device_flow.interval,
        }, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return device_authorize
