"""SEND_SMS through the real handler, with moto for Secrets Manager and the Twilio emulator."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID
from tests.conftest import SECRET, load_event, load_function, reset_layer_caches
from tests.integration.helpers import after_the_hold, expect_error, hold_unknown_outcomes
from tests.spec import message_schema, validate

A, B, C = "+14155550100", "+14155550101", "+14155550102"
MG = "MG" + "a" * 32
MESSAGE_FIELDS = {
    "sid", "status", "to", "from", "body", "date_created", "date_updated", "date_sent",
    "account_sid", "api_version", "price", "price_unit", "error_code", "error_message", "uri",
    "num_segments", "num_media", "direction", "messaging_service_sid", "subresource_uris",
}  # fmt: skip


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def send(handler, context, **event):
    return handler(event, context)


def put_secret(aws, **changes):
    value = {**SECRET, **changes}
    aws.put_secret_value(
        SecretId="twilio-connector/credentials",
        SecretString=json.dumps({k: v for k, v in value.items() if v is not None}),
    )


# --- success ------------------------------------------------------------------------------------
def test_sample_event_sends_the_rendered_body_to_each_recipient(
    aws, emulator, handler, lambda_context, twilio_spec
):
    result = handler(load_event("send_sms"), lambda_context)

    assert list(result) == ["smsResult", "messages", "replayed", "skipped"]
    assert result["replayed"] is False and result["skipped"] == {}
    assert len(result["messages"]) == 2
    assert sorted(result["smsResult"].values()) == [A, B]
    body = "Hello Ada, your order A-1042 ships tomorrow."
    for message in result["messages"]:
        assert result["smsResult"][message["sid"]] == message["to"]
        assert message["body"] == body and message["from"] == MAGIC_FROM
        assert message["status"] == "queued" and message["account_sid"] == TEST_ACCOUNT_SID
        assert set(message) >= MESSAGE_FIELDS
        datetime.strptime(message["date_created"], "%a, %d %b %Y %H:%M:%S %z")
        assert validate(twilio_spec, message_schema(twilio_spec), message) == []
    stored = list(emulator.messages.values())
    assert sorted(m["to"] for m in stored) == [A, B] and {m["body"] for m in stored} == {body}


def test_result_keeps_input_order(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, smsTo=[C, A, B], smsBody="x")
    assert [m["to"] for m in result["messages"]] == [C, A, B]
    assert list(result["smsResult"].values()) == [C, A, B]


@pytest.mark.parametrize(
    "sms_to",
    [
        [A, B],
        f"{A},{B}",
        f"{A};{B}",
        f"{A}\n{B}",
        "+1 (415) 555-0100; +1 415 555 0101",
        f"{A}, {B};\n{A}",
        [A, B, A],
    ],
)
def test_every_input_form_of_sms_to(aws, emulator, handler, lambda_context, sms_to):
    result = send(handler, lambda_context, smsFrom=MAGIC_FROM, smsTo=sms_to, smsBody="hi")
    assert [m["to"] for m in result["messages"]] == [A, B]
    assert len(emulator.messages) == 2


def test_numbers_as_people_write_them_reach_twilio_in_e164(aws, emulator, handler, lambda_context):
    result = send(
        handler,
        lambda_context,
        smsFrom="+1 (500) 555-0006",
        smsTo="+1 (415) 555-0100; 011 1 415 555 0101\n+1.415.555.0102, 001-415-555-0100",
        smsBody="x",
    )
    assert sorted(r["form"]["To"][0] for r in emulator.requests) == [A, B, C]
    assert {r["form"]["From"][0] for r in emulator.requests} == {MAGIC_FROM}
    assert list(result["smsResult"].values()) == [A, B, C]


def test_national_numbers_with_a_default_region(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "US")
    reset_layer_caches()
    result = send(handler, lambda_context, smsTo=["(415) 555-0100", "415.555.0101"], smsBody="x")
    assert list(result["smsResult"].values()) == [A, B]
    # the event's region overrides the default: a UK national number
    result = send(
        handler, lambda_context, smsTo="020 7183 8750", smsBody="x", defaultPhoneRegion="GB"
    )
    assert list(result["smsResult"].values()) == ["+442071838750"]


def test_national_numbers_without_a_region_send_nothing(aws, emulator, handler, lambda_context):
    body = expect_error(
        handler,
        lambda_context,
        {"smsTo": [A, "(415) 555-0101"], "smsBody": "x"},
        "INVALID_TO_PHONE_NUMBER_ERROR",
    )
    assert [item["index"] for item in body["invalid"]] == [1]
    assert "DEFAULT_PHONE_REGION" in body["message"]
    assert emulator.requests == []


def test_bizagi_aliases(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, **{"from": MAGIC_FROM, "to": A, "body": "alias"})
    assert result["messages"][0]["body"] == "alias" and result["messages"][0]["to"] == A


def test_sender_defaults_to_the_secret(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, smsTo=A, smsBody="default sender")
    assert result["messages"][0]["from"] == MAGIC_FROM


def test_metadata_as_a_json_string(aws, emulator, handler, lambda_context):
    result = send(
        handler,
        lambda_context,
        smsTo=A,
        smsBody="Dear ${fullName.lastName?upper_case}",
        metadata='{"fullName": {"lastName": "Hopper"}}',
    )
    assert result["messages"][0]["body"] == "Dear HOPPER"


def test_messaging_service_from_input_or_secret(aws, emulator, handler, lambda_context):
    put_secret(aws, TWILIO_FROM=None)
    result = send(handler, lambda_context, smsTo=A, smsBody="x", messagingServiceSid=MG)
    assert result["messages"][0]["messaging_service_sid"] == MG
    assert result["messages"][0]["status"] == "accepted"

    put_secret(aws, TWILIO_FROM=None, TWILIO_MESSAGING_SERVICE_SID=MG)
    from tests.conftest import reset_layer_caches

    reset_layer_caches()
    result = send(handler, lambda_context, smsTo=A, smsBody="x")
    assert result["messages"][0]["messaging_service_sid"] == MG


def test_optional_twilio_parameters_are_passed(aws, emulator, handler, lambda_context):
    send_at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    result = send(
        handler,
        lambda_context,
        smsTo=A,
        smsBody="see attached",
        mediaUrl=["https://example.com/a.png", "https://example.com/b.png"],
        statusCallback="https://example.com/status",
        validityPeriod="600",
        messagingServiceSid=MG,
        sendAt=send_at.isoformat(),
    )
    form = emulator.requests[-1]["form"]
    assert form["MediaUrl"] == ["https://example.com/a.png", "https://example.com/b.png"]
    assert form["StatusCallback"] == ["https://example.com/status"]
    assert form["ValidityPeriod"] == ["600"]
    assert form["ScheduleType"] == ["fixed"]
    assert datetime.fromisoformat(form["SendAt"][0].replace("Z", "+00:00")) == send_at
    assert result["messages"][0]["status"] == "scheduled"
    assert result["messages"][0]["num_media"] == "2"


def test_a_validity_period_drops_a_message_that_would_wait_too_long(
    aws, emulator, handler, lambda_context
):
    """Twilio (the emulator's queues, a 1-segment/s long code) drops what would wait longer."""
    emulator.set_clock_speed(0)
    emulator.configure_senders(True)
    result = send(handler, lambda_context, smsTo=[A, B, C], smsBody="x", validityPeriod=1)
    assert [m["status"] for m in result["messages"]] == ["queued"] * 3
    assert {r["form"]["ValidityPeriod"][0] for r in emulator.requests} == {"1"}
    emulator.advance(timedelta(seconds=2))
    outcomes = sorted((m["status"], m["error_code"] or 0) for m in emulator.messages.values())
    assert outcomes == [("delivered", 0), ("delivered", 0), ("failed", 30036)]


def test_media_only_message(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, smsTo=A, mediaUrl="https://example.com/a.png")
    assert result["messages"][0]["num_media"] == "1"


def test_whatsapp_recipient(aws, emulator, handler, lambda_context):
    result = send(
        handler,
        lambda_context,
        smsFrom=f"whatsapp:{MAGIC_FROM}",
        smsTo=f"whatsapp:{A}",
        smsBody="x",
    )
    assert result["messages"][0]["to"] == f"whatsapp:{A}"


def test_api_key_credentials_are_preferred(aws, emulator, handler, lambda_context):
    key, secret = "SK" + "b" * 32, "api-key-secret-value"
    emulator.api_keys[key] = (secret, TEST_ACCOUNT_SID)
    try:
        put_secret(aws, TWILIO_API_KEY=key, TWILIO_API_SECRET=secret, TWILIO_TOKEN="wrong-token")
        result = send(handler, lambda_context, smsTo=A, smsBody="x")
        assert result["messages"][0]["sid"].startswith("SM")
    finally:
        emulator.api_keys.clear()


# --- failOnError: false (Alfresco's "always successful") ----------------------------------------
def test_fail_on_error_false_success(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, smsTo=A, smsBody="x", failOnError=False)
    assert result["twilioError"] is None
    assert list(result["twilioResult"]["smsResult"].values()) == [A]


def test_fail_on_error_false_partial_failure(aws, emulator, handler, lambda_context):
    result = send(
        handler, lambda_context, smsTo=[A, "+15005550001", B], smsBody="x", failOnError="false"
    )
    assert list(result["twilioResult"]["smsResult"].values()) == [A, B]
    [error] = result["twilioError"]
    assert error["code"] == "INVALID_TO_PHONE_NUMBER_ERROR" and error["twilioCode"] == 21211
    assert error["to"] == "+15005550001" and error["index"] == 1


def test_fail_on_error_false_input_error(aws, emulator, handler, lambda_context):
    result = send(handler, lambda_context, smsBody="x", failOnError=False)
    assert result["twilioResult"] is None
    assert result["twilioError"][0]["code"] == "MISSING_INPUT"
    assert emulator.messages == {}


# --- partial failure ----------------------------------------------------------------------------
def test_one_failing_recipient_does_not_stop_the_others(aws, emulator, handler, lambda_context):
    event = {"smsTo": [A, "+15005550003", B, "+15005550004"], "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, "INVALID_REGION_TO_PHONE_NUMBER_ERROR")

    assert sorted(m["to"] for m in emulator.messages.values()) == [A, B]
    assert body["message"].startswith("2 of 4 recipient(s) failed")
    assert [s["index"] for s in body["sent"]] == [0, 2]
    assert all(s["sid"].startswith("SM") for s in body["sent"])
    assert [(f["index"], f["code"]) for f in body["failed"]] == [
        (1, "INVALID_REGION_TO_PHONE_NUMBER_ERROR"),
        (3, "PERMISSION_DENIED_ERROR"),
    ]
    assert A not in json.dumps(body) and "+15005550003" not in json.dumps(body)


# --- every error code SEND_SMS can reach --------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"smsBody": "x"}, "MISSING_INPUT"),
        ({"smsTo": A}, "MISSING_INPUT"),
        ({"smsTo": A, "smsBody": ""}, "MISSING_INPUT"),
        ({"smsTo": "", "smsBody": "x"}, "MISSING_INPUT"),
        ({"smsTo": 14155550100, "smsBody": "x"}, "INVALID_INPUT"),
        ({"smsTo": [A, None], "smsBody": "x"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": 42}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "metadata": "{oops"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "metadata": [1]}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "${x}", "metadata": {"x": "y" * 1601}}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "${x!}"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "${x}", "metadata": {"x": "half \ud800"}}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "smsFrom": "AC\ud800ME"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "mediaUrl": "ftp://x"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "mediaUrl": ["https://a"] * 11}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "statusCallback": "not a url"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "validityPeriod": 0}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "validityPeriod": "soon"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "validityPeriod": 36001}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "messagingServiceSid": "MG1"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "sendAt": "tomorrow"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "sendAt": "2020-01-01T00:00:00Z"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "sendAtOffset": "-P1D"}, "MISSING_INPUT"),
        (
            {"smsTo": A, "smsBody": "x", "sendAt": "2099-01-01T00:00Z", "sendAtOffset": "P1M"},
            "INVALID_INPUT",
        ),
        (
            {"smsTo": A, "smsBody": "x", "sendAt": "9999-12-31T00:00Z", "sendAtOffset": "P9W"},
            "INVALID_INPUT",
        ),
        ({"smsTo": A, "smsBody": "x", "failOnError": "maybe"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "smsFrom": 15005550006}, "INVALID_INPUT"),
        ({"smsTo": "0044 20 7183", "smsBody": "x"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"smsTo": [A, "12345"], "smsBody": "x"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"smsTo": [A, "(415) 555-0101"], "smsBody": "x"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"smsTo": f"{A} {B}", "smsBody": "x"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"smsTo": A, "smsBody": "x", "defaultPhoneRegion": "ZZ"}, "INVALID_INPUT"),
        (
            {"smsTo": A, "smsBody": "x", "smsFrom": "not-a-sender!"},
            "INVALID_FROM_PHONE_NUMBER_ERROR",
        ),
        ({"smsTo": A, "smsBody": "${missing}"}, "TEMPLATE_METADATA_ERROR"),
        ({"smsTo": A, "smsBody": "${a.b}", "metadata": {"a": {}}}, "TEMPLATE_METADATA_ERROR"),
        ({"smsTo": A, "smsBody": "Hi ${name"}, "TEMPLATE_SYNTAX_ERROR"),
        ({"smsTo": A, "smsBody": "${name?nonsense}"}, "TEMPLATE_SYNTAX_ERROR"),
        (
            {"smsTo": A, "smsBody": "${x}" + "x" * 10_001, "metadata": {"x": 1}},
            "TEMPLATE_READ_ERROR",
        ),
        ({"smsTo": A, "smsBody": "bad \x00 byte"}, "TEMPLATE_READ_ERROR"),
        ({"smsTo": A, "smsBody": "x" * 10_001}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "sendAt": "2099-01-01T09:00:00"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsbody": "x"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "to": B}, "INVALID_INPUT"),
    ],
)
def test_input_errors_send_nothing(aws, emulator, handler, lambda_context, event, code):
    body = expect_error(handler, lambda_context, event, code)
    assert emulator.requests == []
    # an input error names the input it is about (a template's error: smsBody; a near miss:
    # the name as given, a did-you-mean of one of them)
    assert body["field"] in SEND_SMS_INPUTS or body.get("didYouMean") in SEND_SMS_INPUTS, body


#: SEND_SMS's input fields (docs/actions.md's table)
SEND_SMS_INPUTS = {
    "smsTo", "smsBody", "smsFrom", "metadata", "messagingServiceSid", "mediaUrl",
    "statusCallback", "sendAt", "sendAtOffset", "validityPeriod", "idempotencyKey", "taskToken",
    "waitFor", "failOnError", "defaultPhoneRegion", "dryRun",
}  # fmt: skip


@pytest.mark.parametrize("event", [None, [], "smsTo", 42])
def test_an_event_that_is_not_an_object(aws, emulator, handler, lambda_context, event):
    expect_error(handler, lambda_context, event, "INVALID_INPUT")


def test_send_at_offset_schedules_relative_to_send_at(aws, emulator, handler, lambda_context):
    """A reminder a day before an appointment: Step Functions cannot subtract dates itself."""
    appointment = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    result = send(
        handler,
        lambda_context,
        smsTo=A,
        smsBody="See you tomorrow",
        messagingServiceSid=MG,
        sendAt=appointment.isoformat(),
        sendAtOffset="-P1D",
    )
    assert result["messages"][0]["status"] == "scheduled"
    [request] = emulator.requests
    sent_at = datetime.fromisoformat(request["form"]["SendAt"][0].replace("Z", "+00:00"))
    assert sent_at == appointment - timedelta(days=1)
    # an appointment too close for a reminder a day ahead is refused before any call
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    body = expect_error(
        handler,
        lambda_context,
        {
            "smsTo": A,
            "smsBody": "x",
            "messagingServiceSid": MG,
            "sendAt": soon,
            "sendAtOffset": "-PT24H",
        },
        "INVALID_INPUT",
    )
    assert body["field"] == "sendAt" and "sendAtOffset" in body["message"]
    assert len(emulator.requests) == 1


def test_sendat_needs_a_messaging_service(aws, emulator, handler, lambda_context):
    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x", "sendAt": send_at}, "MISSING_INPUT"
    )
    assert body["field"] == "messagingServiceSid"


def test_no_sender_anywhere(aws, emulator, handler, lambda_context):
    put_secret(aws, TWILIO_FROM=None)
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "MISSING_INPUT")
    assert body["field"] == "smsFrom"


@pytest.mark.parametrize(
    ("to", "sender", "code", "twilio_code"),
    [
        ("+15005550001", MAGIC_FROM, "INVALID_TO_PHONE_NUMBER_ERROR", 21211),
        ("+15005550002", MAGIC_FROM, "INVALID_TO_PHONE_NUMBER_ERROR", 21612),
        ("+15005550003", MAGIC_FROM, "INVALID_REGION_TO_PHONE_NUMBER_ERROR", 21408),
        ("+15005550004", MAGIC_FROM, "PERMISSION_DENIED_ERROR", 21610),
        ("+15005550009", MAGIC_FROM, "INVALID_TO_PHONE_NUMBER_ERROR", 21614),
        (A, "+15005550001", "INVALID_FROM_PHONE_NUMBER_ERROR", 21212),
        (A, "+14155559999", "INVALID_FROM_PHONE_NUMBER_ERROR", 21606),
    ],
)
def test_twilio_magic_numbers(
    aws, emulator, handler, lambda_context, to, sender, code, twilio_code
):
    event = {"smsTo": to, "smsFrom": sender, "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, code)
    assert body["twilioCode"] == twilio_code and body["status"] == 400
    assert body["moreInfo"] == f"https://www.twilio.com/docs/errors/{twilio_code}"
    assert to not in json.dumps(body) and sender not in json.dumps(body)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_SERVER_ERROR"),
        (502, "BAD_GATEWAY"),
        (504, "GATEWAY_TIMEOUT"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
    ],
)
def test_twilio_http_statuses(aws, emulator, handler, lambda_context, status, code):
    emulator.faults.fail_statuses = [status]
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, code)
    assert body["status"] == status


@pytest.mark.parametrize(
    ("status", "twilio_code", "code"),
    [
        (400, 21620, "INVALID_REQUEST_ERROR"),
        (400, 21608, "PERMISSION_DENIED_ERROR"),
        (400, 21659, "INVALID_FROM_PHONE_NUMBER_ERROR"),
        (401, 20005, "AUTHENTICATION_CONNECTION_ERROR"),
        (400, 30000, "BAD_REQUEST"),
        (418, 30001, "INVALID_REQUEST_ERROR"),
    ],
)
def test_twilio_error_codes(aws, emulator, handler, lambda_context, status, twilio_code, code):
    emulator.faults.fail_errors = [{"status": status, "code": twilio_code, "message": "refused"}]
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, code)
    assert body["twilioCode"] == twilio_code and body["status"] == status


