"""Notebook 04's token-cache grader: each typical wrong cache gets its named failing row, the recipe passes.

The grader's rows are what the learner reads, so each test asserts the row that must fail, the
reason it gives (``why``), and that a right cache is not blamed for it.
"""

import threading
import time

import pytest
import requests

from helpers.graders import cache_session
from helpers.graders.cache_session import counting_requests_to
from helpers.graders.report import failed
from helpers.authorization_server import AuthorizationServer
from helpers.exercises import ExerciseFeedback
from helpers.graders.token_cache import check_token_cache, grade_token_cache
from helpers.local_okta import start_local_okta
from helpers.recipes.token_cache import TokenCache, fetch_token

SCOPE = "calculator.add calculator.subtract"
ROWS = ["50 calls, one token", "renew_before past the lifetime", "renewed before it expires",
        "a token request taking 30 s", "never an expired token", "8 threads at renewal time", "the token works"]


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-token-cache-grader")
    yield server
    server.stop()


@pytest.fixture
def grade(okta):
    client = okta.clients["write_service"]

    def run(cache_class):
        return grade_token_cache(
            cache_class, okta.token_endpoint, client.client_id, client.client_secret, SCOPE,
            introspection_url=okta.introspection_endpoint, count_token_requests=lambda: okta.request_counts["token"],
        )

    return run


def by_name(rows):
    assert [row.name for row in rows] == ROWS
    return {row.name: row for row in rows}


class _Base:
    """Shared constructor of the wrong caches below (each differs from the recipe in one way)."""

    def __init__(self, token_url, client_id, client_secret, scope, clock=time.monotonic, renew_before=60.0):
        self.args, self.renew_before = (token_url, client_id, client_secret, scope), renew_before
        self.clock, self._lock, self._token, self._renew_at = clock, threading.Lock(), None, 0.0


class NeverRenews(_Base):
    def get_token(self):
        with self._lock:
            if self._token is None:
                self._token = fetch_token(*self.args)[0]
            return self._token


class FetchesEveryCall(_Base):
    def get_token(self):
        return fetch_token(*self.args)[0]


class NoLock(_Base):
    def get_token(self):
        if self._token is None or self.clock() >= self._renew_at:
            sent_at = self.clock()
            token, expires_in = fetch_token(*self.args)
            self._token, self._renew_at = token, sent_at + expires_in - min(60, expires_in / 2)
        return self._token


class RenewsAtExpiry(_Base):
    def get_token(self):
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                sent_at = self.clock()
                token, expires_in = fetch_token(*self.args)
                self._token, self._renew_at = token, sent_at + expires_in
            return self._token


class NoCapCountsFromTheAnswer(_Base):
    """A learner's cache: renew_before with no half-lifetime cap, counted from after the answer came back."""

    def get_token(self):
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token, expires_in = fetch_token(*self.args)
                self._renew_at = self.clock() + expires_in - self.renew_before
            return self._token


class CountsFromTheAnswer(_Base):
    """Capped at half the lifetime, but counts from after the answer came back."""

    def get_token(self):
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token, expires_in = fetch_token(*self.args)
                self._renew_at = self.clock() + expires_in - min(self.renew_before, expires_in / 2)
            return self._token


class IgnoresItsClock(_Base):
    """Right in production, but reads time.monotonic() itself: a test (and the check) cannot move it."""

    def get_token(self):
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                token, expires_in = fetch_token(*self.args)
                self._token, self._renew_at = token, time.monotonic() + expires_in - 60
            return self._token


class DoesNothing:
    """The exercise's stub as the learner first finds it."""

    def __init__(self, token_url, client_id, client_secret, scope, clock=time.monotonic, renew_before=60.0):
        ...

    def get_token(self):
        ...


class LocksTwice(_Base):
    """A deadlock: threading.Lock is not re-entrant."""

    def get_token(self):
        with self._lock:
            return self._fetch()

    def _fetch(self):
        with self._lock:
            return fetch_token(*self.args)[0]


