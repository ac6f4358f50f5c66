"""``make sign-inbound BODY='From=+14155550199&Body=Order Number 12345'``: your own inbound webhook
as the event API Gateway gives ``InboundSmsFunction``, signed as Twilio signs it.

``BODY`` is the form Twilio posts (``application/x-www-form-urlencoded``: ``&`` between fields,
``%26`` for an ``&`` inside one); the fields it leaves out are filled in as Twilio sends them (a
new ``MessageSid``, ``To`` the emulator's number, ``AccountSid`` the offline account...), so
``Body=...`` alone is enough. ``X-Twilio-Signature`` is computed with twilio's
``RequestValidator`` from the offline auth token (the secret ``make invoke`` creates) and the URL
the function rebuilds from the event (``https://<api host>/Prod/sms``), or from
``PUBLIC_URL`` + the route when the function runs with ``PARAMS="PublicWebhookUrl=..."``.
``ROUTE=/status`` signs a status callback instead. The event goes to standard output, or to
``OUT``::

    make -s sign-inbound BODY='Body=Order Number 777' OUT=my-inbound.json
    make invoke FN=InboundSmsFunction EVENT=my-inbound.json
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from local.sample_events import HOST, SENDER, signed_event
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

ROUTES = ("/sms", "/status")


def twilio_fields(route: str, given: dict[str, str]) -> dict[str, str]:
    """The fields Twilio posts to ``route``, ``given`` on top of its usual ones."""
    sid = given.get("MessageSid") or given.get("SmsSid") or "SM" + uuid.uuid4().hex
    common = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": TEST_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
    }
    if route == "/sms":
        defaults = {
            **common,
            "SmsMessageSid": sid,
            "From": SENDER,
            "To": MAGIC_FROM,
            "Body": "",
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
        }
    else:
        status = given.get("MessageStatus") or given.get("SmsStatus") or "delivered"
        defaults = {
            **common,
            "From": MAGIC_FROM,
            "To": SENDER,
            "MessageStatus": status,
            "SmsStatus": status,
        }
    return {**defaults, **given}


def signed_inbound(
    body: str, route: str = "/sms", public_url: str | None = None, token: str = TEST_AUTH_TOKEN
) -> dict[str, Any]:
    """The proxy event for ``body`` posted to ``route``, signed with ``token``."""
    if route not in ROUTES:
        raise ValueError(f"ROUTE is one of {', '.join(ROUTES)}, not {route!r}")
    pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
    given = dict(pairs)
    if len(given) != len(pairs):
        raise ValueError("BODY names a field twice")
    url = public_url.rstrip("/") + route if public_url else None
    return signed_event(route, twilio_fields(route, given), url=url, token=token)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make sign-inbound", description=__doc__)
    parser.add_argument("--body", default="", help="the form Twilio posts: Name=value&...")
    parser.add_argument("--route", default="/sms", help="/sms (default) or /status")
    parser.add_argument("--public-url", default="", help="the PublicWebhookUrl the function has")
    parser.add_argument("--out", default="", help="write the event here instead of stdout")
    args = parser.parse_args(argv)
    try:
        event = signed_inbound(args.body, args.route, args.public_url or None)
    except ValueError as error:
        parser.error(f"cannot sign {args.body!r}: {error}")
    text = json.dumps(event, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        url = (args.public_url.rstrip("/") or f"https://{HOST}/Prod") + args.route
        print(f"wrote {args.out}: POST {url} signed with the offline auth token; run it with "
              f"`make invoke FN=InboundSmsFunction EVENT={args.out}`", file=sys.stderr)  # fmt: skip
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
