"""GUIDE_MAP.md covers TrueFoundry's guide, true to its text, and nothing calls the guide by a wrong name.

The series follows TrueFoundry's guide *Add Okta OAuth to a Calculator MCP Server*. GUIDE_MAP.md
must map its gateway steps to notebook 06's stand-in gateway and list the guide's code bugs and
the places the series departs from it; these tests look for the words that say so.
``test_no_file_calls_the_guide_by_a_wrong_name`` passes once the notebooks name it right too.

Where the full stored text of the guide is at hand (``shared/guide/`` in the repository's folder or
one of its parents, e.g. ``../shared/guide`` beside a clone; or the folder named by ``GUIDE_TEXT_DIR``),
every passage GUIDE_MAP.md quotes in “curly quotes” must appear in it word for word, and each of
its steps and FAQ entries must have its section, under its own title. Elsewhere those tests skip
and say why.
"""

from __future__ import annotations

import os
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
    "difference: a service app plus a web app": ["one **Web app** for both kinds of caller", "API Services app"],
    "difference: renewal 60 s, not 300 s": ["300 s", "60 s", "half the lifetime"],
    "difference: get_me returns sub, not user_id": ["`user_id`", "`sub`"],
    "the guide's app and policy, by name": ["`CalculatorMCPClient`", "`CalculatorMCPAccessPolicy`", "Device",
                                            "Any scopes", "1 hour"],
    "the guide's FAQ already says one app per service": ["One App Per Service", "FAQ recommends"],
    "step: collect the information": ["Collect Necessary Information", "OAUTH\\_WELL\\_KNOWN\\_URL"],
    "one scope, else no token": ["else Okta refuses to generate the"],
    "gateway prerequisites": ["`offline_access`", "FQN", "access control"],
    "the check against the deployed URL": ["deployed URL", "test.py"],
    "FAQ: API Services apps need custom scopes and a custom server": ["require custom scopes",
                                                                      "custom authorization server"],
}
WRONG_ABOUT_THE_GUIDE = ["stops before its policy step", "MCP Server Client", "where the stored copy of the page stops"]


def map_text() -> str:
    return GUIDE_MAP.read_text(encoding="utf-8")


@pytest.mark.parametrize("subject", sorted(MUST_COVER))
def test_the_guide_map_covers(subject):
    text = map_text()
    missing = [words for words in MUST_COVER[subject] if words not in text]
    assert missing == [], f"GUIDE_MAP.md does not cover {subject}: missing {missing}"


def test_the_guide_map_no_longer_says_what_the_guide_does_not():
    assert [words for words in WRONG_ABOUT_THE_GUIDE if words in map_text()] == []


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


# Against the guide's full text, where it is stored


def guide_folder() -> Path | None:
    """``shared/guide`` in the repository's parent folders (or ``GUIDE_TEXT_DIR``), if there is one."""
    if os.environ.get("GUIDE_TEXT_DIR"):
        return Path(os.environ["GUIDE_TEXT_DIR"])
    return next((parent / "shared" / "guide" for parent in ROOT.parents if (parent / "shared" / "guide").is_dir()), None)


@pytest.fixture(scope="module")
def guide() -> str:
    folder = guide_folder()
    pages = sorted(folder.glob("*.md")) if folder and folder.is_dir() else []
    pages = [page for page in pages if page.name != "README.md"]
    if not pages:
        pytest.skip("the guide's stored text (shared/guide/*.md beside the repository, or GUIDE_TEXT_DIR) is not "
                    "here: GUIDE_MAP.md's quotes and step list are checked only where it is")
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def plain(text: str) -> str:
    """Text as a reader sees it: Markdown bold and escapes removed, every run of whitespace one space."""
    return " ".join(text.replace("**", "").replace("\\_", "_").split())


def quotes(text: str) -> list[str]:
    return re.findall(r"“(.+?)”", text, re.S)


def test_the_quote_check_would_catch_a_changed_word():
    page = "Okta **refuses** to generate\n   the token. `OAUTH\\_ISSUER`"
    assert plain("Okta refuses to generate the token.") in plain(page)
    assert plain("Okta refuses to issue the token.") not in plain(page)
    assert plain("`OAUTH_ISSUER`") in plain(page)
    assert quotes("a “first\nquote” and “second”") == ["first\nquote", "second"]


def test_every_passage_the_map_quotes_is_in_the_guide(guide):
    quoted = quotes(map_text())
    assert len(quoted) >= 30, "GUIDE_MAP.md quotes the guide for its claims"
    missing = [quote for quote in quoted if plain(quote) not in plain(guide)]
    assert missing == [], f"quoted in GUIDE_MAP.md but not in the guide, word for word: {missing}"


def guide_sections(guide: str) -> tuple[list[str], list[str]]:
    """The guide's step titles and FAQ entry titles, in order."""
    steps = re.findall(r'<Step title="([^"]+)">', guide)
    faq = re.findall(r'<Accordion title="([^"]+)">', guide.split("\n## FAQ", 1)[1])
    return steps, faq


def test_every_step_and_faq_entry_of_the_guide_is_mapped(guide):
    steps, faq = guide_sections(guide)
    assert len(steps) == 10 and len(faq) >= 6, (steps, faq)
    headings = re.findall(r"(?m)^### (.+)$", map_text())
    expected = [f"{number}. {title}" for number, title in enumerate(steps, 1)] + [f"FAQ: {title}" for title in faq]
    assert [h for h in headings if h in expected] == expected, (
        "GUIDE_MAP.md has a section per step ('### N. <the step's title>') and per FAQ entry "
        "('### FAQ: <its title>'), in the guide's order"
    )
    for heading in expected:
        section = map_text().split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
        assert "*Guide:*" in section and "*Series:*" in section, f"{heading}: what the guide says, and where the series does it"
