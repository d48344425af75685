"""A local Okta org with one access-policy rule written by the learner, checked: notebook 02's exercises.

Notebook 02 asks the learner to act on what a setup check reports. In a real org the fix is a
change in the Admin Console; on the local authorization server the same change is made to the
tenant's data (:mod:`helpers.local_okta.tenant` names each field after the console's).
:func:`tenant_with_rule` takes the tutorial's tenant with one misconfiguration scenario switched
on and puts the learner's rule in place of the rule of one app's access policy;
:func:`check_tenant` serves that tenant on a fresh local server, runs every setup check against
it (the local test user signs in), stops the server and returns the report.

    >>> tenant = tenant_with_rule("rule_without_scope", "write_service",
    ...                           grant_types=("client_credentials",), scopes=("calculator.add",))
    >>> check_tenant(tenant).first_failure.name
    'token:calculator.subtract'

Plumbing, not the lesson: the notebook shows the learner's rule and the report, not this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helpers.local_okta import LocalOkta, Tenant, default_tenant
from helpers.local_okta.scenarios import apply_scenario
from helpers.local_okta.tenant import PolicyRule
from helpers.okta_checks import CheckReport, local_sign_in, run_checks

__all__ = ["as_scopes", "check_tenant", "tenant_with_rule"]

#: The name the practice server runs under (restarted, never left running).
PRACTICE_SERVER = "okta-practice"


def as_scopes(value: str | Iterable[str]) -> tuple[str, ...]:
    """A rule's *Scopes requested* as a tuple: ``("calculator.add",)`` stays as it is, and one
    string (``"calculator.add calculator.subtract"``, or with commas) is split, so that a string
    is never read as its characters. ``("*",)`` is the console's *Any scopes*."""
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    return tuple(str(scope) for scope in value)


def tenant_with_rule(
    scenario: str | None,
    app_label: str,
    *,
    grant_types: str | Iterable[str],
    scopes: str | Iterable[str],
) -> Tenant:
    """The tutorial's tenant with ``scenario`` switched on, and the rule of the access policy
    assigned to ``app_label`` (``"write_service"``, ``"read_service"``, ``"web"``) replaced by one
    rule: *IF Grant type is* ``grant_types``, *AND Scopes requested* ``scopes``.

    Raises ``ValueError`` when no policy of the ``default`` server is assigned to that app."""
    tenant = apply_scenario(default_tenant(), scenario)
    server = tenant.server("default")
    policies = [policy for policy in server.policies if app_label in policy.assigned_to] if server else []
    if not policies:
        labels = sorted({label for policy in (server.policies if server else []) for label in policy.assigned_to})
        raise ValueError(f"No access policy is assigned to {app_label!r}; the apps with one are: {', '.join(labels) or 'none'}.")
    rule = PolicyRule(f"{app_label}: your rule", as_scopes(grant_types), as_scopes(scopes))
    policies[0].rules = [rule]
    return tenant


def check_tenant(tenant: Tenant, *, name: str = PRACTICE_SERVER, **options: Any) -> CheckReport:
    """Serve ``tenant`` on a fresh local authorization server (127.0.0.1, a free port), run every
    setup check against it with the settings its apps would put in ``.env``, stop the server and
    return the report. The local test user signs in for the sign-in check; ``options`` go to
    :func:`helpers.okta_checks.run_checks`."""
    local = LocalOkta(tenant).start(name=name)
    try:
        options.setdefault("sign_in", local_sign_in(local))
        return run_checks(local.settings(), **options)
    finally:
        local.stop()
