"""Notebook 02's practice org: the learner's rule replaces one app's rule, and the checks judge it."""

from __future__ import annotations

import pytest

from helpers import background
from helpers.local_okta import default_tenant
from helpers.okta_practice import PRACTICE_SERVER, as_scopes, check_tenant, tenant_with_rule


def policy_of(tenant, label):
    return next(policy for policy in tenant.server("default").policies if label in policy.assigned_to)


def test_a_string_of_scopes_is_split_not_read_as_characters():
    assert as_scopes("calculator.add calculator.subtract") == ("calculator.add", "calculator.subtract")
    assert as_scopes("calculator.add, calculator.subtract") == ("calculator.add", "calculator.subtract")
    assert as_scopes(["calculator.add"]) == ("calculator.add",)
    assert as_scopes("*") == ("*",)


def test_only_the_named_apps_rule_is_replaced_and_the_scenario_is_on():
    tenant = tenant_with_rule("rule_without_scope", "write_service",
                              grant_types="client_credentials", scopes=("calculator.add", "calculator.subtract"))
    rules = policy_of(tenant, "write_service").rules
    assert [(r.grant_types, r.scopes) for r in rules] == [(("client_credentials",), ("calculator.add", "calculator.subtract"))]
    assert policy_of(tenant, "read_service").rules == policy_of(default_tenant(), "read_service").rules
    other = tenant_with_rule("rule_without_client_credentials", "read_service",
                             grant_types=("client_credentials",), scopes=("calculator.add",))
    assert "client_credentials" not in policy_of(other, "write_service").rules[0].grant_types  # the scenario
    assert policy_of(other, "read_service").rules[0].grant_types == ("client_credentials",)  # the rule given


def test_an_app_without_a_policy_is_named_with_the_apps_that_have_one():
    with pytest.raises(ValueError, match="No access policy is assigned to 'gateway'.*write_service"):
        tenant_with_rule(None, "gateway", grant_types=("client_credentials",), scopes=("calculator.add",))
    with pytest.raises(ValueError, match="the apps with one are: none"):
        tenant_with_rule("policy_not_assigned", "write_service", grant_types=("client_credentials",), scopes=("calculator.add",))


def test_the_checks_judge_the_rule_and_leave_no_server_running():
    still_broken = check_tenant(tenant_with_rule("rule_without_scope", "write_service",
                                                 grant_types=("client_credentials",), scopes=("calculator.add",)))
    assert still_broken.first_failure.name == "token:calculator.subtract"
    fixed = check_tenant(tenant_with_rule("rule_without_scope", "write_service",
                                          grant_types=("client_credentials",), scopes=("calculator.add", "calculator.subtract")))
    assert fixed.all_passed, fixed.text()
    wrong_grant = check_tenant(tenant_with_rule("rule_without_scope", "write_service",
                                                grant_types=("authorization_code",), scopes=("calculator.add", "calculator.subtract")))
    assert wrong_grant.first_failure.name == "token:calculator.add"
    assert PRACTICE_SERVER not in background.running()
