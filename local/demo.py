"""``make demo``: the connector end to end, offline.

Starts moto in server mode (Secrets Manager) and the Twilio emulator on 127.0.0.1, puts the
credentials in the secret, then invokes the real SEND_SMS handler with ``events/send_sms.json``
(a templated SMS to two recipients) and with a recipient Twilio refuses, and prints the results.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from contextlib import ExitStack, closing
from typing import Any

from local.lambda_loader import load_event, load_function
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioEmulator

SECRET_ID = "twilio-connector/credentials"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoContext:
    function_name = "SendSmsFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SendSmsFunction"
    aws_request_id = "demo-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def start_moto(stack: ExitStack) -> str:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    return f"http://127.0.0.1:{port}"


def configure(moto_url: str, emulator_url: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=moto_url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        TWILIO_API_URL=emulator_url,
        TWILIO_SECRET_ID=SECRET_ID,
        POWERTOOLS_SERVICE_NAME="twilio-connector",
        POWERTOOLS_METRICS_NAMESPACE="TwilioConnector",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="ERROR",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)


def create_secret() -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(
        Name=SECRET_ID,
        SecretString=json.dumps(
            {
                "TWILIO_ACCOUNT": TEST_ACCOUNT_SID,
                "TWILIO_TOKEN": TEST_AUTH_TOKEN,
                "TWILIO_FROM": MAGIC_FROM,
            }
        ),
    )


def invoke(handler: Any, event: dict) -> tuple[dict | None, Exception | None]:
    try:
        return handler(event, DemoContext()), None
    except Exception as error:  # a catalogued error, shown as Step Functions would see it
        return None, error


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request lines
    with ExitStack() as stack:
        moto_url = start_moto(stack)
        emulator = stack.enter_context(TwilioEmulator())
        configure(moto_url, emulator.url)
        print(f"moto (server mode)   {moto_url}")
        print(f"Twilio emulator      {emulator.url}")
        create_secret()
        print(f"secret               {SECRET_ID} (account {TEST_ACCOUNT_SID})\n")

        send_sms = load_function("send_sms").lambda_handler
        event = load_event("send_sms")
        print("SEND_SMS  events/send_sms.json")
        print(f"  smsBody  {event['smsBody']}")
        print(f"  metadata {json.dumps(event['metadata'])}")
        result, error = invoke(send_sms, event)
        if error is not None or result is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        for message in result["messages"]:
            print(f"  sent     {message['sid']}  to {message['to']}  status {message['status']}")
        print(f"  body     {result['messages'][0]['body']}")
        print(f"  smsResult {json.dumps(result['smsResult'], indent=None)}")

        print("\nSEND_SMS  to Twilio's magic number +15005550003 (no permission for its region)")
        _, error = invoke(send_sms, {"smsTo": "+15005550003", "smsBody": "Hello"})
        if error is None:
            print("  UNEXPECTED: Twilio's refusal did not surface")
            return 1
        print(f"  errorType    {type(error).__name__}")
        print(f"  errorMessage {error}")

        stored = len(emulator.messages)
        print(f"\nThe emulator stored {stored} message(s); stopping moto and the emulator.")
        return 0 if stored == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
