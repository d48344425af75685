"""The local authorization server's device sign-in (RFC 8628) answers as Okta documents.

Sources: Okta's *Configure Device Authorization Grant Flow* guide
(``packages/@okta/vuepress-site/docs/guides/device-authorization-grant/main/index.md`` in
okta/okta-developer-docs: endpoint, request and response fields, ``expires_in`` 600, ``interval`` 5,
``verification_uri`` ``https://{yourOktaDomain}/activate``, tokens with ``offline_access``), its
*Configure MCP authentication* guide (``guides/configure-mcp-authentication/main/index.md``: a
Native app with the Device Authorization grant) and the error catalogue
(``oauth2-error-codes.json``, release 2026.08.1; the internal code is named beside each test).
Rows marked "inferred" are choices where Okta's documents are silent.
"""

from __future__ import annotations

import re

import jwt
import pytest
import requests

from helpers.local_okta import start_local_okta
from helpers.local_okta.activate import DeviceApprovalError, approve
from helpers.local_okta.device import DEVICE_GRANT
from helpers.local_okta.tenant import App


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="test-okta-fidelity-device")
    yield local
    local.stop()


@pytest.fixture
def clock(okta):
    fake = FakeClock()
    okta.device_flow.clock = fake
    yield fake
    okta.device_flow.clock = __import__("time").monotonic
    okta.set_device_code_lifetime(None)


def device_id(okta) -> str:
    return okta.clients["device_app"].client_id


def start(okta, scope="openid profile offline_access calculator.add", client_id=None) -> requests.Response:
    return requests.post(okta.endpoint("device/authorize"), data={"client_id": client_id or device_id(okta), "scope": scope},
                         headers={"Accept": "application/json"}, timeout=10)


def poll(okta, device_code, client_id=None) -> requests.Response:
    return requests.post(okta.token_endpoint, data={"client_id": client_id or device_id(okta), "grant_type": DEVICE_GRANT,
                                                   "device_code": device_code}, timeout=10)


def answer(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def test_metadata_advertises_the_device_endpoint_and_grant(okta):
    # guide: POST {yourOktaDomain}/oauth2/default/v1/device/authorize
    for suffix in ("oauth-authorization-server", "openid-configuration"):
        document = requests.get(f"{okta.issuer}/.well-known/{suffix}", timeout=10).json()
        assert document["device_authorization_endpoint"] == f"{okta.issuer}/v1/device/authorize"
        assert DEVICE_GRANT in document["grant_types_supported"]


def test_device_authorize_answers_the_guides_fields_and_defaults(okta, clock):
    response = start(okta)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"}
    assert re.fullmatch(r"[A-Z]{8}", body["user_code"])  # the guide's example: "MHXTFRPK"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", body["device_code"])
    assert body["verification_uri"] == f"{okta.url}/activate"
    assert body["verification_uri_complete"] == f"{okta.url}/activate?user_code={body['user_code']}"
    assert (body["expires_in"], body["interval"]) == (600, 5)  # "valid for 10 minutes"; interval 5


def test_an_app_without_the_device_grant_is_unauthorized_client(okta):
    # catalogue unauthorized_client (400)
    status, error, description = answer(start(okta, client_id=okta.clients["web"].client_id))
    assert (status, error) == (400, "unauthorized_client")
    assert description == ("The client is not authorized to use the provided grant type. Configured grant types: "
                           "[client_credentials, authorization_code, refresh_token].")


def test_an_unknown_client_is_invalid_client(okta):
    # catalogue invalid_client_id (401)
    assert answer(start(okta, client_id="0oa1nosuchapp00000000")) == (401, "invalid_client", "Invalid value for 'client_id' parameter.")


def test_a_scope_the_server_does_not_define_is_refused(okta):
    # catalogue invalid_scope
    status, error, description = answer(start(okta, scope="openid reports.read"))
    assert (status, error) == (400, "invalid_scope")
    assert description == "One or more scopes are not configured for the authorization server resource."


def test_a_policy_rule_without_the_device_grant_is_no_matching_policy(okta):
    # guide: "Ensure that Device Authorization is enabled at the policy rule level"; catalogue no_matching_policy (401)
    rule = next(p for p in okta.tenant.server("default").policies if p.name == "Device sign-in").rules[0]
    saved, rule.grant_types = rule.grant_types, ("authorization_code",)
    try:
        assert answer(start(okta)) == (401, "access_denied",
                                       "Policy evaluation failed for this request, please check the policy configurations.")
    finally:
        rule.grant_types = saved


def test_pending_then_tokens_for_the_user_once_approved(okta, clock):
    body = start(okta).json()
    # catalogue authorization_pending (400)
    assert answer(poll(okta, body["device_code"])) == (400, "authorization_pending",
                                                        "The device authorization is pending. Please try again later.")
    assert approve(body["verification_uri_complete"], okta.users[0]) == "Device activated"
    clock.now += 5
    tokens = poll(okta, body["device_code"])
    assert tokens.status_code == 200
    token = tokens.json()
    assert {"access_token", "id_token", "refresh_token"} <= set(token)  # openid + offline_access (guide)
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["cid"], claims["uid"]) == ("ada@example.com", device_id(okta), okta.users[0].uid)
    assert jwt.decode(token["id_token"], options={"verify_signature": False})["aud"] == device_id(okta)
    refreshed = requests.post(okta.token_endpoint, data={"client_id": device_id(okta), "grant_type": "refresh_token",
                                                         "refresh_token": token["refresh_token"]}, timeout=10)
    assert refreshed.status_code == 200 and "access_token" in refreshed.json()  # refresh works for a device sign-in


