"""Configuration: local by default, a real tenant only when complete, clear errors otherwise."""

import re
from pathlib import Path

import pytest

from helpers.settings import ClientCredentials, ConfigurationError, load_settings

ISSUER = "https://dev-123.okta.com/oauth2/default"
AUDIENCE = "https://calculator-mcp-server.example.com"


def load(env_file="", **environ):
    return load_settings(environ=environ, env_file=env_file)


def test_nothing_configured_means_the_local_server():
    settings = load()
    assert settings.mode == "local" and settings.uses_local_server
    assert settings.issuer is None


def test_a_complete_tenant():
    settings = load(
        OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE,
        M2M_CLIENT_ID="0oa1", M2M_CLIENT_SECRET="s3cr3t", CLIENT_ID="0oa2", CLIENT_SECRET="t0p",
    )
    assert settings.mode == "okta"
    assert (settings.issuer, settings.audience, settings.jwks_uri) == (ISSUER, AUDIENCE, None)
    assert settings.require_m2m_client() == ClientCredentials("0oa1", "s3cr3t")
    assert settings.require_web_client() == ClientCredentials("0oa2", "t0p")


@pytest.mark.parametrize("environ, message", [
    ({"OAUTH_ISSUER": ISSUER}, "OAUTH_AUDIENCE is not set, but OAUTH_ISSUER is"),
    ({"OAUTH_AUDIENCE": AUDIENCE}, "OAUTH_ISSUER is not set, but OAUTH_AUDIENCE is"),
    ({"OAUTH_JWKS_URI": ISSUER + "/v1/keys"}, "OAUTH_ISSUER is not set"),
    ({"OAUTH_ISSUER": ISSUER, "OAUTH_AUDIENCE": "  "}, "OAUTH_AUDIENCE is not set"),
    ({"TUTORIAL_AUTH_SERVER": "okta"}, "OAUTH_ISSUER is not set, but TUTORIAL_AUTH_SERVER=okta"),
    ({"OAUTH_ISSUER": "https://{yourOktaDomain}/oauth2/default", "OAUTH_AUDIENCE": AUDIENCE}, "placeholder"),
    ({"OAUTH_ISSUER": "http://dev-123.okta.com/oauth2/default", "OAUTH_AUDIENCE": AUDIENCE}, "not an https:// URL"),
    ({"OAUTH_ISSUER": "dev-123.okta.com/oauth2/default", "OAUTH_AUDIENCE": AUDIENCE}, "not an https:// URL"),
    ({"OAUTH_ISSUER": ISSUER + "/", "OAUTH_AUDIENCE": AUDIENCE}, "ends with '/'"),
    ({"OAUTH_ISSUER": ISSUER, "OAUTH_AUDIENCE": AUDIENCE, "OAUTH_JWKS_URI": "ftp://x/keys"}, "OAUTH_JWKS_URI"),
    ({"OAUTH_ISSUER": ISSUER, "OAUTH_AUDIENCE": AUDIENCE, "M2M_CLIENT_ID": "0oa1"}, "M2M_CLIENT_SECRET is not"),
    ({"OAUTH_ISSUER": ISSUER, "OAUTH_AUDIENCE": AUDIENCE, "CLIENT_SECRET": "x"}, "CLIENT_ID is not"),
    ({"OAUTH_ISSUER": ISSUER, "OAUTH_AUDIENCE": AUDIENCE,
      "M2M_CLIENT_ID": "{yourClientId}", "M2M_CLIENT_SECRET": "x"}, "M2M_CLIENT_ID still holds the placeholder"),
    ({"TUTORIAL_AUTH_SERVER": "production"}, "TUTORIAL_AUTH_SERVER='production' is not understood"),
])
def test_incomplete_or_malformed_configuration_is_refused(environ, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load(**environ)


def test_a_plain_http_issuer_is_refused_even_on_this_machine():
    """Okta is HTTPS only, and so is the local authorization server: no plain-http exception."""
    with pytest.raises(ConfigurationError, match="not an https:// URL"):
        load(OAUTH_ISSUER="http://127.0.0.1:9000/oauth2/default", OAUTH_AUDIENCE=AUDIENCE)
    assert load(OAUTH_ISSUER="https://127.0.0.1:9000/oauth2/default", OAUTH_AUDIENCE=AUDIENCE).issuer.startswith("https://")


def test_ca_file_must_exist(tmp_path):
    with pytest.raises(ConfigurationError, match="OAUTH_CA_FILE=.* is not a file"):
        load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, OAUTH_CA_FILE=str(tmp_path / "missing.pem"))
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, OAUTH_CA_FILE=str(ca)).ca_file == str(ca)


def test_local_switch_wins_over_a_filled_in_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"OAUTH_ISSUER={ISSUER}\nOAUTH_AUDIENCE={AUDIENCE}\n")
    assert load(env_file=env_file).mode == "okta"
    assert load(env_file=env_file, TUTORIAL_AUTH_SERVER="local").mode == "local"


