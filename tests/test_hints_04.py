"""Notebook 04, run as a learner who answers each exercise wrong twice before the solution.

The same run and rules as tests/test_hints_01_02.py: the idea first, the specific change only from
the second wrong try, and never a line of the folded solution (nor the value it assigns). The
build-it exercise (4.3) is answered with a typical wrong cache: no lock, and renewal only at expiry.
"""

from __future__ import annotations

import pytest

import test_hints_01_02 as hints

NOTEBOOK = "04_fetching_tokens_three_ways.ipynb"

WRONG_CACHE = '''
class TokenCache:
    def __init__(self, token_url, client_id, client_secret, scope, clock=time.monotonic, renew_before=60.0):
        self.args, self.clock, self.token, self.expires_at = (token_url, client_id, client_secret, scope), clock, None, 0
    def get_token(self):
        if self.token is None or self.clock() >= self.expires_at:
            started = self.clock()
            self.token, lifetime = fetch_token(*self.args)
            self.expires_at = started + lifetime
        return self.token
'''

WRONG = {
    "4.1": ("typo_response = requests.post(token_url, auth=(client_id, client_secret), timeout=10, data={"
            '"grant_type": "client_credentials", "scope": "calculator.substract"})\n'
            "subtract_only = typo_response.json()\npredicted_multiply_status = 400", True),  # a typo in the scope
    "4.2": ('predicted_token_status = 401\npredicted_token_error = "invalid_client"\n'
            "wrong_secret_response = requests.post(token_url, auth=(client_id, client_secret), "
            'data={"grant_type": "client_credentials"}, timeout=10)', True),  # the right secret
    "4.3": (WRONG_CACHE, True),
    "4.4": ("careful = manager\npredicted_token_requests = 1", True),  # renew_before left at 60 s
}


@pytest.mark.timeout(300)
def test_two_wrong_tries_get_the_idea_then_the_fix_and_never_the_answer(monkeypatch):
    monkeypatch.setitem(hints.WRONG, NOTEBOOK, WRONG)
    found, checkpoint = hints.run_as_a_wrong_learner(NOTEBOOK)
    assert sorted(found) == sorted(WRONG)
    for exercise, (first, second, fragments, *_) in found.items():
        assert first[0].startswith(f"✋ Exercise {exercise}: ") and first[1].startswith("   hint: "), first
        assert not any(line.startswith("   fix") for line in first), (exercise, first)
        assert any(line.startswith("   fix (your try 2): ") for line in second), (exercise, second)
        told = "\n".join(first + second)
        assert [fragment for fragment in fragments if fragment in told] == [], (exercise, told)
        assert fragments, f"{exercise}: the solution adds nothing to the stub?"
    scope_fix = "\n".join(found["4.1"][1])
    assert "scope='calculator.substract'" in scope_fix and "is not one of SCOPES: compare it" in scope_fix
    assert "prefix" not in scope_fix, "the fix answers the mistake made, not another one"
    cache_feedback = "\n".join(found["4.3"][0])
    assert ("3 of 7 checks failed: renewed before it expires, a token request taking 30 s, 8 threads at renewal time."
            in cache_feedback)
    assert "renewal storm" in cache_feedback and "about to expire" in cache_feedback
    assert "Checkpoint passed" in checkpoint
