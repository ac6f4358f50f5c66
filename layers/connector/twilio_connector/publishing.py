"""Publishing connector events on EventBridge, and keeping what could not be published (SQS).

``PutEvents`` can fail per entry without raising: an entry with an ``ErrorCode`` (and
``FailedEntryCount > 0``) is a failure, as much as an exception is.

A dead-letter record is ``{"detailType", "source", "eventBusName", "reason", "failed":
[{"detail", "error"}], "message"?}``: everything needed to publish the same events later
(:mod:`twilio_connector.replay`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import aws_failure
from twilio_connector.observability import logger, metrics

#: PutEvents takes at most 10 entries per call.
BATCH = 10


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
        except Exception as exc:  # any failure to reach EventBridge fails the whole batch
            logger.warning("PutEvents failed", extra={"error": type(exc).__name__})
            outcomes += [f"{type(exc).__name__}"] * len(batch)
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


def publish(detail_type: str, details: list[dict[str, Any]]) -> list[str | None]:
    """Put one event per detail on the connector's bus. Returns, per detail, None when it was
    published or the reason it was not."""
    settings = get_settings()
    outcomes = put_entries(
        [
            event_entry(
                detail_type, detail, source=settings.event_source, bus=settings.event_bus_name
            )
            for detail in details
        ]
    )
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
    record = {"source": settings.event_source, "eventBusName": settings.event_bus_name, **record}
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
