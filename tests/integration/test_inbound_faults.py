"""Inbound publishing under AWS faults (issue 24, 6-10): every event of a message is on the bus or
kept before the webhook answers, once, with the identity consumers de-duplicate on; a reply
resumes one waiting execution.

A webhook that answers 5xx may be delivered again (Twilio's retry or the number's fallback URL)
or never: ``twilio`` below delivers again while the answer is 5xx, as Twilio does at best."""

import io
import threading
from collections import Counter

import pytest

from local.aws_faults import fail_calls, lose_answers
from local.sample_events import SENDER
from tests.conftest import ORDER_TRIGGER, load_function
from tests.integration.test_inbound import message, refuse_entries_of, set_triggers

DIGITS = {"name": "digits", "pattern": "(?<d>\\d+)", "echo": "ok ${d}", "echoError": "sorry ${d}"}
TOKENS = ["AQCEAAAAKgAAAAMAAAAAAAAAA" + c * 40 for c in "12"]


@pytest.fixture
def handler():
    return load_function("inbound_sms").lambda_handler


def client(service):
    from twilio_connector.aws import aws_client

    return aws_client(service)


def replay():
    import boto3

    from twilio_connector.replay import replay as run

    url = boto3.client("sqs").get_queue_url(QueueName="inbound-dlq")["QueueUrl"]
    return run(url, wait_seconds=0, log=io.StringIO())


def copies(events) -> Counter:
    return Counter((e["detail"]["messageSid"], e["detail"]["eventId"]) for e in events)


def sqs_down(monkeypatch, down=lambda: True):
    from botocore.exceptions import ClientError

    sqs = client("sqs")
    real = sqs.send_message

    def send_message(**kwargs):
        if down():
            raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessage")
        return real(**kwargs)

    monkeypatch.setattr(sqs, "send_message", send_message)


# --- 6: a lost PutEvents answer ------------------------------------------------------------------
def test_a_lost_put_events_answer_is_not_published_again_by_the_sdk(
    inbound, handler, lambda_context
):
    """EventBridge stored the events and the answer was lost: botocore's retry published all of
    them twice (100/100). Now: one copy, and the message kept (the outcome was unknown)."""
    lost = lose_answers(client("events"), "PutEvents")
    answer = handler(message("Order Number 42"), lambda_context)
    assert answer["statusCode"] == 200
    assert len(lost) == 1
    events = inbound.events()
    assert len(events) == 1  # on the bus once: the attempt whose answer was lost
    [kept] = inbound.dead_letters()
    assert kept["failed"][0]["error"] == "OutcomeUnknown:ReadTimeoutError"
    assert "may be on the bus" in kept["reason"]
    assert kept["failed"][0]["detail"] == events[0]["detail"]  # with the same eventId


def test_three_lost_answers_cost_copies_with_one_identity_never_a_loss(
    inbound, handler, lambda_context, monkeypatch
):
    """Three lost answers made four copies (botocore's three attempts, then the replay). Now the
    SDK sends once; what is put again after an unknown outcome (the replay) carries the same
    eventId, and the message leaves the queue only once an answer says the events are on."""
    set_triggers(monkeypatch, ORDER_TRIGGER, DIGITS)
    lose_answers(client("events"), "PutEvents", count=3)
    handler(message("Order Number 42"), lambda_context)
    first = inbound.events()
    assert sorted(e["detail"]["trigger"] for e in first) == ["digits", "order-number"]
    reports = [replay() for _ in range(3)]  # the replay's own answers are lost twice
    assert [(r.published, r.failed) for r in reports] == [(0, 1), (0, 1), (2, 0)]
    assert not reports[-1].left_behind
    later = inbound.events()
    assert len(later) == 6  # one copy per attempt: the duplicates an unknown outcome costs
    assert {(e["detail"]["trigger"], e["detail"]["eventId"]) for e in first + later} == {
        (e["detail"]["trigger"], e["detail"]["eventId"]) for e in first
    }


def test_the_replay_skips_what_a_later_delivery_published(
    inbound, handler, lambda_context, monkeypatch
):
    """The message was kept (EventBridge refused), the webhook then failed (its reply wait), and
    Twilio's retry published the event: the replay published it again (100/100)."""
    refusing = {"on": True}
    refuse_entries_of(client("events"), monkeypatch, "order-number", lambda: refusing["on"])
    fail_calls(client("stepfunctions"), "SendTaskSuccess", code="ServiceUnavailable")
    from twilio_connector import task_tokens

    task_tokens.park(task_tokens.REPLY, SENDER, TOKENS[0], {"messageSid": "SM" + "a" * 32})
    event = message("Order Number 42")
    assert handler(event, lambda_context)["statusCode"] == 500  # kept, then the resume failed
    assert inbound.events() == []  # (and the message is on the dead-letter queue)
    refusing["on"] = False
    assert handler(event, lambda_context)["statusCode"] == 200  # Twilio's retry
    assert len(inbound.events()) == 1
    report = replay()
    assert (report.replayed, report.published, report.already_published) == (1, 0, 1)
    assert inbound.events() == []


