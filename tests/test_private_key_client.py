"""The client side of private-key client authentication: key files, assertions, TokenManager, settings, CLIs.

A private key must stay private: the PEM file is 0600 from its creation, never overwritten, never
printed, never in a ``repr``; a key file others can read is refused. The assertion is what Okta asks
for (``iss`` = ``sub`` = client id, ``aud`` = token endpoint, a minute, a new ``jti``, RS256 with the
``kid``), and ``TokenManager`` gets tokens with it and calls the calculator.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from fastmcp import Client

from child_output import Lines
from helpers.calculator import start_calculator
from helpers.local_okta import start_local_okta
from helpers.local_okta.__main__ import _read_client_key
from helpers.key_settings import KeyClient, load_key_client, require_key_client
from helpers.settings import ConfigurationError
from helpers.tokens import TokenError, TokenManager
from helpers.tokens.private_key import (
    PrivateKeyClient,
    fetch_token_with_private_key,
    jwk_thumbprint,
    main,
    write_key_pair,
)
from helpers.verification import Protection

ROOT = Path(__file__).resolve().parent.parent
KEY_APP = "0oa1calckeysvc5jwtq8"
POSIX = hasattr(os, "getuid")


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="test-private-key-client")
    yield local
    local.stop()


@pytest.fixture(scope="module")
def key_files(tmp_path_factory, okta):
    files = write_key_pair(tmp_path_factory.mktemp("keys") / "calculator-key")
    okta.register_public_key("key_service", files.public_jwk)
    return files


# -- key files -------------------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_the_private_key_is_readable_by_its_owner_only(key_files):
    assert stat.S_IMODE(key_files.private_key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_files.private_key_file.parent.stat().st_mode) == 0o700
    assert "PRIVATE KEY" in key_files.private_key_file.read_text().splitlines()[0]


def test_the_public_jwk_holds_nothing_private(key_files):
    jwk = json.loads(key_files.public_jwk_file.read_text())
    assert jwk == key_files.public_jwk and set(jwk) == {"kty", "kid", "use", "alg", "e", "n"}
    assert (jwk["use"], jwk["alg"]) == ("sig", "RS256")


def test_the_kid_is_the_rfc_7638_thumbprint():
    # RFC 7638, section 3.1: the example key and its thumbprint
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhM"
         "stn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvR"
         "L5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    assert jwk_thumbprint({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}) == \
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_an_existing_private_key_is_never_overwritten(key_files):
    before = key_files.private_key_file.read_bytes()
    with pytest.raises(FileExistsError):
        write_key_pair(key_files.private_key_file.parent)
    assert key_files.private_key_file.read_bytes() == before


def test_the_command_prints_the_public_key_and_never_the_private_one(tmp_path, capsys):
    assert main(["new", str(tmp_path / "k")]) == 0
    out, err = capsys.readouterr()
    pem = (tmp_path / "k" / "private_key.pem").read_text()
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    assert not any(line in out for line in body) and "PRIVATE KEY" not in out and err == ""
    printed = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert printed == json.loads((tmp_path / "k" / "public_jwk.json").read_text()) and "d" not in printed
    assert "Public key / Private key > Add key" in out and "KEY_PRIVATE_KEY_FILE=" in out
    assert main(["new", str(tmp_path / "k")]) == 1  # a second run keeps the first key
    assert "is not replaced" in capsys.readouterr().err


# -- the client and its assertions -----------------------------------------------------------------------


def test_an_assertion_is_what_okta_asks_for(key_files, okta):
    client = PrivateKeyClient.from_file(KEY_APP, key_files.private_key_file)
    first, second = client.assertion(okta.token_endpoint), client.assertion(okta.token_endpoint)
    header = jwt.get_unverified_header(first)
    claims = jwt.decode(first, jwt.PyJWK(key_files.public_jwk).key, algorithms=["RS256"],
                        audience=okta.token_endpoint, issuer=KEY_APP)
    assert (header["alg"], header["kid"]) == ("RS256", key_files.kid)
    assert claims["sub"] == KEY_APP and claims["exp"] - claims["iat"] == 60
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


def test_the_private_key_stays_out_of_repr(key_files):
    client = PrivateKeyClient.from_file(KEY_APP, key_files.private_key_file)
    assert "private_key" not in repr(client) and "RSAPrivateKey" not in repr(client) and KEY_APP in repr(client)


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_a_key_file_others_can_read_is_refused(tmp_path):
    files = write_key_pair(tmp_path / "k")
    files.private_key_file.chmod(0o644)
    with pytest.raises(TokenError, match="can be read by other users: `chmod 600"):
        PrivateKeyClient.from_file(KEY_APP, files.private_key_file)


def test_a_file_that_is_no_private_key_is_refused_clearly(tmp_path):
    with pytest.raises(TokenError, match="not an unencrypted PEM private key"):
        PrivateKeyClient.from_file(KEY_APP, _private_copy(tmp_path, "{}"))
    with pytest.raises(TokenError, match="Cannot read the private key file"):
        PrivateKeyClient.from_file(KEY_APP, tmp_path / "missing.pem")


def _private_copy(folder: Path, text: str) -> Path:
    path = folder / "not-a-key.pem"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_no_assertion_goes_to_a_plain_http_endpoint(key_files):
    client = PrivateKeyClient.from_file(KEY_APP, key_files.private_key_file)
    with pytest.raises(TokenError, match="https"):
        fetch_token_with_private_key("http://127.0.0.1:9/oauth2/default/v1/token", client, ["calculator.add"])


# -- TokenManager ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_token_manager_with_a_private_key_calls_the_calculator(okta, key_files):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-private-key-calculator")
    try:
        client = PrivateKeyClient.from_file(KEY_APP, key_files.private_key_file)
        manager = TokenManager.for_client_credentials(okta.token_endpoint, client, ["calculator.add"],
                                                      mcp_servers=server.mcp_url,
                                                      allowed_scopes=["calculator.add", "calculator.subtract"])
        async with Client(server.mcp_url, auth=manager) as mcp:
            assert (await mcp.call_tool("add", {"a": 2, "b": 3})).data == 5
            assert (await mcp.call_tool("subtract", {"a": 5, "b": 3})).data == 2  # a step-up: another assertion
        manager.renew()  # each request signs a new assertion: no "already used"
        assert manager.token_requests == 3
        assert jwt.decode(manager.get_token(), options={"verify_signature": False})["cid"] == KEY_APP
    finally:
        server.stop()


def test_a_refused_assertion_is_okta_s_error_not_a_traceback(okta, tmp_path):
    stranger = PrivateKeyClient.from_file(KEY_APP, write_key_pair(tmp_path / "unregistered").private_key_file)
    manager = TokenManager.for_client_credentials(okta.token_endpoint, stranger, ["calculator.add"],
                                                  mcp_servers="http://127.0.0.1:9/mcp")
    with pytest.raises(TokenError) as caught:
        manager.get_token()
    assert caught.value.error == "invalid_client" and "kid is invalid" in caught.value.error_description


# -- settings (helpers.key_settings) -------------------------------------------------------------------


def load(tmp_path, **values):
    return load_key_client(environ=values, env_file="")


def test_key_settings_are_optional_and_come_in_pairs(tmp_path, key_files):
    assert load(tmp_path) is None
    assert load(tmp_path, KEY_CLIENT_ID="{yourKeyServiceClientId}", KEY_PRIVATE_KEY_FILE="{pathToYourPrivateKeyPem}") is None
    chosen = load(tmp_path, KEY_CLIENT_ID="0oa1key", KEY_PRIVATE_KEY_FILE=str(key_files.private_key_file))
    assert chosen == KeyClient("0oa1key", str(key_files.private_key_file))
    with pytest.raises(ConfigurationError, match="KEY_CLIENT_ID is set but KEY_PRIVATE_KEY_FILE is not"):
        load(tmp_path, KEY_CLIENT_ID="0oa1key")
    with pytest.raises(ConfigurationError, match="is not a file"):
        load(tmp_path, KEY_CLIENT_ID="0oa1key", KEY_PRIVATE_KEY_FILE="/nonexistent/private_key.pem")


def test_the_env_file_is_read_and_the_environment_wins(tmp_path, key_files):
    env = tmp_path / ".env"
    env.write_text(f"KEY_CLIENT_ID=0oa1fromfile\nKEY_PRIVATE_KEY_FILE={key_files.private_key_file}\n")
    env.chmod(0o600)
    assert load_key_client(environ={}, env_file=env).client_id == "0oa1fromfile"
    assert load_key_client(environ={"KEY_CLIENT_ID": "0oa1fromenv"}, env_file=env).client_id == "0oa1fromenv"


def test_the_local_server_names_its_private_key_app_and_a_tenant_needs_the_settings(okta, monkeypatch, tmp_path):
    assert require_key_client(SimpleNamespace(local=okta)) == KeyClient(KEY_APP, None)
    monkeypatch.chdir(tmp_path)  # no .env found upward from here
    monkeypatch.delenv("KEY_CLIENT_ID", raising=False)
    monkeypatch.delenv("KEY_PRIVATE_KEY_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="Public key / Private key > Add key"):
        require_key_client(SimpleNamespace(local=None))


# -- python -m helpers.local_okta --client-key ---------------------------------------------------------


def test_client_key_files_are_read_with_clear_errors(tmp_path, key_files):
    assert _read_client_key(f"key_service={key_files.public_jwk_file}") == ("key_service", key_files.public_jwk)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key_files.public_jwk]}))
    assert _read_client_key(f"key_service={jwks}")[1] == key_files.public_jwk
    for value, message in [("key_service", "expected LABEL=FILE"), (f"key_service={tmp_path / 'nope'}", "cannot read"),
                           (f"key_service={key_files.private_key_file}", "is a private key")]:
        with pytest.raises(ValueError, match=message):
            _read_client_key(value)


def test_the_server_starts_with_a_registered_key_and_prints_the_key_settings(key_files):
    process = subprocess.Popen([sys.executable, "-m", "helpers.local_okta", "--client-key",
                                f"key_service={key_files.public_jwk_file}"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        lines, output = [], Lines(process.stdout, seconds=60)
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = output.next()
            assert line, "the server ended early:\n" + "".join(lines)
            lines.append(line.rstrip("\n"))
        assert f"Public key {key_files.kid} registered on key_service" in lines
        assert f"KEY_CLIENT_ID={KEY_APP}" in lines and f"KEY_PRIVATE_KEY_FILE={key_files.private_key_file}" in lines
        assert not any("PRIVATE KEY" in line for line in lines)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_a_private_key_given_as_client_key_stops_the_server_before_it_serves(key_files):
    done = subprocess.run([sys.executable, "-m", "helpers.local_okta", "--client-key",
                           f"key_service={key_files.private_key_file}"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "is a private key" in done.stderr and "running at" not in done.stdout
