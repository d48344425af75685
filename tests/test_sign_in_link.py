"""The sign-in link a notebook shows: server-supplied scope text is shown, never rendered.

A resource server's 403 names the scopes a step-up asks for; the text is the server's, so a
scope such as ``calculator.add [Continue to Okta](https://evil.example)`` must not draw a
second link beside the real sign-in link (issue 22 #6).
"""

import re

import markdown_it
import mistune
import pytest

SIGN_IN_URL = "https://dev-123.okta.com/oauth2/default/v1/authorize?client_id=0oa1&scope=openid+calculator.add&state=s"
HOSTILE_SCOPES = [
    ("calculator.add", "[Continue", "to", "Okta](https://evil.example)"),
    ("calculator.add [Continue to Okta](https://evil.example)",),
    ("<a href='https://evil.example'>Continue</a>",),
    ("![x](https://evil.example/pixel.png)",),
    ("https://evil.example/continue",),
    ("calculator.add\n\n# Sign in at https://evil.example",),
    ("*urgent*", "_now_", "`code`", "<https://evil.example>"),
]


def rendered(markdown_text):
    """HTML of the text by two renderers (CommonMark; mistune as nbconvert uses it, with bare-URL links)."""
    return [markdown_it.MarkdownIt("commonmark").render(markdown_text),
            mistune.create_markdown(plugins=["url", "strikethrough", "table"])(markdown_text)]


@pytest.mark.parametrize("scopes", HOSTILE_SCOPES)
def test_scope_text_draws_no_link_image_or_heading(scopes):
    from helpers.display import sign_in_markdown

    for html in rendered(sign_in_markdown(SIGN_IN_URL, scopes)):
        links = re.findall(r"<a [^>]*href=\"([^\"]*)\"", html)
        assert links == [SIGN_IN_URL.replace("&", "&amp;")], html
        assert "<img" not in html and "<h1" not in html and "<em>" not in html and "<code>" not in html, html
        assert "evil.example" in html  # shown as text, so the user sees what the server asked for


def test_the_scopes_read_as_they_were_given():
    from helpers.display import markdown_text

    text = "calculator.add [Continue to Okta](https://evil.example) *x* <b>"
    for html in rendered(markdown_text(text)):
        plain = re.sub(r"<[^>]+>", "", html).strip()
        assert plain.replace("&lt;", "<").replace("&gt;", ">") == text


def test_notebook_06_shows_server_chosen_scopes_through_sign_in_markdown():
    """The notebook's own sign-in link (the scopes may come from a 403) goes through the escaping helper."""
    import json
    from pathlib import Path

    notebook = next((Path(__file__).resolve().parent.parent / "notebooks").glob("06_*.ipynb"))
    cells = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    show = next(cell for cell in cells if "def show_sign_in(pending):" in cell)
    assert "sign_in_markdown(pending.url, pending.scopes)" in show
    assert "join(pending.scopes)" not in show, "scopes pasted into Markdown could draw a second link"