# --- 7: a partial failure while the queue and the ledger are down --------------------------------
def test_a_refused_entry_with_the_queue_and_the_ledger_down_is_not_published_twice(
    inbound, handler, lambda_context, monkeypatch
):
    """One entry refused, the dead-letter queue down, the published-events record down: the
    webhook answered 500 and Twilio's retry published the accepted event again (50/50)."""
    set_triggers(monkeypatch, ORDER_TRIGGER, DIGITS)
    outage = {"on": True, "refusals": 1}

    def refusing():
        outage["refusals"] -= 1
        return outage["refusals"] >= 0

    refuse_entries_of(client("events"), monkeypatch, "digits", refusing)
    sqs_down(monkeypatch, lambda: outage["on"])
    fail_calls(
        client("dynamodb"),
        "UpdateItem",
        when=lambda p: outage["on"] and p["Key"]["id"]["S"].startswith("inbound-published#"),
        times=None,
    )
    event = message("Order Number 42")
    answer = handler(event, lambda_context)
    while answer["statusCode"] >= 500:  # Twilio delivers again
        outage["on"] = False
        answer = handler(event, lambda_context)
    assert "Your reference number is 42" in answer["body"] and "ok 42" in answer["body"]
    events = inbound.events()
    assert Counter(e["detail"]["trigger"] for e in events) == {"order-number": 1, "digits": 1}
    assert inbound.dead_letters() == []


# --- 8: a failure before publishing keeps the message first --------------------------------------
def test_a_failed_read_of_the_published_record_does_not_stop_the_message(
    inbound, handler, lambda_context
):
    """One DynamoDB read failure answered 500 before publishing or keeping: lost when Twilio
    does not deliver again (100/100)."""
    fail_calls(
        client("dynamodb"),
        "GetItem",
        when=lambda p: p["Key"]["id"]["S"].startswith("inbound-published#"),
    )
    answer = handler(message("Order Number 42"), lambda_context)
    assert answer["statusCode"] == 200 and "Your reference number is 42" in answer["body"]
    assert len(inbound.events()) == 1


def test_a_webhook_that_fails_before_publishing_has_kept_the_message(
    inbound, handler, lambda_context
):
    """The idempotency table fails: the webhook answers 500 (no delivery is recorded), and the
    message's events are on the dead-letter queue first; the replay publishes them once."""
    fail_calls(client("dynamodb"), "PutItem", code="ProvisionedThroughputExceededException")
    answer = handler(message("Order Number 42"), lambda_context)
    assert answer["statusCode"] == 500 and answer["body"] == "SERVICE_UNAVAILABLE"
    assert inbound.events() == []
    report = replay()  # Twilio never delivered it again
    assert (report.replayed, report.published) == (1, 1)
    [event] = inbound.events()
    assert event["detail"]["matchGroups"] == {"orderNumber": "42"}


