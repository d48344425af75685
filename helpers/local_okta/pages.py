"""The HTML a person sees at the authorize endpoint: sign-in form, consent, error page.

Small, self-contained pages (inline CSS, no scripts). Every value is escaped with
:func:`html.escape`; nothing from the request reaches the page unescaped.
"""

from __future__ import annotations

from html import escape

__all__ = ["consent_page", "error_page", "form_post_page", "sign_in_page"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f5f7;margin:0;color:#1d1d21}
main{max-width:380px;margin:8vh auto;background:#fff;border:1px solid #d7d9de;border-radius:8px;padding:28px 32px}
h1{font-size:20px;margin:0 0 4px}p.sub{color:#5b5f6a;margin:0 0 20px;font-size:14px}
label{display:block;font-size:14px;margin:14px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;border:1px solid #b9bcc4;border-radius:4px;font-size:15px}
button{margin-top:20px;padding:10px 16px;border:0;border-radius:4px;font-size:15px;cursor:pointer;background:#1662dd;color:#fff}
button.secondary{background:#e8e9ec;color:#1d1d21;margin-left:8px}
.error{background:#fdecea;border:1px solid #f3b8b1;color:#8c1d12;padding:10px;border-radius:4px;font-size:14px}
ul{padding-left:20px}li{margin:4px 0}code{background:#f0f1f3;padding:1px 4px;border-radius:3px}
footer{color:#8a8e99;font-size:12px;margin-top:24px}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>{body}"
        "<footer>Local Okta-compatible authorization server (tutorial). Not a real Okta org.</footer>"
        "</main></body></html>"
    )


def sign_in_page(*, action: str, transaction: str, app_name: str, username: str = "", error: str | None = None) -> str:
    """The username + password form; ``error`` is shown above it after a failed attempt."""
    message = f"<p class=\"error\" role=\"alert\">{escape(error)}</p>" if error else ""
    body = (
        "<h1>Sign In</h1>"
        f"<p class=\"sub\">to continue to <strong>{escape(app_name)}</strong></p>"
        f"{message}"
        f"<form method=\"post\" action=\"{escape(action)}\">"
        f"<input type=\"hidden\" name=\"transaction\" value=\"{escape(transaction)}\">"
        "<input type=\"hidden\" name=\"step\" value=\"sign_in\">"
        "<label for=\"username\">Username</label>"
        f"<input id=\"username\" type=\"text\" name=\"username\" value=\"{escape(username)}\" "
        "autocomplete=\"username\" autofocus required>"
        "<label for=\"password\">Password</label>"
        "<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>"
        "<button type=\"submit\">Sign in</button></form>"
    )
    return _page("Sign In", body)


def consent_page(*, action: str, transaction: str, app_name: str, user_name: str, scopes: list[tuple[str, str]]) -> str:
    """Asks the signed-in user to allow or deny the requested scopes (name, description)."""
    items = "".join(
        f"<li><code>{escape(name)}</code>{' &mdash; ' + escape(text) if text else ''}</li>"
        for name, text in scopes
    )
    body = (
        f"<h1>Allow access?</h1><p class=\"sub\">Signed in as {escape(user_name)}</p>"
        f"<p><strong>{escape(app_name)}</strong> would like to:</p><ul>{items}</ul>"
        f"<form method=\"post\" action=\"{escape(action)}\">"
        f"<input type=\"hidden\" name=\"transaction\" value=\"{escape(transaction)}\">"
        "<input type=\"hidden\" name=\"step\" value=\"consent\">"
        "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow Access</button>"
        "<button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Don't Allow</button>"
        "</form>"
    )
    return _page("Allow access", body)


def error_page(*, summary: str, detail: str) -> str:
    """Shown instead of a redirect when the request cannot be trusted (bad client or redirect URI)."""
    body = f"<h1>{escape(summary)}</h1><p class=\"error\">{escape(detail)}</p>"
    return _page(summary, body)


def form_post_page(redirect_uri: str, params: dict[str, str]) -> str:
    """``response_mode=form_post``: a form that posts the result to the redirect URI when the page
    loads (with a button for browsers that run no script), as Okta's OIDC reference describes."""
    fields = "".join(
        f"<input type=\"hidden\" name=\"{escape(name)}\" value=\"{escape(value)}\">" for name, value in params.items()
    )
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Submit This Form</title></head>"
        "<body onload=\"document.forms[0].submit()\">"
        f"<form method=\"post\" action=\"{escape(redirect_uri)}\">{fields}"
        "<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>"
    )
