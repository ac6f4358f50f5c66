"""Shared fixtures: a fake Lambda context, the Twilio emulator, moto, and the handlers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "twilio-openapi" / "twilio_api_v2010.json"

# The functions' environment, as template.yaml's Globals give it (set before any import).
from local.resources import function_environment  # noqa: E402

os.environ.update(
    function_environment(
        AWS_SESSION_TOKEN="testing",
        # retries back off for milliseconds, not seconds, in tests
        BACKOFF_BASE_SECONDS="0.02",
        BACKOFF_CAP_SECONDS="0.2",
    )
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from local import moto_dynamodb  # noqa: E402
from local.lambda_loader import load_event, load_function  # noqa: E402
from local.resources import (  # noqa: E402
    create_event_capture,
    create_idempotency_table,
    drain,
    reset_layer_caches,
)
from local.twilio_emulator import (  # noqa: E402
    MAGIC_FROM,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TwilioEmulator,
)

moto_dynamodb.install()  # transactions at DynamoDB's cost, not moto's table copies


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[TwilioEmulator]:
    with TwilioEmulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_server: TwilioEmulator) -> Iterator[TwilioEmulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture(autouse=True)
def _fresh_layer_caches() -> Iterator[None]:
    reset_layer_caches()
    yield
    reset_layer_caches()


SECRET = {
    "TWILIO_ACCOUNT": TEST_ACCOUNT_SID,
    "TWILIO_TOKEN": TEST_AUTH_TOKEN,
    "TWILIO_FROM": MAGIC_FROM,
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, emulator: TwilioEmulator) -> Iterator[object]:
    """moto in-process with the credentials secret in place, Twilio pointed at the emulator."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("TWILIO_API_URL", emulator.url)
    with mock_aws():
        client = boto3.client("secretsmanager")
        client.create_secret(Name=os.environ["TWILIO_SECRET_ID"], SecretString=json.dumps(SECRET))
        create_idempotency_table("idempotency")  # as template.yaml defines it
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        yield client


@pytest.fixture(scope="session")
def twilio_spec() -> dict:
    if not SPEC.exists():
        pytest.skip(
            f"Twilio's OpenAPI spec is not beside the repo ({SPEC}): nothing to check against"
        )
    return json.loads(SPEC.read_text())


__all__ = ["load_event", "load_function", "reset_layer_caches"]


ORDER_TRIGGER = {
    "name": "order-number",
    "pattern": "Order Number (?<orderNumber>.+)",
    "echo": "Your reference number is ${orderNumber}",
    "echoError": "There was a problem publishing that event.",
}


@pytest.fixture
def inbound(aws, monkeypatch: pytest.MonkeyPatch):
    """The inbound function's AWS resources in moto, built from template.yaml's definitions, and
    a queue receiving every event the connector puts on the bus."""
    import boto3

    dlq_url = boto3.client("sqs").create_queue(QueueName="inbound-dlq")["QueueUrl"]
    events_url = create_event_capture("bus-events")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.setenv("SMS_TRIGGERS", json.dumps([ORDER_TRIGGER]))
    reset_layer_caches()

    class Inbound:
        def events(self) -> list[dict]:
            return drain(events_url)

        def dead_letters(self) -> list[dict]:
            return drain(dlq_url)

    return Inbound()


@pytest.fixture
def all_logs():
    """Everything that would reach CloudWatch: the powertools logger's formatted output, and any
    other logger's records that pass the root level."""
    import io
    import logging

    from twilio_connector.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    previous_stream = handler.setStream(stream)
    root_records = io.StringIO()
    root_handler = logging.StreamHandler(root_records)
    logging.getLogger().addHandler(root_handler)
    logger.setLevel("DEBUG")
    try:
        yield lambda: stream.getvalue() + root_records.getvalue()
    finally:
        logger.setLevel("INFO")
        handler.setStream(previous_stream)
        logging.getLogger().removeHandler(root_handler)
