"""The check of the Native app a kernel, CLI or agent signs users in with by device (RFC 8628).

It asks the device authorization endpoint for a code, as ``UserLogin.sign_in_with_device`` would,
and reads Okta's answer: a code (the app has the *Device Authorization* grant and the access
policy rule allows it), ``unauthorized_client`` (the grant is not ticked on the app),
``access_denied`` "Policy evaluation failed" (the rule does not allow the grant) or
``invalid_client`` (``DEVICE_CLIENT_ID`` is wrong). Sources: Okta's device-authorization-grant
guide and the error catalogue. The code is never used (it expires after ten minutes) and the
device code never goes into a result.
"""

from __future__ import annotations

from .http import Run, error_of, json_or_none
from .results import Status

__all__ = ["DEVICE_APP", "check_device_grant"]

DEVICE_APP = "Applications and Resources > Applications > (your Native app)"
DEVICE_CLIENT_ID_FIX = (
    "Optional (device sign-in only): create a Native app (Applications and Resources > Applications > Create App "
    "Integration > OIDC - OpenID Connect > Native Application; Grant type: Device Authorization and Refresh Token; "
    "assign yourself), then copy its Client ID into DEVICE_CLIENT_ID in .env."
)
DEVICE_GRANT_FIX = f"{DEVICE_APP} > General > General Settings > Edit > Grant type: tick Device Authorization, then Save."
DEVICE_RULE_FIX = (
    "Security > API > Authorization Servers > (your server) > Access Policies > the policy for the Native app > "
    "edit its rule: tick Device Authorization under the grant types (Okta's device-authorization-grant guide)."
)
DEVICE_CLIENT_FIX = f"{DEVICE_APP} > General > Client Credentials: copy the Client ID into DEVICE_CLIENT_ID."


def check_device_grant(run: Run):
    """Start a device sign-in with the Native app (nobody approves it)."""
    client = run.settings.device_client
    if client is None:
        return Status.WARN, "DEVICE_CLIENT_ID is not set, so device sign-in cannot be checked", DEVICE_CLIENT_ID_FIX
    endpoint = run.metadata.get("device_authorization_endpoint")
    if not endpoint:
        return Status.FAIL, "the metadata has no device_authorization_endpoint", \
            "Use a custom authorization server of an Okta org (Okta serves /v1/device/authorize on every one)."
    run.credential_url(endpoint, "device authorization endpoint")
    response = run.request("POST", endpoint, "device authorization endpoint",
                           data={"client_id": client.client_id, "scope": "openid offline_access"},
                           headers={"Accept": "application/json"})
    body = json_or_none(response)
    if response.status_code == 200 and isinstance(body, dict) and body.get("user_code") and body.get("device_code"):
        return Status.PASS, (f"the Native app can start a device sign-in: users go to {body.get('verification_uri')}, "
                             f"the code lasts {body.get('expires_in')} s, polls every {body.get('interval', 5)} s"), None
    error, description = error_of(body) or (f"HTTP {response.status_code}", "")
    seen = f"{error} \"{description}\"" if description else error
    if error == "unauthorized_client":
        return Status.FAIL, f"{seen}: the app lacks the Device Authorization grant", DEVICE_GRANT_FIX
    if error == "access_denied":
        return Status.FAIL, f"{seen}: no access policy rule allows the device grant", DEVICE_RULE_FIX
    if error == "invalid_client":
        return Status.FAIL, f"{seen}: DEVICE_CLIENT_ID names no app of this org", DEVICE_CLIENT_FIX
    return Status.FAIL, f"the device authorization endpoint answered {seen}", DEVICE_GRANT_FIX
