"""SEND_SMS sends each (request, recipient) at most once under retries, and never loses one."""

import random
import time
from collections import Counter

import pytest

from tests.conftest import load_function, reset_layer_caches
from tests.integration.helpers import after_the_hold, expect_error, hold_unknown_outcomes

A, B, C = "+14155550100", "+14155550101", "+14155550102"


class Crash(BaseException):
    """The process dies: not an Exception, so nothing in the function catches it."""


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def count(emulator):
    return Counter((m["body"], m["to"]) for m in emulator.messages.values())


def test_the_same_request_twice_sends_once(aws, emulator, handler, lambda_context):
    event = {"smsTo": [A, B], "smsBody": "Hello ${n}", "metadata": {"n": 1}}
    first = handler(event, lambda_context)
    again = handler(event, lambda_context)  # Step Functions' retry: the same input
    assert len(emulator.messages) == 2
    # the same result, and it says that nothing went out this time
    assert first.pop("replayed") is False and again.pop("replayed") is True
    assert again == first


def test_idempotency_key_decides(aws, emulator, handler, lambda_context):
    handler({"smsTo": A, "smsBody": "one", "idempotencyKey": "exec-1/Notify"}, lambda_context)
    handler({"smsTo": A, "smsBody": "one", "idempotencyKey": "exec-2/Notify"}, lambda_context)
    assert count(emulator) == {("one", A): 2}  # two executions: two messages


def test_retry_after_partial_failure_sends_only_to_the_rest(
    aws, emulator, handler, lambda_context, monkeypatch
):
    hold_unknown_outcomes(monkeypatch)
    event = {"smsTo": [A, B, C], "smsBody": "partial", "idempotencyKey": "exec-3/Notify"}
    emulator.faults.fail_statuses = [0, 500]  # the second request Twilio gets is a 500
    body = expect_error(handler, lambda_context, event, "INTERNAL_SERVER_ERROR")
    assert body["sentCount"] == 2 and body["failedCount"] == 1 and len(emulator.messages) == 2
    requests_before = len(emulator.requests)
    after_the_hold()
    result = handler(event, lambda_context)  # the workflow retries
    assert count(emulator) == {("partial", A): 1, ("partial", B): 1, ("partial", C): 1}
    assert [m["to"] for m in result["messages"]] == [A, B, C]
    sent_now = [r for r in emulator.requests[requests_before:] if r["method"] == "POST"]
    assert len(sent_now) == 1  # only the missing one was sent (after asking Twilio: a 5xx)
    assert result["replayed"] is False  # C's message went out now


def crash_after_twilio_accepted(handler, event, lambda_context, monkeypatch) -> None:
    """Run ``event``; the process dies once Twilio accepted the message, before the ledger
    records it, and its lease is over at once (``SEND_LEASE_SECONDS=0``)."""
    from twilio_connector.ledger import SendLedger

    monkeypatch.setenv("SEND_LEASE_SECONDS", "0")
    reset_layer_caches()
    real = SendLedger.record

    def crash_when_recording_sent(self, claim, status, resource=None):
        if status == "sent":
            raise Crash
        return real(self, claim, status, resource)

    monkeypatch.setattr(SendLedger, "record", crash_when_recording_sent)
    with pytest.raises(Crash):
        handler(event, lambda_context)
    monkeypatch.setattr(SendLedger, "record", real)


def test_crash_after_twilio_accepted_is_reconciled(
    aws, emulator, handler, lambda_context, monkeypatch
):
    event = {"smsTo": A, "smsBody": "crash", "idempotencyKey": "exec-4/Notify"}
    crash_after_twilio_accepted(handler, event, lambda_context, monkeypatch)
    assert len(emulator.messages) == 1  # Twilio has it; the ledger says "started"
    result = handler(event, lambda_context)
    assert len(emulator.messages) == 1
    assert result["messages"][0]["sid"] == next(iter(emulator.messages))
    assert any(r["method"] == "GET" for r in emulator.requests)  # it asked Twilio first


def test_lost_answer_is_reconciled_in_the_same_invocation(aws, emulator, handler, lambda_context):
    emulator.faults.drop_after_store = 1
    result = handler({"smsTo": A, "smsBody": "dropped"}, lambda_context)
    assert len(emulator.messages) == 1
    assert result["messages"][0]["sid"] == next(iter(emulator.messages))


