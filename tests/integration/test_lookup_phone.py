"""LOOKUP_PHONE through the real handler, moto and the emulator's Lookup v2."""

import pytest

from tests.conftest import load_function
from tests.integration.helpers import expect_error

MOBILE, LANDLINE = "+14155550100", "+14155550106"  # the emulator's NANP ranges: the last digit


@pytest.fixture
def handler():
    return load_function("lookup_phone").lambda_handler


def test_a_valid_number_without_line_type(aws, emulator, handler, lambda_context):
    result = handler({"phone": "+1 (415) 555-0100"}, lambda_context)
    assert result == {
        "phoneNumber": MOBILE,
        "valid": True,
        "countryCode": "US",
        "callingCountryCode": "1",
        "nationalFormat": "(415) 555-0100",
        "validationErrors": [],
        "lineType": None,
        "carrierName": None,
    }
    [request] = emulator.requests
    assert request["method"] == "GET" and request["path"] == f"/v2/PhoneNumbers/{MOBILE}"
    assert request["query"] == {}  # no paid package asked for


@pytest.mark.parametrize(
    ("phone", "line_type"),
    [
        (MOBILE, "mobile"),
        (LANDLINE, "landline"),
        ("+14155550108", "nonFixedVoip"),
        ("+14155550109", "fixedVoip"),
        ("+18005550100", "tollFree"),
        ("+447911123456", "mobile"),
        ("+442079460958", "landline"),
    ],
)
def test_line_type_on_request(aws, emulator, handler, lambda_context, phone, line_type):
    result = handler({"phone": phone, "lineType": True}, lambda_context)
    assert result["valid"] is True and result["lineType"] == line_type
    assert emulator.requests[-1]["query"] == {"Fields": ["line_type_intelligence"]}


def test_line_type_as_a_bpmn_string_and_a_national_number(aws, emulator, handler, lambda_context):
    result = handler(
        {"phoneNumber": "020 7946 0958", "defaultPhoneRegion": "GB", "lineType": "true"},
        lambda_context,
    )
    assert result["phoneNumber"] == "+442079460958" and result["countryCode"] == "GB"
    assert result["lineType"] == "landline" and result["carrierName"]


@pytest.mark.parametrize(
    ("event", "errors"),
    [
        ({"phone": "+1 555 123 4567"}, ["INVALID_BUT_POSSIBLE"]),  # no such area code
        ({"phone": "+141599299600"}, ["TOO_LONG"]),  # Twilio's own example
        ({"phone": "+1 415 555"}, ["TOO_SHORT"]),
        ({"phone": "12345", "defaultPhoneRegion": "US"}, ["TOO_SHORT"]),
    ],
)
def test_an_invalid_number_is_valid_false(aws, emulator, handler, lambda_context, event, errors):
    result = handler({**event, "lineType": True}, lambda_context)
    assert result["valid"] is False and result["validationErrors"] == errors
    assert result["lineType"] is None and result["countryCode"] is None
    assert len(emulator.requests) == 1  # Twilio decided


def test_national_digits_go_with_their_country(aws, emulator, handler, lambda_context):
    handler({"phone": "12345", "defaultPhoneRegion": "gb"}, lambda_context)
    request = emulator.requests[-1]
    assert request["path"] == "/v2/PhoneNumbers/12345"
    assert request["query"] == {"CountryCode": ["GB"]}


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        ({}, "MISSING_INPUT", "phone"),
        ({"phone": "call me maybe"}, "INVALID_INPUT", "phone"),
        ({"phone": "+1/../../2010-04-01/Accounts"}, "INVALID_INPUT", "phone"),
        ({"phone": "415 555"}, "INVALID_INPUT", "phone"),  # no country, no region
        ({"phone": "+١٢٣", "defaultPhoneRegion": "US"}, "INVALID_INPUT", "phone"),
        ({"phone": 4155550100}, "INVALID_INPUT", "phone"),
        ({"phone": MOBILE, "lineType": "yes"}, "INVALID_INPUT", "lineType"),
        ({"phone": MOBILE, "defaultPhoneRegion": "XX"}, "INVALID_INPUT", "defaultPhoneRegion"),
    ],
)
def test_bad_input_never_reaches_twilio(aws, emulator, handler, lambda_context, event, code, field):
    body = expect_error(handler, lambda_context, event, code)
    assert body["field"] == field
    assert emulator.requests == []


def test_a_lookup_is_retried_when_its_answer_is_lost(aws, emulator, handler, lambda_context):
    emulator.faults.drop_next = 1  # a GET changes nothing: asked again
    assert handler({"phone": MOBILE}, lambda_context)["valid"] is True
    assert len(emulator.requests) == 2


def test_logs_carry_no_full_number(aws, emulator, handler, lambda_context, all_logs):
    handler({"phone": MOBILE, "lineType": True}, lambda_context)
    logs = all_logs()
    assert "Phone number looked up" in logs and "+1********00" in logs and MOBILE not in logs


def test_debug_logs_mask_the_number_in_the_lookup_path(
    aws, emulator, handler, lambda_context, all_logs
):
    # national digits that cannot be a number: sent as written, logged masked all the same
    handler({"phone": "415 555 01", "defaultPhoneRegion": "US"}, lambda_context)
    logs = all_logs()
    assert "PhoneNumbers/******01" in logs and "41555501" not in logs
