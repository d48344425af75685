"""``python -m helpers.local_okta [--port P] [--scenario NAME | --as-tenant]``: run the local Okta in the foreground.

Prints a block to paste into ``.env`` (one ``NAME=value`` per line, test users as comments)
and serves until Ctrl-C. Binds 127.0.0.1 only. ``--as-tenant`` serves a tenant that poses as a
learner's own org (other server id, client ids, audience and users:
:mod:`~helpers.local_okta.rehearsal_tenant`), to rehearse running the notebooks through ``.env``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ..background import ServerStartError
from ..local_tls import trust_lines, trust_local_ca
from . import SCENARIOS, start_local_okta
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
    args = parser.parse_args(argv)
    if args.as_tenant and args.scenario:
        parser.error("--scenario works on the tutorial's default tenant only: leave out --as-tenant or --scenario")
    try:
        okta = start_local_okta(port=args.port, tenant=rehearsal_tenant() if args.as_tenant else None)
    except ServerStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        # `kill` (SIGTERM) stops it as Ctrl-C does: the server, and the temporary CA's key removed.
        # Installed before the lines below tell anyone it is running, so a prompt kill is caught too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if args.scenario:
            okta.set_scenario(args.scenario)
        print(f"Local Okta authorization server running at {okta.issuer}")
        if args.as_tenant:
            print("Posing as your own Okta org: run the notebooks with this .env to rehearse the tenant path.")
        if args.scenario:
            print(f"Scenario: {args.scenario}: {SCENARIOS[args.scenario].mistake}")
        print("Paste into .env (secrets change on every start):\n")
        print(okta.env_block())
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


if __name__ == "__main__":
    raise SystemExit(main())