def test_read_timeout_after_store_is_reconciled(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("TWILIO_READ_TIMEOUT", "0.3")
    reset_layer_caches()
    emulator.faults.hang_after_store, emulator.faults.hang_seconds = 1, 1.0
    result = handler({"smsTo": A, "smsBody": "slow"}, lambda_context)
    assert len(emulator.messages) == 1 and result["messages"][0]["body"] == "slow"


def test_lost_request_that_never_arrived_is_sent_on_retry(
    aws, emulator, handler, lambda_context, monkeypatch
):
    hold_unknown_outcomes(monkeypatch)
    emulator.faults.drop_next = 1  # dropped before Twilio stored anything
    event = {"smsTo": A, "smsBody": "never arrived"}
    expect_error(handler, lambda_context, event, "TWILIO_CONNECTION_ERROR")
    assert emulator.messages == {}
    # while Twilio could still be storing it, absence is not decided: a retry is told to wait
    expect_error(handler, lambda_context, event, "CONFLICT")
    after_the_hold()
    handler(event, lambda_context)  # the retry asks Twilio, finds nothing, sends
    assert count(emulator) == {("never arrived", A): 1}


def test_an_invocation_in_flight_is_not_doubled(aws, emulator, handler, lambda_context):
    from twilio_connector.config import get_settings
    from twilio_connector.ledger import SendLedger, request_key

    key = request_key("exec-5/Notify", {})
    SendLedger(get_settings().idempotency_table).claim(key, A, lease_seconds=60)
    event = {"smsTo": A, "smsBody": "busy", "idempotencyKey": "exec-5/Notify"}
    expect_error(handler, lambda_context, event, "CONFLICT")
    assert emulator.messages == {}


def test_time_running_out_is_a_catalogued_error(aws, emulator, handler, lambda_context):
    from twilio_connector.credentials import get_credentials

    get_credentials()  # a warm environment: the secret is cached (reading it needs time too)
    lambda_context.remaining_ms = 2200  # 0.2 s after the safety margin: no call may start
    body = expect_error(
        handler, lambda_context, {"smsTo": [A, B], "smsBody": "late"}, "GATEWAY_TIMEOUT"
    )
    assert [f["code"] for f in body["failed"]] == ["GATEWAY_TIMEOUT", "GATEWAY_TIMEOUT"]
    assert emulator.messages == {}


def test_calls_never_outlive_the_invocation(aws, emulator, handler, lambda_context):
    lambda_context.remaining_ms = 3000  # 1 s of budget, Twilio takes 5 s to answer
    emulator.faults.latency = 5.0
    started = time.monotonic()
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TWILIO_CONNECTION_ERROR")
    assert time.monotonic() - started < 1.5


def test_ledger_unavailable_sends_nothing(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    reset_layer_caches()
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "SERVICE_UNAVAILABLE")
    assert emulator.messages == {}


# --- proof by fault injection ---------------------------------------------------------------
FAULTS = [
    ("none", lambda f: None),
    ("latency", lambda f: setattr(f, "latency", 0.02)),
    ("429", lambda f: setattr(f, "fail_statuses", [429, 429])),
    ("503", lambda f: setattr(f, "fail_statuses", [503])),
    ("500", lambda f: setattr(f, "fail_statuses", [500])),
    ("drop before store", lambda f: setattr(f, "drop_next", 1)),
    ("drop after store", lambda f: setattr(f, "drop_after_store", 1)),
    *(
        (f"{status} after store", lambda f, status=status: setattr(f, "fail_after_store", [status]))
        for status in (500, 502, 503, 504)
    ),
    (
        "hang after store",
        lambda f: (setattr(f, "hang_after_store", 1), setattr(f, "hang_seconds", 0.4)),
    ),
]


@pytest.mark.slow  # ~30 s: a thousand requests under faults
def test_fault_injection_exactly_one_message_per_request_and_recipient(
    aws, emulator, handler, lambda_context, monkeypatch, capsys
):
    from twilio_connector.ledger import SendLedger

    monkeypatch.setenv("TWILIO_READ_TIMEOUT", "0.2")
    # a crashed attempt's lease, and an unknown outcome's hold, are over quickly (slow commits,
    # which need a longer hold, have their own run below)
    monkeypatch.setenv("SEND_LEASE_SECONDS", "0.05")
    reset_layer_caches()
    rng = random.Random(20261124)
    real_record = SendLedger.record
    crash_next = {"armed": False}

    def record(self, claim, status, resource=None):
        if status == "sent" and crash_next["armed"]:
            crash_next["armed"] = False
            raise Crash  # Twilio accepted the message; the process dies before recording it
        return real_record(self, claim, status, resource)

    monkeypatch.setattr(SendLedger, "record", record)
    requests_count, recipients_per_request = 250, 4
    outcomes, faults_used, invocations = Counter(), Counter(), 0
    for n in range(requests_count):
        recipients = [f"+1415555{n % 100:02d}{r:02d}" for r in range(recipients_per_request)]
        event = {"smsTo": recipients, "smsBody": f"request {n}", "idempotencyKey": f"exec-{n}"}
        for _attempt in range(30):
            name, inject = rng.choice(FAULTS)
            faults_used[name] += 1
            emulator.faults.latency, emulator.faults.fail_statuses = 0, []
            emulator.faults.fail_after_store = []
            inject(emulator.faults)
            crash_next["armed"] = rng.random() < 0.1
            invocations += 1
            try:
                handler(event, lambda_context)
                outcomes["succeeded"] += 1
                break
            except Crash:
                outcomes["crashed"] += 1
            except Exception as exc:
                outcomes[type(exc).__name__] += 1
                if type(exc).__name__ == "CONFLICT":
                    time.sleep(0.06)  # the workflow's Retry interval, past the hold
            # the workflow retries this request, sometimes twice in a row without a fault
        else:
            pytest.fail(f"request {n} never succeeded")
        emulator.faults.drop_next = emulator.faults.drop_after_store = 0
        emulator.faults.hang_after_store, emulator.faults.fail_after_store = 0, []
    stored = count(emulator)
    expected = {
        (f"request {n}", f"+1415555{n % 100:02d}{r:02d}")
        for n in range(requests_count)
        for r in range(recipients_per_request)
    }
    duplicates = sum(c - 1 for c in stored.values() if c > 1)
    missing = len(expected - set(stored))
    with capsys.disabled():
        print(
            f"\nfault injection: {len(expected)} (request, recipient) pairs, {invocations} "
            f"invocations, outcomes {dict(outcomes)}, faults {dict(faults_used)}; "
            f"Twilio stored {sum(stored.values())} messages: {duplicates} duplicates, "
            f"{missing} missing"
        )
    assert len(expected) >= 1000
    assert duplicates == 0 and missing == 0 and set(stored) == expected
    assert outcomes["crashed"] > 0 and outcomes["succeeded"] == requests_count


@pytest.mark.slow  # ~17 s: commits held past the send's timeouts
def test_fault_injection_slow_commits(aws, emulator, handler, lambda_context, monkeypatch, capsys):
    """Every request's first send is stored only after the client gave up (a slow commit) and
    the workflow retries at once and then every half second: each recipient gets one message."""
    monkeypatch.setenv("TWILIO_READ_TIMEOUT", "0.1")
    monkeypatch.setenv("SEND_LEASE_SECONDS", "0.5")  # the hold outlasts the commit (0.25 s)
    reset_layer_caches()
    outcomes, requests_count = Counter(), 24
    for n in range(requests_count):
        event = {"smsTo": [A, B], "smsBody": f"slow {n}", "idempotencyKey": f"exec-slow-{n}"}
        emulator.faults.slow_commit, emulator.faults.commit_seconds = 1, 0.25
        for _attempt in range(10):
            try:
                handler(event, lambda_context)
                outcomes["succeeded"] += 1
                break
            except Exception as exc:
                outcomes[type(exc).__name__] += 1
                time.sleep(0 if _attempt == 0 else 0.5)  # retried at once, then later
        else:
            pytest.fail(f"request {n} never succeeded")
    stored = count(emulator)
    expected = {(f"slow {n}", to) for n in range(requests_count) for to in (A, B)}
    duplicates = sum(c - 1 for c in stored.values() if c > 1)
    missing = len(expected - set(stored))
    with capsys.disabled():
        print(
            f"\nslow commits: {len(expected)} (request, recipient) pairs, outcomes "
            f"{dict(outcomes)}; Twilio stored {sum(stored.values())} messages: {duplicates} "
            f"duplicates, {missing} missing"
        )
    assert duplicates == 0 and missing == 0 and set(stored) == expected
    assert outcomes["CONFLICT"] > 0  # the retries that came at once were told to wait


# --- a slow commit: absence is not decided while the lost request may still take effect ----------
def slow_commit(emulator, monkeypatch) -> None:
    """The next send is stored 1 s after it arrived: well after the client's read timeout
    (0.1 s) and the send's quick look at Twilio that follows it, within the time an unknown
    outcome is held (1.5 s)."""
    monkeypatch.setenv("TWILIO_READ_TIMEOUT", "0.1")
    monkeypatch.setenv("SEND_LEASE_SECONDS", "1.5")
    reset_layer_caches()
    emulator.faults.slow_commit, emulator.faults.commit_seconds = 1, 1.0


def test_a_slow_commit_is_not_sent_again_by_an_overlapping_retry(
    aws, emulator, handler, lambda_context, monkeypatch
):
    slow_commit(emulator, monkeypatch)
    event = {"smsTo": A, "smsBody": "slow", "idempotencyKey": "exec-slow/Notify"}
    expect_error(handler, lambda_context, event, "TWILIO_CONNECTION_ERROR")
    assert emulator.messages == {}  # not stored yet when the send looked
    expect_error(handler, lambda_context, event, "CONFLICT")  # the retry comes at once
    time.sleep(1.55)
    result = handler(event, lambda_context)  # by now Twilio has it: adopted, not sent again
    assert len(emulator.messages) == 1 and set(result["smsResult"]) == set(emulator.messages)


def test_a_slow_commit_beside_another_request_s_identical_send(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """B sends the same text to the same recipient while A's lost send is still committing:
    A's retry neither takes B's message nor sends a second one of its own."""
    slow_commit(emulator, monkeypatch)
    event_a = {"smsTo": A, "smsBody": "same", "idempotencyKey": "exec-A/Notify"}
    expect_error(handler, lambda_context, event_a, "TWILIO_CONNECTION_ERROR")
    b = handler({"smsTo": A, "smsBody": "same", "idempotencyKey": "exec-B/Notify"}, lambda_context)
    expect_error(handler, lambda_context, event_a, "CONFLICT")
    time.sleep(1.55)
    a = handler(event_a, lambda_context)
    assert count(emulator) == {("same", A): 2}  # A's and B's, one each
    assert set(a["smsResult"]).isdisjoint(b["smsResult"])
    assert set(a["smsResult"]) | set(b["smsResult"]) == set(emulator.messages)


# --- one idempotencyKey, one request -------------------------------------------------------------
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:3f1c"


def test_a_key_reused_for_another_request_is_refused_and_sends_nothing(
    aws, emulator, handler, lambda_context
):
    """$$.Execution.Id as the key of two send states: the second is not silently dropped."""
    first = handler({"smsTo": A, "smsBody": "Shipped", "idempotencyKey": EXECUTION}, lambda_context)
    for changed in (
        {"smsTo": A, "smsBody": "Delivered"},  # another body
        {"smsTo": [A, B], "smsBody": "Shipped"},  # an added recipient
        {"smsTo": A, "smsBody": "Shipped", "mediaUrl": "https://example.com/a.png"},  # media
        {"smsTo": A, "smsBody": "Shipped", "smsFrom": "ACME"},  # another sender
    ):
        event = {**changed, "idempotencyKey": EXECUTION}
        body = expect_error(handler, lambda_context, event, "IDEMPOTENCY_KEY_REUSED")
        assert body["field"] == "idempotencyKey"
    assert count(emulator) == {("Shipped", A): 1} and len(emulator.messages) == 1
    again = handler({"smsTo": A, "smsBody": "Shipped", "idempotencyKey": EXECUTION}, lambda_context)
    assert again["smsResult"] == first["smsResult"]  # the same request: the stored result


def test_a_key_per_state_sends_each_state_s_message(aws, emulator, handler, lambda_context):
    for state, text in (("NotifyShipped", "Shipped"), ("NotifyDelivered", "Delivered")):
        key = f"{EXECUTION}-{state}"  # States.Format('{}-{}', $$.Execution.Id, $$.State.Name)
        handler({"smsTo": A, "smsBody": text, "idempotencyKey": key}, lambda_context)
    assert count(emulator) == {("Shipped", A): 1, ("Delivered", A): 1}


def test_the_same_recipients_in_another_order_are_the_same_request(
    aws, emulator, handler, lambda_context
):
    first = handler({"smsTo": [A, B], "smsBody": "x", "idempotencyKey": "k"}, lambda_context)
    again = handler({"smsTo": [B, A], "smsBody": "x", "idempotencyKey": "k"}, lambda_context)
    assert again["smsResult"] == first["smsResult"] and len(emulator.messages) == 2


# --- reconciliation adopts only what is provably this request's ---------------------------------
def test_a_lost_send_never_adopts_another_request_s_message(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """A sends "X" to R; B sends the same "X" to R under another key and its request is lost
    before Twilio stores it: B must not return A's SID, and R must get two messages."""
    hold_unknown_outcomes(monkeypatch)
    a = handler({"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-A"}, lambda_context)
    emulator.faults.drop_next = 1  # B's POST never reaches Twilio's store
    event_b = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-B"}
    expect_error(handler, lambda_context, event_b, "TWILIO_CONNECTION_ERROR")
    assert len(emulator.messages) == 1  # B's one quick look found only A's message
    after_the_hold()
    b = handler(event_b, lambda_context)  # the workflow retries: nothing of B's exists: sent
    assert count(emulator) == {("X", A): 2}
    assert set(a["smsResult"]) | set(b["smsResult"]) == set(emulator.messages)


def test_an_unsettled_identical_send_is_reported_not_guessed(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """A's message reached Twilio but A has not recorded it yet when B, sending the same text to
    the same recipient, loses its answer: the message could be either's. B reports the
    ambiguity (SEND_OUTCOME_AMBIGUOUS) instead of taking it; once A settles, B's retry sends."""
    import threading

    from twilio_connector.ledger import SendLedger

    real = SendLedger.record
    a_sent, release = threading.Event(), threading.Event()

    def a_records_late(self, claim, status, resource=None):
        if status == "sent" and not a_sent.is_set():  # A: Twilio answered; the record waits
            a_sent.set()
            assert release.wait(20)
        return real(self, claim, status, resource)

    monkeypatch.setattr(SendLedger, "record", a_records_late)
    hold_unknown_outcomes(monkeypatch)
    outcome = {}
    a = threading.Thread(
        target=lambda: outcome.update(
            a=handler({"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-A"}, lambda_context)
        )
    )
    a.start()
    assert a_sent.wait(20) and len(emulator.messages) == 1  # A's message exists, unrecorded
    handler_b = handler
    emulator.faults.drop_next = 1  # B's request is lost
    event_b = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-B"}
    expect_error(handler_b, lambda_context, event_b, "TWILIO_CONNECTION_ERROR")
    after_the_hold()
    body = expect_error(handler_b, lambda_context, event_b, "SEND_OUTCOME_AMBIGUOUS")
    assert "+14155550100" not in body["message"]
    assert len(emulator.messages) == 1  # nothing guessed, nothing sent
    release.set()
    a.join(20)
    after_the_hold()
    b = handler_b(event_b, lambda_context)  # A settled: the message is A's, B's was lost: sent
    assert count(emulator) == {("X", A): 2}
    assert set(outcome["a"]["smsResult"]) | set(b["smsResult"]) == set(emulator.messages)


def test_two_lost_identical_sends_are_both_reported(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """A crashes after Twilio accepted its message; B's request (same text, same recipient) is
    lost. One message exists and it could be either's: neither takes it, neither resends."""
    event_a = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-A"}
    crash_after_twilio_accepted(handler, event_a, lambda_context, monkeypatch)
    emulator.faults.drop_next = 1
    event_b = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-B"}
    expect_error(handler, lambda_context, event_b, "TWILIO_CONNECTION_ERROR")
    expect_error(handler, lambda_context, event_b, "SEND_OUTCOME_AMBIGUOUS")
    expect_error(handler, lambda_context, event_a, "SEND_OUTCOME_AMBIGUOUS")
    assert len(emulator.messages) == 1


# --- the request as given, not its rendering; an accepted schedule replayed (issue 24, 4-5) -----
NOW_TEMPLATE = "Sent at ${.now?string('HH:mm:ss.SSS')}"


def test_a_keyed_retry_of_a_template_using_now_is_the_same_request(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """The body shows the time: a retry renders it again, later, yet it is the same request
    (not IDEMPOTENCY_KEY_REUSED) and shows the first attempt's time."""
    event = {"smsTo": A, "smsBody": NOW_TEMPLATE, "idempotencyKey": "exec-now/Notify"}
    hold_unknown_outcomes(monkeypatch)
    emulator.faults.drop_next = 1  # the first attempt's request is lost before Twilio
    expect_error(handler, lambda_context, event, "TWILIO_CONNECTION_ERROR")
    after_the_hold()  # the clock moves on: .now renders otherwise
    first = handler(event, lambda_context)  # the workflow's Retry
    time.sleep(0.01)
    again = handler(event, lambda_context)
    assert len(emulator.messages) == 1
    assert again["replayed"] is True and again["smsResult"] == first["smsResult"]


def test_a_crash_with_a_template_using_now_is_reconciled_not_resent(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """Without a key either: the retry is the same request, and it finds the first attempt's
    message at Twilio because it renders the same text."""
    event = {"smsTo": A, "smsBody": NOW_TEMPLATE}
    crash_after_twilio_accepted(handler, event, lambda_context, monkeypatch)
    time.sleep(0.01)
    result = handler(event, lambda_context)
    assert len(emulator.messages) == 1
    assert set(result["smsResult"]) == set(emulator.messages)


def test_a_retry_of_an_accepted_schedule_is_replayed_past_the_window(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """Scheduled 15 minutes and a few seconds ahead, accepted; the retry comes once that is
    under 15 minutes: it is replayed (the SID the workflow needs to cancel), not refused."""
    from datetime import UTC, datetime, timedelta

    from twilio_connector import sms

    send_at = datetime.now(UTC) + timedelta(minutes=15, seconds=30)
    event = {
        "smsTo": A,
        "smsBody": "Your appointment is soon",
        "messagingServiceSid": "MG" + "a" * 32,
        "sendAt": send_at.isoformat(),
        "idempotencyKey": "exec-reminder/Schedule",
    }
    first = handler(event, lambda_context)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=1)

    monkeypatch.setattr(sms, "datetime", Later)
    again = handler(event, lambda_context)
    assert again["replayed"] is True and again["smsResult"] == first["smsResult"]
    assert len(emulator.messages) == 1
    # a new request with the same schedule is still held to Twilio's window
    body = expect_error(
        handler, lambda_context, {**event, "idempotencyKey": "new"}, "INVALID_INPUT"
    )
    assert body["field"] == "sendAt"


def test_two_lost_identical_sends_that_both_went_out_settle(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """A and B (same text, same recipient) both crash once Twilio accepted their messages: two
    messages, two lost attempts. Each retry takes one of them, never the same, and sends
    nothing (issue 24, item 3: with k unowned messages and u other lost attempts, k >= u + 1)."""
    event_a = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-A"}
    event_b = {"smsTo": A, "smsBody": "X", "idempotencyKey": "exec-B"}
    crash_after_twilio_accepted(handler, event_a, lambda_context, monkeypatch)
    crash_after_twilio_accepted(handler, event_b, lambda_context, monkeypatch)
    assert len(emulator.messages) == 2
    a = handler(event_a, lambda_context)
    b = handler(event_b, lambda_context)
    assert len(emulator.messages) == 2  # nothing sent again
    assert set(a["smsResult"]) | set(b["smsResult"]) == set(emulator.messages)
    assert set(a["smsResult"]).isdisjoint(b["smsResult"])
    assert handler(event_a, lambda_context)["smsResult"] == a["smsResult"]  # settled
