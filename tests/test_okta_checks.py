"""The Okta setup checks: all pass on the correct setup, each misconfiguration gets the right
diagnosis and console fix, network trouble is a failed check (never a traceback), and the CLI."""

from __future__ import annotations

import http.server
import ssl
import json
import socket
import subprocess
import sys
import threading
import time

import jwt
import pytest

from loopback import reserve_port
from helpers import local_okta
from helpers.local_okta import SCENARIOS, start_local_okta
from helpers.local_tls import local_ca, trust_local_ca
from helpers.okta_checks import CheckReport, Status, check_scenario, local_sign_in, run_checks
from helpers.okta_checks.__main__ import main
from helpers.settings import ClientCredentials, Settings

CHECK_NAMES = [
    "issuer", "metadata", "metadata_issuer", "jwks_uri", "jwks", "grant_types", "scopes",
    "token:calculator.add", "token:calculator.subtract", "token_claims", "verification", "read_only",
    "redirect_uri", "pkce", "sign_in",
]
SECRET = "do-not-print-this-secret-1234567890"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-okta-checks")
    yield server
    server.stop()


def okta_settings(issuer: str, **changes) -> Settings:
    values = dict(
        mode="okta", issuer=issuer, audience="https://calculator-mcp-server.example.com",
        m2m_client=ClientCredentials("0oa1service", SECRET), web_client=ClientCredentials("0oa1web", SECRET),
    )
    values.update(changes)
    return Settings(**values)


def secrets_of(okta) -> list[str]:
    return [c.client_secret for c in okta.clients.values() if c.client_secret]


def report_text(report: CheckReport) -> str:
    return report.text() + report.diagnosis() + repr([vars(r) for r in report])


# -- the correct setup ---------------------------------------------------------------------


def test_correct_setup_passes_every_check_without_warnings(okta):
    report = run_checks(okta.settings(), sign_in=local_sign_in(okta))
    assert report.names == CHECK_NAMES
    assert [r.name for r in report if r.status is not Status.PASS] == []
    assert report.ok and report.all_passed and report.first_failure is None
    assert all(r.fix is None for r in report)
    text = report_text(report)
    assert "eyJ" not in text  # no token, not even a masked one
    assert not any(secret in text for secret in secrets_of(okta))
    assert report.table().count("✅") == len(CHECK_NAMES)
    assert report.summary() == f"{len(CHECK_NAMES)} passed"


def test_every_other_registered_redirect_uri_passes_and_an_unknown_one_fails(okta):
    assert run_checks(okta.settings(), redirect_uri="http://localhost:8765/callback")["redirect_uri"].passed
    result = run_checks(okta.settings(), redirect_uri="https://gateway.example.com/callback")["redirect_uri"]
    assert result.failed and "Sign-in redirect URIs" in result.fix
    assert "https://gateway.example.com/callback" in result.fix


def test_a_scope_that_does_not_exist_is_diagnosed_per_scope(okta):
    report = run_checks(okta.settings(), scopes=["calculator.add", "calculator.multiply"])
    assert report["scopes"].status is Status.WARN and "calculator.multiply" in report["scopes"].seen
    assert report["token:calculator.add"].passed
    failure = report.first_failure
    assert failure.name == "token:calculator.multiply" and "invalid_scope" in failure.seen
    assert "Scopes > Add Scope: Name calculator.multiply" in failure.fix
    assert report["token_claims"].passed and report["verification"].passed  # checked with the token it got


# -- each misconfiguration: the right failing check, the right console fix -------------------

