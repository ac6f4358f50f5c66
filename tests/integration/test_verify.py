"""VERIFY_START and VERIFY_CHECK through the real handlers, moto and the emulator's Verify v2."""

import json
import re
from datetime import timedelta

import pytest

from local.twilio_emulator.verify_lookup import DEFAULT_VERIFY_SERVICE_SID, VERIFY_SENDER
from tests.conftest import SECRET, load_function, reset_layer_caches
from tests.integration.helpers import expect_error

A = "+14155550100"
LANDLINE = "+14155550106"  # the emulator's ranges: a last digit of 6 or 7 is a landline


@pytest.fixture
def start():
    return load_function("verify_start").lambda_handler


@pytest.fixture
def check():
    return load_function("verify_check").lambda_handler


@pytest.fixture
def service(aws, monkeypatch):
    """The Verify Service from the function's environment (template parameter VerifyServiceSid)."""
    monkeypatch.setenv("VERIFY_SERVICE_SID", DEFAULT_VERIFY_SERVICE_SID)
    reset_layer_caches()
    return DEFAULT_VERIFY_SERVICE_SID


def sms_codes(emulator, to=A):
    return [
        m["body"]
        for m in emulator.messages.values()
        if m["to"] == to and m["from"] == VERIFY_SENDER
    ]


def test_start_sends_a_code_by_sms_and_the_right_code_approves(
    service, emulator, start, check, lambda_context
):
    started = start({"to": "+1 (415) 555-0100"}, lambda_context)
    assert started["to"] == A and started["status"] == "pending" and started["channel"] == "sms"
    assert started["sid"].startswith("VE")
    [body] = sms_codes(emulator)  # the code reached the phone, as an SMS in the outbox
    code = body.rsplit(" ", 1)[1]
    assert (
        body == f"Your Acme verification code is: {code}"
        and code == emulator.verify_lookup.code_for(A)
    )
    [request] = emulator.requests
    assert request["path"] == f"/v2/Services/{service}/Verifications"
    assert request["form"] == {"To": [A], "Channel": ["sms"]}
    approved = check({"to": A, "code": code}, lambda_context)
    assert approved == {"to": A, "status": "approved", "valid": True, "sid": started["sid"]}


def test_a_wrong_code_is_valid_false_not_an_error(service, emulator, start, check, lambda_context):
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    wrong = "000000" if code != "000000" else "111111"
    assert check({"to": A, "code": wrong}, lambda_context) == {
        "to": A,
        "status": "pending",
        "valid": False,
        "sid": emulator_sid(emulator),
    }
    assert check({"to": A, "code": code}, lambda_context)["status"] == "approved"


def emulator_sid(emulator):
    [verification] = emulator.verify_lookup.verifications.values()
    return verification.sid


def test_five_wrong_codes_then_max_attempts(service, emulator, start, check, lambda_context):
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert check({"to": A, "code": wrong}, lambda_context)["valid"] is False
    body = expect_error(
        check, lambda_context, {"to": A, "code": code}, "VERIFICATION_MAX_ATTEMPTS_ERROR"
    )
    assert body["twilioCode"] == 60202 and body["status"] == 429
    assert len([r for r in emulator.requests if r["path"].endswith("VerificationCheck")]) == 6


def test_starting_again_resends_the_same_code_until_five_sends(
    service, emulator, start, lambda_context
):
    first = start({"to": A}, lambda_context)
    for _ in range(4):
        assert start({"to": A}, lambda_context)["sid"] == first["sid"]
    assert len(set(sms_codes(emulator))) == 1 and len(sms_codes(emulator)) == 5
    body = expect_error(start, lambda_context, {"to": A}, "VERIFICATION_MAX_ATTEMPTS_ERROR")
    assert body["twilioCode"] == 60203


def test_no_pending_verification_is_not_found(service, emulator, start, check, lambda_context):
    body = expect_error(check, lambda_context, {"to": A, "code": "123456"}, "NOT_FOUND")
    assert body["twilioCode"] == 20404
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    check({"to": A, "code": code}, lambda_context)
    expect_error(check, lambda_context, {"to": A, "code": code}, "NOT_FOUND")  # approved: closed


def test_a_code_expires_after_ten_minutes(service, emulator, start, check, lambda_context):
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    emulator.advance(timedelta(minutes=9, seconds=59))
    assert emulator.verify_lookup.code_for(A) == code
    emulator.advance(timedelta(seconds=1))
    expect_error(check, lambda_context, {"to": A, "code": code}, "NOT_FOUND")
    again = start({"to": A}, lambda_context)  # a new verification, a new code
    assert again["status"] == "pending" and emulator.verify_lookup.code_for(A) is not None


def test_channels_locale_and_friendly_name(service, emulator, start, lambda_context):
    started = start(
        {"to": A, "channel": "WhatsApp", "locale": "pt-BR", "customFriendlyName": "Loja"},
        lambda_context,
    )
    assert started["channel"] == "whatsapp"
    again = start({"to": "whatsapp:+14155550100", "channel": "whatsapp"}, lambda_context)
    assert again["to"] == A and again["sid"] == started["sid"]  # the number alone, to Verify
    assert emulator.requests[0]["form"] == {
        "To": [A],
        "Channel": ["whatsapp"],
        "Locale": ["pt-BR"],
        "CustomFriendlyName": ["Loja"],
    }
    first, second = sms_codes(emulator, "whatsapp:" + A)
    assert first.startswith("Your Loja verification code is: ")
    assert second.startswith("Your Acme verification code is: ")
    email = start({"to": "ada@example.com", "channel": "email"}, lambda_context)
    assert email == {**email, "to": "ada@example.com", "channel": "email", "status": "pending"}
    assert emulator.verify_lookup.deliveries[-1]["channel"] == "email"
    call = start({"to": "+442079460958", "channel": "call"}, lambda_context)
    assert call["channel"] == "call" and call["to"] == "+442079460958"


