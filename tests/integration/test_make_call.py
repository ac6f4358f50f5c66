"""MAKE_CALL through the real handler, moto and the emulator."""

import json

import pytest

from local.twilio_emulator import MAGIC_FROM
from tests.conftest import SECRET, load_event, load_function
from tests.integration.helpers import expect_error
from tests.spec import validate

A = "+14155550100"
CALL_SCHEMA = {"$ref": "#/components/schemas/api.v2010.account.call"}


@pytest.fixture
def handler():
    return load_function("make_call").lambda_handler


def put_secret(aws, **changes):
    value = {k: v for k, v in {**SECRET, **changes}.items() if v is not None}
    aws.put_secret_value(SecretId="twilio-connector/credentials", SecretString=json.dumps(value))


def test_sample_event_says_the_text(aws, emulator, handler, lambda_context, twilio_spec):
    event = load_event("make_call")
    call = handler(event, lambda_context)
    assert call["sid"].startswith("CA") and call["status"] == "queued"
    assert call["to"] == A and call["from"] == MAGIC_FROM
    assert validate(twilio_spec, CALL_SCHEMA, call) == []
    stored = emulator.calls[call["sid"]]
    assert stored["twiml"] == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Say language="en-US">{event["say"]}</Say></Response>'
    )


def test_numbers_as_people_write_them_are_called_in_e164(
    aws, emulator, handler, lambda_context, monkeypatch
):
    call = handler(
        {"callTo": "+1 (415) 555-0100", "callFrom": "+1 500 555 0006", "say": "hi"}, lambda_context
    )
    assert call["to"] == A and call["from"] == MAGIC_FROM
    call = handler(
        {"callTo": "(415) 555-0100", "say": "hi", "defaultPhoneRegion": "US"}, lambda_context
    )
    assert call["to"] == A
    assert [r["form"]["To"] for r in emulator.requests] == [[A], [A]]


def test_say_is_escaped_by_the_twiml_builder(aws, emulator, handler, lambda_context):
    call = handler({"to": A, "say": "<Hangup/> & goodbye"}, lambda_context)
    twiml = emulator.calls[call["sid"]]["twiml"]
    assert "<Say>&lt;Hangup/&gt; &amp; goodbye</Say>" in twiml


def test_voice_url_and_inline_twiml(aws, emulator, handler, lambda_context):
    call = handler({"callTo": A, "voiceUrl": "https://example.com/voice.xml"}, lambda_context)
    assert emulator.calls[call["sid"]]["url"] == "https://example.com/voice.xml"
    twiml = "<Response><Play>https://example.com/a.mp3</Play></Response>"
    call = handler({"callTo": A, "twiml": twiml}, lambda_context)
    assert emulator.calls[call["sid"]]["twiml"] == twiml


def test_voice_url_defaults_to_the_secret(aws, emulator, handler, lambda_context):
    put_secret(aws, TWILIO_VOICE_URL="https://example.com/default.xml")
    call = handler({"callTo": A}, lambda_context)
    assert emulator.calls[call["sid"]]["url"] == "https://example.com/default.xml"
    assert emulator.requests[-1]["form"]["From"] == [MAGIC_FROM]


def test_optional_parameters(aws, emulator, handler, lambda_context):
    handler(
        {
            "to": A,
            "from": MAGIC_FROM,
            "say": "hi",
            "statusCallback": "https://e.x/s",
            "timeout": 20,
        },
        lambda_context,
    )
    form = emulator.requests[-1]["form"]
    assert form["StatusCallback"] == ["https://e.x/s"] and form["Timeout"] == ["20"]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"say": "hi"}, "MISSING_INPUT"),
        ({"callTo": " ", "say": "hi"}, "MISSING_INPUT"),  # found by make fuzz
        ({"callTo": A}, "MISSING_INPUT"),  # no voiceUrl, twiml or say, and no default
        ({"callTo": "12345", "say": "hi"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"callTo": "(415) 555-0100", "say": "hi"}, "INVALID_TO_PHONE_NUMBER_ERROR"),
        ({"callTo": A, "callFrom": "ACME", "say": "hi"}, "INVALID_FROM_PHONE_NUMBER_ERROR"),
        ({"callTo": A, "say": "hi", "twiml": "<Response/>"}, "INVALID_INPUT"),
        ({"callTo": A, "voiceUrl": "ftp://x"}, "INVALID_INPUT"),
        ({"callTo": A, "twiml": "<Response>"}, "INVALID_INPUT"),
        ({"callTo": A, "twiml": "<Other/>"}, "INVALID_INPUT"),
        ({"callTo": A, "twiml": f"<Response><Say>{'x' * 4000}</Say></Response>"}, "INVALID_INPUT"),
        ({"callTo": A, "say": "x" * 3001}, "INVALID_INPUT"),
        ({"callTo": A, "say": 42}, "INVALID_INPUT"),
        ({"callTo": A, "say": "hi", "language": "english please"}, "INVALID_INPUT"),
        ({"callTo": A, "say": "hi", "timeout": 1}, "INVALID_INPUT"),
        ({"callTo": [A], "say": "hi"}, "INVALID_INPUT"),
        (None, "INVALID_INPUT"),
    ],
)
def test_input_errors_place_no_call(aws, emulator, handler, lambda_context, event, code):
    body = expect_error(handler, lambda_context, event, code)
    assert emulator.requests == []
    if event is not None:  # an input error names the input it is about
        assert body["field"] in MAKE_CALL_INPUTS, body