def test_wrong_token_is_an_authentication_error(aws, emulator, handler, lambda_context):
    put_secret(aws, TWILIO_TOKEN="0" * 32)
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "AUTHENTICATION_CONNECTION_ERROR"
    )
    assert body["twilioCode"] == 20003 and body["status"] == 401


@pytest.mark.parametrize(
    "secret",
    [
        "not json",
        json.dumps({"TWILIO_TOKEN": "x" * 32}),
        json.dumps({"TWILIO_ACCOUNT": TEST_ACCOUNT_SID}),
        json.dumps({"TWILIO_ACCOUNT": "AC123", "TWILIO_TOKEN": "x" * 32}),
        json.dumps([1, 2]),
        json.dumps({**SECRET, "TWILIO_API_KEY": "SK" + "1" * 32}),
    ],
)
def test_unusable_secret(aws, emulator, handler, lambda_context, secret):
    aws.put_secret_value(SecretId="twilio-connector/credentials", SecretString=secret)
    expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "AUTHENTICATION_CONNECTION_ERROR"
    )
    assert emulator.requests == []


def test_missing_secret(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("TWILIO_SECRET_ID", "no-such-secret")
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "AUTHENTICATION_CONNECTION_ERROR"
    )
    assert "ResourceNotFoundException" in body["message"]


