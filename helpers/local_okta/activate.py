"""The page a user opens to approve a device sign-in: ``https://{org}/activate`` (Okta's
``verification_uri``, from its device-authorization-grant guide).

Three steps, each a form POSTed back to ``/activate``: the user code (pre-filled from
``?user_code=``, as ``verification_uri_complete`` carries it), the same sign-in form as the
authorize endpoint (``pages.sign_in_page``, the password check with the lockout), and a page
asking the user to allow or deny the device (``pages.consent_page``). An unknown or expired
code is refused with the catalogue's ``invalid_user_code`` text; a user not assigned to the app
with ``user_not_assigned``'s, and the device keeps waiting (it may be approved by an assigned
user before it expires). Inferred: Okta's documents do not show its activation pages, so the
confirmation step follows RFC 8628 5.4 (the user should confirm the device they are approving).
"""

from __future__ import annotations

import re
import secrets
import time
from html import escape, unescape
from urllib.parse import urljoin

import requests
from starlette.requests import Request
from starlette.responses import Response

from . import errors, pages
from .authorize import TRANSACTION_LIFETIME, page
from .device import INVALID_USER_CODE, DeviceCode

__all__ = ["DeviceApprovalError", "activate_endpoint", "approve"]

ACTION = "/activate"


def code_page(user_code: str = "", error: str | None = None) -> str:
    """The form asking for the code the device shows."""
    message = f"<p class=\"error\" role=\"alert\">{escape(error)}</p>" if error else ""
    body = (
        "<h1>Activate your device</h1><p class=\"sub\">Enter the code displayed on your device</p>"
        f"{message}<form method=\"post\" action=\"{ACTION}\">"
        "<input type=\"hidden\" name=\"step\" value=\"code\">"
        "<label for=\"user_code\">Activation code</label>"
        f"<input id=\"user_code\" type=\"text\" name=\"user_code\" value=\"{escape(user_code)}\" "
        "autocomplete=\"off\" autofocus required><button type=\"submit\">Next</button></form>"
    )
    return pages._page("Activate your device", body)


def done_page(heading: str, detail: str) -> str:
    return pages._page(heading, f"<h1>{escape(heading)}</h1><p>{escape(detail)}</p>")


def activate_endpoint(state):
    """The handler of ``/activate`` (GET: the code form; POST: the next step)."""
    transactions: dict[str, dict] = {}

    async def activate(request: Request) -> Response:
        if request.method == "GET":
            return page(code_page(request.query_params.get("user_code", "")))
        form = await request.form()
        step = form.get("step")
        if step == "code":
            record = state.device_flow.pending(str(form.get("user_code", "")))
            if record is None:  # invalid_user_code
                return page(code_page(str(form.get("user_code", "")), INVALID_USER_CODE), 400)
            _forget_old(transactions)
            transaction = secrets.token_urlsafe(24)
            transactions[transaction] = {"record": record, "login": None, "created": time.monotonic()}
            return page(pages.sign_in_page(action=ACTION, transaction=transaction, app_name=_app_name(state, record)))
        transaction = str(form.get("transaction", ""))
        tx = transactions.get(transaction)
        if tx is None or time.monotonic() - tx["created"] > TRANSACTION_LIFETIME or tx["record"].status != "pending":
            transactions.pop(transaction, None)
            return page(code_page(error=INVALID_USER_CODE), 400)
        record: DeviceCode = tx["record"]
        app_name = _app_name(state, record)
        if step == "sign_in":
            username = str(form.get("username", ""))
            user = state.tenant.user(username)
            if user is None or not state.password_accepted(user, str(form.get("password", ""))):
                return page(pages.sign_in_page(action=ACTION, transaction=transaction, app_name=app_name,
                                               username=username, error="Unable to sign in"))
            app = state.tenant.app(client_id=record.client_id)
            if app is None or not app.is_assigned(user.login):  # user_not_assigned
                del transactions[transaction]
                return page(pages.error_page(summary="Access denied", detail=errors.USER_NOT_ASSIGNED), 403)
            tx["login"] = user.login
            return page(pages.consent_page(action=ACTION, transaction=transaction, app_name=app_name,
                                           user_name=user.name, scopes=[(name, "") for name in record.scopes]))
        if step != "consent" or tx["login"] is None:
            return page(pages.error_page(summary="Sign in first", detail="Sign in before approving the device."), 400)
        del transactions[transaction]
        allow = form.get("decision") == "allow"
        state.device_flow.decide(record, tx["login"], allow)
        if allow:
            return page(done_page("Device activated", "Follow the instructions on your device for next steps."))
        return page(done_page("Device not activated", "You denied the request. The device gets no access."))

    return activate


def _app_name(state, record: DeviceCode) -> str:
    app = state.tenant.app(client_id=record.client_id)
    return app.name if app else record.client_id


def _forget_old(transactions: dict[str, dict]) -> None:
    cutoff = time.monotonic() - TRANSACTION_LIFETIME
    for key in [k for k, tx in transactions.items() if tx["created"] < cutoff]:
        transactions.pop(key, None)


class DeviceApprovalError(RuntimeError):
    """The activation pages did not approve (or deny) the code; the message is what the page said."""


def approve(verification_uri_complete: str, user, *, password: str | None = None, deny: bool = False,
            timeout: float = 10.0, session: requests.Session | None = None) -> str:
    """Act as the user on the local activation pages, like a browser: open the link, sign in as
    ``user`` (a :class:`~helpers.local_okta.tenant.TestUser`, or a login with ``password``), then
    allow (or ``deny``) the device. Returns the last page's heading. Local server only.
    ``session``: the browser's own (its trust store, say); by default a new one, closed afterwards."""
    login = getattr(user, "login", user)
    password = getattr(user, "password", password)
    from .signin import SignInError, _form, _message  # the same form reading as the browser sign-in

    try:
        if session is None:
            with requests.Session() as own:
                return _approve(own, verification_uri_complete, login, password or "", deny, timeout, _form, _message)
        return _approve(session, verification_uri_complete, login, password or "", deny, timeout, _form, _message)
    except SignInError as exc:
        raise DeviceApprovalError(str(exc)) from None


def _approve(http: requests.Session, uri: str, login: str, password: str, deny: bool, timeout: float, _form,
             _message) -> str:
    verification_uri_complete = uri
    page = http.get(verification_uri_complete, timeout=timeout)
    code = _field(page.text, "user_code")
    if page.status_code != 200 or code is None:
        raise DeviceApprovalError(_message(page))
    page = http.post(urljoin(verification_uri_complete, "/activate"), data={"step": "code", "user_code": code},
                     timeout=timeout)
    action, transaction = _form(page, verification_uri_complete)
    page = http.post(action, data={"transaction": transaction, "step": "sign_in", "username": login,
                                   "password": password}, timeout=timeout)
    if 'name="step" value="consent"' not in page.text:
        raise DeviceApprovalError(_message(page))
    action, transaction = _form(page, verification_uri_complete)
    page = http.post(action, data={"transaction": transaction, "step": "consent",
                                   "decision": "deny" if deny else "allow"}, timeout=timeout)
    if page.status_code != 200:
        raise DeviceApprovalError(_message(page))
    return _heading(page.text)


def _field(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def _heading(html: str) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", html)
    return unescape(found.group(1)) if found else ""
