"""HTTPS like Okta (issue 12, point 9): the local authorization server is served over TLS with a
certificate authority made for this process, trusted on purpose, never by turning checks off.

Okta's own verifier library (``okta-jwt-verifier``) refuses an issuer that is not ``https://``
(its ``ConfigValidator.validate_issuer``); here it verifies a local token with its checks as
shipped. And no code path sets ``OAUTHLIB_INSECURE_TRANSPORT`` any more.
"""

from __future__ import annotations

import os
import ssl
import subprocess

import certifi
import pytest
import requests
from okta_jwt_verifier import AccessTokenVerifier
from okta_jwt_verifier.exceptions import JWTInvalidConfigException

from child_output import Lines
from helpers.calculator import start_calculator
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_tls import TRUST_VARIABLES, UnsafeCAFileError, local_ca, read_ca_file
from helpers.settings import ConfigurationError, load_settings
from helpers.tokens import fetch_token_with_curl
from helpers.user_login import UserLogin, sign_in_with_password
from helpers.verification import Protection

REDIRECT = "http://127.0.0.1:8766/callback"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(tenant=default_tenant(redirect_uris=(REDIRECT,)), name="test-https-okta")
    yield server
    server.stop()


def token(okta) -> str:
    client = okta.clients["write_service"]
    return requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                         data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10).json()["access_token"]


def test_the_issuer_is_https_and_its_certificate_is_checked(okta):
    assert okta.issuer.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError):  # a client that trusts only the public roots refuses it
        requests.get(okta.metadata_url, timeout=10, verify=certifi.where())
    assert requests.get(okta.metadata_url, timeout=10).status_code == 200  # this process trusts the local CA
    context = ssl.create_default_context(cafile=str(local_ca().ca_path))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_oktas_own_verifier_library_accepts_a_local_token_as_shipped(okta):
    verifier = AccessTokenVerifier(issuer=okta.issuer, audience=okta.audience)
    verifier.verify_sync(token(okta))  # raises if anything is wrong
    with pytest.raises(Exception, match="Signature verification failed|Invalid|invalid"):
        verifier.verify_sync(token(okta)[:-4] + "AAAA")


def test_oktas_verifier_refuses_a_plain_http_issuer_which_is_why_the_local_server_is_https(okta):
    with pytest.raises(JWTInvalidConfigException):
        AccessTokenVerifier(issuer=okta.issuer.replace("https://", "http://"), audience=okta.audience)


def test_curl_trusts_the_local_ca_through_curl_ca_bundle(okta):
    assert all(os.environ.get(name) for name in TRUST_VARIABLES)
    if subprocess.run(["which", "curl"], capture_output=True).returncode != 0:
        pytest.skip("curl is not installed here")
    assert fetch_token_with_curl(okta.token_endpoint, okta.clients["write_service"], ["calculator.add"]).access_token


class RecordingEnviron(dict):
    """``os.environ`` stand-in that remembers every variable set."""

    def __init__(self, base):
        super().__init__(base)
        self.set_names: list[str] = []

    def __setitem__(self, name, value):
        self.set_names.append(name)
        super().__setitem__(name, value)


@pytest.mark.anyio
async def test_a_whole_sign_in_and_refresh_sets_no_process_wide_switch(okta, monkeypatch):
    calculator = start_calculator(Protection.from_settings(okta.settings()), name="test-https-calculator")
    environ = RecordingEnviron(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    try:
        login = UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT)
        pending = login.begin(listener_name="test-https-callback", timeout=10)
        user = okta.users[0]
        sign_in_with_password(pending, user.login, user.password)
        tokens = await pending.wait()
        assert tokens.refresh_token and login.refresh().access_token
        assert "OAUTHLIB_INSECURE_TRANSPORT" not in environ.set_names
        assert "OAUTHLIB_INSECURE_TRANSPORT" not in environ
    finally:
        calculator.stop()


