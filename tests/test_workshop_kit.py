"""The instructor's kit: the email, the cheat sheet, the slides and the feedback form exist, say what
they must, are linked from INSTRUCTORS.md, and the cheat sheet fits one printed page."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "workshop"
INSTRUCTORS = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
# A printed A4 or Letter page in a Markdown viewer's default font holds about 60 lines of about
# 100 characters; table rules (|---|) print as lines of their own only in the source.
PAGE_LINES, LINE_WIDTH = 60, 100


def read(name: str) -> str:
    return (KIT / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["email.md", "cheat-sheet.md", "slides.md", "feedback.md"])
def test_each_piece_exists_and_instructors_md_links_it(name):
    assert (KIT / name).is_file()
    assert f"](workshop/{name})" in INSTRUCTORS, f"INSTRUCTORS.md links workshop/{name}"


def test_the_email_names_the_install_the_readiness_check_and_what_to_bring():
    email = read("email.md")
    for words in ("python -m helpers.ready", ".venv\\Scripts\\python -m helpers.ready", "pip install -r requirements.txt",
                  "Python 3.11 or newer", "**Bring:**", "READY", "NOT READY", "python -m helpers.workshop", "127.0.0.1"):
        assert words in email, words


def printed_lines(markdown: str) -> int:
    """Lines the page takes when printed: each visible line, wrapped at LINE_WIDTH characters."""
    total = 0
    for line in markdown.splitlines():
        if re.fullmatch(r"\s*\|(\s*:?-+:?\s*\|)+\s*", line):
            continue
        visible = " ".join(line.replace("**", "").replace("`", "").replace("|", " ").split())
        total += max(1, math.ceil(len(visible) / LINE_WIDTH))
    return total


def test_the_page_measure_counts_wrapping_and_skips_table_rules():
    assert printed_lines("a\n|---|---|\n| `x` | **y** |\n" + "z" * 150) == 1 + 1 + 2


def test_the_cheat_sheet_fits_one_printed_page():
    sheet = read("cheat-sheet.md")
    assert printed_lines(sheet) <= PAGE_LINES and len(sheet) <= 4000, (printed_lines(sheet), len(sheet))


def test_the_back_of_the_page_fits_one_printed_page_too():
    sheet = read("cheat-sheet-beyond.md")
    assert printed_lines(sheet) <= PAGE_LINES and len(sheet) <= 4000, (printed_lines(sheet), len(sheet))
    assert "](workshop/cheat-sheet-beyond.md)" in INSTRUCTORS


@pytest.mark.parametrize("words", [
    # the flows of notebooks 07 to 09, with the values Okta checks (the local server's own constants)
    "Native app", "dynamic client registration", "audience the MCP server's URL", "`iss`", "`offline_access`",
    "/v1/device/authorize", "authorization_pending", "slow_down", "expired_token", "access_denied",
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "`aud` = the token endpoint URL", "`jti`",
    "The audience claim for client_assertion must be the endpoint invoked for the request.",
    "/oauth2/v1/token", "urn:ietf:params:oauth:token-type:id-jag", "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "`sub` the user, `cid` the agent",
])
def test_the_back_of_the_page_has(words):
    assert words in read("cheat-sheet-beyond.md")


def test_the_back_of_the_page_names_the_grants_and_texts_the_local_server_uses():
    from helpers.local_okta import id_jag
    from helpers.local_okta.client_assertions import INVALID_AUDIENCE
    from helpers.local_okta.device import DEVICE_GRANT
    sheet = read("cheat-sheet-beyond.md")
    assert DEVICE_GRANT in sheet and id_jag.TOKEN_EXCHANGE in sheet and id_jag.JWT_BEARER in sheet
    assert id_jag.ID_JAG_TOKEN_TYPE in sheet and INVALID_AUDIENCE in sheet


@pytest.mark.parametrize("words", [
    "/.well-known/oauth-authorization-server", "/v1/token", "/v1/authorize", "/v1/keys", "oauth-protected-resource",
    "`iss`", "`aud`", "`sub`", "`scp`", "`exp`", "`cid`", "`uid`",
    "401", "403", "insufficient_scope", "invalid_client", "invalid_scope", "access_denied", "invalid_grant", "429",
    "**Client credentials**", "**Authorization code + PKCE + refresh**", "code_verifier", "state", "offline_access",
    "python -m helpers.ready",
])
def test_the_cheat_sheet_has(words):
    assert words in read("cheat-sheet.md")


def slides() -> list[str]:
    return [part.strip() for part in re.split(r"(?m)^---$", read("slides.md")) if part.strip()]


def test_the_slides_cover_what_the_plan_refers_to():
    titles = [re.search(r"(?m)^#{1,2} (.+)$", slide).group(1) for slide in slides()]
    for number in ("01", "02", "03", "04", "05", "06"):
        assert any(title.startswith(number) for title in titles), f"a slide for notebook {number}"
    for words in ("JSON-RPC on one slide", "four OAuth roles", "The words you need", "JWT", "client credentials",
                  "Decoding is not verifying", "PKCE", "finished system"):
        assert any(words.lower() in title.lower() for title in titles), words
    assert "JSON-RPC on one slide" in INSTRUCTORS and "four OAuth roles" in INSTRUCTORS


def test_the_json_rpc_slide_shows_a_real_request():
    slide = next(s for s in slides() if "JSON-RPC on one slide" in s)
    body = re.search(r"\n\n(\{.*?\}\})\n```", slide, re.S).group(1)
    request = json.loads(body)
    assert request == {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
    assert "Accept: application/json, text/event-stream" in slide


def test_the_feedback_form_asks_how_far_and_what_to_change():
    form = read("feedback.md")
    assert form.count("**") >= 16 and "How far did you get" in form and "One thing to change" in form


@pytest.mark.parametrize("words", [
    "## Catch-up: when a learner falls behind", "Every notebook runs on its own", "Jumping to notebook N",
    "What a helper does", "one helper per 8 to 10 learners", "What to skip first",
    "The supported route for a class is your own org, shown live", "second super admin", "two authenticators",
    "Rate Limit Dashboard", "50 %", "60 per minute", "### Requests per learner", "benchmarks/requests_per_notebook.py",
])
def test_instructors_md_has(words):
    assert words in INSTRUCTORS


def test_requests_per_learner_holds_a_measured_row_for_every_notebook():
    import re

    section = INSTRUCTORS.split("### Requests per learner", 1)[1].split("\n#", 1)[0]
    assert "TODO" not in section, "the measured table goes here (benchmarks/requests_per_notebook.py)"
    rows = re.findall(r"(?m)^\| (0[1-6]) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", section)
    assert [row[0] for row in rows] == ["01", "02", "03", "04", "05", "06"]
    for number, *counts in rows:
        assert sum(map(int, counts[:5])) == int(counts[5]), f"notebook {number}: the endpoints add up to 'all'"
