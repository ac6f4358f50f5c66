"""Recipients in every input form, senders, and validation before any send."""

import pytest

from twilio_connector.errors import (
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    INVALID_TO_PHONE_NUMBER_ERROR,
)
from twilio_connector.phone import parse_recipients, validate_sender

A, B, C = "+14155550100", "+14155550101", "+442071838750"


@pytest.mark.parametrize(
    "value",
    [
        [A, B, C],
        f"{A},{B},{C}",
        f"{A}, {B} ; {C}",
        f"{A};{B};{C}",
        f"{A} {B}\t{C}",
        f"{A}\n{B}\r\n{C}\n",
        [f"{A}, {B}", C],
        [A, B, A, C, B],
        f"{A},,{B};;{C},{A}",
    ],
)
def test_every_input_form_gives_the_distinct_recipients_in_order(value):
    assert parse_recipients(value, "smsTo", 100) == [A, B, C]


def test_whatsapp_recipients():
    assert parse_recipients(f"whatsapp:{A}, WhatsApp:{B}", "smsTo", 10) == [
        f"whatsapp:{A}",
        f"whatsapp:{B}",
    ]


@pytest.mark.parametrize(
    "value", ["4155550100", "+0123456789", "+1415555010012345678", "+1-415-555", "hello", "+12"]
)
def test_invalid_recipients_are_refused_before_sending(value):
    with pytest.raises(INVALID_TO_PHONE_NUMBER_ERROR) as raised:
        parse_recipients([A, value], "smsTo", 10)
    assert raised.value.details["invalid"][0]["index"] == 1
    assert A not in str(raised.value)


def test_numbers_not_possible_for_their_country_are_refused():
    with pytest.raises(INVALID_TO_PHONE_NUMBER_ERROR):
        parse_recipients("+4412", "smsTo", 10)  # too short for the UK


@pytest.mark.parametrize("value", [42, None, {"to": A}, [A, 42], [], "", " , ; "])
def test_wrong_shapes_are_invalid_input(value):
    with pytest.raises(INVALID_INPUT):
        parse_recipients(value, "smsTo", 10)


def test_recipient_limit():
    numbers = [f"+1415555{n:04d}" for n in range(11)]
    with pytest.raises(INVALID_INPUT, match="more than 10"):
        parse_recipients(numbers, "smsTo", 10)


@pytest.mark.parametrize("sender", [A, "whatsapp:+15005550006", "ACME", "Acme Co 24", "12345"])
def test_valid_senders(sender):
    assert validate_sender(sender, "smsFrom") == sender


@pytest.mark.parametrize("sender", ["4155550100xy", "A" * 12, "Acme!", "+0123", "1"])
def test_invalid_senders(sender):
    with pytest.raises(INVALID_FROM_PHONE_NUMBER_ERROR):
        validate_sender(sender, "smsFrom")