#: MAKE_CALL's input fields (docs/actions.md's section)
MAKE_CALL_INPUTS = {
    "callTo",
    "callFrom",
    "voiceUrl",
    "twiml",
    "say",
    "language",
    "statusCallback",
    "timeout",
}


def test_no_sender_anywhere(aws, emulator, handler, lambda_context):
    put_secret(aws, TWILIO_FROM=None)
    body = expect_error(handler, lambda_context, {"to": A, "say": "hi"}, "MISSING_INPUT")
    assert body["field"] == "callFrom"


@pytest.mark.parametrize(
    ("to", "sender", "code", "twilio_code"),
    [
        ("+15005550001", MAGIC_FROM, "INVALID_TO_PHONE_NUMBER_ERROR", 21217),
        ("+15005550002", MAGIC_FROM, "INVALID_TO_PHONE_NUMBER_ERROR", 21214),
        ("+15005550003", MAGIC_FROM, "INVALID_REGION_TO_PHONE_NUMBER_ERROR", 21215),
        ("+15005550004", MAGIC_FROM, "PERMISSION_DENIED_ERROR", 21216),
        (A, "+15005550001", "INVALID_FROM_PHONE_NUMBER_ERROR", 21212),
        (A, "+14155559999", "INVALID_FROM_PHONE_NUMBER_ERROR", 21210),
    ],
)
def test_twilio_magic_numbers(
    aws, emulator, handler, lambda_context, to, sender, code, twilio_code
):
    body = expect_error(handler, lambda_context, {"to": to, "from": sender, "say": "hi"}, code)
    assert body["twilioCode"] == twilio_code and to not in json.dumps(body)


def test_twilio_failures(aws, emulator, handler, lambda_context):
    emulator.faults.fail_statuses = [500]
    expect_error(handler, lambda_context, {"to": A, "say": "hi"}, "INTERNAL_SERVER_ERROR")
    emulator.faults.drop_next = 1
    expect_error(handler, lambda_context, {"to": A, "say": "hi"}, "TWILIO_CONNECTION_ERROR")


@pytest.mark.parametrize(
    "event",
    [
        {"callTo": A, "say": "hello\x00"},
        {"callTo": A, "say": "bell\x07"},
        {"callTo": A, "say": "half \ud800 pair"},
        {"callTo": A, "twiml": "<Response><Say>\x0b</Say></Response>"},
        {"callTo": "+1415\ud80055501", "say": "x"},
    ],
)
def test_text_twiml_cannot_carry_is_refused(aws, emulator, handler, lambda_context, event):
    """Found by `make fuzz`: such text reached the TwiML builder and the HTTP client."""
    expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert emulator.requests == []


# --- input that cannot be mistaken ---------------------------------------------------------------
def test_a_dry_run_is_refused_and_no_call_is_placed(aws, emulator, handler, lambda_context):
    event = {"callTo": "+14155550100", "say": "Hello", "dryRun": True}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert body["field"] == "dryRun" and "SEND_SMS only" in body["message"]
    assert emulator.requests == []


def test_a_callee_with_an_extension_is_told_to_drop_it(aws, emulator, handler, lambda_context):
    event = {"callTo": "+1 415 555 0100 ext. 12", "say": "Hello"}
    body = expect_error(handler, lambda_context, event, "INVALID_TO_PHONE_NUMBER_ERROR")
    assert "without its extension" in body["message"] and "country code" not in body["message"]
    assert emulator.requests == []


def test_call_to_and_to_with_different_numbers_place_no_call(
    aws, emulator, handler, lambda_context
):
    event = {"callTo": "+14155550100", "to": "+14155550101", "say": "Hello"}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert (body["field"], body["conflictsWith"]) == ("callTo", "to")
    assert emulator.requests == []
