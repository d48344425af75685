"""A refused step of the AI agent token exchange, in Okta's words, with what to fix.

The message is built from the HTTP status and Okta's ``error`` and ``error_description`` only, never
from the rest of the answer or the request: neither the user's tokens, the ID-JAG nor the client
assertion can end up in a log or a traceback through it.
"""

from __future__ import annotations

__all__ = ["ExchangeError", "refused"]

#: what to change, by the start of Okta's ``error_description`` (texts from Okta's error catalogue)
FIXES: tuple[tuple[str, str], ...] = (
    ("Token Exchange requests must include a valid audience",
     "Set audience to the issuer of the custom authorization server that protects the MCP server "
     "(https://{yourOktaDomain}/oauth2/{authServerId})."),
    ("The resource app is not completely configured",
     "Connect the agent to that authorization server: Directory > AI Agents > the agent > Resource connections."),
    ("Some of the requested scopes were denied",
     "Ask only for scopes the agent's resource connection allows (Directory > AI Agents > the agent > "
     "Resource connections > Scopes), or have an admin add the scope there."),
    ("One or more scopes are not configured", "Ask for scopes defined on that authorization server."),
    ("No scopes were requested", "Send scope with the scopes the agent needs at that authorization server."),
    ("The requested feature is not enabled",
     "The org has no Cross App Access: it needs the SSO feature (e.g. an Integrator Free Plan org) for "
     "agent-to-app, and Okta for AI Agents to register AI agents."),
    ("'subject_token' is invalid: the client application is not registered",
     "Exchange an ID token issued to this agent: the user signs in to the agent itself."),
    ("'subject_token' is invalid: the user is not assigned",
     "Assign the user to the agent (Directory > AI Agents > the agent > User access)."),
    ("The 'subject_token' either expired", "Sign the user in to the agent again: the ID token has expired."),
    ("'subject_token' is invalid", "Send the user's ID token from signing in to the agent, with "
     "subject_token_type urn:ietf:params:oauth:token-type:id_token."),
    ("'requested_token_type' is invalid", "Set requested_token_type to urn:ietf:params:oauth:token-type:id-jag."),
    ("The id-jag request must not include a 'scope'",
     "Leave scope out of step 2: the ID-JAG already carries the scopes Okta granted."),
    ("The id-jag was already used", "An ID-JAG is single-use: request a new one (step 1) for each exchange."),
    ("The id-jag is expired", "ID-JAGs live 5 minutes: request a fresh one right before step 2."),
    ("The audience of the JWT Bearer Grant must match",
     "Send the ID-JAG to the token endpoint of the authorization server named as audience in step 1."),
    ("The 'client_id' in the JWT Bearer Grant must match",
     "Present the ID-JAG with the credentials of the agent that requested it."),
    ("The client_assertion", "Sign a new client assertion with the agent's private key: iss = sub = the "
     "client id, aud = the token endpoint you call, a fresh jti, exp a minute ahead."),
    ("The audience claim for client_assertion", "The client assertion's aud must be the token endpoint you call."),
)
#: for an error whose description matched nothing above
BY_ERROR = {
    "invalid_client": "Check the agent's client id and that its public key is registered with Okta.",
    "unauthorized_client": "Allow the grant type on the agent (it must be registered as an AI agent).",
    "invalid_grant": "Request a new ID-JAG (step 1) and present it right away.",
}


class ExchangeError(Exception):
    """A step of the token exchange was refused: ``status``, Okta's ``error`` and ``description``, a ``fix``."""

    def __init__(self, step: str, status: int, error: str, description: str, fix: str) -> None:
        self.step, self.status, self.error, self.description, self.fix = step, status, error, description, fix
        super().__init__(f"{step} was refused: HTTP {status} {error}: {description} Fix: {fix}")


def refused(step: str, status: int, body) -> ExchangeError:
    """The :class:`ExchangeError` for a non-200 answer whose JSON is ``body`` (or ``None``)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ExchangeError(step, status, "unexpected_response", "the answer is not an OAuth error",
                             "Check the token endpoint's URL (an Okta token endpoint answers JSON errors).")
    error = body["error"][:80]
    description = str(body.get("error_description", ""))[:300]
    fix = next((text for start, text in FIXES if description.startswith(start)),
               BY_ERROR.get(error, "See Okta's error catalogue for this error."))
    return ExchangeError(step, status, error, description, fix)
