"""boto3 clients, built on first use (never at import) and reused for the environment's life.

Every client has short connect and read timeouts and botocore's standard retry mode (connection
errors, timeouts, throttling and 5xx are retried with jittered backoff), but EventBridge's, whose
``PutEvents`` is not idempotent (an attempt whose answer was lost may have been accepted, and a
retry would publish the events again: :mod:`twilio_connector.publishing` decides what is safe
to put again), and no attempt outlives
the invocation: one is not started with less than ``MIN_CALL_SECONDS`` left, and its read
timeout is cut to the time left (botocore's per-request ``read_timeout``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from twilio_connector.config import get_settings
from twilio_connector.deadline import MIN_CALL_SECONDS, time_left
from twilio_connector.errors import GATEWAY_TIMEOUT

#: Services whose calls botocore must not retry.
SINGLE_ATTEMPT = frozenset({"events"})


@cache
def aws_client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (moto when offline) is honoured by boto3 itself."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    attempts = 1 if service in SINGLE_ATTEMPT else settings.aws_max_attempts
    client = boto3.client(
        service,
        config=Config(
            connect_timeout=settings.aws_connect_timeout,
            read_timeout=settings.aws_read_timeout,
            retries={"mode": "standard", "total_max_attempts": attempts},
            # the requests are built by this code, and AWS validates them itself: botocore's
            # client-side check cost more CPU than the rest of a send ledger batch (make bench)
            parameter_validation=False,
        ),
    )
    client.meta.events.register("before-send", _within_deadline)
    return client


def _within_deadline(request: Any, **kwargs: Any) -> None:
    """Each attempt (retries too): refused when the invocation's time is up, its read timeout
    cut to what is left."""
    left = time_left()
    if left < MIN_CALL_SECONDS:
        raise GATEWAY_TIMEOUT("The function's time ran out before AWS could be called")
    if left < get_settings().aws_read_timeout:
        request.context["read_timeout"] = left


def clear_clients() -> None:
    aws_client.cache_clear()
