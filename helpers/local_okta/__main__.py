"""``python -m helpers.local_okta [--port P] [--scenario NAME | --as-tenant] [--audience URL] [--client-key LABEL=FILE ...]``: run the local Okta.

Runs the local Okta in the foreground: prints a block to paste into ``.env`` (one ``NAME=value`` per
line, test users as comments) and serves until Ctrl-C. Binds 127.0.0.1 only. ``--as-tenant`` serves a
tenant that poses as a learner's own org (other server id, client ids, audience and users:
:mod:`~helpers.local_okta.rehearsal_tenant`), to rehearse running the notebooks through ``.env``.
``--client-key key_service=public.jwk`` registers a public key (a JWK file, as ``python -m
helpers.tokens.private_key new`` writes) on a private-key app before it serves, as an admin adds it
under the app's *Public keys* in Okta's console. ``--audience http://127.0.0.1:8000/mcp`` gives the
calculator's authorization server that audience, as a learner sets it in the console for notebook 07
(a standard MCP client asks for tokens whose audience is the MCP server's URL).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ..background import ServerStartError
from ..local_tls import trust_lines, trust_local_ca
from . import SCENARIOS, start_local_okta
from .defaults import default_tenant
from .rehearsal_tenant import rehearsal_tenant

#: Any free port: its secrets change on every start anyway, so a fixed port would buy nothing and
#: two learners on one host would both want it. The issuer it prints names the port.
DEFAULT_PORT = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local_okta",
        description="Run the local Okta-compatible authorization server on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 0: any free port, printed in the issuer)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="start with a misconfiguration switched on")
    parser.add_argument("--as-tenant", action="store_true",
                        help="pose as a learner's own Okta org (other ids, audience, users) to rehearse the .env path")
    parser.add_argument("--audience", metavar="URL",
                        help="the calculator's authorization server's audience (notebook 07: the calculator's URL, "
                             "e.g. http://127.0.0.1:8000/mcp)")
    parser.add_argument("--client-key", action="append", default=[], metavar="LABEL=FILE",
                        help="register the public JWK in FILE on the private-key app LABEL (e.g. key_service=public.jwk)")
    args = parser.parse_args(argv)
    if args.as_tenant and args.scenario:
        parser.error("--scenario works on the tutorial's default tenant only: leave out --as-tenant or --scenario")
    if args.audience is not None and (not args.audience.startswith(("https://", "http://")) or "#" in args.audience):
        parser.error(f"--audience must be an absolute http(s) URL without a fragment, not {args.audience!r}")
    try:
        client_keys = [_read_client_key(value) for value in args.client_key]
    except ValueError as exc:
        print(f"--client-key: {exc}", file=sys.stderr)
        return 2
    try:
        tenant = rehearsal_tenant() if args.as_tenant else default_tenant()
        if args.audience:
            tenant.authorization_servers[0].audience = args.audience  # the console's Audience field
        okta = start_local_okta(port=args.port, tenant=tenant)
    except ServerStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        kids = [(label, okta.register_public_key(label, jwk)) for label, jwk in client_keys]
    except ValueError as exc:
        okta.stop()
        print(f"--client-key: {exc}", file=sys.stderr)
        return 2
    try:
        # `kill` (SIGTERM) stops it as Ctrl-C does: the server, and the temporary CA's key removed.
        # Installed before the lines below tell anyone it is running, so a prompt kill is caught too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if args.scenario:
            okta.set_scenario(args.scenario)
        print(f"Local Okta authorization server running at {okta.issuer}")
        if args.as_tenant:
            print("Posing as your own Okta org: run the notebooks with this .env to rehearse the tenant path.")
        for label, kid in kids:
            print(f"Public key {kid} registered on {label}")
        if args.scenario:
            print(f"Scenario: {args.scenario}: {SCENARIOS[args.scenario].mistake}")
        print("Paste into .env (secrets change on every start):\n")
        print(okta.env_block())
        for line in _key_lines(okta, args.client_key):
            print(line)
        bundle = trust_local_ca()  # public roots plus this run's CA, in a folder only you can read
        print("\nYour own scripts in another shell (requests, httpx, curl) trust this server, and public sites")
        print("still work, once you paste one of these lines there (valid while this server runs):")
        print("  bash / zsh:")
        print(trust_lines(bundle, "bash"))
        print("  PowerShell:")
        print(trust_lines(bundle, "powershell"))
        print("\nPress Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        okta.stop()
    return 0


def _key_lines(okta, client_keys: list[str]) -> list[str]:
    """``KEY_CLIENT_ID`` and ``KEY_PRIVATE_KEY_FILE`` (``AI_AGENT_...`` for ``ai_agent``) for a key registered from a folder that also holds
    ``private_key.pem`` (as ``python -m helpers.tokens.private_key new`` writes it): the path only."""
    lines = []
    for value in client_keys:
        label, _, path = value.partition("=")
        private = Path(path).resolve().parent / "private_key.pem"
        prefix = "AI_AGENT" if label == "ai_agent" else "KEY"  # the AI agent of the token exchange
        if private.is_file() and label in okta.clients:
            lines += [f"{prefix}_CLIENT_ID={okta.clients[label].client_id}", f"{prefix}_PRIVATE_KEY_FILE={private}"]
    return lines


def _read_client_key(value: str) -> tuple[str, dict]:
    """``LABEL=FILE`` to ``(label, public JWK)``; the file holds a JWK or a JWKS with one key."""
    label, sep, path = value.partition("=")
    if not sep or not label or not path:
        raise ValueError(f"expected LABEL=FILE (e.g. key_service=public.jwk), got {value!r}")
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or 'not text'}") from None
    if "PRIVATE KEY" in text:
        raise ValueError(f"{path} is a private key, which stays with the client: give the public JWK "
                         "(public_jwk.json next to it)")
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError(f"{path} is not JSON (expected a public JWK)") from None
    if isinstance(document, dict) and isinstance(document.get("keys"), list) and len(document["keys"]) == 1:
        document = document["keys"][0]
    return label, document


if __name__ == "__main__":
    raise SystemExit(main())
