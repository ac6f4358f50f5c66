"""Inbound SMS: match the triggers, publish SMS_RECEIVED, reply with TwiML; status callbacks.

A webhook Twilio delivers twice (same ``MessageSid``) is processed once: powertools idempotency
on a DynamoDB table (``IDEMPOTENCY_TABLE``) returns the first reply to the second delivery.
An event that cannot be published goes, with the inbound message, to the dead-letter queue. If
even the queue refuses it, the webhook fails (Twilio retries, or calls the fallback URL) and the
triggers whose events were published are remembered beside the idempotency record, so that the
retry publishes only the others: no event twice, none lost.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import task_tokens
from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import TRIGGER_CONFIGURATION_ERROR, ConnectorError, aws_failure
from twilio_connector.observability import logger, metrics
from twilio_connector.publishing import dead_letter, publish
from twilio_connector.redaction import mask_phone
from twilio_connector.rendering import render
from twilio_connector.triggers import Match, TriggerConfigError, load_triggers, match_all

SMS_RECEIVED = "SMS_RECEIVED"
SMS_STATUS_CHANGED = "SMS_STATUS_CHANGED"
MAX_ECHO_CHARS = 1600
#: How long a delivery's published triggers are remembered: as long as its idempotency record.
PUBLISHED_TTL_SECONDS = 7 * 24 * 3600


class InvalidWebhook(ValueError):
    """The webhook lacks what Twilio always sends (answered with 400)."""


def inbound_message(params: dict[str, str]) -> dict[str, str]:
    """The fields of Twilio's incoming-message webhook the connector uses."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
    if not sid:
        raise InvalidWebhook("MessageSid is missing")
    return {
        "messageSid": sid,
        "accountSid": params.get("AccountSid", ""),
        "from": params.get("From", ""),
        "to": params.get("To", ""),
        "body": params.get("Body", ""),
    }


def receive_sms(message: dict[str, str], context: Any = None) -> str:
    """The TwiML reply to an incoming message, processed once per ``messageSid``."""
    return _once(context)(message=message)


@cache
def _idempotent_receive() -> Any:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    table = get_settings().idempotency_table
    if not table:
        logger.warning("IDEMPOTENCY_TABLE is not set: duplicate webhooks are not detected")
        return None
    config = IdempotencyConfig(
        event_key_jmespath="messageSid",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=PUBLISHED_TTL_SECONDS,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=aws_client("dynamodb"))
    return config, idempotent_function(
        data_keyword_argument="message", persistence_store=persistence, config=config
    )(_receive)


def _once(context: Any) -> Any:
    built = _idempotent_receive()
    if built is None:
        return _receive
    config, function = built
    if context is not None:
        config.register_lambda_context(context)
    return function


def _receive(message: dict[str, str]) -> str:
    from twilio.twiml.messaging_response import MessagingResponse

    settings = get_settings()
    try:
        triggers = load_triggers()
    except TriggerConfigError as exc:
        # the message cannot be matched: keep it, and answer an error (Twilio's fallback URL)
        dead_letter({"detailType": SMS_RECEIVED, "reason": str(exc), "message": message})
        raise TRIGGER_CONFIGURATION_ERROR(str(exc)) from None
    matches = match_all(triggers, message["body"], settings.trigger_timeout_seconds)
    metrics.add_metric(name="SmsReceived", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="SmsMatched" if matches else "SmsUnmatched", unit=MetricUnit.Count, value=1
    )
    if settings.log_message_bodies:
        logger.debug("SMS body (LOG_MESSAGE_BODIES is on)", extra={"body": message["body"]})
    logger.info(
        "SMS received",
        extra={
            "messageSid": message["messageSid"],
            "from": mask_phone(message["from"]),
            "matched": [m.trigger.name for m in matches],
        },
    )
    reply = MessagingResponse()
    task_tokens.on_reply(
        message, [{"trigger": m.trigger.name, "matchGroups": m.groups} for m in matches]
    )
    if not matches:
        return str(reply)
    details = [_received_detail(match, message) for match in matches]
    done = _published_before(message["messageSid"])
    pending = [detail for detail in details if detail["trigger"] not in done]
    outcomes_now = publish(SMS_RECEIVED, pending)
    published = {d["trigger"]: error for d, error in zip(pending, outcomes_now, strict=True)}
    outcomes = [published.get(detail["trigger"]) for detail in details]
    failed = [
        {"detail": detail, "error": error}
        for detail, error in zip(details, outcomes, strict=True)
        if error
    ]
    if failed:
        _remember_published(
            message["messageSid"], [name for name, error in published.items() if error is None]
        )
        dead_letter(
            {
                "detailType": SMS_RECEIVED,
                "reason": "EventBridge did not accept the event(s)",
                "failed": failed,
                "message": message,
            }
        )
    for match, error in zip(matches, outcomes, strict=True):
        template = match.trigger.echo_error if error else match.trigger.echo
        text = _echo(template, match)
        if text:
            reply.message(text)
    return str(reply)


