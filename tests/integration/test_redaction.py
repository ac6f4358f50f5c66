"""One logging policy, every handler: with secrets in play and DEBUG logging, no token, API
secret, authorization header or full phone number reaches a log; bodies only on the switch."""

import json

import pytest

from local.twilio_emulator import TEST_ACCOUNT_SID
from local.twilio_emulator.verify_lookup import DEFAULT_VERIFY_SERVICE_SID
from tests.conftest import SECRET, load_event, load_function, reset_layer_caches

API_KEY, API_SECRET = "SK" + "c" * 32, "api-secret-value-never-logged"
A, B = "+14155550123", "+447700900123"
BODY = "Your one-time code is 918273"


@pytest.fixture
def secrets_in_play(inbound, aws, emulator, monkeypatch):
    emulator.api_keys[API_KEY] = (API_SECRET, TEST_ACCOUNT_SID)
    aws.put_secret_value(
        SecretId="twilio-connector/credentials",
        SecretString=json.dumps(
            {
                **SECRET,
                "TWILIO_API_KEY": API_KEY,
                "TWILIO_API_SECRET": API_SECRET,
                "TWILIO_VERIFY_SERVICE_SID": DEFAULT_VERIFY_SERVICE_SID,
            }
        ),
    )
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    reset_layer_caches()
    yield
    emulator.api_keys.clear()


def drive_every_handler(lambda_context) -> list[str]:
    """Each handler once on its success path and once on a failure; returns what they raised."""
    raised = []

    def call(action, event):
        try:
            return load_function(action).lambda_handler(event, lambda_context)
        except Exception as exc:  # what the Lambda runtime would log as errorMessage
            raised.append(str(exc))
            return None

    sent = call("send_sms", {"smsTo": [A, B], "smsBody": BODY})
    call("send_sms", {"smsTo": [A, "+15005550003"], "smsBody": BODY})
    call("get_sms", {"sid": sent["messages"][0]["sid"]})
    call("get_sms", {"sid": "SM" + "0" * 32})
    call("list_sms", {"to": A, "pageSize": 5})
    call("make_call", {"callTo": A, "say": BODY})
    call("make_call", {"callTo": "+15005550003", "say": BODY})
    call("verify_start", {"to": A})
    call("verify_check", {"to": A, "code": "000000"})
    call("verify_check", {"to": B, "code": "000000"})  # NOT_FOUND
    call("lookup_phone", {"phone": A, "lineType": True})
    call("lookup_phone", {"phone": "+1 555 123 4567"})  # valid: false
    inbound_event = load_event("inbound_sms")
    call("inbound_sms", inbound_event)
    forged = {**inbound_event, "headers": {**inbound_event["headers"], "X-Twilio-Signature": "x"}}
    call("inbound_sms", forged)
    call("inbound_sms", load_event("status_callback"))
    return raised


def test_no_secret_and_no_full_number_in_any_log(secrets_in_play, lambda_context, all_logs):
    raised = drive_every_handler(lambda_context)
    output = all_logs() + "\n".join(raised)
    assert '"level":"DEBUG"' in output  # DEBUG lines were captured too
    leaks = [SECRET["TWILIO_TOKEN"], API_SECRET, "Basic ", A, B, "+15005550003", "+14155550100"]
    assert [leak for leak in leaks if leak in output] == []
    assert BODY not in output and "Order Number 12345" not in output
    assert "+1*********23" in output or "+1********23" in output  # masked, not dropped


def test_bodies_are_logged_only_on_the_debug_switch(
    secrets_in_play, lambda_context, all_logs, monkeypatch
):
    monkeypatch.setenv("LOG_MESSAGE_BODIES", "true")
    reset_layer_caches()
    drive_every_handler(lambda_context)
    output = all_logs()
    assert BODY in output and "Order Number 12345" in output
    assert SECRET["TWILIO_TOKEN"] not in output and A not in output
