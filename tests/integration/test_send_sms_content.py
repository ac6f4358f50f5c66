"""SEND_SMS's Content templates (contentSid, contentVariables), segments and encoding,
smartEncoding and maxSegments, through the real handler, moto and the Twilio emulator."""

import json

import pytest

from local.twilio_emulator import DEMO_CONTENT_SID, MAGIC_FROM
from tests.conftest import SECRET, load_function, reset_layer_caches
from tests.integration.helpers import expect_error
from tests.spec import check_request

A, B = "+14155550100", "+14155550101"
WA = "whatsapp:" + A
MG = "MG" + "a" * 32
LIST = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
LONG_UCS2 = "Привет, " * 18  # 144 UCS-2 units: 3 segments (67 per part)
CLOSED_PORT_CALLBACK = "http://127.0.0.1:9/status"  # nobody listens: the attempt is recorded


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def put_secret(aws, **changes):
    value = {**SECRET, **changes}
    aws.put_secret_value(
        SecretId="twilio-connector/credentials",
        SecretString=json.dumps({k: v for k, v in value.items() if v is not None}),
    )
    reset_layer_caches()


def creates(emulator) -> list[dict[str, list[str]]]:
    return [r["form"] for r in emulator.requests if r["method"] == "POST"]


def check_requests_against_the_spec(emulator, spec) -> None:
    for form in creates(emulator):
        check_request(spec, LIST, "post", form)


# --- segments and encoding ----------------------------------------------------------------------
def test_every_message_carries_its_segments_and_encoding(
    aws, emulator, handler, lambda_context, twilio_spec
):
    result = handler(
        {"smsTo": [A, B], "smsBody": "Hi ${name} 👋", "metadata": {"name": "Ada"}}, lambda_context
    )
    assert [(m["segments"], m["encoding"]) for m in result["messages"]] == [(1, "UCS-2")] * 2
    result = handler({"smsTo": A, "smsBody": "€" * 81}, lambda_context)  # 162 septets
    assert (result["messages"][0]["segments"], result["messages"][0]["encoding"]) == (2, "GSM-7")
    result = handler({"smsTo": A, "smsBody": LONG_UCS2}, lambda_context)
    assert (result["messages"][0]["segments"], result["messages"][0]["encoding"]) == (3, "UCS-2")
    check_requests_against_the_spec(emulator, twilio_spec)


