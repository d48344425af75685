"""Notebook 02's checklist, .env.example and the README tell a learner the same setup.

A learner sets up Okta from one of the three and fills .env from another; when they drift apart
(a variable renamed in one, a step added in another) the setup fails in a way none of them
explains. These tests read all three.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"\b((?:OAUTH|READ_M2M|M2M|CLIENT)_[A-Z_]+)\b")


def checklist() -> str:
    cells = json.loads((ROOT / "notebooks" / "02_okta_setup_checks.ipynb").read_text())["cells"]
    found = [" ".join("".join(c["source"]).split()) for c in cells if "".join(c["source"]).startswith("## What to set up in Okta, in order")]
    assert len(found) == 1, "notebook 02 has one checklist cell"
    return found[0]


def env_example() -> str:
    return (ROOT / ".env.example").read_text()  # line by line: not flattened


def readme_setup() -> str:
    text = (ROOT / "README.md").read_text()
    return " ".join(text[text.index("## Use a real Okta tenant"):text.index("## Deploy the server")].split())


def in_order(text: str) -> list[str]:
    seen: list[str] = []
    for name in VARIABLE.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


def test_the_checklist_fills_every_required_env_line_in_the_same_order():
    required = [line.split("=", 1)[0] for line in env_example().splitlines() if re.match(r"[A-Z0-9_]+=", line)]
    assert required == ["OAUTH_ISSUER", "OAUTH_AUDIENCE", "M2M_CLIENT_ID", "M2M_CLIENT_SECRET",
                        "READ_M2M_CLIENT_ID", "READ_M2M_CLIENT_SECRET", "CLIENT_ID", "CLIENT_SECRET"]
    assert [name for name in in_order(checklist()) if name in required] == required


def test_the_readme_documents_every_variable_of_env_example():
    assert set(VARIABLE.findall(env_example())) <= set(VARIABLE.findall(readme_setup()))


def test_all_three_give_the_same_audience_advice():
    for text in (checklist(), env_example(), readme_setup()):
        assert "api://default" in text  # the default server's audience, as its page shows it
        assert "https://calculator.example.com/mcp" in text  # a deployment's: the MCP server's public URL


def test_the_checklist_steps_are_numbered_in_order_and_the_readme_follows_them():
    steps = [int(n) for n in re.findall(r"(?:^| )(\d+)\. \*\*", checklist())]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 6
    for words in ("Integrator", "Authorization Servers", "Include in public metadata", "API Services",
                  "Require Demonstrating Proof of Possession", "http://127.0.0.1:8765/callback",
                  "Rotate token after every use", "Require PKCE as additional verification",
                  "offline_access", "All clients"):
        positions = [text.find(words) for text in (checklist(), readme_setup())]
        assert -1 not in positions, f"{words!r} missing from the checklist or the README"
    order = ["Authorization Servers", "Include in public metadata", "API Services",
             "http://127.0.0.1:8765/callback", "offline_access"]
    for text in (checklist(), readme_setup()):
        assert sorted(order, key=text.find) == order


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def test_notebook_02_counts_the_mistakes_its_own_output_lists():
    """Section 3's "Several mistakes, one error" counts what the map above it prints: how many
    mistakes stop the first and the second token request, and how many of them get access_denied."""
    cells = json.loads((ROOT / "notebooks" / "02_okta_setup_checks.ipynb").read_text())["cells"]
    mapping = next(c for c in cells if c["cell_type"] == "code" and "scenario_reports = {" in "".join(c["source"]))
    printed = "".join("".join(o.get("text", "")) for o in mapping["outputs"])
    groups = dict(re.findall(r"(?m)^(\S+)\n((?:  .*\n?)*)", printed))
    first, second = (groups[check].splitlines() for check in ("token:calculator.add", "token:calculator.subtract"))
    denied = sum("[access_denied]" in line for line in first + second)
    text = " ".join(next("".join(c["source"]) for c in cells if "Several mistakes, one error" in "".join(c["source"])).split())
    said = re.search(r"(\w+) mistakes stop the first token request and (\w+) the second\. (\w+) of these (\w+)", text)
    assert said, "the sentence that counts the mistakes was reworded: update this test"
    counts = [NUMBERS[word.lower()] for word in said.groups()]
    assert counts == [len(first), len(second), denied, len(first) + len(second)], (counts, printed)