def test_the_recipe_passes_every_row(grade):
    rows = grade(TokenCache)
    assert failed(rows) == [], [(r.name, r.got) for r in failed(rows)]
    got = {row.name: row.got for row in rows}
    assert got["50 calls, one token"] == "1 token request, 1 token handed out"
    assert got["8 threads at renewal time"] == "1 token request, 1 token handed out"
    assert got["the token works"] == f"active, scope {SCOPE}"


def test_a_cache_that_never_renews_is_told_it_hands_out_expired_tokens(grade):
    rows = by_name(grade(NeverRenews))
    assert [r.name for r in failed(rows.values())] == ["renewed before it expires", "a token request taking 30 s",
                                                        "never an expired token", "8 threads at renewal time"]
    assert rows["never an expired token"].got == "1 s after expiry: an expired token"
    assert "still handed it out" in rows["never an expired token"].why
    assert rows["renewed before it expires"].got == "the first token again, 1 s from expiry"
    assert rows["8 threads at renewal time"].got.startswith("0 token requests")
    assert "no thread renewed" in rows["8 threads at renewal time"].why


def test_a_cache_that_fetches_on_every_call_is_told_the_request_count(grade):
    rows = by_name(grade(FetchesEveryCall))
    assert rows["50 calls, one token"].passed is False
    assert rows["50 calls, one token"].got == "50 token requests, 50 tokens handed out"
    assert "asked the token endpoint 50 times" in rows["50 calls, one token"].why
    assert "the clock reading at which to renew it" in rows["50 calls, one token"].fix
    assert rows["the token works"].passed and rows["never an expired token"].passed


def test_a_cache_without_a_lock_is_told_of_the_renewal_storm(grade):
    rows = by_name(grade(NoLock))
    assert [r.name for r in failed(rows.values())] == ["8 threads at renewal time"]
    storm = rows["8 threads at renewal time"]
    assert int(storm.got.split()[0]) > 1
    assert "renewal storm" in storm.why and "threading.Lock" in storm.fix


def test_a_cache_that_renews_only_at_expiry_is_told_to_renew_early(grade):
    rows = by_name(grade(RenewsAtExpiry))
    assert [r.name for r in failed(rows.values())] == ["renewed before it expires", "a token request taking 30 s"]
    assert rows["a token request taking 30 s"].why == rows["renewed before it expires"].why, "one mistake, one reason"
    late = rows["renewed before it expires"]
    assert late.got == "the first token again, 1 s from expiry"
    assert "about to expire" in late.why and "min(renew_before, expires_in / 2)" in late.fix
    assert "never called `clock`" not in late.why


def test_a_cache_with_no_cap_counting_from_the_answer_fails_both_rules(grade):
    """Rule 2 has two halves the other rows miss: at most half the lifetime early, counted from sending."""
    rows = by_name(grade(NoCapCountsFromTheAnswer))
    assert [r.name for r in failed(rows.values())] == ["renew_before past the lifetime", "a token request taking 30 s"]
    capped = rows["renew_before past the lifetime"]
    assert capped.got == "10 token requests in 10 calls"
    assert "at most half the token's lifetime early" in capped.why and "min(renew_before, expires_in / 2)" in capped.fix
    slow = rows["a token request taking 30 s"]
    assert slow.got == "the first token again, 15 s after its renewal was due"
    assert "from when the answer came back" in slow.why and "just before calling fetch_token" in slow.fix


def test_a_capped_cache_counting_from_the_answer_is_told_only_that(grade):
    rows = by_name(grade(CountsFromTheAnswer))
    assert [r.name for r in failed(rows.values())] == ["a token request taking 30 s"]
    assert "never called `clock`" not in rows["a token request taking 30 s"].why


def test_a_cache_that_reads_time_itself_is_told_to_use_its_clock(grade):
    rows = by_name(grade(IgnoresItsClock))
    assert "never called `clock`" in rows["renewed before it expires"].why
    assert "never called `clock`" in rows["never an expired token"].why


