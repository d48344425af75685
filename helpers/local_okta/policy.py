"""How Okta decides whether a token request is allowed: access policies and their rules.

From Okta's customize-authz-server guide: "Policies are evaluated in priority order, as are the
rules in a policy. The first policy and rule that matches the client request is applied and no
further rule or policy processing occurs. If a client matches no policies, the authentication
attempt fails and an error is returned." And: "Access policy rules are allowlists ... Requests
sent with different scopes don't match any rules and therefore fail."

So a request is checked against the policies assigned to its app (or to All clients), highest
priority first, and within each against its rules in order; the first rule whose grant types
include the request's and whose scopes cover *every* requested scope decides (its token
lifetimes apply). A policy whose rules do not match is passed over for the next one, which is
why a lower-priority "Default Policy" for All clients can grant what an app's own policy refused.
No match anywhere: 401 ``access_denied`` "Policy evaluation failed for this request, please
check the policy configurations." (the catalogue's ``no_matching_policy``).
"""

from __future__ import annotations

from . import errors
from .tenant import App, AuthorizationServer, PolicyRule

__all__ = ["evaluate_policy"]


def evaluate_policy(server: AuthorizationServer, app: App, grant_type: str, scopes: list[str], request=None) -> PolicyRule:
    """The rule that grants ``scopes`` to ``app`` for ``grant_type``, as Okta picks it."""
    for policy in server.policies:
        if not policy.applies_to(app.label):
            continue
        for rule in policy.rules:
            if rule.matches(grant_type, scopes):
                return rule
    raise errors.access_denied_policy(request)
