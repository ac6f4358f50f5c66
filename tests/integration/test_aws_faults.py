"""AWS and credential faults: calls bounded by the invocation, transient failures retryable,
a rotated Twilio token picked up at once."""

import contextlib
import json
import os
import socket
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import EndpointConnectionError

from local.twilio_emulator import TEST_ACCOUNT_SID
from tests.conftest import SECRET, load_function, reset_layer_caches
from tests.integration.helpers import expect_error

A, B = "+14155550100", "+14155550101"


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


@pytest.fixture
def silent_endpoint():
    """A TCP endpoint that accepts connections and never answers (closing them after 8 s)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):  # (the 0.2 s accept timeout)
                held.append((server.accept()[0], time.monotonic()))
            for conn, since in list(held):
                if time.monotonic() - since > 8:
                    conn.close()
                    held.remove((conn, since))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn, _ in held:
        conn.close()
    server.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there now


def messages_by_recipient(emulator) -> Counter:
    return Counter(m["to"] for m in emulator.messages.values())


# --- AWS calls end within the invocation; their failures are transient codes --------------------
def test_a_table_that_never_answers_ends_within_the_invocation(
    aws, emulator, handler, lambda_context, monkeypatch, silent_endpoint
):
    from twilio_connector.credentials import get_credentials

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", silent_endpoint)
    reset_layer_caches()
    get_credentials()  # a warm environment
    lambda_context.remaining_ms = 5000  # 3 s before the safety margin
    started = time.monotonic()
    body = expect_error(handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "GATEWAY_TIMEOUT")
    assert time.monotonic() - started < 5.0  # within the Lambda's remaining time
    assert "AWS" in body["message"] and emulator.messages == {}


def test_a_refused_table_connection_is_service_unavailable(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", closed_port_url())
    reset_layer_caches()
    started = time.monotonic()
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "SERVICE_UNAVAILABLE"
    )
    assert time.monotonic() - started < 10.0  # three attempts, not boto3's default five
    assert "IDEMPOTENCY_TABLE" in body["message"] and emulator.messages == {}


def test_a_table_lost_after_twilio_accepted_still_returns_the_messages(
    aws, emulator, handler, lambda_context
):
    """DynamoDB refuses connections once Twilio has the messages: the send succeeded and says
    so (a retry would reconcile the unrecorded recipients), never UNKNOWN_ERROR. The table is
    lost once Twilio holds every recipient's message, whichever of the two sender threads Twilio
    answered first (keyed on the first message, a sender still between its claim and its send
    could meet the lost table: a race, 1 run in 27)."""
    from twilio_connector.aws import aws_client

    refused = []

    def refused_once_sent(request, event_name, **kwargs):
        if set(messages_by_recipient(emulator)) >= {A, B}:
            refused.append(event_name.rsplit(".", 1)[-1])
            raise EndpointConnectionError(endpoint_url=request.url)

    aws_client("dynamodb").meta.events.register("before-send.dynamodb", refused_once_sent)
    result = handler({"smsTo": [A, B], "smsBody": "x"}, lambda_context)
    assert messages_by_recipient(emulator) == {A: 1, B: 1}
    assert set(result["smsResult"]) == set(emulator.messages)
    assert "BatchWriteItem" in refused  # the outcomes' write met the lost table


def test_an_unreachable_secrets_manager_is_service_unavailable(
    aws, emulator, handler, lambda_context
):
    from twilio_connector.aws import aws_client

    def unreachable(request, **kwargs):
        raise EndpointConnectionError(endpoint_url=request.url)

    aws_client("secretsmanager").meta.events.register("before-send.secrets-manager", unreachable)
    body = expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "SERVICE_UNAVAILABLE"
    )
    assert "could not be read now" in body["message"] and emulator.messages == {}


def test_a_throttled_secrets_manager_is_service_unavailable(aws, emulator, lambda_context):
    from botocore.awsrequest import AWSResponse

    from twilio_connector.aws import aws_client

    class Raw:
        def stream(self, **kwargs):
            yield json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

    def throttled(request, **kwargs):
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, Raw())

    aws_client("secretsmanager").meta.events.register("before-send.secrets-manager", throttled)
    get_sms = load_function("get_sms").lambda_handler
    expect_error(get_sms, lambda_context, {"sid": "SM" + "a" * 32}, "SERVICE_UNAVAILABLE")


def test_a_missing_secret_is_still_an_authentication_error(aws, emulator, handler, lambda_context):
    aws.delete_secret(SecretId=os.environ["TWILIO_SECRET_ID"], ForceDeleteWithoutRecovery=True)
    expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "x"}, "AUTHENTICATION_CONNECTION_ERROR"
    )


# --- a rotated Twilio token ---------------------------------------------------------------------
def test_a_rotated_token_is_picked_up_at_once(aws, emulator, handler, lambda_context, monkeypatch):
    handler({"smsTo": A, "smsBody": "before"}, lambda_context)  # the secret is now cached
    rotated = "e" * 32
    monkeypatch.setitem(emulator.accounts, TEST_ACCOUNT_SID, rotated)  # Twilio: old token 401
    aws.put_secret_value(
        SecretId=os.environ["TWILIO_SECRET_ID"],
        SecretString=json.dumps({**SECRET, "TWILIO_TOKEN": rotated}),
    )
    result = handler({"smsTo": [A, B], "smsBody": "after"}, lambda_context)
    assert sorted(m["to"] for m in result["messages"]) == [A, B]
    assert len(emulator.messages) == 3
    get_sms = load_function("get_sms").lambda_handler
    assert get_sms({"sid": result["messages"][0]["sid"]}, lambda_context)["body"] == "after"


def test_a_token_still_refused_after_a_fresh_read_is_an_authentication_error(
    aws, emulator, handler, lambda_context, monkeypatch
):
    from twilio_connector.aws import aws_client

    handler({"smsTo": A, "smsBody": "before"}, lambda_context)
    monkeypatch.setitem(emulator.accounts, TEST_ACCOUNT_SID, "d" * 32)  # nobody updated the secret
    reads = []
    aws_client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append(1)
    )
    posts = len(emulator.requests)
    expect_error(
        handler, lambda_context, {"smsTo": A, "smsBody": "after"}, "AUTHENTICATION_CONNECTION_ERROR"
    )
    assert reads == [1]  # the secret was read afresh, once
    assert len(emulator.requests) - posts == 1  # it holds the same token: not sent again
    assert len(emulator.messages) == 1
