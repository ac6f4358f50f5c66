"""Inbound SMS: match the triggers, publish SMS_RECEIVED, reply with TwiML; status callbacks.

A webhook Twilio delivers twice (same ``MessageSid``) is processed once: powertools idempotency
on a DynamoDB table (``IDEMPOTENCY_TABLE``) returns the first reply to the second delivery.

Every event has a stable ``eventId`` (:func:`twilio_connector.publishing.event_id`). Before the
webhook answers, each event of the message is on the bus or on the dead-letter queue (with the
inbound message), and what EventBridge accepted is recorded (:mod:`twilio_connector.event_ledger`),
so that a later delivery of the message (Twilio's retry, the fallback URL) and the dead-letter
replay publish only the rest. A delivery that fails anywhere else (the table, Step Functions),
or finds another delivery of the message in progress (409), keeps the events it cannot confirm
published on the dead-letter queue before it answers. If even the queue refuses, the webhook
answers 500 and Twilio's retry publishes what the ledger does not hold.

A reply resumes the execution waiting on its sender once its events are kept, and at most one
per ``MessageSid`` (:func:`twilio_connector.task_tokens.on_reply`).

A message that is one of Twilio's keywords (STOP, START, HELP, ...) also records or clears the
sender's opt-out and publishes ``SMS_OPT_OUT`` / ``SMS_OPT_IN`` / ``SMS_HELP``
(:mod:`twilio_connector.optouts`); STOP and HELP get no echo (Twilio answers them itself).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import event_ledger, on_clear_caches, optouts, task_tokens
from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import TRIGGER_CONFIGURATION_ERROR, ConnectorError, aws_error_code
from twilio_connector.observability import logger, metrics
from twilio_connector.publishing import dead_letter, event_id, is_unknown, publish
from twilio_connector.redaction import mask_phone
from twilio_connector.rendering import render
from twilio_connector.triggers import Match, TriggerConfigError, load_triggers, match_all

SMS_RECEIVED = "SMS_RECEIVED"
SMS_STATUS_CHANGED = "SMS_STATUS_CHANGED"
MAX_ECHO_CHARS = 1600
#: How long a delivery is remembered (its idempotency record).
PUBLISHED_TTL_SECONDS = 7 * 24 * 3600


class _Attempt:
    """What one delivery of a message did so far (for keeping the rest if it fails). (A plain
    class: a dataclass costs the cold start its decoration.)"""

    __slots__ = ("dead_letter_failed", "details", "kept", "published")

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] | None = None
        #: the events known on the bus (this delivery's, or recorded by an earlier one)
        self.published: set[str] = set()
        #: every event is on the bus or on the dead-letter queue
        self.kept = False
        #: the dead-letter queue refused: nothing more can be kept
        self.dead_letter_failed = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("inbound_attempt", default=None)


class InvalidWebhook(ValueError):
    """The webhook lacks what Twilio always sends (answered with 400)."""


def inbound_message(params: dict[str, str]) -> dict[str, str]:
    """The fields of Twilio's incoming-message webhook the connector uses."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
    if not sid:
        raise InvalidWebhook("MessageSid is missing")
    message = {
        "messageSid": sid,
        "accountSid": params.get("AccountSid", ""),
        "from": params.get("From", ""),
        "to": params.get("To", ""),
        "body": params.get("Body", ""),
    }
    if params.get("MessagingServiceSid"):  # the number is a Messaging Service's: its opt-outs
        message["messagingServiceSid"] = params["MessagingServiceSid"]
    return message


def receive_sms(message: dict[str, str], context: Any = None) -> str:
    """The TwiML reply to an incoming message, processed once per ``messageSid``."""
    attempt = _Attempt()
    token = _ATTEMPT.set(attempt)
    try:
        return _once(context)(message=message)
    except Exception as exc:
        _keep_after_failure(message, attempt, exc)
        raise
    finally:
        _ATTEMPT.reset(token)


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


on_clear_caches(_idempotent_receive.cache_clear)


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

    attempt = _ATTEMPT.get() or _Attempt()
    settings = get_settings()
    try:
        triggers = load_triggers()
    except TriggerConfigError as exc:
        # the message cannot be matched: keep it, and answer an error (Twilio's fallback URL)
        dead_letter({"detailType": SMS_RECEIVED, "reason": str(exc), "message": message})
        attempt.kept = True
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
    details = [_received_detail(match, message) for match in matches]
    attempt.details = details
    errors = publish_and_keep(SMS_RECEIVED, message["messageSid"], details, attempt, message)
    keyword = optouts.keyword_event(message["body"])
    if keyword is not None:
        _keyword(*keyword, message, attempt)
    # the waiting execution, once the message is kept: if resuming fails (500), Twilio's retry
    # resumes the same one (never the next with the same SMS) and publishes nothing again
    task_tokens.on_reply(
        message, [{"trigger": m.trigger.name, "matchGroups": m.groups} for m in matches]
    )
    reply = MessagingResponse()
    if keyword is not None and keyword[1] in optouts.ANSWERED_BY_TWILIO:
        return str(reply)  # Twilio answers STOP and HELP itself: no second reply
    for match, detail in zip(matches, details, strict=True):
        template = match.trigger.echo_error if errors[detail["eventId"]] else match.trigger.echo
        text = _echo(template, match)
        if text:
            reply.message(text)
    return str(reply)