def test_dropped_connection(aws, emulator, handler, lambda_context):
    emulator.faults.drop_next = 1
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TWILIO_CONNECTION_ERROR")


def test_read_timeout(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("TWILIO_READ_TIMEOUT", "0.2")
    emulator.faults.latency = 1.0
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TWILIO_CONNECTION_ERROR"
    )
    assert "in time" in body["message"]


def test_twilio_unreachable(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:9")  # discard port: refused
    lambda_context.remaining_ms = 3000  # retried (the request never left) while time is left
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TWILIO_CONNECTION_ERROR")


def test_busy_answers_are_retried(aws, emulator, handler, lambda_context):
    emulator.faults.fail_statuses = [429, 429]  # Twilio's concurrency limit: nothing was done
    result = send(handler, lambda_context, smsTo=A, smsBody="x")
    assert len(result["messages"]) == 1 and len(emulator.messages) == 1
    assert len(emulator.requests) == 3


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_SERVER_ERROR"),
        (502, "BAD_GATEWAY"),
        (503, "SERVICE_UNAVAILABLE"),
        (504, "GATEWAY_TIMEOUT"),
    ],
)
def test_a_5xx_to_a_send_is_asked_about_not_sent_again(
    aws, emulator, handler, lambda_context, status, code, monkeypatch
):
    """A 5xx says nothing of what Twilio did: it is not re-sent in the invocation; Twilio is
    asked; the workflow's retry sends once what Twilio does not have (issue 24, item 1)."""
    hold_unknown_outcomes(monkeypatch)
    emulator.faults.fail_statuses = [status]  # refused, nothing stored
    event = {"smsTo": A, "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, code)
    assert body["status"] == status and emulator.messages == {}
    assert [r["method"] for r in emulator.requests] == ["POST", "GET"]  # sent once, then asked
    after_the_hold()
    result = handler(event, lambda_context)  # the Retry: asks again, finds nothing, sends
    assert len(emulator.messages) == 1 and set(result["smsResult"]) == set(emulator.messages)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_message_stored_before_a_5xx_is_adopted_not_sent_twice(
    aws, emulator, handler, lambda_context, status
):
    """Twilio stored the message, then answered 5xx: the send finds it and keeps it."""
    emulator.faults.fail_after_store = [status]
    event = {"smsTo": A, "smsBody": "stored then failed"}
    result = handler(event, lambda_context)  # the one look finds it at once
    assert len(emulator.messages) == 1
    assert set(result["smsResult"]) == set(emulator.messages)
    again = handler(event, lambda_context)
    assert again["replayed"] is True and len(emulator.messages) == 1


def test_busy_answers_until_time_runs_out(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("TWILIO_MAX_ATTEMPTS", "100000")  # only the time bounds the retries
    emulator.faults.fail_statuses = [429] * 10_000
    lambda_context.remaining_ms = 4000  # 2 s of budget after the 2 s safety margin
    started = time.monotonic()
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TOO_MANY_REQUESTS")
    assert time.monotonic() - started < 3.0 and body["status"] == 429
    assert len(emulator.requests) > 3 and emulator.messages == {}


def test_busy_answers_are_retried_a_bounded_number_of_times(aws, emulator, handler, lambda_context):
    emulator.faults.fail_statuses = [429] * 100
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "TOO_MANY_REQUESTS")
    assert len(emulator.requests) == 4  # TWILIO_MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (404, "NOT_FOUND"),
    ],
)
def test_other_answers_are_not_retried(aws, emulator, handler, lambda_context, status, code):
    emulator.faults.fail_statuses = [status]
    expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, code)
    assert len(emulator.requests) == 1


