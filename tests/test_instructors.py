"""INSTRUCTORS.md: a 3-hour plan that adds up, and the sticking points and procedures it promises."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")



def stated_minutes(number: str) -> int:
    """The core time a notebook states in its first cell ("**Time:** about N minutes")."""
    notebook = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    first = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    return int(re.search(r"\*\*Time:\*\* about (\d+) minutes", first).group(1))


def plan_rows(heading: str) -> list[tuple[int, int, str, str]]:
    """The plan table under ``heading``: (start minute, minutes, what, the "you" column)."""
    section = TEXT.split(heading, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"(?m)^\| (\d):(\d\d) \| (\d+) \| \*\*([^*]+)\*\* \|([^|]*)\|", section)
    assert rows, f"no plan table under {heading!r}"
    return [(int(h) * 60 + int(m), int(minutes), what, you) for h, m, minutes, what, you in rows]


def check_plan(rows, *, length: int) -> list[str]:
    """Blocks follow each other, end at ``length``; each notebook block is its stated time plus your
    introduction ("N min:" in the "you" column). The notebooks it covers, in order."""
    clock = 0
    covered = []
    for start, minutes, what, you in rows:
        assert start == clock, f"{what!r} starts at {start}, when the block before ends at {clock}"
        clock += minutes
        if what[:2].isdigit():
            talk = int(re.match(r"(\d+) min:", you.strip()).group(1))
            assert minutes == stated_minutes(what[:2]) + talk, (
                f"{what}: {minutes} min, but the notebook states {stated_minutes(what[:2])} and you talk {talk}")
            covered.append(what[:2])
    assert clock == length
    return covered


def test_the_3_hour_plan_covers_what_it_says_with_25_minutes_of_buffer():
    rows = plan_rows("## A 3-hour workshop")
    covered = check_plan(rows, length=180)
    assert covered == ["01", "02", "03"]
    assert "covers notebooks 01, 02 and 03" in TEXT
    assert sum(minutes for _, minutes, what, _ in rows if what.startswith("buffer")) >= 25
    assert sum(minutes for _, minutes, what, _ in rows if what == "break") >= 10


def test_the_second_session_covers_the_rest_with_buffer():
    rows = plan_rows("### The whole course in two sessions")
    covered = check_plan(rows, length=rows[-1][0] + rows[-1][1])
    assert covered == ["04", "05", "06"]
    assert sum(minutes for _, minutes, what, _ in rows if what.startswith("buffer")) >= 25


def test_each_notebook_states_the_time_its_review_measured():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_times", ROOT / "benchmarks" / "notebook_times.py")
    times = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = times  # dataclasses look their module up while the class is made
    spec.loader.exec_module(times)
    measured = {n: times.estimate(n) for n in sorted(times.EXERCISES)}
    assert {n: m["stated"] for n, m in measured.items()} == {n: m["rounded"] for n, m in measured.items()}, (
        "a notebook's stated time drifted from benchmarks/notebook_times.py: re-measure and state it")
    for numbers in times.PARTS.values():  # the guide's path, beyond the guide; the optional lab stands alone
        part = sum(measured[n]["rounded"] for n in numbers)
        if len(numbers) > 1:
            assert f"about **{part // 60} h {part % 60:02d}**" in TEXT, (numbers, part)
    total = sum(m["rounded"] for m in measured.values())
    assert f"about **{total // 60} hours**" in TEXT or f"about **{total // 60} h {total % 60:02d}**" in TEXT
    assert sorted(n for numbers in times.PARTS.values() for n in numbers) == sorted(measured)
    for number, m in measured.items():
        assert f"{number} {m['rounded']}" in TEXT.split("## A 3-hour workshop", 1)[1].split("|", 1)[0]


def test_the_third_session_covers_beyond_the_guide_with_buffer():
    rows = plan_rows("### Session 3: beyond the guide")
    covered = check_plan(rows, length=rows[-1][0] + rows[-1][1])
    assert covered == ["07", "08", "09"]
    assert sum(minutes for _, minutes, what, _ in rows if what.startswith("buffer")) >= 25


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
