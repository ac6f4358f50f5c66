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
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    POWERTOOLS_SERVICE_NAME="twilio-connector",
    POWERTOOLS_METRICS_NAMESPACE="TwilioConnector",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="INFO",
    TWILIO_SECRET_ID="twilio-connector/credentials",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from local.lambda_loader import load_event, load_function  # noqa: E402
from local.twilio_emulator import (  # noqa: E402
    MAGIC_FROM,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TwilioEmulator,
)


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


def reset_layer_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from twilio_connector import config, twilio_api

    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
    config.get_settings.cache_clear()
    twilio_api._client_for.cache_clear()


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
        yield client


@pytest.fixture(scope="session")
def twilio_spec() -> dict:
    if not SPEC.exists():
        pytest.skip(
            f"Twilio's OpenAPI spec is not beside the repo ({SPEC}): nothing to check against"
        )
    return json.loads(SPEC.read_text())


__all__ = ["load_event", "load_function"]