EXPECTED = {
    # scenario: (first failing check, words in what was seen, words in the fix). Each follows the
    # text Okta answers with (its error catalogue) and a console fix a learner can click through.
    "org_authorization_server": ("issuer", ["no /oauth2/", "org authorization server", "Okta's own APIs only"],
                                 ["Security > API > Authorization Servers", "Issuer URI", "OAUTH_ISSUER"]),
    "audience_mismatch": ("token_claims", ["aud is 'https://calculator-mcp-server.example.com'", "api://default"],
                          ["Audience", "OAUTH_AUDIENCE"]),
    "jwks_from_other_server": ("jwks_uri", ["/oauth2/other/v1/keys", "/oauth2/default/v1/keys"],
                               ["Remove OAUTH_JWKS_URI"]),
    "no_custom_scope": ("token:calculator.add", ["invalid_scope", "no scope named calculator.add"],
                        ["Security > API > Authorization Servers", "Scopes > Add Scope", "calculator.add"]),
    "undefined_scope": ("token:calculator.subtract", ["invalid_scope", "calculator.subtract"],
                        ["Scopes > Add Scope", "calculator.subtract"]),
    "scope_not_published": ("scopes", ["not in scopes_supported", "Include in public"],
                            ["Include in public metadata"]),
    "policy_not_assigned": ("token:calculator.add", ["access_denied", "Policy evaluation failed", "not assigned to the app"],
                            ["Access Policies", "Add Policy", "Assigned to clients"]),
    "rule_without_client_credentials": ("token:calculator.add", ["access_denied", "Policy evaluation failed", "lacks the Client Credentials grant"],
                                        ["Access Policies", "IF Grant type is: check Client Credentials"]),
    "rule_without_scope": ("token:calculator.subtract", ["Policy evaluation failed", "the rule does not allow these scopes"],
                           ["AND Scopes requested", "allowlists"]),
    "default_policy_catches_all": ("read_only", ["got calculator.subtract", "Default Policy"],
                                   ["All clients", "priority order", "Deactivate"]),
    "app_without_client_credentials": ("token:calculator.add", ["unauthorized_client"],
                                       ["Applications and Resources > Applications", "Grant type: check Client Credentials"]),
    "wrong_client_secret": ("token:calculator.add", ["invalid_client", "client secret supplied"],
                            ["Client secret", "M2M_CLIENT_SECRET"]),
    "unknown_client_id": ("token:calculator.add", ["invalid_client", "Invalid value for 'client_id'"],
                          ["Client ID into M2M_CLIENT_ID"]),
    "dpop_required": ("token:calculator.add", ["invalid_dpop_proof", "DPoP proof JWT header is missing"],
                      ["untick 'Require Demonstrating Proof of Possession (DPoP)"]),
    "redirect_uri_not_registered": ("redirect_uri", ["no redirect", "must be a Login redirect URI"],
                                    ["Sign-in redirect URIs", "http://127.0.0.1:8765/callback"]),
    "user_not_assigned": ("sign_in", ["User is not assigned to the client application."],
                          ["Assignments > Assign"]),
    "no_refresh_token_grant": ("sign_in", ["no refresh token came back"], ["Grant type: check Refresh Token"]),
    "rule_without_offline_access": ("sign_in", ["Policy evaluation failed", "offline_access"],
                                    ["IF Grant type is: check Authorization Code", "offline_access"]),
    "rule_without_authorization_code": ("sign_in", ["Policy evaluation failed", "lacks Authorization Code"],
                                        ["IF Grant type is: check Authorization Code"]),
    "refresh_token_not_rotated": ("sign_in", ["same refresh token", "not rotated"],
                                  ["Rotate token after every use"]),
    "pkce_not_required": ("pkce", ["without PKCE is accepted"], ["Require PKCE as additional verification"]),
}


def test_every_scenario_has_an_expectation():
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_fails_with_the_right_diagnosis(okta, scenario):
    name, seen_words, fix_words = EXPECTED[scenario]
    report = check_scenario(okta, scenario)
    assert okta.scenario is None  # switched off again
    assert not report.all_passed
    failure = report.first_failure or next(r for r in report if r.status is Status.WARN)  # some only warn
    assert failure.name == name, report.text()
    for words in seen_words:
        assert words in failure.seen
    for words in fix_words:
        assert words in failure.fix
    assert failure.fix in report.text()
    assert failure.title in report.diagnosis() and failure.fix in report.diagnosis()  # warnings too
    assert not any(secret in report_text(report) for secret in secrets_of(okta))


