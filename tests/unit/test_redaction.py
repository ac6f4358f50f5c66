"""Masking phone numbers and removing secrets from log text."""

import pytest

from twilio_connector.redaction import mask_phone, redact_text, register_secret


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+14155550100", "+1********00"),
        ("+442071838750", "+44********50"),
        ("+35312345678", "+353******78"),
        ("whatsapp:+14155550100", "whatsapp:+1********00"),
        ("+1 (415) 555-0100", "+1 (***) ***-**00"),
    ],
)
def test_mask_keeps_country_code_and_last_digits(number, masked):
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        # no "+" written: none added, so no country code is implied ("+41..." reads as Swiss)
        ("4155550100", "********00"),
        ("(415) 555-0100", "(***) ***-**00"),
        ("0044 20 7946 0958", "**** ** **** **58"),
        ("123", "***"),
    ],
)
def test_mask_keeps_what_the_user_wrote(number, masked):
    assert mask_phone(number) == masked


def test_mask_of_a_long_value_keeps_no_free_text():
    value = "call me on 4155550100 about the secret plan"
    assert mask_phone(value) == "********00"


def test_redact_text_masks_numbers_and_removes_secrets():
    register_secret("s3cr3t-value-xyz")
    text = (
        'to +14155550100 and +44 20 7183 8750, token s3cr3t-value-xyz, "fedcba9876543210'
        'fedcba9876543210", Authorization: Basic QUMxMjM6c2VjcmV0, sid SM0123456789abcdef'
        "0123456789abcdef, at 2026-11-24 02:28:25, metric 1732416000000"
    )
    redacted = redact_text(text)
    for leaked in ("+14155550100", "7183 8750", "s3cr3t-value-xyz", "fedcba9876543210", "QUMx"):
        assert leaked not in redacted
    assert "+1********00" in redacted
    assert "SM0123456789abcdef0123456789abcdef" in redacted  # SIDs are not secrets
    assert "2026-11-24 02:28:25" in redacted and "1732416000000" in redacted
