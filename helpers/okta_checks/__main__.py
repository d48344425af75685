"""``python -m helpers.okta_checks``: run the setup checks from a terminal.

Reads the configuration like every notebook (``.env`` and the environment, see
``helpers.settings``); with no Okta settings it starts the local authorization server for
the duration of the run. Exit status: 0 when no check failed (warnings allowed), 1 when one
did, 2 when the configuration itself could not be read or an option is wrong.

    python -m helpers.okta_checks
    python -m helpers.okta_checks --scenario policy_not_assigned   # local server only
    python -m helpers.okta_checks --redirect-uri https://gateway.example.com/callback
"""

from __future__ import annotations

import argparse
import sys

from helpers.settings import ConfigurationError, load_settings

from . import local_sign_in
from .checks import DEFAULT_REDIRECT_URI, DEFAULT_TIMEOUT, run_checks


def main(argv: list[str] | None = None) -> int:
    from helpers.local_okta import SCENARIOS

    parser = argparse.ArgumentParser(
        prog="python -m helpers.okta_checks",
        description="Check that the Okta authorization server is set up for the calculator MCP tutorial.",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), metavar="NAME",
                        help="local server only: switch on a misconfiguration first "
                        f"({', '.join(SCENARIOS)})")
    parser.add_argument("--redirect-uri", default=None,
                        help="the redirect URI your gateway uses (default: OAUTH_REDIRECT_URI, "
                        f"else {DEFAULT_REDIRECT_URI})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds to wait for each answer (default: {DEFAULT_TIMEOUT:g})")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2

    if settings.ca_file:
        from helpers.local_tls import trust_ca_file

        trust_ca_file(settings.ca_file)
    local = None
    if settings.uses_local_server:
        from helpers.local_okta import start_local_okta

        local = start_local_okta(name="okta-checks-cli")
        local.set_scenario(args.scenario)
        settings = local.settings()
        where = "the local Okta-compatible authorization server"
        if args.scenario:
            where += f" with the scenario {args.scenario!r}: {SCENARIOS[args.scenario].mistake}"
    elif args.scenario:
        print("--scenario needs the local authorization server: unset the OAUTH_* variables or set "
              "TUTORIAL_AUTH_SERVER=local.", file=sys.stderr)
        return 2
    else:
        where = f"{settings.issuer} (from {settings.source})"

    try:
        print(f"Checking {where}\n")
        sign_in = local_sign_in(local) if local is not None else None  # with Okta, a person signs in (notebook 06)
        report = run_checks(settings, redirect_uri=args.redirect_uri, timeout=args.timeout, sign_in=sign_in,
                            device=settings.device_client is not None)
        print(report.text())
    finally:
        if local is not None:
            local.stop()
    if report.ok:
        print("\nThe authorization server is ready for the tutorial.")
        return 0
    print(f"\nFix the first failure ({report.first_failure.title}) and run the checks again.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
