"""CANCEL_SMS through the real handler, moto and the emulator: a message scheduled by SEND_SMS
is canceled before its sendAt and never sent; cancelling again is not an error."""

from datetime import UTC, datetime, timedelta

import pytest

from local.twilio_emulator import TEST_ACCOUNT_SID
from tests.conftest import load_event, load_function
from tests.integration.helpers import expect_error
from tests.spec import message_schema, validate

A = "+14155550100"
MG = "MG" + "a" * 32


@pytest.fixture
def cancel():
    return load_function("cancel_sms").lambda_handler


def schedule(lambda_context, hours: int = 24) -> str:
    """SEND_SMS with sendAt: the SID of the scheduled message."""
    send_at = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
    result = load_function("send_sms").lambda_handler(
        {"smsTo": A, "smsBody": "Reminder", "messagingServiceSid": MG, "sendAt": send_at},
        lambda_context,
    )
    [message] = result["messages"]
    assert message["status"] == "scheduled"
    return message["sid"]


def test_sample_event_cancels_the_message(aws, emulator, cancel, lambda_context, twilio_spec):
    event = load_event("cancel_sms")
    emulator.store(
        TEST_ACCOUNT_SID,
        to=A,
        from_=None,
        body="stored",
        messaging_service_sid=MG,
        sid=event["sid"],
        send_at=datetime.now(UTC) + timedelta(days=1),
    )
    message = cancel(event, lambda_context)
    assert message["sid"] == event["sid"] and message["status"] == "canceled"
    assert validate(twilio_spec, message_schema(twilio_spec), message) == []
    [request] = emulator.requests
    assert request["method"] == "POST" and request["form"] == {"Status": ["canceled"]}


def test_a_canceled_message_is_never_sent(aws, emulator, cancel, lambda_context):
    sid = schedule(lambda_context)
    assert cancel({"messageSid": sid}, lambda_context)["status"] == "canceled"
    assert emulator.advance(timedelta(hours=25)) == []
    assert (
        emulator.messages[sid]["status"] == "canceled"
        and emulator.messages[sid]["date_sent"] is None
    )


def test_cancelling_twice_is_not_an_error(aws, emulator, cancel, lambda_context):
    sid = schedule(lambda_context)
    first = cancel({"sid": sid}, lambda_context)
    again = cancel({"sid": sid}, lambda_context)
    assert again["status"] == "canceled" and again["sid"] == first["sid"]


def test_a_sent_message_cannot_be_canceled(aws, emulator, cancel, lambda_context):
    sid = schedule(lambda_context, hours=1)
    emulator.advance(timedelta(hours=2))  # sendAt came: Twilio sent it
    body = expect_error(cancel, lambda_context, {"sid": sid}, "CONFLICT")
    assert body["twilioCode"] == 30409 and body["messageStatus"] == "queued"
    assert emulator.messages[sid]["status"] == "queued"


def test_a_message_that_was_never_scheduled_cannot_be_canceled(
    aws, emulator, cancel, lambda_context
):
    sent = load_function("send_sms").lambda_handler({"smsTo": A, "smsBody": "now"}, lambda_context)
    sid = sent["messages"][0]["sid"]
    body = expect_error(cancel, lambda_context, {"sid": sid}, "CONFLICT")
    assert body["twilioCode"] == 30409 and body["messageStatus"] == "queued"


def test_unknown_sid_is_not_found(aws, emulator, cancel, lambda_context):
    body = expect_error(cancel, lambda_context, {"sid": "SM" + "0" * 32}, "NOT_FOUND")
    assert body["twilioCode"] == 20404 and body["status"] == 404


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({}, "MISSING_INPUT"),
        ({"sid": " "}, "MISSING_INPUT"),
        ({"sid": 42}, "INVALID_INPUT"),
        ({"sid": "SM123"}, "INVALID_INPUT"),
        ({"sid": "../Calls/x"}, "INVALID_INPUT"),
        ("SM" + "0" * 32, "INVALID_INPUT"),
    ],
)
def test_malformed_input_calls_nothing(aws, emulator, cancel, lambda_context, event, code):
    expect_error(cancel, lambda_context, event, code)
    assert emulator.requests == []


def test_a_lost_answer_is_retried_and_still_cancels(aws, emulator, cancel, lambda_context):
    sid = schedule(lambda_context)
    emulator.faults.drop_next = 1
    assert cancel({"sid": sid}, lambda_context)["status"] == "canceled"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"fail_statuses": [500]}, "INTERNAL_SERVER_ERROR"),
        ({"fail_errors": [{"status": 401, "code": 20003}]}, "AUTHENTICATION_CONNECTION_ERROR"),
    ],
)
def test_twilio_failures(aws, emulator, cancel, lambda_context, fault, code):
    sid = schedule(lambda_context)
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    expect_error(cancel, lambda_context, {"sid": sid}, code)
    assert emulator.messages[sid]["status"] == "scheduled"