def test_concurrency_limit_answers_are_absorbed_by_the_backoff(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("TWILIO_MAX_ATTEMPTS", "30")  # tests back off for milliseconds only
    emulator.faults.max_concurrency = 1
    emulator.faults.latency = 0.1
    outcomes: list[str] = []

    def invoke(n: int) -> None:
        try:
            handler({"smsTo": A, "smsBody": f"x{n}"}, lambda_context)
            outcomes.append("sent")
        except Exception as exc:  # the code is what matters here
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=invoke, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["sent"] * 4 and len(emulator.messages) == 4
    assert len(emulator.requests) > 4  # some were answered 429 / 20429 and retried


def test_unexpected_failure_is_unknown_error(aws, emulator, handler, lambda_context, monkeypatch):
    from twilio_connector import sms

    def explode(*args, **kwargs):
        raise RuntimeError("boom +14155550100")

    monkeypatch.setattr(sms, "render_body", explode)
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "UNKNOWN_ERROR")
    assert "RuntimeError" in body["message"] and A not in body["message"]


# --- nothing secret in the logs -----------------------------------------------------------------
def test_logs_hold_neither_token_nor_full_phone_number(
    aws, emulator, handler, lambda_context, all_logs
):
    from tests.conftest import reset_layer_caches

    raised: list[str] = []
    send(handler, lambda_context, smsTo=[A, B], smsBody="Hello ${n}", metadata={"n": "x"})
    for event, secret_change in (
        ({"smsTo": [C, "+15005550003"], "smsBody": "x"}, None),
        ({"smsTo": A, "smsBody": "${missing}"}, None),
        ({"smsTo": A, "smsBody": "x"}, {"TWILIO_TOKEN": "0" * 32}),
    ):
        if secret_change:
            put_secret(aws, **secret_change)
            reset_layer_caches()
        with pytest.raises(Exception) as error:
            handler(event, lambda_context)
        raised.append(str(error.value))  # what the Lambda runtime logs as errorMessage

    output = all_logs() + "\n".join(raised)
    assert "SMS sent" in output and "Twilio request" in output  # the logs were captured
    assert "+1********00" in output  # numbers appear masked
    for secret in (SECRET["TWILIO_TOKEN"], "0" * 32, A, B, C, "+15005550003", "Hello x"):
        assert secret not in output


