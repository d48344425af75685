"""GUIDE_MAP.md covers TrueFoundry's guide, and nothing calls the guide by a wrong name.

The series follows TrueFoundry's guide *Add Okta OAuth to a Calculator MCP Server*. GUIDE_MAP.md
must map its gateway steps to notebook 06's stand-in gateway and list the guide's code bugs and
the places the series departs from it; these tests look for the words that say so.
``test_no_file_calls_the_guide_by_a_wrong_name`` passes once the notebooks name it right too.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE_MAP = ROOT / "GUIDE_MAP.md"
GUIDE_URL = "https://www.truefoundry.com/docs/ai-gateway/mcp/mcp-server-oauth-okta"
# Assembled here so that this file does not itself hold the name it looks for.
WRONG_NAME = re.compile(r"(?i)okta'?s\s+calculator\s+" + "mcp" + r"\s+guide")

MUST_COVER = {
    "the guide, by name and link": ["TrueFoundry's guide", "Add Okta OAuth to a Calculator MCP Server", GUIDE_URL],
    "gateway: host the server": ["Host the server", "deploy"],
    "gateway: add it as a remote MCP server with OAuth2 client id and secret": [
        "remote MCP server", "OAuth2", "client ID and client secret",
    ],
    "gateway: its redirect URI": ["/api/svc/v1/llm-gateway/mcp-servers/oauth2/callback"],
    "gateway: test in the playground": ["playground"],
    "what notebook 06's stand-in gateway does instead": ["notebook 06", "UserLogin", "stand-in"],
    "bug: server.py misses Request and RedirectResponse": ["server.py", "`Request`", "`RedirectResponse`"],
    "bug: get_me misses Context, get_access_token and datetime": ["`Context`", "`get_access_token`", "`datetime`"],
    "bug: the .env audience differs from the configured one": [".env", "audience differs"],
    "difference: no audience form field": ["`audience` form field", "ignores it for client credentials"],
    "difference: a service app plus a web app": ["one **Web app** for both grants", "API Services app"],
    "difference: renewal 60 s, not 300 s": ["300 s", "60 s", "half the lifetime"],
    "difference: get_me returns sub, not user_id": ["`user_id`", "`sub`"],
}


def map_text() -> str:
    return GUIDE_MAP.read_text(encoding="utf-8")


@pytest.mark.parametrize("subject", sorted(MUST_COVER))
def test_the_guide_map_covers(subject):
    text = map_text()
    missing = [words for words in MUST_COVER[subject] if words not in text]
    assert missing == [], f"GUIDE_MAP.md does not cover {subject}: missing {missing}"


def test_the_guide_map_takes_the_guide_step_by_step():
    steps = re.findall(r"(?m)^### (\d+)\. ", map_text())
    assert [int(step) for step in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 10


def test_the_readme_links_the_guide_map():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(GUIDE_MAP.md)" in readme and GUIDE_URL in readme


def test_the_wrong_name_pattern_would_catch_it():
    assert WRONG_NAME.search("a question from the FAQ of Okta's calculator " + "MCP guide, linked")
    assert WRONG_NAME.search("Okta's calculator\n" + "MCP guide")
    assert not WRONG_NAME.search("TrueFoundry's guide *Add Okta OAuth to a Calculator MCP Server*")


def tracked_files():
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listing.stdout.split("\0") if name and (ROOT / name).is_file()]


def places(path: Path):
    """(where, text) for each part of a file a reader sees: a notebook's cells, another file's lines."""
    if path.suffix == ".ipynb":
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            yield f"cell {cell.get('id', index)}", cell.source
    else:
        text = path.read_text(encoding="utf-8", errors="ignore")
        for match in WRONG_NAME.finditer(text):
            yield f"line {text.count(chr(10), 0, match.start()) + 1}", match.group(0)


def test_no_file_calls_the_guide_by_a_wrong_name():
    """Every tracked file but GUIDE_MAP.md (git history aside) names TrueFoundry's guide rightly."""
    found = [
        f"{path.relative_to(ROOT)} {where}"
        for path in tracked_files() if path != GUIDE_MAP
        for where, text in places(path) if WRONG_NAME.search(text)
    ]
    assert found == [], "call it TrueFoundry's guide (GUIDE_MAP.md): " + ", ".join(found)