def test_no_fix_recommends_any_scopes_and_the_gateway_rule_lists_every_scope(okta):
    """The notebooks teach rules as allowlists: no fix may suggest Any scopes as a way out."""
    fixes = [check_scenario(okta, name).first_failure for name in SCENARIOS]
    texts = [result.fix for result in fixes if result] + [scenario.fix for scenario in SCENARIOS.values()]
    assert [text for text in texts if "Any scopes" in text and "Default Policy" not in text] == []
    gateway = check_scenario(okta, "rule_without_authorization_code").first_failure.fix
    for scope in ("openid", "profile", "email", "offline_access", "calculator.add", "calculator.subtract"):
        assert scope in gateway


def test_checks_that_cannot_run_say_which_failure_stopped_them(okta):
    report = check_scenario(okta, "org_authorization_server")
    skipped = [r for r in report if r.status is Status.SKIPPED]
    assert [r.name for r in skipped] == CHECK_NAMES[1:]
    assert {r.blocked_by for r in skipped} == {"issuer"}
    assert all("Issuer is a custom authorization server" in r.seen for r in skipped)

    report = check_scenario(okta, "wrong_client_secret")
    assert report["token_claims"].status is Status.SKIPPED
    assert report["token_claims"].blocked_by == "token:calculator.add"
    assert report["redirect_uri"].passed  # independent of the service app


def test_audience_mismatch_also_fails_the_servers_own_verification(okta):
    report = check_scenario(okta, "audience_mismatch")
    assert report["verification"].failed and "aud is not OAUTH_AUDIENCE" in report["verification"].seen


def test_missing_clients_are_named(okta):
    settings = okta.settings()
    report = run_checks(Settings(**{**vars(settings), "m2m_client": None, "web_client": None}))
    assert report["token:calculator.add"].failed and "M2M_CLIENT_ID" in report["token:calculator.add"].seen
    assert report["redirect_uri"].status is Status.WARN and "CLIENT_ID" in report["redirect_uri"].seen


# -- malformed issuers and network trouble: a failed check, never an exception ---------------


@pytest.mark.parametrize("issuer, words", [
    ("not a url", "not a well-formed"),
    ("https://", "not a well-formed"),
    ("ftp://dev-1.okta.com/oauth2/default", "not a well-formed"),
    ("https://dev-1.okta.com:port/oauth2/default", "not a well-formed"),
    ("http://dev-1.okta.com/oauth2/default", "https:// only"),
    ("https://dev-1.okta.com/oauth2/default/", "ends with '/'"),
    ("https://dev-1.okta.com/oauth2/v1/token", "org authorization server"),
    ("https://dev-1.okta.com/oauth2/default/v1/token", "not its issuer"),
    ("https://dev-1.okta.com/api/v1", "not an Okta custom authorization server"),
    (None, "no issuer"),
])
def test_malformed_issuer_fails_the_first_check(issuer, words):
    report = run_checks(okta_settings(issuer), timeout=0.5)
    assert report.first_failure.name == "issuer" and words in report["issuer"].seen
    assert "OAUTH_ISSUER" in report["issuer"].fix
    assert all(r.status is Status.SKIPPED for r in report.results[1:])


def test_unreachable_issuer():
    with reserve_port() as nobody_listens:  # held, so no other process can start answering there
        report = run_checks(okta_settings(f"https://127.0.0.1:{nobody_listens.port}/oauth2/default"), timeout=1)
    failure = report.first_failure
    assert failure.name == "metadata" and "could not connect" in failure.seen and "refused" in failure.seen
    assert "OAUTH_ISSUER" in failure.fix


def test_silent_server_times_out_quickly():
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        started = time.monotonic()
        report = run_checks(okta_settings(f"https://127.0.0.1:{port}/oauth2/default"), timeout=0.3)
        assert time.monotonic() - started < 10  # not requests' default wait (none), on a loaded machine too
    assert report.first_failure.name == "metadata"
    assert "did not answer within 0.3 s" in report["metadata"].seen


