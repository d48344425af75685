"""The trust lines ``python -m helpers.local_okta`` prints: a script in another shell, with only
those lines set, reaches the local server with requests, httpx and curl, certificate checks on."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys

import certifi
import pytest

from helpers.local_tls import TRUST_VARIABLES, trust_lines
from recipe_env import local_okta_cli, recipe_python, run_recipe  # noqa: F401  (fixtures)

SCRIPT = """
import os, subprocess, sys
import httpx2 as httpx, requests  # httpx2: the HTTP client FastMCP and the MCP SDK use
issuer = sys.argv[1]
url = issuer + "/.well-known/oauth-authorization-server"
print("requests", requests.get(url, timeout=10).json()["issuer"] == issuer)
print("httpx", httpx.get(url, timeout=10).json()["issuer"] == issuer)
curl = subprocess.run(["curl", "--silent", "--show-error", "--fail", url], capture_output=True, text=True)
print("curl", curl.returncode, issuer in curl.stdout)
try:
    requests.get(url, timeout=10, verify=__import__("certifi").where())
except requests.exceptions.SSLError:
    print("public roots alone: refused")
"""


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_a_script_in_another_shell_trusts_the_server_with_only_the_pasted_line(local_okta_cli, recipe_python, tmp_path):
    issuer = local_okta_cli.env["OAUTH_ISSUER"]
    script = tmp_path / "main.py"
    script.write_text(SCRIPT)
    # The line exactly as printed, pasted into a bash that has nothing else of this project's.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c",
                             f"{local_okta_cli.bash_trust_line}\n{recipe_python} {script} {issuer}"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines() == ["requests True", "httpx True", "curl 0 True", "public roots alone: refused"], (
        result.stdout + result.stderr)
    # Without the line, the same script fails the certificate check (so the line is what made it work).
    bare = subprocess.run([str(recipe_python), str(script), issuer], env=env, capture_output=True, text=True, timeout=120)
    assert bare.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in bare.stderr


def test_the_bundle_keeps_the_public_roots_and_adds_the_local_ca(local_okta_cli):
    bundle = local_okta_cli.env["REQUESTS_CA_BUNDLE"]
    assert {local_okta_cli.env[name] for name in TRUST_VARIABLES} == {bundle}
    text = open(bundle).read()
    # The roots the command line trusted before: the bundle its environment named, else certifi's.
    before = next((os.environ[v] for v in TRUST_VARIABLES if os.path.isfile(os.environ.get(v, ""))), certifi.where())
    public = open(before).read().count("BEGIN CERTIFICATE")
    assert public > 50
    assert text.count("BEGIN CERTIFICATE") == public + 1
    assert open(local_okta_cli.env["OAUTH_CA_FILE"]).read().strip() in text
    ssl.create_default_context(cafile=bundle)  # a bundle Python's ssl can load
    assert (os.stat(os.path.dirname(bundle)).st_mode & 0o077) == 0, "only its owner may read or replace the bundle"


@pytest.mark.parametrize("path, bash, powershell", [
    ("/home/ada/trust/roots.pem",
     "export SSL_CERT_FILE=/home/ada/trust/roots.pem REQUESTS_CA_BUNDLE=/home/ada/trust/roots.pem "
     "CURL_CA_BUNDLE=/home/ada/trust/roots.pem",
     "$env:SSL_CERT_FILE = '/home/ada/trust/roots.pem'; $env:REQUESTS_CA_BUNDLE = '/home/ada/trust/roots.pem'; "
     "$env:CURL_CA_BUNDLE = '/home/ada/trust/roots.pem'"),
    ("C:\\Users\\O'Neil $x\\roots.pem",
     "export SSL_CERT_FILE='C:\\Users\\O'\"'\"'Neil $x\\roots.pem' REQUESTS_CA_BUNDLE='C:\\Users\\O'\"'\"'Neil $x\\roots.pem' "
     "CURL_CA_BUNDLE='C:\\Users\\O'\"'\"'Neil $x\\roots.pem'",
     "$env:SSL_CERT_FILE = 'C:\\Users\\O''Neil $x\\roots.pem'; $env:REQUESTS_CA_BUNDLE = 'C:\\Users\\O''Neil $x\\roots.pem'; "
     "$env:CURL_CA_BUNDLE = 'C:\\Users\\O''Neil $x\\roots.pem'"),
], ids=["plain path", "quotes and dollar"])
def test_trust_lines_quote_the_path_for_each_shell(path, bash, powershell):
    assert trust_lines(path, "bash") == bash
    assert trust_lines(path, "powershell") == powershell
    with pytest.raises(ValueError, match="bash' or 'powershell"):
        trust_lines(path, "fish")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_line_sets_exactly_the_path_even_with_odd_characters(tmp_path):
    odd = str(tmp_path / "O'Neil $HOME `x` roots.pem")
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", trust_lines(odd) + '\nprintf "%s" "$CURL_CA_BUNDLE"'],
                            capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert result.stdout == odd