def test_the_clock_note_is_said_once(okta):
    """A cache that never checks the time fails several rows; the learner reads the clock note once."""
    server = AuthorizationServer(okta.settings(), okta)
    metadata = {"token_endpoint": okta.token_endpoint, "introspection_endpoint": okta.introspection_endpoint}
    with pytest.raises(ExerciseFeedback) as caught:
        check_token_cache("Exercise 9.8", NeverRenews, server, metadata, SCOPE)
    assert caught.value.hint.count("never called `clock`") == 1
    assert "it never checks the time, or reads it some other way" in caught.value.hint


def test_the_stub_fails_every_row_and_says_to_return_the_token(grade):
    rows = grade(DoesNothing)
    assert failed(rows) == rows
    assert all(row.got == "get_token() returned None" for row in rows)
    assert all("must return the access token" in row.why for row in rows)


def test_a_deadlock_is_reported_not_waited_for(grade, monkeypatch):
    monkeypatch.setattr(cache_session, "CALL_TIMEOUT", 0.5)
    rows = grade(LocksTwice)
    assert failed(rows) == rows
    assert rows[0].got == "no answer within 10 s" and "not re-entrant" in rows[0].why
    assert all(row.got == "not run: get_token() hung above" for row in rows[1:])


def test_an_error_in_the_learners_class_is_shown_without_the_secret(grade, okta):
    secret = okta.clients["write_service"].client_secret

    class Raises(_Base):
        def get_token(self):
            raise RuntimeError(f"cannot use {self.args[2]}")

    rows = grade(Raises)
    assert failed(rows) == rows
    assert rows[0].got == "raised RuntimeError: cannot use <the client secret>"
    assert not any(secret in f"{row.got} {row.why} {row.fix}" for row in rows)


def test_without_the_servers_count_the_grader_counts_requests_itself(okta):
    """Against a real tenant there is no server-side count: the grader watches `requests` instead."""
    client, original_send = okta.clients["write_service"], requests.Session.send
    with counting_requests_to(okta.token_endpoint) as count:
        recipe_rows = grade_token_cache(TokenCache, okta.token_endpoint, client.client_id, client.client_secret, SCOPE,
                                        introspection_url=okta.introspection_endpoint, count_token_requests=count)
        storm_rows = grade_token_cache(NoLock, okta.token_endpoint, client.client_id, client.client_secret, SCOPE,
                                       introspection_url=okta.introspection_endpoint, count_token_requests=count)
    assert failed(recipe_rows) == []
    assert [row.name for row in failed(storm_rows)] == ["8 threads at renewal time"]
    assert requests.Session.send is original_send, "the count stops with the grading"


def test_the_notebooks_check_says_a_shared_reason_once_and_passes_the_recipe(okta, capsys):
    server = AuthorizationServer(okta.settings(), okta)
    metadata = {"token_endpoint": okta.token_endpoint, "introspection_endpoint": okta.introspection_endpoint}
    with pytest.raises(ExerciseFeedback) as caught:
        check_token_cache("Exercise 9.9", DoesNothing, server, metadata, SCOPE)
    assert caught.value.problem.startswith("7 of 7 checks failed: 50 calls, one token, ")
    assert caught.value.hint.count("must return the access token") == 1
    assert "[the token works] as for '50 calls, one token'." in caught.value.hint
    assert caught.value.fix.count("call fetch_token with the four values") == 1
    check_token_cache("Exercise 9.9", TokenCache, server, metadata, SCOPE)
    assert "✅ Exercise 9.9: your cache makes one token request for many calls" in capsys.readouterr().out


def test_eight_hung_threads_cost_one_timeout_not_eight(grade, monkeypatch):
    """A cache that hangs only when many threads call it: the storm row waits once for all eight."""
    monkeypatch.setattr(cache_session, "CALL_TIMEOUT", 0.5)
    never = threading.Event()

    class HangsInTheStorm(NoLock):
        def get_token(self):
            if threading.current_thread().name.startswith("token-cache-grader-"):  # the storm's threads
                never.wait()
            return super().get_token()

    started = time.monotonic()
    rows = by_name(grade(HangsInTheStorm))
    assert time.monotonic() - started < 3  # eight joins of 0.5 s each would take 4 s
    assert rows["8 threads at renewal time"].got == "no answer within 10 s"
    assert rows["the token works"].got == "not run: get_token() hung above"
    never.set()
