"""The readiness check a learner runs the day before a workshop: ``python -m helpers.ready``.

Run it from the repository's top folder with the virtual environment's Python::

    .venv/bin/python -m helpers.ready            # Linux, macOS
    .venv\\Scripts\\python -m helpers.ready        # Windows

It checks, in order, what the notebooks need and prints one line per check:

1. the Python version (3.11 or newer, as ``pyproject.toml`` requires);
2. that the notebook kernel JupyterLab would start (the ``python3`` kernelspec) is this Python,
   the virtual environment's, and not one from another environment (then ``import helpers`` fails);
3. that JupyterLab is installed here;
4. cURL: a warning only, since notebook 04 runs its other two ways without it;
5. that a server can listen on a loopback port (``127.0.0.1``, a free port), as every notebook's do;
6. that the local authorization server starts and issues a client-credentials token over HTTPS;
7. with a ``.env`` naming an Okta tenant, the tenant checks of notebook 02 (`helpers.okta_checks`).

It ends with one line: ``READY`` or ``NOT READY`` and the first thing to fix. Exit status 0 when
ready (warnings allowed), 1 otherwise. Every check is a function that returns a `Result`, with its
inputs as parameters, so the tests can give it a wrong Python or a failing server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Result", "run_all", "summary", "main", "check_python", "check_kernel", "check_jupyterlab",
           "check_curl", "check_loopback", "check_local_server", "check_tenant"]

ROOT = Path(__file__).resolve().parent.parent
MINIMUM = (3, 11)
VENV_PYTHON = r".venv\Scripts\python" if os.name == "nt" else ".venv/bin/python"
INSTALL = (f"py -m venv .venv && {VENV_PYTHON} -m pip install -r requirements.txt" if os.name == "nt"
           else f"python3 -m venv .venv && {VENV_PYTHON} -m pip install -r requirements.txt")


@dataclass(frozen=True)
class Result:
    """One check: ``status`` is ``ok``, ``warn``, ``fail`` or ``skip``; ``fix`` says what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "✅", "warn": "⚠️ ", "fail": "❌", "skip": "➖"}[self.status]
        text = f"{mark} {self.name}: {self.detail}"
        return text + (f"\n   fix: {self.fix}" if self.fix and self.status in ("warn", "fail") else "")


def check_python(version: Sequence[int] = tuple(sys.version_info[:3])) -> Result:
    shown = ".".join(map(str, version[:3]))
    if tuple(version[:2]) >= MINIMUM:
        return Result("Python", "ok", f"{shown} (3.11 or newer)")
    return Result("Python", "fail", f"{shown} is too old: the series needs 3.11 or newer (FastMCP does)",
                  "install Python 3.12 (python.org, or your package manager), then make the environment again "
                  "with it: python3.12 -m venv .venv (Windows: py -3.12 -m venv .venv), and install "
                  f"requirements.txt into it: {VENV_PYTHON} -m pip install -r requirements.txt")


def _kernel_python() -> str:
    """The Python the ``python3`` kernel would run, as jupyter_client resolves it for this JupyterLab."""
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    major = f"python{sys.version_info[0]}"
    if argv and argv[0] in {"python", major, f"{major}.{sys.version_info[1]}"}:
        return sys.executable  # jupyter_client runs a bare "python" as the server's own Python
    return argv[0]


def _prefix_of(python: str) -> str:
    done = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise OSError((done.stderr.strip().splitlines() or ["it exits with an error"])[-1])
    return done.stdout.strip()


def check_kernel(kernel_python: Callable[[], str] = _kernel_python, prefix: str = sys.prefix,
                 prefix_of: Callable[[str], str] = _prefix_of) -> Result:
    reinstall = (f"make the notebook kernel this environment's: {VENV_PYTHON} -m ipykernel install --user "
                 "--name python3 --display-name \"Python 3 (okta-mcp)\" (or delete the other python3 kernelspec "
                 "listed by `jupyter kernelspec list`), then start JupyterLab with "
                 f"{VENV_PYTHON} -m jupyterlab")
    try:
        python = kernel_python()
    except Exception as error:  # no kernelspec at all, jupyter_client missing
        return Result("notebook kernel", "fail", f"no python3 kernel found ({error})",
                      f"install the requirements into the environment: {INSTALL}")
    try:
        theirs = prefix_of(python)
    except (OSError, subprocess.SubprocessError) as error:
        return Result("notebook kernel", "fail", f"the kernel's Python {python} does not run: {error}", reinstall)
    if os.path.normcase(os.path.abspath(theirs)) != os.path.normcase(os.path.abspath(prefix)):
        return Result("notebook kernel", "fail",
                      f"JupyterLab's python3 kernel runs {python}, from another environment ({theirs}), "
                      f"not this one ({prefix}): `import helpers` would fail in the notebooks", reinstall)
    if sys.prefix == sys.base_prefix and prefix == sys.prefix:
        return Result("notebook kernel", "warn", f"the kernel is this Python ({prefix}), which is not a virtual environment",
                      f"use the repository's environment: {INSTALL}, then run {VENV_PYTHON} -m helpers.ready")
    return Result("notebook kernel", "ok", f"the python3 kernel is this environment's Python ({prefix})")


