"""INSTRUCTORS.md: a 3-hour plan that adds up, and the sticking points and procedures it promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")



def stated_minutes(number: str) -> int:
    """The core time a notebook states in its first cell ("**Time:** about N minutes")."""
    notebook = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    first = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    return int(re.search(r"\*\*Time:\*\* about (\d+) minutes", first).group(1))


def test_the_workshop_plan_adds_up_to_three_hours():
    rows = re.findall(r"(?m)^\| (\d):(\d\d) \| (\d+) \| \*\*([^*]+)\*\*", TEXT)
    blocks = [(what.split()[0] if what[0].isdigit() else what, int(minutes)) for _, _, minutes, what in rows]
    notebooks = [(name, minutes) for name, minutes in blocks if name[0].isdigit()]
    assert notebooks == [(n, stated_minutes(n)) for n in ("01", "02", "03", "04", "05", "06")], (
        "each notebook's block takes the time the notebook states"
    )
    assert [name for name, _ in blocks if not name[0].isdigit()] == ["setup and welcome", "break", "break", "wrap-up"]
    clock = 0
    for hours, mins, minutes, _ in rows:
        assert int(hours) * 60 + int(mins) == clock, "each block starts when the one before ends"
        clock += int(minutes)
    assert clock == 180


@pytest.mark.parametrize("words", [
    "--allow-root", "Cannot listen for the redirect", "127.0.0.1", "TUTORIAL_BROWSER", "3.11", "placeholder",
    "clock", "not private", "OAUTH_REDIRECT_URI", "openid-connect-oidc-redirect-uri", "invalid_client",
    "Policy evaluation failed", "git checkout notebooks/", "python -m helpers.handouts", "require_done",
    "source_hidden", "# Solution (click to reveal). Running it replaces your answer.",
])
def test_the_notes_cover(words):
    assert words in TEXT


@pytest.mark.parametrize("name", ["INSTRUCTORS.md", "GUIDE_MAP.md", "GLOSSARY.md"])
def test_links_within_and_between_the_course_documents_resolve(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in text.splitlines() if line.startswith("#")}
    assert sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors) == []
    files = set(re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text))
    assert sorted(f for f in files if not (ROOT / f).exists()) == []
