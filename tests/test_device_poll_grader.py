"""The device-polling grader: the solution passes every row, a stub fails, typical mistakes get their row.

Each version runs against the local server on the grader's clock (milliseconds, not minutes).
"""

from __future__ import annotations

import time

import pytest
import requests

from helpers.exercises import ExerciseFeedback
from helpers.graders.device_poll import check_device_poll, grade_device_poll
from helpers.local_okta import start_local_okta
from helpers.recipes.device_signin import poll_for_token as solution

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-device-poll-grader")
    yield server
    server.stop()


def failed(rows) -> list[str]:
    return [row.name for row in rows if not row.passed]


def stub(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    ...


def ignores_slow_down(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    while True:
        sleep(interval)
        answer = requests.post(token_endpoint, data={"grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10)
        body = answer.json()
        if answer.status_code == 200:
            return body
        if body["error"] in ("authorization_pending", "slow_down"):
            continue
        raise RuntimeError(body["error"])


def returns_errors(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    while True:
        sleep(interval)
        body = requests.post(token_endpoint, data={"grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10).json()
        if body.get("error") == "authorization_pending":
            continue
        if body.get("error") == "slow_down":
            interval += 5
            continue
        return body  # an error body handed back as if it were tokens


def never_sleeps(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    while True:
        answer = requests.post(token_endpoint, data={"grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10)
        if answer.status_code == 200:
            return answer.json()
        if answer.json()["error"] in ("expired_token", "access_denied"):
            raise RuntimeError(answer.json()["error"])


def leaks_the_code(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    try:
        return solution(token_endpoint, client_id, device_code, interval, sleep=sleep)
    except Exception as error:
        raise RuntimeError(f"device code {device_code} failed: {error}") from None


def raises_for_status(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    # The most common mistake: authorization_pending is HTTP 400, which raise_for_status turns into an error.
    while True:
        sleep(interval)
        answer = requests.post(token_endpoint, data={"grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10)
        answer.raise_for_status()
        return answer.json()


def slows_down_once(token_endpoint, client_id, device_code, interval, sleep=time.sleep):
    extra = 0
    while True:
        sleep(interval + extra)
        extra = 0  # the longer wait was for one poll only: the mistake
        answer = requests.post(token_endpoint, data={"grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10)
        body = answer.json()
        if answer.status_code == 200:
            return body
        if body["error"] == "slow_down":
            extra = 5
        if body["error"] in ("authorization_pending", "slow_down"):
            continue
        raise RuntimeError(body["error"])


def test_the_solution_passes_every_row_in_well_under_a_second_of_waiting(okta):
    started = time.monotonic()
    rows = grade_device_poll(solution, okta)
    assert failed(rows) == [] and len(rows) == 6
    assert time.monotonic() - started < 20  # the 5 s intervals are the grader's, not real time
    assert okta.device_flow.clock is time.monotonic  # the server's clock is given back


def test_a_stub_fails(okta):
    assert set(failed(grade_device_poll(stub, okta))) >= {"approved", "waits the interval", "slow_down", "expired_token",
                                                          "access_denied"}


def test_ignoring_slow_down_gets_the_slow_down_row(okta):
    assert failed(grade_device_poll(ignores_slow_down, okta)) == ["slow_down"]


def test_returning_an_error_body_gets_the_refusal_rows(okta):
    rows = grade_device_poll(returns_errors, okta)
    assert failed(rows) == ["expired_token", "access_denied", "messages"]  # no exception raised: no message to read
    assert next(row for row in rows if row.name == "messages").got == "not reached: no refusal raised"
    assert "returned the error body (expired_token)" in [row.got for row in rows]


def test_a_loop_without_sleep_is_stopped_and_named(okta):
    rows = grade_device_poll(never_sleeps, okta)
    assert {"approved", "waits the interval"} <= set(failed(rows))
    assert any("still polling after" in row.got for row in rows)


def test_a_device_code_in_a_message_is_named(okta):
    assert failed(grade_device_poll(leaks_the_code, okta)) == ["messages"]


def test_the_check_reports_and_raises_feedback_for_a_wrong_version(okta, capsys):
    with pytest.raises(ExerciseFeedback, match="slow_down"):
        check_device_poll(ignores_slow_down, okta=okta, exercise="Exercise 8.1")
    assert "slow_down" in capsys.readouterr().out


def test_grading_leaves_the_servers_other_device_codes_alone(okta):
    client = okta.clients["device_app"].client_id
    waiting = requests.post(okta.endpoint("device/authorize"), data={"client_id": client, "scope": "openid"}, timeout=10).json()
    grade_device_poll(solution, okta)
    answer = requests.post(okta.token_endpoint, data={"grant_type": GRANT, "device_code": waiting["device_code"],
                                                      "client_id": client}, timeout=10)
    assert answer.json()["error"] == "authorization_pending"


def test_a_long_run_of_gaps_stays_one_short_cell(okta):
    # A loop that ignores slow_down polls on until the code expires: the row stays readable.
    row = next(r for r in grade_device_poll(ignores_slow_down, okta) if r.name == "slow_down")
    assert not row.passed and row.got.count(" s,") <= 2 and "polls, shortest 5 s" in row.got


def test_rows_the_loop_never_reached_fail_as_not_reached(okta):
    # Before: "waits the interval" ticked for a loop that polled once, and "messages" for one that raised nothing.
    rows = {row.name: row for row in grade_device_poll(raises_for_status, okta)}
    assert not rows["waits the interval"].passed and rows["waits the interval"].got == "not reached: one poll"
    assert "fix [approved] first" in rows["waits the interval"].why
    assert not rows["expired_token"].passed and rows["expired_token"].got.startswith("not reached: raised HTTPError")
    stub_rows = {row.name: row for row in grade_device_poll(stub, okta)}
    assert [name for name, row in stub_rows.items() if row.got.startswith("not reached")] == [
        "waits the interval", "slow_down", "expired_token", "access_denied", "messages"]
    assert not any(row.passed for row in stub_rows.values())


def test_raise_for_status_is_named_as_the_cause(okta):
    rows = {row.name: row for row in grade_device_poll(raises_for_status, okta)}
    assert "come back as HTTP 400" in rows["approved"].why and "raise_for_status" in rows["approved"].why
    assert rows["slow_down"].got == "raised HTTPError at slow_down" and "no failure" in rows["slow_down"].why
    assert rows["access_denied"].passed  # 403 raises too, after the refusal: that row was really tested


def test_slowing_down_once_is_told_to_keep_the_longer_interval(okta):
    row = next(r for r in grade_device_poll(slows_down_once, okta) if r.name == "slow_down")
    assert not row.passed and row.got.startswith("gaps 10 s, 5 s") and "waited longer once, then went back" in row.why


def test_a_stopped_server_is_named_not_a_traceback():
    stopped = start_local_okta(name="test-device-poll-stopped")
    stopped.stop()
    with pytest.raises(ExerciseFeedback, match="authorization server is stopped") as caught:
        check_device_poll(solution, okta=stopped)
    assert caught.value.try_number == 0
