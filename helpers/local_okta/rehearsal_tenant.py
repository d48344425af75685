"""A tenant that looks like a learner's own Okta org, for rehearsing the ``.env`` path locally.

``python -m helpers.local_okta --as-tenant`` serves it. The notebooks then run through ``.env``
exactly as with a real org: they start no authorization server of their own and know nothing
about this one but what ``.env`` says. Whatever a notebook silently takes from the default
tenant (the ``default`` server, a client id, a test user's name) shows up as a failure here
before a learner's org shows it.

:func:`rehearsal_tenant` is :func:`~helpers.local_okta.defaults.default_tenant` with everything
a real org has of its own replaced:

- each custom authorization server gets an id as Okta makes them (``aus`` + 17 characters),
  never ``default``;
- the calculator's audience is the MCP server's URL, as a production setup sets it, and its
  authorization server has an access policy for the MCP client app (notebook 07's setup: a
  standard MCP client signs in at the server whose audience is the MCP server's URL);
- every app keeps its label and settings but gets a new client id (``0oa...``); secrets are
  generated per start, as for the default tenant (signing keys are new on every start too);
- the test users are other people, with new user ids and passwords made for this run.

Because it is derived from the default tenant, an app added there comes along with a new id.
"""

from __future__ import annotations

import dataclasses
import secrets

from .defaults import DEFAULT_REDIRECT_URIS, default_tenant
from .mcp_resource import MCP_CLIENT_LABEL
from .tenant import AccessPolicy, PolicyRule, Tenant, TestUser, new_okta_id

__all__ = ["REHEARSAL_AUDIENCE", "rehearsal_tenant"]

#: The audience a learner would give the calculator's authorization server: the MCP server's URL.
REHEARSAL_AUDIENCE = "https://calculator.example.org/mcp"

#: Other people than the default tenant's test users: (login, name).
_PEOPLE = (("grace@example.org", "Grace Hopper"), ("katherine@example.org", "Katherine Johnson"))


def rehearsal_tenant(redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS) -> Tenant:
    """The default tenant with an org's own ids, audience and people (new random values per call).

    Scope names, policies (which refer to apps by label) and app settings stay as notebook 02
    tells a learner to set them up; that is what a learner's org has in common with the default.
    """
    tenant = default_tenant(redirect_uris)
    renamed: dict[str, str] = {}  # old id or login -> new one, for records that refer to them
    for server in tenant.authorization_servers:
        new_id = new_okta_id("aus")
        renamed[server.id], server.id = new_id, new_id
    calculator = tenant.authorization_servers[0]
    calculator.name, calculator.audience = "Calculator MCP server", REHEARSAL_AUDIENCE
    calculator.policies.append(AccessPolicy("MCP clients", assigned_to=(MCP_CLIENT_LABEL,), rules=[
        PolicyRule("Users through an MCP client", grant_types=("authorization_code",))]))
    for app in tenant.apps:
        new_id = new_okta_id("0oa")
        renamed[app.client_id], app.client_id = new_id, new_id
        if not app.is_public:
            app.client_secret = None  # generated on start, like every secret of the default tenant
    people = [TestUser(login, secrets.token_urlsafe(12), new_okta_id("00u"), name) for login, name in _PEOPLE]
    renamed.update(zip((user.login for user in tenant.users), (user.login for user in people)))
    for app in tenant.apps:
        if app.assigned_users is not None:
            app.assigned_users = tuple(renamed.get(login, login) for login in app.assigned_users)
    tenant.users = people
    tenant.idp_id = new_okta_id("00o")
    _follow_renames(tenant, renamed)
    return tenant


def _follow_renames(tenant: Tenant, renamed: dict[str, str]) -> None:
    """Point the tenant's other records (such as an AI agent's resource connections, which name an
    authorization server by id) at the new ids: every string field equal to an old id or login."""
    own = {"authorization_servers", "apps", "users"}
    for field in dataclasses.fields(tenant):
        records = getattr(tenant, field.name)
        if field.name in own or not isinstance(records, list):
            continue
        for record in records:
            if dataclasses.is_dataclass(record):
                for name, value in vars(record).items():
                    if isinstance(value, str) and value in renamed:
                        setattr(record, name, renamed[value])
