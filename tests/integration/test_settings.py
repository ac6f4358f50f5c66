"""The functions' settings: a value that cannot be used is INVALID_CONFIGURATION naming the
variable and the value's problem (never UNKNOWN_ERROR), and clear_caches() forgets what an
execution environment keeps."""

import os

import pytest

from local.sample_events import inbound_sms
from tests.conftest import load_function, reset_layer_caches
from tests.integration.helpers import expect_error

A = "+14155550100"

#: (variable, value, what the message says the value must be)
UNUSABLE = [
    ("MAX_RECIPIENTS", "lots", "a whole number of at least 1"),
    ("MAX_RECIPIENTS", "0", "a whole number of at least 1"),
    ("TWILIO_READ_TIMEOUT", "-1", "a number of seconds greater than 0"),
    ("AWS_CONNECT_TIMEOUT", "0", "a number of seconds greater than 0"),
    ("SEND_LEASE_SECONDS", "nan", "a number of seconds of 0 or more"),
    ("DEFAULT_PHONE_REGION", "XX", "an ISO 3166 alpha-2 country code such as US or GB"),
    ("TRIGGER_MATCH_TIMEOUT_MS", "0.5", "a whole number of at least 1"),
]


@pytest.fixture
def send_sms():
    return load_function("send_sms").lambda_handler


def test_an_unusable_setting_is_invalid_configuration_naming_it(
    aws, emulator, send_sms, lambda_context, monkeypatch
):
    for variable, value, must_be in UNUSABLE:  # one moto set-up for all: a second, not seven
        with monkeypatch.context() as setting:
            setting.setenv(variable, value)
            reset_layer_caches()
            body = expect_error(
                send_sms, lambda_context, {"smsTo": A, "smsBody": "x"}, "INVALID_CONFIGURATION"
            )
        assert body["variable"] == variable
        assert f"{variable} must be {must_be}, not {value!r}" in body["message"]
    assert emulator.requests == []
    reset_layer_caches()  # the environment as it was: the same send goes out
    assert send_sms({"smsTo": A, "smsBody": "x"}, lambda_context)["smsResult"]


def test_failOnError_false_returns_it(aws, emulator, send_sms, lambda_context, monkeypatch):
    monkeypatch.setenv("MAX_RECIPIENTS", "lots")
    reset_layer_caches()
    result = send_sms({"smsTo": A, "smsBody": "x", "failOnError": False}, lambda_context)
    assert result["twilioResult"] is None
    assert [error["code"] for error in result["twilioError"]] == ["INVALID_CONFIGURATION"]


def test_every_action_answers_it(aws, emulator, lambda_context, monkeypatch):
    monkeypatch.setenv("TWILIO_CONNECT_TIMEOUT", "soon")
    reset_layer_caches()
    get_sms = load_function("get_sms").lambda_handler
    body = expect_error(get_sms, lambda_context, {"sid": "SM" + "a" * 32}, "INVALID_CONFIGURATION")
    assert body["variable"] == "TWILIO_CONNECT_TIMEOUT"


def test_the_inbound_function_logs_it_at_cold_start_and_answers_500(
    inbound, lambda_context, monkeypatch, all_logs
):
    from twilio_connector.triggers import check_triggers

    handler = load_function("inbound_sms").lambda_handler
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "-5")
    reset_layer_caches()
    check_triggers()  # what the handler's module runs at cold start: it logs, and starts
    assert "IDEMPOTENCY_TTL_SECONDS must be a whole number of at least 1" in all_logs()
    answer = handler(inbound_sms(), lambda_context)
    assert answer["statusCode"] == 500 and answer["body"] == "INVALID_CONFIGURATION"
    assert inbound.events() == []


def test_empty_is_the_default():
    from twilio_connector.config import Settings

    assert Settings.from_env({"MAX_RECIPIENTS": "", "SEND_LEASE_SECONDS": " "}) == (
        Settings.from_env({})
    )
    assert Settings.from_env({}).max_recipients == 1000


def test_the_trigger_variables_are_settings():
    from twilio_connector.config import Settings

    settings = Settings.from_env(
        {"SMS_TRIGGERS": "[]", "SMS_TRIGGER_PATTERN": "^YES$", "SMS_TRIGGER_ECHO": ""}
    )
    assert settings.sms_triggers == "[]" and settings.trigger_pattern == "^YES$"
    assert settings.trigger_name == "sms-trigger" and settings.trigger_echo is None


def test_clear_caches_forgets_settings_clients_and_credentials(aws, monkeypatch):
    import twilio_connector
    from twilio_connector.aws import aws_client
    from twilio_connector.config import get_settings
    from twilio_connector.credentials import get_credentials
    from twilio_connector.twilio_api import get_client

    settings, client, twilio = get_settings(), aws_client("dynamodb"), get_client()
    credentials = get_credentials()
    monkeypatch.setenv("MAX_RECIPIENTS", "7")
    aws.delete_secret(SecretId=os.environ["TWILIO_SECRET_ID"], ForceDeleteWithoutRecovery=True)
    # cached: the environment and the secret are not read again
    assert get_settings() is settings and get_credentials() == credentials
    assert aws_client("dynamodb") is client and get_client() is twilio
    twilio_connector.clear_caches()
    assert get_settings().max_recipients == 7
    assert aws_client("dynamodb") is not client
    with pytest.raises(Exception, match="AUTHENTICATION_CONNECTION_ERROR"):
        get_credentials()  # read again: the secret is gone