def test_a_status_callback_that_fails_has_published_its_event_first(
    inbound, handler, lambda_context
):
    from botocore.exceptions import ClientError

    from tests.integration.test_inbound import signed

    failed = []

    def first_call_of_the_waiters_record_fails(params, **kwargs):
        if not failed and params.get("Key", {}).get("id", {}).get("S", "").startswith("task#"):
            failed.append(params)
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerError"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "DynamoDB",
            )

    for operation in ("GetItem", "UpdateItem", "PutItem", "DeleteItem"):
        client("dynamodb").meta.events.register(
            f"before-parameter-build.dynamodb.{operation}", first_call_of_the_waiters_record_fails
        )
    params = {"MessageSid": "SM" + "3" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert handler(signed("/status", params), lambda_context)["statusCode"] == 500
    assert len(failed) == 1
    [event] = inbound.events()
    assert event["detail"]["status"] == "delivered"
    assert handler(signed("/status", params), lambda_context)["statusCode"] == 204  # retry
    assert inbound.events() == []  # not published again


# --- 9: a fallback delivery answered 409 while the primary later fails ---------------------------
def test_a_delivery_answered_409_keeps_the_message_in_case_the_first_fails(
    inbound, handler, lambda_context, monkeypatch
):
    """The primary delivery is slow; Twilio calls the fallback URL, which finds it in progress
    (409); then the primary fails without keeping anything: the message was lost (50/100)."""
    events = client("events")
    real_put = events.put_events
    in_put, release = threading.Event(), threading.Event()
    queue_down = {"on": False}

    def slow_then_failing_put(**kwargs):
        in_put.set()
        release.wait(10)
        raise ConnectionResetError("the primary's connection dropped")

    monkeypatch.setattr(events, "put_events", slow_then_failing_put)
    sqs_down(monkeypatch, lambda: queue_down["on"])
    event = message("Order Number 42")
    answers = {}
    primary = threading.Thread(
        target=lambda: answers.update(primary=handler(event, lambda_context))
    )
    primary.start()
    assert in_put.wait(10)
    fallback = handler(event, lambda_context)  # the same message, at the fallback URL
    assert fallback["statusCode"] == 409
    queue_down["on"] = True  # and the primary cannot keep it
    release.set()
    primary.join(10)
    assert answers["primary"]["statusCode"] == 500
    queue_down["on"] = False
    monkeypatch.setattr(events, "put_events", real_put)
    report = replay()
    assert report.published == 1
    [published] = inbound.events()
    assert published["detail"]["matchGroups"] == {"orderNumber": "42"}


# --- 10: one reply, one waiting execution -------------------------------------------------------
@pytest.fixture
def resumed():
    """The task tokens SendTaskSuccess was called with, in order."""
    tokens = []
    client("stepfunctions").meta.events.register(
        "before-parameter-build.sfn.SendTaskSuccess",
        lambda params, **kwargs: tokens.append(params["taskToken"]),
    )
    return tokens


def park_two_waiters():
    from twilio_connector import task_tokens

    for n, token in enumerate(TOKENS):
        task_tokens.park(task_tokens.REPLY, SENDER, token, {"messageSid": f"SM{n:032x}"})


def test_a_reply_whose_webhook_fails_resumes_no_waiter_until_it_is_kept(
    inbound, handler, lambda_context, monkeypatch, resumed
):
    """The waiter was resumed before the steps that can fail; the 500 let Twilio's retry resume
    the next waiter with the same SMS (50/50)."""
    park_two_waiters()
    outage = {"on": True}
    refuse_entries_of(client("events"), monkeypatch, "order-number", lambda: outage["on"])
    sqs_down(monkeypatch, lambda: outage["on"])
    event = message("Order Number 42")
    assert handler(event, lambda_context)["statusCode"] == 500
    assert resumed == []  # not before the message is kept
    outage["on"] = False
    assert handler(event, lambda_context)["statusCode"] == 200
    assert resumed == TOKENS[:1]


def test_a_reply_delivered_again_after_its_waiter_was_resumed_resumes_no_other(
    inbound, handler, lambda_context, resumed
):
    """The waiter is resumed, then dropping it from the queue fails (500): the retry resumes the
    same waiter again (Step Functions keeps the first answer), never the next."""
    park_two_waiters()
    fail_calls(
        client("dynamodb"),
        "UpdateItem",
        when=lambda p: "REMOVE waiters[0]" in p.get("UpdateExpression", ""),
    )
    event = message("Order Number 42")
    assert handler(event, lambda_context)["statusCode"] == 500
    assert handler(event, lambda_context)["statusCode"] == 200
    assert resumed == [TOKENS[0], TOKENS[0]]
    assert len(inbound.events()) == 1
    other = message("Order Number 43", sid="SM" + "9" * 32)  # the next reply: the next waiter
    assert handler(other, lambda_context)["statusCode"] == 200
    assert resumed[-1] == TOKENS[1]


# --- what may be put again -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raised", "outcome"),
    [
        ("ReadTimeoutError", "OutcomeUnknown:ReadTimeoutError"),
        ("ConnectionClosedError", "OutcomeUnknown:ConnectionClosedError"),
        ("EndpointConnectionError", "EndpointConnectionError"),
        ("ConnectTimeoutError", "ConnectTimeoutError"),
        (("InternalException", 500), "OutcomeUnknown:InternalException"),
        (("ThrottlingException", 400), "ThrottlingException"),
        (("AccessDeniedException", 400), "AccessDeniedException"),
    ],
)
def test_a_failed_call_is_unknown_only_when_eventbridge_may_have_taken_it(raised, outcome):
    from botocore import exceptions

    from twilio_connector.publishing import _call_failure

    if isinstance(raised, tuple):
        code, status = raised
        error = exceptions.ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutEvents"
        )
    elif raised == "ConnectionClosedError":
        error = exceptions.ConnectionClosedError(endpoint_url="http://x")
    else:
        error = getattr(exceptions, raised)(endpoint_url="http://x")
    assert _call_failure(error) == outcome


def test_a_throttled_put_events_is_put_again_and_published_once(inbound, handler, lambda_context):
    """A refusal (nothing taken) is safe to put again, unlike a lost answer."""
    throttled = fail_calls(client("events"), "PutEvents", code="ThrottlingException", status=400)
    answer = handler(message("Order Number 42"), lambda_context)
    assert answer["statusCode"] == 200 and "Your reference number is 42" in answer["body"]
    assert len(throttled) == 1 and len(inbound.events()) == 1
    assert inbound.dead_letters() == []


def test_the_ledger_outlives_what_the_replay_can_find_on_the_queue():
    """The replay may run as long as the dead-letter queue keeps a message: the ledger must
    still know what was published by then."""
    from local.template import load_template
    from twilio_connector import event_ledger

    queue = load_template()["Resources"]["InboundDeadLetterQueue"]["Properties"]
    assert int(queue["MessageRetentionPeriod"]) < event_ledger.TTL_SECONDS