def test_national_numbers_with_the_default_region(service, emulator, start, lambda_context):
    started = start({"to": "07911 123456", "defaultPhoneRegion": "GB"}, lambda_context)
    assert started["to"] == "+447911123456"
    call = start(
        {"to": "020 7946 0958", "defaultPhoneRegion": "GB", "channel": "call"}, lambda_context
    )
    assert call["to"] == "+442079460958"  # a landline: called, not texted


def test_sms_to_a_landline_is_refused_by_twilio(service, emulator, start, lambda_context):
    body = expect_error(start, lambda_context, {"to": LANDLINE}, "INVALID_TO_PHONE_NUMBER_ERROR")
    assert body["twilioCode"] == 60205 and body["status"] == 403


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        ({}, "MISSING_INPUT", "to"),
        ({"to": A, "channel": "pigeon"}, "INVALID_INPUT", "channel"),
        ({"to": "4155550100"}, "INVALID_TO_PHONE_NUMBER_ERROR", "to"),
        ({"to": "not an address", "channel": "email"}, "INVALID_INPUT", "to"),
        ({"to": A, "locale": "english please"}, "INVALID_INPUT", "locale"),
        ({"to": A, "customFriendlyName": "x" * 31}, "INVALID_INPUT", "customFriendlyName"),
        ({"to": A, "defaultPhoneRegion": "Mars"}, "INVALID_INPUT", "defaultPhoneRegion"),
        ([A], "INVALID_INPUT", None),
    ],
)
def test_start_refuses_bad_input(service, emulator, start, lambda_context, event, code, field):
    body = expect_error(start, lambda_context, event, code)
    assert body.get("field") == field
    assert emulator.requests == []  # nothing reached Twilio


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        ({"to": A}, "MISSING_INPUT", "code"),
        ({"to": A, "code": "123"}, "INVALID_INPUT", "code"),
        ({"to": A, "code": "12345678901"}, "INVALID_INPUT", "code"),
        ({"to": A, "code": "12a456"}, "INVALID_INPUT", "code"),
        ({"to": A, "code": "١٢٣٤٥٦"}, "INVALID_INPUT", "code"),  # Arabic-Indic digits
        ({"to": A, "code": "123456\n7"}, "INVALID_INPUT", "code"),
        ({"to": A, "code": 123456}, "INVALID_INPUT", "code"),
        ({"code": "123456"}, "MISSING_INPUT", "to"),
        ({"to": "12", "code": "123456"}, "INVALID_TO_PHONE_NUMBER_ERROR", "to"),
    ],
)
def test_check_refuses_bad_input(service, emulator, check, lambda_context, event, code, field):
    body = expect_error(check, lambda_context, event, code)
    assert body.get("field") == field
    assert emulator.requests == []


def test_the_service_comes_from_the_secret_without_the_environment(
    aws, emulator, start, lambda_context, monkeypatch
):
    monkeypatch.delenv("VERIFY_SERVICE_SID", raising=False)
    reset_layer_caches()
    body = expect_error(start, lambda_context, {"to": A}, "MISSING_INPUT")
    assert body["field"] == "VERIFY_SERVICE_SID" and "TWILIO_VERIFY_SERVICE_SID" in body["message"]
    secret = {**SECRET, "TWILIO_VERIFY_SERVICE_SID": DEFAULT_VERIFY_SERVICE_SID}
    aws.put_secret_value(SecretId="twilio-connector/credentials", SecretString=json.dumps(secret))
    reset_layer_caches()
    assert start({"to": A}, lambda_context)["status"] == "pending"
    secret["TWILIO_VERIFY_SERVICE_SID"] = "VAnot-a-sid"
    aws.put_secret_value(SecretId="twilio-connector/credentials", SecretString=json.dumps(secret))
    reset_layer_caches()
    body = expect_error(start, lambda_context, {"to": A}, "INVALID_INPUT")
    assert body["field"] == "TWILIO_VERIFY_SERVICE_SID"


def test_an_unknown_service_is_not_found(aws, emulator, start, lambda_context, monkeypatch):
    monkeypatch.setenv("VERIFY_SERVICE_SID", "VA" + "f" * 32)
    reset_layer_caches()
    body = expect_error(start, lambda_context, {"to": A}, "NOT_FOUND")
    assert body["twilioCode"] == 20404


def test_throttled_checks_are_retried_and_count_once(
    service, emulator, start, check, lambda_context
):
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    emulator.faults.fail_statuses = [503]  # Twilio did nothing: safe to repeat
    assert check({"to": A, "code": code}, lambda_context)["status"] == "approved"


def test_logs_carry_neither_the_number_nor_the_code(
    service, emulator, start, check, lambda_context, all_logs
):
    start({"to": A}, lambda_context)
    code = emulator.verify_lookup.code_for(A)
    check({"to": A, "code": code}, lambda_context)
    start({"to": "ada.lovelace@example.com", "channel": "email"}, lambda_context)
    logs = all_logs()
    assert "Verification started" in logs and "Verification checked" in logs
    assert A not in logs and "ada.lovelace" not in logs
    assert not re.search(rf"(?<!\d){code}(?!\d)", logs)  # the code, as a value of its own
