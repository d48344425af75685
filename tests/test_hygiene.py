"""Repository hygiene: no token, key or secret in any tracked file or notebook output."""

import re
import subprocess
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
ASSIGNED_SECRET = re.compile(r"(?i)(client_secret|CLIENT_SECRET)\s*[=:]\s*['\"]?([A-Za-z0-9_\-]{20,})")


def tracked_files():
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listing.stdout.split("\0") if name and (ROOT / name).is_file()]


def test_there_are_tracked_files():
    names = {path.relative_to(ROOT).as_posix() for path in tracked_files()}
    assert {"README.md", "requirements.txt", ".env.example", "notebooks/01_unauthenticated_server.ipynb"} <= names


@pytest.mark.parametrize("pattern", [JWT, PRIVATE_KEY, ASSIGNED_SECRET], ids=["JWT", "private key", "client secret"])
def test_no_secret_material_in_tracked_files(pattern):
    found = []
    for path in tracked_files():
        if pattern is ASSIGNED_SECRET and path.parent.name == "tests":
            continue  # tests configure made-up secrets for the local server on purpose
        text = path.read_text(errors="ignore")
        for match in pattern.finditer(text):
            found.append(f"{path.relative_to(ROOT)}: {match.group(0)[:40]}...")
    assert found == []


def test_the_patterns_would_catch_a_leak():
    # Assembled at run time, so this file does not itself hold what it looks for.
    assert JWT.search('"text": "token ' + "eyJraWQiOiJhYmMxMjMifQ" + ".eyJzdWIiOiIwb2ExMjM0NSJ9.c2lnbmF0dXJlMTIz" + '"')
    assert PRIVATE_KEY.search("-----BEGIN RSA " + "PRIVATE KEY-----")
    assert ASSIGNED_SECRET.search("M2M_CLIENT_" + "SECRET=TCVUhnKlcrae5UMzPHz3JU9OnWYXDURMimhW9HCA")
    assert not ASSIGNED_SECRET.search("M2M_CLIENT_SECRET={yourServiceAppClientSecret}")


def test_env_is_ignored_and_not_tracked():
    tracked = {path.relative_to(ROOT).as_posix() for path in tracked_files()}
    assert ".env" not in tracked
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be listed in .gitignore"


def test_env_example_holds_placeholders_only():
    example = ROOT / ".env.example"
    values = [line.split("=", 1)[1] for line in example.read_text().splitlines()
              if "=" in line and not line.lstrip().startswith("#")]
    assert values, ".env.example lists the variables"
    assert [v for v in values if not v.startswith(("{", "https://{", "https://calculator-mcp-server.example.com"))] == []
    # that loading it as it is stops with "still holds the placeholder": tests/test_settings.py
