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

import json
from functools import cache
from typing import Any

from twilio_connector import on_clear_caches
from twilio_connector.config import get_settings
from twilio_connector.deadline import MIN_CALL_SECONDS, time_left
from twilio_connector.errors import GATEWAY_TIMEOUT

#: Services whose calls botocore must not retry.
SINGLE_ATTEMPT = frozenset({"events"})
#: Calls whose parameters are sent as they were built, as JSON (:class:`AsBuilt`).
AS_BUILT = {"dynamodb": frozenset({"TransactWriteItems", "BatchWriteItem", "BatchGetItem"})}


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
    if service in AS_BUILT:
        client._serializer = AsBuilt(client._serializer, AS_BUILT[service])
    if service == "dynamodb":
        _first_table_only(client.meta.service_model.operation_model("TransactWriteItems"))
    return client


def _first_table_only(operation: Any) -> None:
    """DynamoDB's endpoint rules read only the first table of a transaction
    (``ResourceArnList[0]``, for account-based endpoints), but botocore computes the list of
    every action's table before each call: a JMESPath search over the whole transaction, a
    thirtieth of a bulk send's CPU (make bench). The same search over the first action yields
    the same first table."""
    params = operation.operation_context_parameters
    path = params.get("ResourceArnList", {}).get("path", "")
    if path.startswith("TransactItems[*]."):
        first = "TransactItems[:1]." + path.removeprefix("TransactItems[*].")
        operation.operation_context_parameters = {**params, "ResourceArnList": {"path": first}}


class AsBuilt:
    """botocore's JSON-protocol serializer, but for ``operations``, whose parameters are sent as
    they were built. The send ledger's batches (``TransactWriteItems``, ``BatchWriteItem``) and
    the opt-out lookup (``BatchGetItem``) are DynamoDB AttributeValues of strings and string
    sets (and a flag): their JSON is the parameters' own,
    which botocore's serializer rebuilds member by member against the model, at ten times the
    cost of ``json.dumps``: 80 us a recipient, a tenth of a bulk send's CPU (make bench). What
    JSON cannot take as is (bytes: a binary attribute) goes through botocore's serializer, and
    a test holds the two to the same request for the ledger's calls."""

    def __init__(self, serializer: Any, operations: frozenset[str]) -> None:
        self.serializer, self.operations = serializer, operations

    def serialize_to_request(self, parameters: dict[str, Any], operation_model: Any) -> Any:
        if operation_model.name in self.operations:
            try:
                body = json.dumps(parameters).encode("utf-8")
            except TypeError:  # bytes (base64 for JSON) or another type the model converts
                pass
            else:  # the method, path and headers of the operation, which do not depend on
                # these operations' parameters
                request = self.serializer.serialize_to_request({}, operation_model)
                request["body"] = body
                return request
        return self.serializer.serialize_to_request(parameters, operation_model)


def _within_deadline(request: Any, **kwargs: Any) -> None:
    """Each attempt (retries too): refused when the invocation's time is up, its read timeout
    cut to what is left."""
    left = time_left()
    if left < MIN_CALL_SECONDS:
        raise GATEWAY_TIMEOUT("The function's time ran out before AWS could be called")
    if left < get_settings().aws_read_timeout:
        request.context["read_timeout"] = left


@on_clear_caches
def clear_clients() -> None:
    aws_client.cache_clear()
