"""The API Gateway sample events in ``events/``: real proxy events, signed as Twilio signs them
(with the emulator's test token), for ``sam local invoke`` and the tests.

Regenerate with ``.venv/bin/python -m local.sample_events``; a test checks the files match.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from local.apigw import proxy_event
from local.lambda_loader import EVENTS
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"
SENDER = "+14155550100"
MESSAGE_SID = "SM" + "7" * 32


def signed_event(
    path: str,
    params: dict[str, str],
    url: str | None = None,
    token: str = TEST_AUTH_TOKEN,
    method: str = "POST",
) -> dict[str, Any]:
    """The proxy event of Twilio's POST of ``params`` to ``path`` (or another ``method``),
    signed with ``token`` for the URL the function rebuilds from the event (or ``url``, a
    PublicWebhookUrl's)."""
    from twilio.request_validator import RequestValidator

    url = url or f"https://{HOST}/Prod{path}"
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "Host": HOST,
        "User-Agent": "TwilioProxy/1.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
    }
    event = proxy_event(method, path, headers, urlencode(params))
    event["requestContext"]["requestId"] = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    event["requestContext"]["apiId"] = "abc123defg"
    event["requestContext"]["identity"]["sourceIp"] = "54.172.60.1"
    return event


def inbound_sms() -> dict[str, Any]:
    return signed_event(
        "/sms",
        {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": MESSAGE_SID,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": MESSAGE_SID,
            "FromState": "CA",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": "Order Number 12345",
            "FromCountry": "US",
            "To": MAGIC_FROM,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": MESSAGE_SID,
            "AccountSid": TEST_ACCOUNT_SID,
            "From": SENDER,
            "ApiVersion": "2010-04-01",
        },
    )


def status_callback() -> dict[str, Any]:
    sid = "SM" + "8" * 32
    return signed_event(
        "/status",
        {
            "SmsSid": sid,
            "SmsStatus": "delivered",
            "MessageStatus": "delivered",
            "To": SENDER,
            "MessageSid": sid,
            "AccountSid": TEST_ACCOUNT_SID,
            "From": MAGIC_FROM,
            "ApiVersion": "2010-04-01",
        },
    )


SAMPLES = {"inbound_sms": inbound_sms, "status_callback": status_callback}


def main() -> None:
    for name, build in SAMPLES.items():
        (EVENTS / f"{name}.json").write_text(json.dumps(build(), indent=2) + "\n")


if __name__ == "__main__":
    main()