# --- input that cannot be mistaken ---------------------------------------------------------------
def test_a_workflows_whole_state_is_sent_with_its_other_fields_listed_and_warned(
    aws, emulator, handler, lambda_context, all_logs
):
    """A state machine passing its whole state as the payload keeps working; what the
    connector did not read is said, by name, in the result and at WARNING."""
    state = {"smsTo": A, "smsBody": "Hi ${name}", "metadata": {"name": "Ada"}}
    state |= {"orderId": "A-1042", "status": "new", "customer": {"phone": B}}

    result = handler(state, lambda_context)

    assert result["ignoredFields"] == ["customer", "orderId", "status"]
    assert [m["body"] for m in emulator.messages.values()] == ["Hi Ada"]
    lines = [json.loads(x) for x in all_logs().splitlines() if x.startswith("{")]
    [warning] = [x for x in lines if x["message"].startswith("Input fields ignored")]
    assert warning["level"] == "WARNING"
    assert warning["ignoredFields"] == ["customer", "orderId", "status"]
    assert "A-1042" not in json.dumps(warning) and "new" not in warning.values()


def test_without_unknown_fields_the_result_has_no_ignored_fields(
    aws, emulator, handler, lambda_context
):
    assert "ignoredFields" not in send(handler, lambda_context, smsTo=A, smsBody="x")


