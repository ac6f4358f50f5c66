"""Every Twilio host the connector calls goes to TWILIO_API_URL offline; nothing else does."""

import pytest

from twilio_connector.twilio_api import offline_url

EMULATOR = "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "/2010-04-01/Accounts/AC1/Messages.json",
        ),
        (
            "https://verify.twilio.com/v2/Services/VA1/Verifications",
            "/v2/Services/VA1/Verifications",
        ),
        (
            "https://verify.twilio.com/v2/Services/VA1/VerificationCheck",
            "/v2/Services/VA1/VerificationCheck",
        ),
        (
            "https://lookups.twilio.com/v2/PhoneNumbers/+14155550100",
            "/v2/PhoneNumbers/+14155550100",
        ),
        ("https://lookups.twilio.com?x=1", "?x=1"),
    ],
)
def test_twilio_hosts_are_replaced(url, expected):
    assert offline_url(url, EMULATOR) == EMULATOR + expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/v2/PhoneNumbers/+1",
        "https://api.twilio.com.evil.example/2010-04-01",
        "https://conversations.twilio.com/v1/Conversations",
        "http://api.twilio.com/2010-04-01",
    ],
)
def test_other_urls_are_left_alone(url):
    assert offline_url(url, EMULATOR) == url
