"""Way one: a client-credentials token with the ``curl`` command, the way TrueFoundry's guide shows it first.

:func:`curl_command` builds the command, :meth:`CurlCommand.display` shows the safe form to type
in a shell (the secret comes from environment variables through standard input, never on the
command line), and :func:`fetch_token_with_curl` runs it and reads the answer.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from helpers.display import mask_secret
from helpers.settings import ClientCredentials

from .fetching import basic_credentials, client_credentials_form, require_secret
from .responses import (
    DEFAULT_TIMEOUT,
    TokenEndpointUnreachable,
    TokenError,
    TokenRequestError,
    TokenResponse,
    require_secure_token_url,
)

__all__ = ["CurlCommand", "ShellCommandFailed", "curl_available", "curl_command", "fetch_token_with_curl", "run_in_bash"]


@dataclass(frozen=True, repr=False)
class CurlCommand:
    """A cURL command for the token endpoint.

    ``argv`` is what runs: it holds no secret, because ``--config -`` makes cURL read
    ``user = "id:secret"`` from standard input (``stdin``) instead of the command line,
    where other users of the machine could see it (``ps``). :meth:`display` shows the
    same command as you would type it in a shell, safely: ``printf`` (built into the
    shell, so it is no process of its own) pipes that line to cURL from environment
    variables, so the secret is neither on a command line nor in your shell history.
    :meth:`display_stdin` shows what the helper pipes, with the secret masked.
    """

    argv: tuple[str, ...]
    stdin: str
    client_id: str
    client_secret: str

    def display(self, id_variable: str = "M2M_CLIENT_ID", secret_variable: str = "M2M_CLIENT_SECRET") -> str:
        """The command to type in a shell, one option per line; id and secret come from environment variables.

        Load them first, e.g. ``set -a; source .env; set +a``. (This form skips the
        urlencoding of :func:`basic_credentials`, a no-op for Okta's ids and secrets.)
        """
        feed = f"printf 'user = \"%s:%s\"\\n' \"${id_variable}\" \"${secret_variable}\" |"
        parts, args, i = [f"{feed} curl"], list(self.argv[1:]), 0
        while i < len(args):
            option = args[i]
            if option == "--config":  # "-": the user line comes from standard input
                parts.append(f"--config {args[i + 1]}")
                i += 2
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                parts.append(f"{option} {shlex.quote(args[i + 1])}")
                i += 2
            else:  # a flag without a value stays on the line before
                parts[-1] += f" {option}"
                i += 1
        return " \\\n  ".join(parts)

    def display_stdin(self) -> str:
        """What the helper writes to cURL's standard input, with the secret masked."""
        user_name, secret = basic_credentials(self.client_id, self.client_secret)
        return f'user = "{user_name}:{mask_secret(secret)}"'

    def __repr__(self) -> str:
        return f"CurlCommand({self.display()!r})"


def curl_command(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> CurlCommand:
    """Build the cURL command that asks ``token_url`` for a client-credentials token."""
    require_secure_token_url(token_url)
    secret = require_secret(client)
    quoted = ":".join(basic_credentials(client.client_id, secret)).replace("\\", "\\\\").replace('"', '\\"')
    argv = (
        "curl",
        "--silent", "--show-error",
        "--request", "POST",
        "--url", token_url,
        "--header", "Accept: application/json",
        "--header", "Content-Type: application/x-www-form-urlencoded",
        "--config", "-",
        "--data", urlencode(client_credentials_form(scopes)),
        "--max-time", f"{timeout:g}",
        "--write-out", "\\n%{http_code}",
    )
    return CurlCommand(argv=argv, stdin=f'user = "{quoted}"\n', client_id=client.client_id, client_secret=secret)


def curl_available() -> bool:
    """Whether the ``curl`` program is installed here."""
    return shutil.which("curl") is not None


class ShellCommandFailed(RuntimeError):
    """A shell command that :func:`run_in_bash` ran ended with an error: its exit code and what it said."""


def run_in_bash(script: str, *, needs: Iterable[str] = (), timeout: float = 30.0) -> str | None:
    """Run ``script`` with bash, as a terminal would, and return what it printed (not shown).

    For a notebook cell that shows a shell command: its output (a whole token, say) stays in a
    variable instead of the cell's output. Where bash or one of the programs in ``needs`` is not
    installed (Windows without WSL, a slim container), it prints what is missing and returns
    ``None``, so the notebook can go on without it. A command that fails raises
    :class:`ShellCommandFailed` with its exit code and the last lines it wrote (its error, or
    Okta's JSON error body with ``--fail-with-body``).
    """
    bash = shutil.which("bash")
    missing = [program for program in ("bash", *needs) if shutil.which(program) is None]
    if missing or bash is None:
        print(f"{' and '.join(missing)} not installed here: the command above is what you would run in a terminal "
              "that has them (macOS, Linux, WSL). The notebook goes on without its output.")
        return None
    result = subprocess.run([bash, "-c", script], capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        said = "\n".join((result.stderr.strip() or result.stdout.strip()).splitlines()[-5:])
        raise ShellCommandFailed(f"the command ended with exit code {result.returncode}: {said or '(it printed nothing)'}")
    return result.stdout


def fetch_token_with_curl(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> TokenResponse:
    """Run :func:`curl_command` and read its answer (raises :class:`TokenError` without ``curl``)."""
    command = curl_command(token_url, client, scopes, timeout=timeout)
    if not curl_available():
        raise TokenError("curl is not installed here; the command it would run is:\n" + command.display())
    result = subprocess.run(
        command.argv, input=command.stdin, capture_output=True, text=True, timeout=timeout + 5, check=False
    )
    if result.returncode != 0:  # 6: cannot resolve, 7: cannot connect, 28: timed out, 35/60: TLS
        reason = re.sub(r"^curl: \(\d+\) ", "", result.stderr.strip()) or f"curl exit code {result.returncode}"
        raise TokenEndpointUnreachable(token_url, reason)
    body, _, status_line = result.stdout.rpartition("\n")
    status = int(status_line) if status_line.isdigit() else 0
    if status != 200:
        raise TokenRequestError.from_body(status, body, token_url)
    try:
        payload = json.loads(body)
    except ValueError:
        raise TokenRequestError.from_body(status, body, token_url) from None
    return TokenResponse.from_json(payload, token_url)