@pytest.mark.parametrize(
    ("given", "meant"),
    [("smsbody", "smsBody"), ("idempotency_key", "idempotencyKey"), ("dryrun", "dryRun")],
)
def test_a_near_miss_sends_nothing_and_says_what_was_meant(
    aws, emulator, handler, lambda_context, given, meant
):
    event = {"smsTo": A, "smsBody": "x", given: "true"}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert body["field"] == given and body["didYouMean"] == meant
    assert emulator.requests == []


def test_two_aliases_with_different_values_send_nothing(aws, emulator, handler, lambda_context):
    event = {"smsTo": A, "to": B, "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert (body["field"], body["conflictsWith"]) == ("smsTo", "to")
    assert emulator.requests == []
    result = send(handler, lambda_context, smsTo=A, to=A, smsBody="x", body="x")
    assert list(result["smsResult"].values()) == [A] and "ignoredFields" not in result


def test_a_dry_run_checks_and_renders_but_sends_nothing(aws, emulator, handler, lambda_context):
    result = send(
        handler,
        lambda_context,
        smsTo=["+1 (415) 555-0100", B],
        smsBody="Hi ${name}",
        metadata={"name": "Ada"},
        validityPeriod="600",
        dryRun=True,
    )
    assert result["dryRun"] is True and result["smsResult"] == {}
    assert result["messages"] == [
        {"to": to, "body": "Hi Ada", "segments": 1, "encoding": "GSM-7"} for to in (A, B)
    ]
    assert result["wouldSend"]["recipients"] == [A, B]
    assert result["wouldSend"]["body"] == "Hi Ada"
    assert result["wouldSend"]["from"] == MAGIC_FROM  # the secret's default sender
    assert result["wouldSend"]["validityPeriod"] == 600
    assert emulator.requests == [] and emulator.messages == {}


def test_a_dry_run_fails_as_the_send_would(aws, emulator, handler, lambda_context):
    event = {"smsTo": A, "smsBody": "${missing}", "dryRun": True}
    assert expect_error(handler, lambda_context, event, "TEMPLATE_METADATA_ERROR")["field"] == (
        "smsBody"
    )
    event = {"smsTo": A, "smsBody": "x", "sendAt": "2020-01-01T00:00:00Z", "dryRun": "true"}
    event["messagingServiceSid"] = MG
    expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert emulator.requests == []


@pytest.mark.parametrize("length", [1_601, 10_001, 200_000])
def test_a_body_too_long_is_the_same_error_whatever_its_length(
    aws, emulator, handler, lambda_context, length
):
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x" * length}, "INVALID_INPUT"
    )
    assert body["field"] == "smsBody" and f"{length:,} characters" in body["message"]
    assert emulator.requests == []


def test_a_send_at_without_a_zone_is_refused(aws, emulator, handler, lambda_context):
    send_at = (datetime.now(UTC) + timedelta(hours=2)).replace(tzinfo=None, microsecond=0)
    event = {"smsTo": A, "smsBody": "x", "messagingServiceSid": MG, "sendAt": send_at.isoformat()}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert body["field"] == "sendAt" and "add its offset or Z" in body["message"]
    assert emulator.requests == []


def test_a_whatsapp_recipient_with_an_sms_sender_is_twilios_21910(
    aws, emulator, handler, lambda_context
):
    event = {"smsTo": f"whatsapp:{A}", "smsFrom": MAGIC_FROM, "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, "INVALID_REQUEST_ERROR")
    assert body["twilioCode"] == 21910 and body["status"] == 400
    assert emulator.messages == {}
