"""The error catalogue and the one mapping from Twilio and network failures."""

import json
import re
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from twilio_connector import errors
from twilio_connector.errors import CATALOGUE, ConnectorError, error_for_twilio, to_connector_error

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"
CONTRACT_CODES = [
    "MISSING_INPUT",
    "INVALID_INPUT",
    "TWILIO_CONNECTION_ERROR",
    "AUTHENTICATION_CONNECTION_ERROR",
    "INVALID_REQUEST_ERROR",
    "INVALID_TO_PHONE_NUMBER_ERROR",
    "INVALID_FROM_PHONE_NUMBER_ERROR",
    "PERMISSION_DENIED_ERROR",
    "INVALID_REGION_TO_PHONE_NUMBER_ERROR",
    "TEMPLATE_READ_ERROR",
    "TEMPLATE_METADATA_ERROR",
    "TEMPLATE_SYNTAX_ERROR",
    "UNKNOWN_ERROR",
    "BAD_REQUEST",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "NOT_ACCEPTABLE",
    "REQUEST_TIMEOUT",
    "CONFLICT",
    "GONE",
    "UNPROCESSABLE_ENTITY",
    "LOCKED",
    "FAILED_DEPENDENCY",
    "INTERNAL_SERVER_ERROR",
    "NOT_IMPLEMENTED",
    "BAD_GATEWAY",
    "SERVICE_UNAVAILABLE",
    "GATEWAY_TIMEOUT",
]


@pytest.mark.parametrize("code", CONTRACT_CODES)
def test_every_contract_code_is_an_exception_named_after_it(code):
    error_class = getattr(errors, code)
    assert error_class.__name__ == code == error_class.code
    assert issubclass(error_class, ConnectorError) and CATALOGUE[code] is error_class
    error = error_class("something happened", twilioCode=21211, status=400)
    assert json.loads(str(error)) == {
        "code": code,
        "message": "something happened",
        "twilioCode": 21211,
        "status": 400,
    }


#: Codes the connector adds to the contract's catalogue (docs/errors.md's table says so).
ADDED_CODES = {
    "TOO_MANY_REQUESTS",
    "IDEMPOTENCY_KEY_REUSED",
    "SEND_OUTCOME_AMBIGUOUS",
    "CANCELED",
    "TRIGGER_CONFIGURATION_ERROR",
    "INVALID_CONFIGURATION",
    "VERIFICATION_MAX_ATTEMPTS_ERROR",
    "TOO_MANY_SEGMENTS",
}


def test_the_catalogue_is_the_contract_plus_documented_additions():
    assert set(CATALOGUE) == set(CONTRACT_CODES) | ADDED_CODES
    table = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    for code in ADDED_CODES:
        assert f"| `{code}` | **added code**" in table, code


def test_the_contract_list_above_matches_the_contract_file():
    if not CONTRACT.exists():
        pytest.skip("shared/CONTRACT.md is not beside the repo")
    text = CONTRACT.read_text()
    catalogue = text[text.index("The catalogue") : text.index("Add a code only")]
    assert set(re.findall(r"`([A-Z_]+)`", catalogue)) == set(CONTRACT_CODES)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, 20003, "AUTHENTICATION_CONNECTION_ERROR"),
        (400, 21211, "INVALID_TO_PHONE_NUMBER_ERROR"),
        (400, 21212, "INVALID_FROM_PHONE_NUMBER_ERROR"),
        (400, 21606, "INVALID_FROM_PHONE_NUMBER_ERROR"),
        (400, 21408, "INVALID_REGION_TO_PHONE_NUMBER_ERROR"),
        (400, 21610, "PERMISSION_DENIED_ERROR"),
        (400, 21612, "INVALID_TO_PHONE_NUMBER_ERROR"),
        (400, 21614, "INVALID_TO_PHONE_NUMBER_ERROR"),
        (400, 21617, "INVALID_REQUEST_ERROR"),
        (429, 20429, "TOO_MANY_REQUESTS"),
        (404, 20404, "NOT_FOUND"),
        (429, 60202, "VERIFICATION_MAX_ATTEMPTS_ERROR"),  # five wrong codes: not retried
        (429, 60203, "VERIFICATION_MAX_ATTEMPTS_ERROR"),  # five codes sent
        (403, 60205, "INVALID_TO_PHONE_NUMBER_ERROR"),  # Verify: SMS to a landline
        (400, 60200, "INVALID_REQUEST_ERROR"),
        (400, 99999, "BAD_REQUEST"),
        (401, None, "UNAUTHORIZED"),
        (403, None, "FORBIDDEN"),
        (405, None, "METHOD_NOT_ALLOWED"),
        (406, None, "NOT_ACCEPTABLE"),
        (408, None, "REQUEST_TIMEOUT"),
        (409, None, "CONFLICT"),
        (410, None, "GONE"),
        (422, None, "UNPROCESSABLE_ENTITY"),
        (423, None, "LOCKED"),
        (424, None, "FAILED_DEPENDENCY"),
        (429, None, "TOO_MANY_REQUESTS"),
        (500, None, "INTERNAL_SERVER_ERROR"),
        (501, None, "NOT_IMPLEMENTED"),
        (502, None, "BAD_GATEWAY"),
        (503, None, "SERVICE_UNAVAILABLE"),
        (504, None, "GATEWAY_TIMEOUT"),
        (418, None, "INVALID_REQUEST_ERROR"),
        (599, None, "INTERNAL_SERVER_ERROR"),
        (None, None, "UNKNOWN_ERROR"),
    ],
)
def test_twilio_code_first_then_http_status(status, code, expected):
    assert error_for_twilio(status, code).__name__ == expected


def test_twilio_rest_exception_becomes_a_connector_error_without_the_phone_number():
    exc = TwilioRestException(
        400, "/Messages.json", "The 'To' number +15005550001 is not a valid phone number.", 21211
    )
    error = to_connector_error(exc)
    assert type(error).__name__ == "INVALID_TO_PHONE_NUMBER_ERROR"
    assert error.details == {
        "twilioCode": 21211,
        "status": 400,
        "moreInfo": "https://www.twilio.com/docs/errors/21211",
    }
    assert "+15005550001" not in str(error) and "+1********01" in str(error)


def test_a_body_less_twilio_answer_has_no_twilio_code():
    error = to_connector_error(TwilioRestException(503, "/x", "Unable to create record", 503))
    assert type(error).__name__ == "SERVICE_UNAVAILABLE"
    assert "twilioCode" not in error.details and error.details["status"] == 503


@pytest.mark.parametrize(
    "exc",
    [requests.ConnectionError("refused"), requests.ConnectTimeout(), requests.ReadTimeout()],
)
def test_network_failures_are_connection_errors(exc):
    assert type(to_connector_error(exc)).__name__ == "TWILIO_CONNECTION_ERROR"


def test_other_failures():
    assert type(to_connector_error(TwilioException("bad"))).__name__ == "INVALID_REQUEST_ERROR"
    assert type(to_connector_error(KeyError("x"))).__name__ == "UNKNOWN_ERROR"
    error = errors.NOT_FOUND("x")
    assert to_connector_error(error) is error