def _keyword(detail_type: str, word: str, message: dict[str, str], attempt: _Attempt) -> None:
    """An opt-out, opt-in or HELP keyword: the sender's opt-out recorded or cleared, then its
    event published (a workflow hearing SMS_OPT_IN may send at once). If the table cannot be
    written, the event is kept on the dead-letter queue and the webhook answers an error:
    Twilio's retry records it (and a send Twilio refuses with 21610 records an opt-out too)."""
    detail = optouts.keyword_detail(detail_type, word, message)
    try:
        optouts.apply_keyword(detail_type, word, message)
    except ConnectorError as error:
        dead_letter(
            {
                "detailType": detail_type,
                "reason": f"The opt-out state could not be recorded ({error.code})",
                "failed": [{"detail": detail, "error": error.code}],
                "message": message,
            }
        )
        raise
    publish_and_keep(detail_type, message["messageSid"], [detail], attempt, message)
    logger.info("SMS keyword", extra={"kind": detail_type, "from": mask_phone(message["from"])})


def publish_and_keep(
    detail_type: str,
    message_sid: str,
    details: list[dict[str, Any]],
    attempt: _Attempt | None = None,
    message: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """Publish the events of ``message_sid`` not known published yet, record what EventBridge
    accepted, and put the others on the dead-letter queue (with ``message``). Returns, per
    ``eventId``, None or why it is not on the bus. Raises only when the queue refuses: the
    webhook must then answer an error."""
    attempt = attempt if attempt is not None else _Attempt()
    table = get_settings().idempotency_table
    done = _published_before(table, message_sid) if details and table else set()
    pending = [detail for detail in details if detail["eventId"] not in done]
    outcomes = publish(detail_type, pending) if pending else []
    errors = {d["eventId"]: error for d, error in zip(pending, outcomes, strict=True)}
    accepted = [key for key, error in errors.items() if error is None]
    attempt.published.update(done, accepted)
    if table:
        _record_published(table, message_sid, accepted)
    failed = [{"detail": d, "error": errors[d["eventId"]]} for d in pending if errors[d["eventId"]]]
    if failed:
        unknown = any(is_unknown(item["error"]) for item in failed)
        record: dict[str, Any] = {
            "detailType": detail_type,
            "reason": "EventBridge's answer was lost: the event(s) may be on the bus"
            if unknown
            else "EventBridge did not accept the event(s)",
            "failed": failed,
        }
        if message is not None:
            record["message"] = message
        try:
            dead_letter(record)
        except Exception:
            attempt.dead_letter_failed = True
            raise
    attempt.kept = True
    return {detail["eventId"]: errors.get(detail["eventId"]) for detail in details}


def _published_before(table: str, message_sid: str) -> set[str]:
    """The events of this message an earlier delivery published. If the table cannot say, none:
    publishing again costs at most a duplicate with the same eventId, not publishing a loss."""
    try:
        return event_ledger.published(table, message_sid)
    except Exception as exc:
        logger.warning(
            "Published events not read: publishing all", extra={"code": aws_error_code(exc)}
        )
        return set()


def _record_published(table: str, message_sid: str, event_ids: list[str]) -> None:
    """Record what EventBridge accepted, for a later delivery of this message and the replay."""
    try:
        event_ledger.record(table, message_sid, event_ids)
    except Exception as exc:  # the events are on the bus: go on
        logger.error("Published events not recorded", extra={"code": aws_error_code(exc)})


def _keep_after_failure(message: dict[str, str], attempt: _Attempt, exc: Exception) -> None:
    """A delivery that fails, or finds another delivery of the message in progress, answers an
    error only once the events it cannot confirm published are on the dead-letter queue: Twilio
    may not deliver the message again (no retry, or the other delivery fails too)."""
    if attempt.kept or attempt.dead_letter_failed:
        return
    code = getattr(exc, "code", None) or aws_error_code(exc)
    in_progress = type(exc).__name__ == "IdempotencyAlreadyInProgressError"
    details = attempt.details
    record: dict[str, Any] = {"detailType": SMS_RECEIVED, "message": message}
    if details is None:
        try:
            triggers = load_triggers()
        except TriggerConfigError as config_error:
            record["reason"] = str(config_error)  # kept as the triggers' own failure keeps it
        else:
            matches = match_all(triggers, message["body"], get_settings().trigger_timeout_seconds)
            details = [_received_detail(match, message) for match in matches]
    if details is not None:
        failed = [d for d in details if d["eventId"] not in attempt.published]
        if not failed:
            return  # every event is on the bus (a reply wait, say, failed)
        record["failed"] = [{"detail": detail, "error": code} for detail in failed]
        record["reason"] = (
            "Another delivery of this message was in progress and may fail"
            if in_progress
            else f"The webhook failed ({code}) before these events were published"
        )
    try:
        dead_letter(record)
    except Exception as keep_error:
        logger.error(
            "Message not kept: the dead-letter queue failed too",
            extra={"messageSid": message["messageSid"], "code": aws_error_code(keep_error)},
        )


def _received_detail(match: Match, message: dict[str, str]) -> dict[str, Any]:
    return {
        "eventId": event_id(SMS_RECEIVED, message["messageSid"], match.trigger.name),
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
        "eventId": event_id(SMS_STATUS_CHANGED, sid, status),
        "messageSid": sid,
        "status": status,
        "errorCode": int(code) if code and code.isascii() and code.isdigit() else None,
        "to": params.get("To", ""),
        "from": params.get("From", ""),
        "accountSid": params.get("AccountSid", ""),
    }
    # the event first, kept whatever comes next: if resuming a waiting execution fails (500),
    # Twilio's retry of this callback resumes it then and publishes nothing again
    publish_and_keep(SMS_STATUS_CHANGED, sid, [detail])
    # (a waiting execution gets the status as before: the event's identity is the bus's concern)
    task_tokens.on_status({key: value for key, value in detail.items() if key != "eventId"})
    logger.info("SMS status", extra={"messageSid": sid, "status": status})