def test_segments_are_the_connectors_count_not_twilios_answer(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """Through a Messaging Service Twilio answers num_segments 0 (the sender is not chosen yet):
    the connector's count does not depend on Twilio's answer."""
    monkeypatch.setattr("local.twilio_emulator.server.segments", lambda body: 0)
    put_secret(aws, TWILIO_FROM=None)
    result = handler({"smsTo": A, "smsBody": "x" * 161, "messagingServiceSid": MG}, lambda_context)
    message = result["messages"][0]
    assert message["num_segments"] == "0" and message["from"] is None
    assert (message["segments"], message["encoding"]) == (2, "GSM-7")


def test_smart_encoding_is_sent_and_the_count_follows_it(
    aws, emulator, handler, lambda_context, twilio_spec
):
    body = "We’re “open” today – see you soon… " * 4  # noqa: RUF001 (140 characters)
    plain = handler({"smsTo": A, "smsBody": body}, lambda_context)["messages"][0]
    smart = handler({"smsTo": A, "smsBody": body, "smartEncoding": True}, lambda_context)
    smart = smart["messages"][0]
    assert (plain["segments"], plain["encoding"]) == (3, "UCS-2")
    assert (smart["segments"], smart["encoding"]) == (1, "GSM-7")
    assert smart["body"] == body  # the text as given: Twilio replaces the characters
    first, second = creates(emulator)
    assert "SmartEncoded" not in first and second["SmartEncoded"] == ["true"]
    check_requests_against_the_spec(emulator, twilio_spec)


# --- maxSegments --------------------------------------------------------------------------------
def test_a_body_over_max_segments_is_refused_and_nothing_is_sent(
    aws, emulator, handler, lambda_context
):
    event = {"smsTo": [A, B], "smsBody": "${greeting}", "metadata": {"greeting": LONG_UCS2}}
    body = expect_error(handler, lambda_context, {**event, "maxSegments": 2}, "TOO_MANY_SEGMENTS")
    assert body["field"] == "smsBody"
    assert (body["segments"], body["maxSegments"], body["encoding"]) == (3, 2, "UCS-2")
    assert "3 SMS segments" in body["message"] and "maxSegments is 2" in body["message"]
    assert emulator.requests == []
    # a dry run is refused the same way
    expect_error(
        handler, lambda_context, {**event, "maxSegments": 2, "dryRun": True}, "TOO_MANY_SEGMENTS"
    )
    assert emulator.requests == []
    result = handler({**event, "maxSegments": 3}, lambda_context)
    assert len(result["smsResult"]) == 2


def test_max_segments_counts_after_smart_encoding(aws, emulator, handler, lambda_context):
    body = "“quoted” " * 10  # 90 characters: 2 UCS-2 segments, 1 GSM-7 once smart-encoded
    expect_error(
        handler,
        lambda_context,
        {"smsTo": A, "smsBody": body, "maxSegments": 1},
        "TOO_MANY_SEGMENTS",
    )
    event = {"smsTo": A, "smsBody": body, "maxSegments": 1, "smartEncoding": "true"}
    assert handler(event, lambda_context)["messages"][0]["segments"] == 1


# --- dry run ------------------------------------------------------------------------------------
def test_a_dry_run_reports_each_messages_segments_and_encoding(
    aws, emulator, handler, lambda_context
):
    result = handler(
        {"smsTo": [A, B], "smsBody": "${text}", "metadata": {"text": LONG_UCS2}, "dryRun": True},
        lambda_context,
    )
    assert result["messages"] == [
        {"to": to, "body": LONG_UCS2, "segments": 3, "encoding": "UCS-2"} for to in (A, B)
    ]
    assert emulator.requests == []


def test_a_dry_run_of_a_content_template(aws, emulator, handler, lambda_context):
    event = {
        "smsTo": WA,
        "smsFrom": "whatsapp:" + MAGIC_FROM,
        "contentSid": DEMO_CONTENT_SID,
        "contentVariables": {"1": "${day}", "2": "3pm"},
        "metadata": {"day": "Monday"},
        "dryRun": True,
    }
    result = handler(event, lambda_context)
    assert result["messages"] == [{"to": WA, "body": None, "segments": None, "encoding": None}]
    assert result["wouldSend"]["contentSid"] == DEMO_CONTENT_SID
    assert result["wouldSend"]["contentVariables"] == {"1": "Monday", "2": "3pm"}
    assert emulator.requests == []


# --- Content templates --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("to", "sender"),
    [
        (WA, {"smsFrom": "whatsapp:" + MAGIC_FROM}),
        (A, {"smsFrom": MAGIC_FROM}),
        (A, {"messagingServiceSid": MG}),
        (WA, {"messagingServiceSid": MG}),
    ],
)
def test_a_content_template_is_sent_with_its_rendered_variables(
    aws, emulator, handler, lambda_context, twilio_spec, to, sender
):
    if "messagingServiceSid" in sender:
        put_secret(aws, TWILIO_FROM=None)  # the service picks the sender
    event = {
        "smsTo": to,
        **sender,
        "contentSid": DEMO_CONTENT_SID,
        "contentVariables": {"1": "${day?upper_case}", "2": "${time}"},
        "metadata": {"day": "Monday", "time": "3pm"},
    }
    result = handler(event, lambda_context)
    [form] = creates(emulator)
    assert form["ContentSid"] == [DEMO_CONTENT_SID] and "Body" not in form
    assert json.loads(form["ContentVariables"][0]) == {"1": "MONDAY", "2": "3pm"}
    [message] = result["messages"]
    assert message["body"] == "Your appointment is on MONDAY at 3pm"  # Twilio's rendering
    assert (message["segments"], message["encoding"]) == (None, None)
    assert emulator.messages[message["sid"]]["status"] != "failed"
    check_requests_against_the_spec(emulator, twilio_spec)


def test_content_variables_may_be_a_json_string(aws, emulator, handler, lambda_context):
    event = {
        "smsTo": A,
        "contentSid": DEMO_CONTENT_SID,
        "contentVariables": json.dumps({"1": "Friday", "2": "noon"}),
    }
    message = handler(event, lambda_context)["messages"][0]
    assert message["body"] == "Your appointment is on Friday at noon"


def test_an_unknown_content_sid_is_twilios_21655(aws, emulator, handler, lambda_context):
    event = {"smsTo": A, "contentSid": "HX" + "f" * 32}
    body = expect_error(handler, lambda_context, event, "INVALID_REQUEST_ERROR")
    assert body["twilioCode"] == 21655 and body["status"] == 400


def test_a_content_variable_template_error_names_the_field(aws, emulator, handler, lambda_context):
    event = {"smsTo": A, "contentSid": DEMO_CONTENT_SID, "contentVariables": {"1": "${missing}"}}
    body = expect_error(handler, lambda_context, event, "TEMPLATE_METADATA_ERROR")
    assert (body["field"], body["variable"]) == ("contentVariables", "1")
    assert emulator.requests == []


def test_an_idempotent_retry_of_a_content_send_sends_nothing_more(
    aws, emulator, handler, lambda_context
):
    event = {
        "smsTo": [A, B],
        "contentSid": DEMO_CONTENT_SID,
        "contentVariables": {"1": "Monday", "2": "3pm"},
        "idempotencyKey": "appointment-42",
    }
    first = handler(event, lambda_context)
    again = handler(event, lambda_context)
    assert again["replayed"] is True and again["smsResult"] == first["smsResult"]
    assert len(creates(emulator)) == 2
    other = {**event, "contentVariables": {"1": "Tuesday", "2": "3pm"}}
    expect_error(handler, lambda_context, other, "IDEMPOTENCY_KEY_REUSED")
    assert len(creates(emulator)) == 2