def _published_key(message_sid: str) -> str:
    return f"inbound-published#{message_sid}"


def _published_before(message_sid: str) -> set[str]:
    """The triggers whose events an earlier, failed delivery of this message published."""
    table = get_settings().idempotency_table
    if not table:
        return set()
    try:
        item = aws_client("dynamodb").get_item(
            TableName=table, Key={"id": {"S": _published_key(message_sid)}}, ConsistentRead=True
        )
    except Exception as exc:
        raise aws_failure(exc, "The idempotency table") from exc
    return set(item.get("Item", {}).get("triggers", {}).get("SS", []))


def _remember_published(message_sid: str, triggers: list[str]) -> None:
    """Keep what was published, for a retry of this delivery (if the dead-letter queue fails)."""
    settings = get_settings()
    if not triggers or not settings.idempotency_table:
        return
    try:
        aws_client("dynamodb").update_item(
            TableName=settings.idempotency_table,
            Key={"id": {"S": _published_key(message_sid)}},
            UpdateExpression="ADD triggers :names SET expiration = :expiration",
            ExpressionAttributeValues={
                ":names": {"SS": triggers},
                ":expiration": {"N": str(int(time.time()) + PUBLISHED_TTL_SECONDS)},
            },
        )
    except Exception as exc:  # the dead-letter queue may still take the rest: go on
        logger.error(
            "Published triggers not recorded", extra={"code": aws_failure(exc, "table").code}
        )


def _received_detail(match: Match, message: dict[str, str]) -> dict[str, Any]:
    return {
        "trigger": match.trigger.name,
        "matchGroups": match.groups,
        "originalMessage": message["body"],
        "to": message["to"],
        "from": message["from"],
        "messageSid": message["messageSid"],
        "accountSid": message["accountSid"],
    }


def _echo(template: str | None, match: Match) -> str | None:
    """The rendered echo, or None (logged) when it cannot be rendered: a reply is optional,
    the event is what matters."""
    if not template:
        return None
    variables = {k: v for k, v in match.groups.items() if v is not None}
    try:
        text = render(template, variables)
    except ConnectorError as error:
        logger.warning(
            "Echo not rendered", extra={"trigger": match.trigger.name, "code": error.code}
        )
        return None
    return text[:MAX_ECHO_CHARS] or None


def receive_status(params: dict[str, str]) -> None:
    """Publish ``SMS_STATUS_CHANGED`` for a message status callback."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise InvalidWebhook("MessageSid and MessageStatus are required")
    code = params.get("ErrorCode")
    detail = {
        "messageSid": sid,
        "status": status,
        "errorCode": int(code) if code and code.isascii() and code.isdigit() else None,
        "to": params.get("To", ""),
        "from": params.get("From", ""),
        "accountSid": params.get("AccountSid", ""),
    }
    # a waiting execution first: if resuming it fails, Twilio's retry of this callback resumes
    # it then, and the event below has not been published twice
    task_tokens.on_status(detail)
    [error] = publish(SMS_STATUS_CHANGED, [detail])
    if error:
        dead_letter(
            {
                "detailType": SMS_STATUS_CHANGED,
                "reason": "EventBridge did not accept the event",
                "failed": [{"detail": detail, "error": error}],
            }
        )
    logger.info("SMS status", extra={"messageSid": sid, "status": status})
