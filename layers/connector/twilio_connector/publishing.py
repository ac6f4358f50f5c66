"""Publishing connector events on EventBridge, and keeping what could not be published (SQS).

``PutEvents`` can fail per entry without raising: an entry with an ``ErrorCode`` (and
``FailedEntryCount > 0``) is a failure, as much as an exception is.

``PutEvents`` is not idempotent: EventBridge gives every accepted entry a new id, and an attempt
whose answer was lost (a read timeout, a dropped connection, a 5xx) may have been accepted. So
the SDK never retries it (``aws_client("events")`` makes one attempt), such an outcome is
reported as unknown (``OutcomeUnknown:<error>``) and kept like a failure, and only what was
certainly refused (an entry's ``ThrottlingException`` / ``InternalFailure``, throttling, a
connection never made) is put again. Every event carries a stable ``eventId`` in its detail
(:func:`event_id`): the same event published twice (an unknown outcome, then the replay) has
the same ``eventId``, which is what consumers de-duplicate on.

A dead-letter record is ``{"detailType", "source", "eventBusName", "ledgerTable", "reason",
"failed": [{"detail", "error"}], "message"?}``: everything needed to publish the same events
later (:mod:`twilio_connector.replay`), and where to look up which of them were published since
(:mod:`twilio_connector.event_ledger`).
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.deadline import MIN_CALL_SECONDS, time_left
from twilio_connector.errors import aws_error_code, aws_failure
from twilio_connector.observability import logger, metrics

#: PutEvents takes at most 10 entries per call.
BATCH = 10
#: The prefix of an outcome that is not known: EventBridge may have accepted the entry.
UNKNOWN_OUTCOME = "OutcomeUnknown:"
#: Failures that certainly published nothing and may pass on another attempt.
RETRYABLE = frozenset(
    {"InternalFailure", "ThrottlingException", "EndpointConnectionError", "ConnectTimeoutError"}
)
#: The namespace of the events' ids (UUID version 5): fixed, so an id never changes.
EVENT_ID_NAMESPACE = "8f0c7a52-5d1e-4b8a-9a57-2c6f0d4b1e63"


def event_id(detail_type: str, message_sid: str, name: str) -> str:
    """The stable identity of a connector event: ``SMS_RECEIVED`` of one message for one trigger
    (``name`` = the trigger), ``SMS_STATUS_CHANGED`` of one message to one status."""
    import uuid  # (on first use: not on the import path of every cold start)

    namespace = uuid.UUID(EVENT_ID_NAMESPACE)
    return str(uuid.uuid5(namespace, "\n".join((detail_type, message_sid, name))))


def is_unknown(error: str | None) -> bool:
    """Whether a publish outcome is unknown (the event may be on the bus)."""
    return bool(error and error.startswith(UNKNOWN_OUTCOME))


def event_entry(
    detail_type: str,
    detail: dict[str, Any],
    *,
    source: str,
    bus: str,
    time: datetime | None = None,
) -> dict[str, Any]:
    """One ``PutEvents`` entry."""
    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": bus,
    }
    return entry if time is None else {**entry, "Time": time}


def put_entries(entries: list[dict[str, Any]]) -> list[str | None]:
    """Put the entries, 10 per call. Returns, per entry, None when it was published or the
    reason it was not."""
    outcomes: list[str | None] = []
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        try:
            answer = aws_client("events").put_events(Entries=batch)
        except Exception as exc:  # the whole batch failed, or its outcome is unknown
            error = _call_failure(exc)
            logger.warning("PutEvents failed", extra={"error": error})
            outcomes += [error] * len(batch)
            continue
        results = answer.get("Entries", [])
        failed = answer.get("FailedEntryCount", 0)
        for index in range(len(batch)):
            result = results[index] if index < len(results) else {}
            code = result.get("ErrorCode")
            if code or (failed and not result.get("EventId")):
                outcomes.append(code or "FailedEntry")
            else:
                outcomes.append(None)
    return outcomes


def _call_failure(exc: BaseException) -> str:
    """A failed ``PutEvents`` call: ``OutcomeUnknown:<error>`` when the request may have reached
    EventBridge and its answer was lost (a read timeout, a dropped connection, a 5xx), else its
    error (a refusal, throttling, a connection never made, the invocation's time up)."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ProxyConnectionError,
    )

    never_sent = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)
    if isinstance(exc, HTTPClientError) and not isinstance(exc, never_sent):
        return UNKNOWN_OUTCOME + type(exc).__name__
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
        if status >= 500:
            return UNKNOWN_OUTCOME + aws_error_code(exc)
    return aws_error_code(exc)


def publish(detail_type: str, details: list[dict[str, Any]]) -> list[str | None]:
    """Put one event per detail on the connector's bus. Returns, per detail, None when it was
    published or the reason it was not (see :func:`is_unknown`). What was certainly refused is
    put again, up to ``AWS_MAX_ATTEMPTS`` times with backoff, within the invocation's time."""
    settings = get_settings()
    entries = [
        event_entry(detail_type, detail, source=settings.event_source, bus=settings.event_bus_name)
        for detail in details
    ]
    outcomes: list[str | None] = [None] * len(entries)
    todo = list(range(len(entries)))
    for attempt in range(settings.aws_max_attempts):
        if attempt:
            ceiling = settings.backoff_base_seconds * 2 ** (attempt - 1)
            pause = random.uniform(0, min(settings.backoff_cap_seconds, ceiling))
            if time_left() - pause < MIN_CALL_SECONDS:
                break
            time.sleep(pause)
        for index, error in zip(todo, put_entries([entries[i] for i in todo]), strict=True):
            outcomes[index] = error
        todo = [i for i in todo if outcomes[i] in RETRYABLE]
        if not todo:
            break
    published = outcomes.count(None)
    if published:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=published)
    if len(outcomes) - published:
        metrics.add_metric(
            name="EventsNotPublished", unit=MetricUnit.Count, value=len(outcomes) - published
        )
    return outcomes


def dead_letter(record: dict[str, Any]) -> None:
    """Keep what could not be published on the dead-letter queue, with the source and bus it
    was meant for. Raises if even that fails: the caller must then fail the request, so that
    nothing is lost silently."""
    settings = get_settings()
    if not settings.dead_letter_queue_url:
        raise RuntimeError(
            "DEAD_LETTER_QUEUE_URL is not set: an unpublished event has nowhere to go"
        )
    record = {
        "source": settings.event_source,
        "eventBusName": settings.event_bus_name,
        "ledgerTable": settings.idempotency_table,
        **record,
    }
    try:
        aws_client("sqs").send_message(
            QueueUrl=settings.dead_letter_queue_url, MessageBody=json.dumps(record)
        )
    except Exception as exc:
        raise aws_failure(exc, "The dead-letter queue") from exc
    metrics.add_metric(name="DeadLettered", unit=MetricUnit.Count, value=1)
    logger.warning(
        "Unpublished event kept on the dead-letter queue", extra={"kind": record.get("detailType")}
    )
