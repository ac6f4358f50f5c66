"""Recipients in every input form, numbers as people write them, senders, and validation
before any send."""

import pytest

from twilio_connector.errors import (
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    INVALID_TO_PHONE_NUMBER_ERROR,
)
from twilio_connector.phone import parse_recipients, phone_region, to_e164, validate_sender

A, B, C = "+14155550100", "+14155550101", "+442071838750"


@pytest.mark.parametrize(
    "value",
    [
        [A, B, C],
        f"{A},{B},{C}",
        f"{A}, {B} ; {C}",
        f"{A};{B};{C}",
        f"{A}\n{B}\r\n{C}\n",
        "+1 415 555 0100, +1 (415) 555-0101\n+44 20 7183 8750",
        ["+1.415.555.0100", "+1-415-555-0101", "0044 20 7183 8750", "+14155550100"],
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
    "value",
    [
        "4155550100",  # national, and no default region
        "+0123456789",
        "+1415555010012345678",
        "+1-415-555",
        "hello",
        "+12",
        f"{B} {C}",  # two numbers separated by a space only: one item, not a number
        "+1 415 555 0100 ext. 12",  # an SMS cannot reach an extension
        "+1 415 CALL NOW",
        "whatsapp:",
    ],
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


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+1 415 555 0100", None, A),
        ("+1 (415) 555-0100", None, A),
        ("+1.415.555.0100", None, A),
        (" +1 415-555-0100 ", None, A),
        ("0044 20 7183 8750", None, C),  # ITU's international prefix
        ("011 44 20 7183 8750", None, C),  # NANP's
        ("011 44 20 7183 8750", "US", C),
        ("0044 20 7183 8750", "US", C),  # 00 is not the US prefix, but is unambiguous
        ("+44 (0)20 7183 8750", None, C),  # the UK's written trunk prefix
        ("(415) 555-0100", "US", A),  # national numbers with a default region
        ("415.555.0100", "us", A),
        ("020 7183 8750", "GB", C),
        ("0114 496 0123", "GB", "+441144960123"),  # 011 is also a UK area code: national first
        ("03-1234-5678", "JP", "+81312345678"),
    ],
)
def test_numbers_as_people_write_them_become_e164(written, region, e164):
    assert to_e164(written, phone_region({}, region)) == e164


def test_a_region_does_not_change_an_international_number():
    assert parse_recipients("+1 (415) 555-0100", "smsTo", 10, "GB") == [A]


def test_whatsapp_keeps_its_prefix_and_the_number_is_normalised():
    assert parse_recipients(["WhatsApp:+1 (415) 555-0100", f"whatsapp:{A}"], "smsTo", 10) == [
        f"whatsapp:{A}"
    ]


def test_duplicates_are_removed_after_normalising():
    assert parse_recipients(["(415) 555-0100", A, "+1 415 555 0100"], "smsTo", 10, "US") == [A]


def test_the_limit_counts_distinct_numbers():
    assert parse_recipients([A, "+1 415 555 0100", "+1-415-555-0100"], "smsTo", 1) == [A]


def test_every_invalid_item_is_named_masked():
    with pytest.raises(INVALID_TO_PHONE_NUMBER_ERROR) as raised:
        parse_recipients(f"{A}; 415 555 0199; {B}; nope", "smsTo", 10)
    invalid = raised.value.details["invalid"]
    assert [item["index"] for item in invalid] == [1, 3]
    assert "555 0199" not in str(raised.value) and "5550199" not in str(raised.value)
    assert "DEFAULT_PHONE_REGION" in raised.value.message


def test_the_event_region_overrides_the_default():
    assert phone_region({"defaultPhoneRegion": "gb"}, "US") == "GB"
    assert phone_region({}, "US") == "US"
    assert phone_region({"defaultPhoneRegion": ""}, None) is None


@pytest.mark.parametrize("region", ["XX", "USA", "1", 44, "U S"])
def test_unknown_regions_are_invalid_input(region):
    with pytest.raises(INVALID_INPUT) as raised:
        phone_region({"defaultPhoneRegion": region}, None)
    assert raised.value.details["field"] == "defaultPhoneRegion"
    with pytest.raises(INVALID_INPUT) as raised:
        phone_region({}, str(region))
    assert raised.value.details["field"] == "DEFAULT_PHONE_REGION"


@pytest.mark.parametrize(
    ("sender", "region", "expected"),
    [
        ("+1 (415) 555-0100", None, A),
        ("(415) 555-0100", "US", A),
        ("whatsapp:+1 415 555 0100", None, f"whatsapp:{A}"),
        ("0044 20 7183 8750", None, C),
    ],
)
def test_senders_written_as_people_write_them(sender, region, expected):
    assert validate_sender(sender, "smsFrom", region) == expected


@pytest.mark.parametrize(
    "written",
    ["+1 415 555 0100 ext. 12", "+1 415 555 0100 x12", "+1 (415) 555-0100 #12",
     "+1 415 555 0100 extension 12"],
)  # fmt: skip
def test_a_number_with_an_extension_is_told_to_drop_it_not_to_add_a_country_code(written):
    with pytest.raises(INVALID_TO_PHONE_NUMBER_ERROR) as raised:
        parse_recipients(written, "smsTo", 10)
    assert "without its extension" in raised.value.message
    assert "country code" not in raised.value.message
    with pytest.raises(INVALID_FROM_PHONE_NUMBER_ERROR) as raised:
        validate_sender(written, "smsFrom")
    assert "without its extension" in raised.value.message


def test_an_extension_among_national_numbers_gets_both_hints():
    with pytest.raises(INVALID_TO_PHONE_NUMBER_ERROR) as raised:
        parse_recipients(["+1 415 555 0100 ext. 12", "(415) 555-0101"], "smsTo", 10)
    assert "without its extension" in raised.value.message
    assert "country code" in raised.value.message