class _Canned(http.server.BaseHTTPRequestHandler):
    bodies: dict[str, tuple[str, bytes]] = {}
    redirect_posts_to: str | None = None

    def do_GET(self):  # noqa: N802
        content_type, body = self.bodies.get(self.path.split("?")[0], ("text/plain", b"nope"))
        self.send_response(200 if self.path.split("?")[0] in self.bodies else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - a token endpoint that answers an opaque (non-JWT) token
        if self.redirect_posts_to:
            self.send_response(307)
            self.send_header("Location", self.redirect_posts_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"access_token": "opaque-token", "token_type": "Bearer", "expires_in": 3600}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    ca, context = local_ca(), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # HTTPS, as every issuer is
    context.load_cert_chain(ca.cert_path, ca.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    trust_local_ca()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    _Canned.bodies = {}


@pytest.mark.parametrize("content_type, body, words", [
    ("text/html", b"<html><body>Sign in to your proxy</body></html>", "is not JSON (HTTP 200, text/html)"),
    ("application/json", b"[1, 2]", "JSON but not an object"),
    ("application/json", b'{"issuer": "x"}', "lacks token_endpoint, authorization_endpoint, jwks_uri"),
])
def test_metadata_that_is_not_usable(canned, content_type, body, words):
    _Canned.bodies = {"/oauth2/default/.well-known/oauth-authorization-server": (content_type, body)}
    report = run_checks(okta_settings(f"{canned}/oauth2/default"), timeout=1)
    assert report.first_failure.name == "metadata" and words in report["metadata"].seen


def test_an_opaque_access_token_fails_the_claims_and_verification_checks(canned):
    issuer = f"{canned}/oauth2/default"
    metadata = {
        "issuer": issuer, "token_endpoint": f"{issuer}/v1/token", "authorization_endpoint": f"{issuer}/v1/authorize",
        "jwks_uri": f"{issuer}/v1/keys", "grant_types_supported": ["client_credentials"],
    }
    _Canned.bodies = {
        "/oauth2/default/.well-known/oauth-authorization-server": ("application/json", json.dumps(metadata).encode()),
        "/oauth2/default/v1/keys": ("application/json", b'{"keys": [{"kty": "oct", "k": "x"}]}'),
    }
    report = run_checks(okta_settings(issuer), timeout=1)
    assert report["jwks"].failed and "none an RSA signing key" in report["jwks"].seen
    assert report["grant_types"].failed and "authorization_code, refresh_token" in report["grant_types"].seen
    assert report["scopes"].status is Status.WARN
    assert report["token:calculator.add"].passed
    assert report["token_claims"].failed and "not a JWT" in report["token_claims"].seen
    assert report["verification"].failed and "not a JWT" in report["verification"].seen
    assert report["redirect_uri"].failed  # the canned server has no authorize endpoint (404)


def test_unknown_authorization_server_id(okta):
    report = run_checks(okta_settings(okta.issuer_for("nosuchserver")), timeout=1)
    assert report.first_failure.name == "metadata"
    assert "HTTP 404" in report["metadata"].seen and "E0000007" not in report["metadata"].seen
    assert "Not found" in report["metadata"].seen


def test_metadata_issuer_must_match_exactly(okta):
    # what a learner gets by typing "localhost" where Okta says 127.0.0.1 (or another domain)
    issuer = okta.issuer.replace("127.0.0.1", "localhost")
    report = run_checks(okta_settings(issuer, audience=okta.audience), timeout=1)
    assert report.first_failure.name == "metadata_issuer"
    assert "Issuer URI" in report.first_failure.fix


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def started(monkeypatch):
    """The local servers the CLI starts, so a test can look for their secrets in the output."""
    servers = []

    def start(*args, **kwargs):
        servers.append(start_local_okta_original(*args, **kwargs))
        return servers[-1]

    start_local_okta_original = local_okta.start_local_okta
    monkeypatch.setattr(local_okta, "start_local_okta", start)
    return servers


def test_cli_passes_on_the_local_server(capsys, started):
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert f"{len(CHECK_NAMES) + 1} passed" in out and "ready for the tutorial" in out and err == ""  # + device_grant
    assert not started[0].is_running  # stopped after the run


def test_cli_scenario_fails_without_printing_secrets(capsys, started):
    assert main(["--scenario", "wrong_client_secret"]) == 1
    out, err = capsys.readouterr()
    assert "invalid_client" in out and "M2M_CLIENT_SECRET" in out and "Traceback" not in out + err
    assert not any(secret in out + err for secret in secrets_of(started[0]))


def test_cli_against_an_unreachable_tenant(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("TUTORIAL_AUTH_SERVER")
    nobody_listens = reserve_port()  # held, so no other process can start answering there
    monkeypatch.setenv("OAUTH_ISSUER", f"https://127.0.0.1:{nobody_listens.port}/oauth2/default")
    monkeypatch.setenv("OAUTH_AUDIENCE", "api://calculator")
    monkeypatch.setenv("M2M_CLIENT_ID", "0oa1service")
    monkeypatch.setenv("M2M_CLIENT_SECRET", SECRET)
    with nobody_listens:
        assert main(["--timeout", "1"]) == 1
    out, err = capsys.readouterr()
    assert "could not connect" in out and SECRET not in out + err and "Traceback" not in out + err

    assert main(["--scenario", "policy_not_assigned"]) == 2  # scenarios need the local server
    assert "--scenario needs the local authorization server" in capsys.readouterr().err

    monkeypatch.delenv("OAUTH_AUDIENCE")
    assert main([]) == 2
    assert "OAUTH_AUDIENCE is not set" in capsys.readouterr().err


def test_python_dash_m_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "helpers.okta_checks", "--scenario", "redirect_uri_not_registered"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "Sign-in redirect URIs" in result.stdout and "Fix the first failure (Redirect URI is registered)" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("where", ["http", "other-host", "redirect"])
def test_the_client_secret_goes_only_to_the_issuers_https_host(canned, where):
    # Security review: the checks POSTed the service app's secret to whatever token_endpoint the
    # metadata named (plain http included) and followed redirects.
    received = []

    class Catcher(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    catcher = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Catcher)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    issuer = f"{canned}/oauth2/default"
    token_endpoint = {"http": f"http://127.0.0.1:{catcher.server_address[1]}/token",
                      "other-host": f"https://localhost:{canned.rsplit(':', 1)[1]}/oauth2/default/v1/token",
                      "redirect": f"{issuer}/v1/token"}[where]
    metadata = {"issuer": issuer, "token_endpoint": token_endpoint, "authorization_endpoint": f"{issuer}/v1/authorize",
                "jwks_uri": f"{issuer}/v1/keys", "grant_types_supported": ["client_credentials"]}
    _Canned.bodies = {"/oauth2/default/.well-known/oauth-authorization-server": ("application/json", json.dumps(metadata).encode())}
    if where == "redirect":
        _Canned.redirect_posts_to = f"http://127.0.0.1:{catcher.server_address[1]}/token"
    try:
        report = run_checks(okta_settings(issuer), timeout=1)
    finally:
        _Canned.redirect_posts_to = None
        catcher.shutdown()
        catcher.server_close()
    assert received == []
    assert report["token:calculator.add"].failed
    if where != "redirect":
        assert "no client secret is sent there" in report["token:calculator.add"].seen


# -- the token-claims check, branch by branch (tokens are decoded, not verified: any key signs) -------


def claims_check(**claims):
    from helpers.okta_checks.http import Run
    from helpers.okta_checks.token_checks import check_token_claims

    settings = okta_settings("https://example.okta.com/oauth2/default")
    good = {"iss": settings.issuer, "aud": settings.audience, "scp": ["calculator.add"]}
    token = jwt.encode({**good, **claims}, "any-key-will-do-for-an-unverified-decode", algorithm="HS256")
    run = Run(settings=settings, scopes=("calculator.add",), redirect_uri="", timeout=1, http=None,
              tokens={"calculator.add": token})
    return check_token_claims(run)


def test_token_claims_pass_when_iss_aud_and_scp_are_right():
    assert claims_check()[0] is Status.PASS
    assert claims_check(aud=["https://calculator-mcp-server.example.com", "other"])[0] is Status.PASS


@pytest.mark.parametrize("claims, seen, fix", [
    ({"iss": "https://example.okta.com"}, "iss is 'https://example.okta.com', not OAUTH_ISSUER", "OAUTH_ISSUER"),
    ({"aud": "api://default"}, "aud is 'api://default' but OAUTH_AUDIENCE is", "Audience"),
    ({"scp": ["calculator.add", "calculator.subtract"]}, "scp is ['calculator.add', 'calculator.subtract'], not ['calculator.add']", "calculator.add"),
    ({"scp": "calculator.add"}, "scp is 'calculator.add', not ['calculator.add']", "calculator.add"),
    ({"scp": []}, "scp is [], not ['calculator.add']", "calculator.add"),
], ids=["org issuer", "another audience", "a scope too many", "scp as a string", "no scope"])
def test_token_claims_name_the_wrong_claim_and_its_fix(claims, seen, fix):
    status, message, advice = claims_check(**claims)
    assert status is Status.FAIL
    assert seen in message and message.endswith(": the server would refuse every token")
    assert fix in advice


# -- device sign-in (the Native app's Device Authorization grant) -------------------------------


def test_the_device_check_passes_on_the_correct_setup_and_shows_no_code(okta):
    report = run_checks(okta.settings(), sign_in=local_sign_in(okta), device=True)
    assert report.names == CHECK_NAMES + ["device_grant"] and report.all_passed
    result = report["device_grant"]
    assert "can start a device sign-in" in result.seen and f"{okta.url}/activate" in result.seen
    assert "device_code" not in report_text(report)


def test_the_device_check_is_left_out_unless_asked(okta):
    assert "device_grant" not in run_checks(okta.settings()).names


def _device_report(okta, settings=None):
    return run_checks(settings or okta.settings(), device=True)["device_grant"]


def test_an_app_without_the_device_grant_gets_the_catalogues_answer_and_the_console_step(okta):
    app = okta.tenant.app(label="device_app")
    saved, app.grant_types = app.grant_types, ("refresh_token",)
    try:
        result = _device_report(okta)
    finally:
        app.grant_types = saved
    assert result.status is Status.FAIL and "unauthorized_client" in result.seen
    assert "The client is not authorized to use the provided grant type." in result.seen  # catalogue unauthorized_client
    assert "Grant type: tick Device Authorization" in result.fix


def test_a_rule_without_the_device_grant_is_named(okta):
    rule = next(p for p in okta.tenant.server("default").policies if p.name == "Device sign-in").rules[0]
    saved, rule.grant_types = rule.grant_types, ("authorization_code",)
    try:
        result = _device_report(okta)
    finally:
        rule.grant_types = saved
    assert result.status is Status.FAIL and "Policy evaluation failed" in result.seen  # catalogue no_matching_policy
    assert "tick Device Authorization under the grant types" in result.fix


def test_a_wrong_or_missing_device_client_id(okta):
    wrong = _device_report(okta, okta.settings().__class__(**{**vars(okta.settings()),
                                                              "device_client": ClientCredentials("0oa1nosuchapp00000000", None)}))
    assert wrong.status is Status.FAIL and "invalid_client" in wrong.seen and "DEVICE_CLIENT_ID" in wrong.fix
    missing = _device_report(okta, okta.settings().__class__(**{**vars(okta.settings()), "device_client": None}))
    assert missing.status is Status.WARN and "Native Application" in missing.fix
