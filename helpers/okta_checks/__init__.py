"""Setup checks for an Okta custom authorization server, with a fix for every failure.

    >>> from helpers.okta_checks import run_checks
    >>> report = run_checks(settings)          # settings: helpers.settings.Settings
    >>> print(report.text())                   # a table with check marks, then the fixes
    >>> report.ok, report.first_failure

Against the local authorization server, :func:`check_scenario` switches on one of its
misconfiguration scenarios, runs the checks and switches it off again.
``python -m helpers.okta_checks`` runs the checks from a terminal (exit status 1 when one fails).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .checks import DEFAULT_REDIRECT_URI, DEFAULT_SCOPES, DEFAULT_TIMEOUT, REQUIRED_GRANT_TYPES, run_checks
from .results import CheckReport, CheckResult, Status

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "DEFAULT_TIMEOUT",
    "REQUIRED_GRANT_TYPES",
    "CheckReport",
    "CheckResult",
    "Status",
    "check_scenario",
    "local_sign_in",
    "run_checks",
]


def check_scenario(local: Any, name: str | None, **options: Any) -> CheckReport:
    """Run the checks against ``local`` (a :class:`helpers.local_okta.LocalOkta`) with the
    misconfiguration scenario ``name`` switched on, using the settings the learner would
    have copied; the previous scenario is restored afterwards. The local test user signs in
    for the sign-in check. ``options`` go to :func:`run_checks`."""
    previous = local.scenario
    local.set_scenario(name)
    try:
        options.setdefault("sign_in", local_sign_in(local))
        return run_checks(local.settings(), **options)
    finally:
        local.set_scenario(previous)


def local_sign_in(local: Any):
    """How the local server's first test user signs in: authorize URL -> redirect URL."""
    from helpers.local_okta.signin import SignInError, sign_in

    user = local.users[0]

    def signing_in(authorize_url: str) -> str:
        try:
            return sign_in(authorize_url, user.login, user.password)
        except SignInError as exc:
            raise RuntimeError(f"the local sign-in page refused: {exc}") from None

    return signing_in
