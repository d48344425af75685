"""The readiness check (``python -m helpers.ready``): ready on this install, and the fix for each problem.

Failures are injected through the checks' parameters or the environment they read (a kernelspec
folder on ``JUPYTER_PATH``, an address that is not this machine's), never by breaking the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ready
from helpers.ready import (Result, check_curl, check_kernel, check_local_server, check_loopback, check_python,
                           check_tenant, run_all, summary)

ROOT = Path(__file__).resolve().parent.parent


def test_this_install_is_ready():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUTORIAL_AUTH_SERVER": "local"}  # no tenant checks over the network
    done = subprocess.run([sys.executable, "-m", "helpers.ready"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("READY"), lines[-1]
    for name in ("Python", "notebook kernel", "JupyterLab", "cURL", "loopback ports", "local authorization server", "Okta tenant"):
        assert any(line.split(" ", 1)[-1].strip().startswith(name) for line in lines), f"no line for {name}"
    assert "issued a token over HTTPS" in done.stdout and "Traceback" not in done.stderr


def test_a_python_too_old_names_the_fix():
    result = check_python((3, 10, 14))
    assert result.status == "fail" and "3.10.14 is too old" in result.detail
    assert "-m venv .venv" in result.fix and "3.12" in result.fix
    assert summary([result, check_curl(lambda name: "/usr/bin/curl")]).startswith("NOT READY: fix Python first: install Python 3.12")
    assert check_python((3, 11, 0)).status == "ok" and check_python((3, 13, 1)).status == "ok"


def test_a_kernel_from_another_environment_names_the_fix(tmp_path, monkeypatch):
    """A python3 kernelspec found first on JUPYTER_PATH, running the base Python outside the venv."""
    other = Path(sys.base_prefix) / ("python.exe" if os.name == "nt" else "bin/python3")
    if sys.prefix == sys.base_prefix or not other.exists():
        pytest.skip("needs this test to run in a virtual environment whose base Python exists")
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(other), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (another environment)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    result = check_kernel()
    assert result.status == "fail", result
    assert "from another environment" in result.detail and str(Path(sys.base_prefix)) in result.detail
    assert "ipykernel install --user --name python3" in result.fix
    assert summary([result]).startswith("NOT READY: fix notebook kernel first: make the notebook kernel this environment's")


def test_a_kernel_python_that_does_not_run_names_the_fix(tmp_path):
    result = check_kernel(kernel_python=lambda: str(tmp_path / "no-such-python"))
    assert result.status == "fail" and "does not run" in result.detail and "ipykernel install" in result.fix


def test_the_kernel_of_this_environment_passes():
    assert check_kernel().status == "ok"
    assert check_kernel(kernel_python=lambda: "/elsewhere/bin/python", prefix_of=lambda python: sys.prefix).status == "ok"


def test_no_curl_is_a_warning_not_a_failure():
    result = check_curl(which=lambda name: None)
    assert result.status == "warn" and "notebook 04" in result.detail and "apt-get install curl" in result.fix
    assert summary([check_python(), result]) == "READY (with a warning about cURL: see above)"


def test_a_local_server_that_does_not_start_names_the_fix():
    def broken(name):
        raise OSError("[Errno 98] address already in use")

    result = check_local_server(lambda: ready._local_token(start=broken))
    assert result.status == "fail" and "address already in use" in result.detail
    assert "-m helpers.local_okta" in result.fix and "pip install -r requirements.txt" in result.fix
    assert summary([check_python(), result]).startswith("NOT READY: fix local authorization server first: run ")


def test_loopback_that_cannot_listen_names_the_fix():
    result = check_loopback(host="192.0.2.1")  # TEST-NET-1: never an address of this machine
    assert result.status == "fail" and "allow local connections" in result.fix
    assert check_loopback().status == "ok"


def test_the_tenant_check_reads_only_a_dot_env(tmp_path, monkeypatch):
    for name in ("TUTORIAL_AUTH_SERVER", "OAUTH_ISSUER", "OAUTH_AUDIENCE", "OAUTH_JWKS_URI"):
        monkeypatch.delenv(name, raising=False)
    assert check_tenant(tmp_path / ".env").status == "skip"
    half = tmp_path / "half.env"
    half.write_text("OAUTH_ISSUER=https://integrator-1234567.okta.com/oauth2/default\n")
    result = check_tenant(half)
    assert result.status == "fail" and "OAUTH_AUDIENCE" in result.detail and "checklist" in result.fix
    local = tmp_path / "local.env"
    local.write_text("TUTORIAL_AUTH_SERVER=local\n")
    assert check_tenant(local).status == "skip"


def test_the_last_line_names_the_first_failure_only():
    results = [Result("a", "ok", ""), Result("b", "warn", "", "w"), Result("c", "fail", "", "do c"), Result("d", "fail", "", "do d")]
    assert summary(results) == "NOT READY: fix c first: do c"
    printed = []
    assert run_all([lambda: results[2]], echo=printed.append) == [results[2]] and printed == ["❌ c: \n   fix: do c"]


def test_options_are_refused_in_one_line(capsys):
    assert ready.main(["--fast"]) == 2
    assert capsys.readouterr().err.startswith("usage: python -m helpers.ready")


def test_with_a_dot_env_the_tenant_checks_run_and_name_the_console_fix(tmp_path, monkeypatch):
    """A .env naming an org (here the local server under another name, as a learner's tenant) runs notebook 02's checks."""
    from helpers.local_okta import start_local_okta

    for name in ("TUTORIAL_AUTH_SERVER", "OAUTH_ISSUER", "OAUTH_AUDIENCE", "OAUTH_JWKS_URI", "OAUTH_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    tenant = start_local_okta(name="readiness-tenant")
    try:
        env = tmp_path / ".env"
        env.write_text(tenant.env_block())
        passed = check_tenant(env)
        assert passed.status == "ok" and "every setup check passed" in passed.detail
        tenant.set_scenario("policy_not_assigned")
        failed = check_tenant(env)
        assert failed.status == "fail" and "Access Policies" in failed.fix and "helpers.okta_checks" in failed.fix
    finally:
        tenant.stop()