def test_the_command_line_server_removes_its_ca_key_when_killed(tmp_path):
    # The CA's private key lives in a 0700 temporary directory; `kill` must not leave it behind.
    import signal
    import sys
    import time

    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("XDG_RUNTIME_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "helpers.local_okta", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines, output = [], Lines(process.stdout, seconds=30)
        while not lines or "Press Ctrl-C" not in lines[-1]:
            lines.append(output.next())  # never blocks past the deadline, even if the child hangs
            assert lines[-1], "the command line ended before it was ready"
        ca_file = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("OAUTH_CA_FILE="))
        assert os.path.exists(ca_file) and ca_file.startswith(str(tmp_path))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 5
    while os.path.exists(ca_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(os.path.dirname(ca_file))


def test_private_folders_live_where_no_other_user_can_write():
    # Not straight in the shared /tmp: a removed folder there could be recreated by another user
    # and a stale OAUTH_CA_FILE (or a child's SSL_CERT_FILE) would then name their CA.
    parent = local_ca().directory.parent
    info = parent.stat()
    assert info.st_uid == os.getuid() and not info.st_mode & 0o077, parent
    assert (local_ca().directory.stat().st_mode & 0o777) == 0o700


def good_ca_file(folder):
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "ca.pem"
    path.write_bytes(local_ca().ca_path.read_bytes())
    path.chmod(0o644)
    return path


def test_a_ca_file_only_this_user_can_write_is_read(tmp_path):
    assert b"BEGIN CERTIFICATE" in read_ca_file(good_ca_file(tmp_path / "mine"))


def test_a_ca_file_other_users_could_have_written_is_refused(tmp_path, monkeypatch):
    writable = good_ca_file(tmp_path / "a")
    writable.chmod(0o666)
    with pytest.raises(UnsafeCAFileError, match="file can be written by other users"):
        read_ca_file(writable)
    shared_folder = good_ca_file(tmp_path / "b")
    shared_folder.parent.chmod(0o777)  # world-writable and not sticky: the file can be swapped
    with pytest.raises(UnsafeCAFileError, match="folder can be written by other users"):
        read_ca_file(shared_folder)
    link = tmp_path / "link.pem"
    link.symlink_to(good_ca_file(tmp_path / "c"))
    with pytest.raises(UnsafeCAFileError, match="symbolic link is refused"):
        read_ca_file(link)
    foreign = good_ca_file(tmp_path / "d")
    if os.getuid() == 0:
        os.chown(foreign, 4242, -1)  # a file another user made
    else:
        monkeypatch.setattr(os, "getuid", lambda: os.stat(foreign).st_uid + 4242)  # as another user sees it
    with pytest.raises(UnsafeCAFileError, match="belongs to another user"):
        read_ca_file(foreign)


def test_oauth_ca_file_that_another_user_could_have_written_stops_the_settings(tmp_path):
    path = good_ca_file(tmp_path / "stale")
    path.chmod(0o666)
    environ = {"OAUTH_ISSUER": "https://dev-1.okta.com/oauth2/default", "OAUTH_AUDIENCE": "api://default",
               "OAUTH_CA_FILE": str(path)}
    with pytest.raises(ConfigurationError, match="OAUTH_CA_FILE: The CA file .* is not trusted"):
        load_settings(environ=environ, env_file="")


def test_the_command_line_handles_sigterm_before_it_says_it_is_running(monkeypatch, capsys):
    # A kill right after "Press Ctrl-C" (a script that waits for that line) found the default
    # SIGTERM action still in place: the process died without removing the CA's key.
    import signal
    import threading

    import helpers.local_okta.__main__ as cli

    seen, stopped = {}, []

    class Started:
        issuer = "https://127.0.0.1:1/oauth2/default"

        def env_block(self):
            return "OAUTH_ISSUER=" + self.issuer

        def stop(self):
            stopped.append(True)

    real_print = print

    def recording_print(*args, **kwargs):
        if args and "Press Ctrl-C" in str(args[0]):
            seen["handler"] = signal.getsignal(signal.SIGTERM)
        real_print(*args, **kwargs)

    class Interrupted:
        def wait(self):
            raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "start_local_okta", lambda port, tenant=None: Started())
    monkeypatch.setattr(cli, "print", recording_print, raising=False)
    monkeypatch.setattr(threading, "Event", Interrupted)
    try:
        assert cli.main(["--port", "0"]) == 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert callable(seen["handler"]) and seen["handler"] not in (signal.SIG_DFL, signal.SIG_IGN)
    assert stopped == [True]