def check_jupyterlab() -> Result:
    try:
        import jupyterlab
    except ImportError:
        return Result("JupyterLab", "fail", "not installed in this environment",
                      f"install the requirements: {VENV_PYTHON} -m pip install -r requirements.txt")
    return Result("JupyterLab", "ok", f"{jupyterlab.__version__}")


def check_curl(which: Callable[[str], str | None] = shutil.which) -> Result:
    found = which("curl")
    if found:
        return Result("cURL", "ok", found)
    return Result("cURL", "warn", "not found: notebook 04 runs its other two ways and says what cURL would show",
                  "optional: install curl (Debian/Ubuntu: sudo apt-get install curl; macOS and Windows 10+ have it)")


def check_loopback(host: str = "127.0.0.1") -> Result:
    try:
        with socket.socket() as server:
            server.bind((host, 0))
            server.listen(1)
            port = server.getsockname()[1]
            with socket.create_connection((host, port), timeout=5):
                pass
    except OSError as error:
        return Result("loopback ports", "fail", f"cannot listen on and connect to {host}: {error.strerror or error}",
                      "the notebooks' servers listen on 127.0.0.1: allow local connections in your firewall or "
                      "security software for this Python, or ask your IT team (a VPN client may block them)")
    return Result("loopback ports", "ok", f"listened on {host}:{port} and connected")


def _local_token(start: Callable | None = None) -> str:
    import requests

    from helpers.local_okta import start_local_okta

    okta = (start or start_local_okta)(name="readiness-check")
    try:
        if not okta.token_endpoint.startswith("https://"):
            raise RuntimeError(f"its token endpoint {okta.token_endpoint} is not HTTPS")
        client = okta.clients["write_service"]
        answer = requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                               data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=20)
        if answer.status_code != 200 or "access_token" not in answer.json():
            raise RuntimeError(f"the token request got HTTP {answer.status_code}")
        return okta.issuer
    finally:
        okta.stop()


def check_local_server(get_token: Callable[[], str] = _local_token) -> Result:
    try:
        issuer = get_token()
    except Exception as error:  # any failure here is the thing to fix; say it in one line
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        return Result("local authorization server", "fail", f"did not issue a token: {reason}",
                      f"run {VENV_PYTHON} -m helpers.local_okta to see the whole error; if a package is missing "
                      f"or broken, install the requirements again: {VENV_PYTHON} -m pip install -r requirements.txt")
    return Result("local authorization server", "ok", f"started at {issuer} and issued a token over HTTPS")


def check_tenant(env_file: Path = ROOT / ".env") -> Result:
    if not Path(env_file).is_file():
        return Result("Okta tenant", "skip", "no .env: the notebooks use the local authorization server (all a workshop needs)")
    from helpers.settings import ConfigurationError, load_settings

    try:
        settings = load_settings(env_file=env_file)
    except ConfigurationError as error:
        return Result("Okta tenant", "fail", f".env is not complete: {error}",
                      "fill in .env as notebook 02's checklist says, or move it aside to use the local server")
    if settings.uses_local_server:
        return Result("Okta tenant", "skip", ".env selects the local authorization server")
    from helpers.okta_checks import run_checks

    if settings.ca_file:
        from helpers.local_tls import trust_ca_file

        trust_ca_file(settings.ca_file)
    try:
        report = run_checks(settings)
    except Exception as error:  # the checks report failures themselves; this is anything else, in one line
        return Result("Okta tenant", "fail", f"{settings.issuer}: the checks stopped: {' '.join(str(error).split())[:200]}",
                      f"run {VENV_PYTHON} -m helpers.okta_checks to see the whole error")
    if report.ok:
        return Result("Okta tenant", "ok", f"{settings.issuer}: every setup check passed")
    first = report.first_failure
    return Result("Okta tenant", "fail", f"{settings.issuer}: {first.title} failed",
                  f"{first.fix or 'see notebook 02'} (details: {VENV_PYTHON} -m helpers.okta_checks)")


CHECKS: tuple[Callable[[], Result], ...] = (check_python, check_kernel, check_jupyterlab, check_curl,
                                            check_loopback, check_local_server, check_tenant)


def run_all(checks: Sequence[Callable[[], Result]] = CHECKS, echo: Callable[[str], None] = print) -> list[Result]:
    """Run ``checks`` in order, printing each line as it is known."""
    results = []
    for check in checks:
        result = check()
        echo(result.line())
        results.append(result)
    return results


def summary(results: Sequence[Result]) -> str:
    """The last line: READY, or the first thing to fix."""
    failed = next((result for result in results if result.status == "fail"), None)
    if failed is not None:
        return f"NOT READY: fix {failed.name} first: {failed.fix}"
    warned = [result.name for result in results if result.status == "warn"]
    return "READY" + (f" (with a warning about {', '.join(warned)}: see above)" if warned else ": see you at the workshop")


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.ready``: exit status 0 when ready, 1 otherwise."""
    if argv:
        print("usage: python -m helpers.ready  (no options: it checks this machine for the workshop)", file=sys.stderr)
        return 2
    print(f"Checking this machine for the workshop (Python {sys.executable})\n")
    results = run_all()
    print()
    print(summary(results))
    return 0 if all(result.status != "fail" for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
