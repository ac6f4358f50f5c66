"""Which connector events are known to be on the bus: one item per message in the idempotency
table (``inbound-published#<MessageSid>``, the ``eventIds`` EventBridge accepted, kept 15 days:
longer than the dead-letter queue keeps a message, so the replay finds them whenever it runs).

The inbound function records what it published and skips it on a later delivery of the same
message (Twilio's retry, the fallback URL); the dead-letter replay skips it too and records what
it publishes. So an event is put twice only when an outcome was unknown (EventBridge's answer
lost) or the table could not be written; it then carries the same ``eventId``.
"""

from __future__ import annotations

import time

from twilio_connector.aws import aws_client
from twilio_connector.publishing import event_id

#: The dead-letter queue's retention (14 days) and a day.
TTL_SECONDS = 15 * 24 * 3600


def _key(message_sid: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"inbound-published#{message_sid}"}}


def published(table: str, message_sid: str) -> set[str]:
    """The ids of ``message_sid``'s events recorded as published (raises if the table fails)."""
    answer = aws_client("dynamodb").get_item(
        TableName=table, Key=_key(message_sid), ConsistentRead=True
    )
    item = answer.get("Item", {})
    ids = set(item.get("eventIds", {}).get("SS", []))
    # (records written before events had ids name the triggers whose SMS_RECEIVED was published)
    ids.update(
        event_id("SMS_RECEIVED", message_sid, name)
        for name in item.get("triggers", {}).get("SS", [])
    )
    return ids


def record(table: str, message_sid: str, event_ids: list[str]) -> None:
    """Add ``event_ids`` to what is known published of ``message_sid`` (raises if it fails)."""
    if not event_ids:
        return
    aws_client("dynamodb").update_item(
        TableName=table,
        Key=_key(message_sid),
        UpdateExpression="ADD eventIds :ids SET expiration = :expiration",
        ExpressionAttributeValues={
            ":ids": {"SS": sorted(set(event_ids))},
            ":expiration": {"N": str(int(time.time()) + TTL_SECONDS)},
        },
    )
