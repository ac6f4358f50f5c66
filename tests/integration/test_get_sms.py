"""GET_SMS through the real handler, moto and the emulator."""

import pytest

from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID
from tests.conftest import load_event, load_function
from tests.integration.helpers import expect_error
from tests.spec import message_schema, validate

BIZAGI_FIELDS = {
    "sid", "date_created", "date_updated", "date_sent", "account_sid", "to", "from", "body",
    "status", "api_version", "price", "price_unit", "error_code", "error_message", "uri",
}  # fmt: skip


@pytest.fixture
def handler():
    return load_function("get_sms").lambda_handler


def test_sample_event_fetches_the_message(aws, emulator, handler, lambda_context, twilio_spec):
    event = load_event("get_sms")
    emulator.store(
        TEST_ACCOUNT_SID, to="+14155550100", from_=MAGIC_FROM, body="stored", sid=event["sid"]
    )
    message = handler(event, lambda_context)
    assert message["sid"] == event["sid"] and message["body"] == "stored"
    assert set(message) >= BIZAGI_FIELDS
    assert validate(twilio_spec, message_schema(twilio_spec), message) == []


def test_fetches_what_send_sms_sent(aws, emulator, handler, lambda_context):
    sent = load_function("send_sms").lambda_handler(
        {"smsTo": "+14155550100", "smsBody": "round trip"}, lambda_context
    )
    message = dict(sent["messages"][0])
    # SEND_SMS adds its own count of the body to Twilio's resource; GET_SMS is Twilio's
    assert (message.pop("segments"), message.pop("encoding")) == (1, "GSM-7")
    assert handler({"messageSid": message["sid"]}, lambda_context) == message


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({}, "MISSING_INPUT"),
        ({"sid": ""}, "MISSING_INPUT"),
        ({"sid": "  \n "}, "MISSING_INPUT"),
        ({"sid": 42}, "INVALID_INPUT"),
        ({"sid": "SM123"}, "INVALID_INPUT"),
        ({"sid": "CA0123456789abcdef0123456789abcdef"}, "INVALID_INPUT"),
        ({"sid": "SM0123456789abcdef0123456789abcdeg"}, "INVALID_INPUT"),
        ({"sid": "../Calls/x"}, "INVALID_INPUT"),
        ([], "INVALID_INPUT"),
    ],
)
def test_malformed_sid_is_refused_before_any_call(
    aws, emulator, handler, lambda_context, event, code
):
    expect_error(handler, lambda_context, event, code)
    assert emulator.requests == []


def test_unknown_sid_is_not_found(aws, emulator, handler, lambda_context):
    body = expect_error(handler, lambda_context, {"sid": "SM" + "0" * 32}, "NOT_FOUND")
    assert body["twilioCode"] == 20404 and body["status"] == 404


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"fail_statuses": [503]}, "SERVICE_UNAVAILABLE"),
        ({"drop_next": 1}, "TWILIO_CONNECTION_ERROR"),
    ],
)
def test_twilio_failures(aws, emulator, handler, lambda_context, fault, code):
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    expect_error(handler, lambda_context, {"sid": "SM" + "0" * 32}, code)