# --- WhatsApp's 24-hour window (the emulator models it as Twilio behaves) ------------------------
def test_a_whatsapp_free_form_message_outside_the_window_is_accepted_then_fails_63016(
    aws, emulator, handler, lambda_context
):
    event = {"smsTo": WA, "smsFrom": "whatsapp:" + MAGIC_FROM, "smsBody": "Hello"}
    message = handler(event, lambda_context)["messages"][0]
    assert message["status"] == "queued"  # accepted: the failure comes later
    stored = emulator.messages[message["sid"]]
    assert (stored["status"], stored["error_code"]) == ("failed", 63016)
    # inside the window (the user wrote in less than 24 hours ago) free-form passes
    emulator.last_inbound[WA] = emulator.now()
    message = handler({**event, "smsBody": "Hello again"}, lambda_context)["messages"][0]
    assert emulator.messages[message["sid"]]["status"] == "queued"
    assert len(emulator.messages) == 2


def test_the_63016_failure_comes_in_the_status_callback(aws, emulator, handler, lambda_context):
    event = {
        "smsTo": WA,
        "smsFrom": "whatsapp:" + MAGIC_FROM,
        "smsBody": "Hello",
        "statusCallback": CLOSED_PORT_CALLBACK,
    }
    sid = handler(event, lambda_context)["messages"][0]["sid"]
    template = {**event, "contentSid": DEMO_CONTENT_SID, "smsBody": None}
    passed = handler(template, lambda_context)["messages"][0]["sid"]
    emulator.drain_callbacks()
    statuses = {
        (d["params"]["MessageSid"], d["params"]["MessageStatus"], d["params"].get("ErrorCode"))
        for d in emulator.webhook_deliveries
    }
    assert (sid, "failed", "63016") in statuses
    assert not any(s == sid and status == "sent" for s, status, _ in statuses)
    assert (passed, "delivered", None) in statuses


# --- bad input: INVALID_INPUT naming the field, nothing sent -------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contentSid": "HX123"}, "contentSid"),
        ({"contentSid": "MG" + "0" * 32}, "contentSid"),
        ({"contentSid": "HX" + "g" * 32}, "contentSid"),
        ({"contentSid": 42}, "contentSid"),
        ({"contentSid": DEMO_CONTENT_SID, "smsBody": "x"}, "contentSid"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": {"1": 5}}, "contentVariables"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": {"1": None}}, "contentVariables"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": {"1": ["a"]}}, "contentVariables"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": ["a"]}, "contentVariables"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": "{not json"}, "contentVariables"),
        ({"contentSid": DEMO_CONTENT_SID, "contentVariables": {"": "x"}}, "contentVariables"),
        ({"smsBody": "x", "contentVariables": {"1": "a"}}, "contentVariables"),
        ({"smsBody": "x", "maxSegments": 0}, "maxSegments"),
        ({"smsBody": "x", "maxSegments": 11}, "maxSegments"),
        ({"smsBody": "x", "maxSegments": "two"}, "maxSegments"),
        ({"smsBody": "x", "maxSegments": 1.5}, "maxSegments"),
        ({"smsBody": "x", "maxSegments": True}, "maxSegments"),
        ({"smsBody": "x", "dryRun": "maybe"}, "dryRun"),
        ({"smsBody": "x", "dryRun": 1}, "dryRun"),
        ({"smsBody": "x", "smartEncoding": "yes"}, "smartEncoding"),
    ],
)
def test_bad_input_is_invalid_input_naming_the_field(
    aws, emulator, handler, lambda_context, changes, field
):
    event = {"smsTo": A, **changes}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert body["field"] == field
    assert emulator.requests == []


def test_a_content_template_needs_no_body_but_something_must_be_sent(
    aws, emulator, handler, lambda_context
):
    body = expect_error(handler, lambda_context, {"smsTo": A}, "MISSING_INPUT")
    assert body["field"] == "smsBody" and "contentSid" in body["message"]


def test_a_lost_answer_to_a_content_send_is_reconciled_not_sent_twice(
    aws, emulator, handler, lambda_context
):
    """Twilio stores a Content template's text, not the request's: the lost message is found by
    recipient and sender, and adopted."""
    emulator.faults.drop_after_store = 1
    event = {"smsTo": A, "contentSid": DEMO_CONTENT_SID, "contentVariables": {"1": "Monday"}}
    result = handler(event, lambda_context)
    assert len(emulator.messages) == 1
    assert result["messages"][0]["sid"] == next(iter(emulator.messages))
