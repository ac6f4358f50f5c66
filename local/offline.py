"""The stack offline: moto in server mode for AWS, the Twilio emulator for Twilio, and the
resources template.yaml creates (the credentials secret, the idempotency and opt-out tables, the
inbound dead-letter queue), plus a rule that copies the connector's events to a queue to read
them back. Shared by ``make demo``, ``make invoke`` and the tests.

The emulator starts with one delivered message, the one ``events/get_sms.json`` names, and a
pending verification whose code ``events/verify_check.json`` gives, so that every sample event
works right after set-up.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from local.resources import (
    SECRET_ID,
    create_credentials_secret,
    create_event_capture,
    create_idempotency_table,
    create_opt_out_table,
    drain,
    function_environment,
)
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TwilioEmulator

#: The inbound triggers offline: the seeds' order-number example.
TRIGGERS = [
    {
        "name": "order-number",
        "pattern": "Order Number (?<orderNumber>.+)",
        "echo": "Your reference number is ${orderNumber}",
        "echoError": "There was a problem publishing that event.",
    }
]
IDEMPOTENCY_TABLE = "idempotency"
OPT_OUT_TABLE = "opt-outs"
#: The message the emulator starts with (``events/get_sms.json``), delivered yesterday.
SAMPLE_MESSAGE_SID = "SM0123456789abcdef0123456789abcdef"
SAMPLE_RECIPIENT = "+14155550100"
#: A reminder the emulator starts with, scheduled for tomorrow (``events/cancel_sms.json``).
SCHEDULED_MESSAGE_SID = "SMfedcba9876543210fedcba9876543210"
SAMPLE_MESSAGING_SERVICE_SID = "MG" + "0123456789abcdef" * 2
#: The code of the verification pending for SAMPLE_RECIPIENT (``events/verify_check.json``).
SAMPLE_VERIFICATION_CODE = "123456"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OfflineStack:
    """What is running, and where: enough to give a function the environment it would have."""

    moto_url: str
    emulator: TwilioEmulator
    dead_letter_queue_url: str
    events_queue_url: str
    #: physical IDs of the template's resources, for ``!Ref`` in its environment
    resources: dict[str, str] = field(default_factory=dict)

    def parameters(self) -> dict[str, str]:
        """template.yaml's parameters offline: Twilio is the emulator; the demo's trigger."""
        return {"TwilioApiUrl": self.emulator.url, "SmsTriggers": json.dumps(TRIGGERS)}

    def environment(self) -> dict[str, str]:
        """What a function needs to reach this stack instead of AWS: moto's endpoint, made-up
        credentials, no X-Ray daemon."""
        return function_environment(AWS_ENDPOINT_URL=self.moto_url)

    def events(self) -> list[dict[str, Any]]:
        """The events the connector put on the bus since the last call (read and removed)."""
        return drain(self.events_queue_url)


def _start_moto(stack: ExitStack) -> str:
    from moto.server import ThreadedMotoServer

    from local.moto_dynamodb import install

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # request lines carry phone numbers
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    return f"http://127.0.0.1:{port}"


def seed_sample_history(emulator: TwilioEmulator) -> None:
    """The message ``events/get_sms.json`` names, sent and delivered yesterday, the reminder
    ``events/cancel_sms.json`` cancels, scheduled for tomorrow, and a verification pending for
    the same number whose code ``events/verify_check.json`` gives."""
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    emulator.store(
        TEST_ACCOUNT_SID,
        sid=SAMPLE_MESSAGE_SID,
        to=SAMPLE_RECIPIENT,
        from_=MAGIC_FROM,
        body="Hello Ada, your order A-1041 has shipped.",
        status="delivered",
        date_created=yesterday,
        date_sent=yesterday,
    )
    emulator.store(
        TEST_ACCOUNT_SID,
        sid=SCHEDULED_MESSAGE_SID,
        to=SAMPLE_RECIPIENT,
        from_=None,
        body="Reminder: your appointment is tomorrow at 10:00.",
        messaging_service_sid=SAMPLE_MESSAGING_SERVICE_SID,
        send_at=yesterday + timedelta(days=2),
    )
    emulator.verify_lookup.seed(SAMPLE_RECIPIENT, SAMPLE_VERIFICATION_CODE)


@contextmanager
def offline_stack(emulator: TwilioEmulator | None = None) -> Iterator[OfflineStack]:
    """moto and the emulator (or ``emulator``, already running) with the template's resources;
    this process's boto3 points at moto until the block ends."""
    import boto3

    with ExitStack() as stack:
        moto_url = _start_moto(stack)
        if emulator is None:
            emulator = stack.enter_context(TwilioEmulator())
        stack.enter_context(
            mock.patch.dict(os.environ, function_environment(AWS_ENDPOINT_URL=moto_url))
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        create_credentials_secret(boto3.client("secretsmanager"))
        create_idempotency_table(IDEMPOTENCY_TABLE)
        create_opt_out_table(OPT_OUT_TABLE)
        dlq_url = boto3.client("sqs").create_queue(QueueName="inbound-dlq")["QueueUrl"]
        events_url = create_event_capture("connector-events")
        seed_sample_history(emulator)
        yield OfflineStack(
            moto_url=moto_url,
            emulator=emulator,
            dead_letter_queue_url=dlq_url,
            events_queue_url=events_url,
            resources={
                "TwilioCredentialsSecret": SECRET_ID,
                "IdempotencyTable": IDEMPOTENCY_TABLE,
                "OptOutTable": OPT_OUT_TABLE,
                "InboundDeadLetterQueue": dlq_url,
                "InboundApi": "local",
            },
        )