def test_environment_overrides_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"OAUTH_ISSUER={ISSUER}\nOAUTH_AUDIENCE=https://old.example.com\n")
    settings = load(env_file=env_file, OAUTH_AUDIENCE=AUDIENCE)
    assert settings.audience == AUDIENCE
    assert settings.source == ".env and environment"


def test_env_file_is_found_from_a_subdirectory(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"OAUTH_ISSUER={ISSUER}\nOAUTH_AUDIENCE={AUDIENCE}\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert load_settings(environ={}).issuer == ISSUER


def test_missing_clients_are_explained():
    settings = load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE)
    with pytest.raises(ConfigurationError, match="M2M_CLIENT_ID and M2M_CLIENT_SECRET are not set"):
        settings.require_m2m_client()
    with pytest.raises(ConfigurationError, match="CLIENT_ID is not set"):
        settings.require_web_client()


def test_secrets_stay_out_of_repr():
    settings = load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, M2M_CLIENT_ID="0oa1", M2M_CLIENT_SECRET="hunter2")
    assert "hunter2" not in repr(settings)
    assert "0oa1" in repr(settings)


def test_env_example_holds_placeholders_only():
    example = Path(__file__).parent.parent / ".env.example"
    with pytest.raises(ConfigurationError, match="still holds the placeholder from .env.example"):
        load_settings(environ={}, env_file=example)


def test_only_the_service_app_is_needed_for_notebooks_02_to_05():
    """Issue 12, point 10: web-app lines left as placeholders (or absent) stop only notebook 06."""
    settings = load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, M2M_CLIENT_ID="0oa1svc", M2M_CLIENT_SECRET="s3cret",
                    CLIENT_ID="{yourWebAppClientId}", CLIENT_SECRET="{yourWebAppClientSecret}")
    assert settings.m2m_client.client_id == "0oa1svc" and settings.web_client is None
    with pytest.raises(ConfigurationError, match="Create one in Okta .*Web Application.*http://127.0.0.1:8765/callback"):
        settings.require_web_client()
    with pytest.raises(ConfigurationError, match="READ_M2M_CLIENT_ID is not set.*calculator.add only"):
        settings.require_read_only_client()


def test_the_read_only_service_has_its_own_variables():
    settings = load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, READ_M2M_CLIENT_ID="0oa1reader", READ_M2M_CLIENT_SECRET="r")
    assert settings.require_read_only_client().client_id == "0oa1reader"


def test_a_placeholder_for_the_service_app_is_still_an_error():
    with pytest.raises(ConfigurationError, match="M2M_CLIENT_ID still holds the placeholder"):
        load(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, M2M_CLIENT_ID="{yourServiceAppClientId}", M2M_CLIENT_SECRET="x")


def owned_by_someone_else(path, monkeypatch):
    """Make ``path`` belong to another user: chown as root, otherwise pretend to be another uid."""
    import os

    if os.getuid() == 0:
        os.chown(path, 4242, -1)
    else:
        uid = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: uid + 1)


posix_only = pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX ownership (no check on Windows)")


@posix_only
@pytest.mark.parametrize("how", ["another user's", "group-writable", "world-writable"])
def test_an_env_file_another_user_could_write_is_refused(tmp_path, monkeypatch, how):
    env_file = tmp_path / ".env"
    env_file.write_text("OAUTH_ISSUER=https://evil.example.com/oauth2/default\nOAUTH_AUDIENCE=x\n")
    if how == "another user's":
        owned_by_someone_else(env_file, monkeypatch)
    else:
        env_file.chmod(0o620 if how == "group-writable" else 0o602)
    with pytest.raises(ConfigurationError) as refused:
        load(env_file=env_file)
    message = str(refused.value)
    assert f"The settings file {env_file} is not trusted" in message
    assert ("belongs to another user" if how == "another user's" else "can be written by other users") in message
    assert f"chmod 600 {env_file}" in message
    monkeypatch.chdir(tmp_path)  # found by the upward search too
    with pytest.raises(ConfigurationError, match="is not trusted"):
        load_settings(environ={})


@posix_only
def test_an_env_file_of_mine_readable_by_others_is_still_read(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"OAUTH_ISSUER={ISSUER}\nOAUTH_AUDIENCE={AUDIENCE}\n")
    env_file.chmod(0o644)
    assert load(env_file=env_file).issuer == ISSUER


def test_the_device_app_is_optional_public_and_explained_when_missing():
    from helpers.user_login import require_device_client

    base = dict(OAUTH_ISSUER=ISSUER, OAUTH_AUDIENCE=AUDIENCE, M2M_CLIENT_ID="0oa1", M2M_CLIENT_SECRET="s3cr3t")
    assert require_device_client(load(**base, DEVICE_CLIENT_ID="0oa3")) == ClientCredentials("0oa3", None)
    for unset in (load(**base), load(**base, DEVICE_CLIENT_ID="{yourNativeAppClientId}")):
        assert unset.device_client is None
        with pytest.raises(ConfigurationError, match="Native Application.*Device Authorization"):
            require_device_client(unset)