def test_a_used_or_unknown_device_code_is_invalid_device_code(okta, clock):
    body = start(okta).json()
    approve(body["verification_uri_complete"], okta.users[1])
    assert poll(okta, body["device_code"]).status_code == 200
    clock.now += 5
    # catalogue invalid_device_code (invalid_grant, 400); single use is inferred
    invalid = (400, "invalid_grant", "The device code is invalid or has expired.")
    assert answer(poll(okta, body["device_code"])) == invalid
    assert answer(poll(okta, "00000000-0000-4000-8000-000000000000")) == invalid


def test_a_client_without_the_grant_cannot_redeem_a_device_code(okta, clock):
    # catalogue unauthorized_client: the grant is checked before the code
    body = start(okta).json()
    web = okta.clients["web"]
    response = requests.post(okta.token_endpoint, auth=(web.client_id, web.client_secret),
                             data={"grant_type": DEVICE_GRANT, "device_code": body["device_code"]}, timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_polling_faster_than_the_interval_is_slow_down_and_adds_five_seconds(okta, clock):
    body = start(okta).json()
    assert poll(okta, body["device_code"]).json()["error"] == "authorization_pending"
    clock.now += 4  # sooner than the interval (5 s)
    # catalogue slow_down (400); the +5 s is RFC 8628 3.5 (inferred for Okta)
    assert answer(poll(okta, body["device_code"])) == (400, "slow_down", "Slow down the polling frequency. Please try again later.")
    clock.now += 5  # the old interval is no longer enough: 10 s now
    assert poll(okta, body["device_code"]).json()["error"] == "slow_down"
    clock.now += 15
    assert poll(okta, body["device_code"]).json()["error"] == "authorization_pending"


def test_after_expiry_the_code_is_expired_token(okta, clock):
    okta.set_device_code_lifetime(30)
    body = start(okta).json()
    assert body["expires_in"] == 30
    clock.now += 31
    # catalogue expired_token (400)
    assert answer(poll(okta, body["device_code"])) == (400, "expired_token", "The device code has expired.")
    with pytest.raises(DeviceApprovalError, match="The user code is invalid or has expired."):  # invalid_user_code
        approve(body["verification_uri_complete"], okta.users[0])


def test_a_denied_code_is_access_denied_once(okta, clock):
    body = start(okta).json()
    assert approve(body["verification_uri_complete"], okta.users[0], deny=True) == "Device not activated"
    # catalogue access_denied (403)
    assert answer(poll(okta, body["device_code"])) == (403, "access_denied",
                                                        "The resource owner or authorization server denied the request.")
    clock.now += 5
    assert answer(poll(okta, body["device_code"]))[1] == "invalid_grant"  # spent (inferred)


def test_the_activation_page_refuses_a_user_not_assigned_and_the_device_waits(okta, clock):
    body = start(okta).json()
    app = okta.tenant.app(label="device_app")
    saved, app.assigned_users = app.assigned_users, ("alan@example.com",)
    try:
        # catalogue user_not_assigned
        with pytest.raises(DeviceApprovalError, match="User is not assigned to the client application."):
            approve(body["verification_uri_complete"], okta.users[0])
    finally:
        app.assigned_users = saved
    assert poll(okta, body["device_code"]).json()["error"] == "authorization_pending"


def test_a_wrong_password_on_the_activation_page_is_refused(okta, clock):
    body = start(okta).json()
    with pytest.raises(DeviceApprovalError, match="Unable to sign in"):
        approve(body["verification_uri_complete"], okta.users[0].login, password="wrong")


def test_the_user_code_may_be_typed_in_lower_case_with_a_dash(okta, clock):
    body = start(okta).json()
    code = body["user_code"]
    typed = f"{okta.url}/activate?user_code={code[:4].lower()}-{code[4:].lower()}"
    assert approve(typed, okta.users[0]) == "Device activated"


def test_the_activation_page_cannot_be_framed(okta):
    page = requests.get(f"{okta.url}/activate", timeout=10)
    assert page.status_code == 200 and page.headers["X-Frame-Options"] == "DENY"


def test_missing_device_code_names_the_parameter(okta):
    # catalogue missing_token_request_parameter
    response = requests.post(okta.token_endpoint, data={"client_id": device_id(okta), "grant_type": DEVICE_GRANT}, timeout=10)
    assert answer(response) == (400, "invalid_request", "The required parameter 'device_code' is missing.")


def test_the_org_authorization_server_serves_the_device_grant_too(okta, clock):
    # guide: "Both org and custom authorization servers support Device Authorization"
    response = requests.post(okta.endpoint("device/authorize", ""), data={"client_id": device_id(okta), "scope": "openid"}, timeout=10)
    assert response.status_code == 200 and "user_code" in response.json()


def test_a_device_code_is_redeemed_only_by_its_own_app_at_its_own_server(okta, clock):
    # inferred: a device code belongs to the app that asked for it, at the server that issued it
    other = App(label="other_cli", name="Another CLI", client_id="0oa1anothercli0000009", grant_types=(DEVICE_GRANT,),
                token_endpoint_auth_method="none", assigned_users=("ada@example.com",))
    okta.tenant.apps.append(other)
    next(p for p in okta.tenant.server("default").policies if p.name == "Device sign-in").assigned_to += ("other_cli",)
    try:
        body = start(okta).json()
        approve(body["verification_uri_complete"], okta.users[0])
        invalid = (400, "invalid_grant", "The device code is invalid or has expired.")
        assert answer(poll(okta, body["device_code"], client_id=other.client_id)) == invalid
        org = requests.post(okta.endpoint("token", ""), data={"client_id": device_id(okta), "grant_type": DEVICE_GRANT,
                                                             "device_code": body["device_code"]}, timeout=10)
        assert answer(org) == invalid
        clock.now += 5
        assert poll(okta, body["device_code"]).status_code == 200  # its own app, at its own server
    finally:
        okta.tenant.apps.remove(other)


def test_a_repeated_parameter_is_refused_in_oktas_words(okta):
    # catalogue illegal_duplicated_parameters
    response = requests.post(okta.endpoint("device/authorize"), timeout=10,
                             data=[("client_id", device_id(okta)), ("scope", "openid"), ("scope", "profile")])
    assert answer(response) == (400, "invalid_request", "Duplicate parameter provided in request. Duplicated parameters: [scope].")
