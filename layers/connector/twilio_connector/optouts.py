"""Opt-out state: which recipients told which of our senders to stop, kept as Twilio keeps it.

Twilio answers the opt-out keywords (STOP, ...) and HELP itself, and from then on refuses every
message from that sender to that recipient (error 21610) until they send START. Its list is per
sender: per Messaging Service when the number belongs to one, else per number. The connector
keeps the same list in ``OPT_OUT_TABLE`` (one item per sender and recipient), written by the
inbound function when a keyword comes in and by SEND_SMS when Twilio refuses a send with 21610,
so that SEND_SMS skips those recipients without calling Twilio (``skipped``), and so that
workflows hear of them (``SMS_OPT_OUT``, ``SMS_OPT_IN``, ``SMS_HELP`` on EventBridge).

Reading the list fails safe: if it cannot be read, nothing is sent (``SERVICE_UNAVAILABLE``).
Without ``OPT_OUT_TABLE`` (a deployment from before the table) nothing is kept or checked.
"""

from __future__ import annotations

import time
from typing import Any

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import SERVICE_UNAVAILABLE, aws_error_code, aws_failure
from twilio_connector.observability import logger
from twilio_connector.publishing import event_id, publish
from twilio_connector.redaction import mask_phone

SMS_OPT_OUT = "SMS_OPT_OUT"
SMS_OPT_IN = "SMS_OPT_IN"
SMS_HELP = "SMS_HELP"
#: Twilio's keywords (https://help.twilio.com/articles/223134027), matched on the whole body,
#: trimmed, in any case.
OPT_OUT_KEYWORDS = frozenset(
    ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT")
)
OPT_IN_KEYWORDS = frozenset(("START", "UNSTOP", "YES"))
HELP_KEYWORDS = frozenset(("HELP",))
#: Keywords Twilio answers itself: the connector's triggers do not echo them.
ANSWERED_BY_TWILIO = OPT_OUT_KEYWORDS | HELP_KEYWORDS
#: A body longer than this (with spaces around the keyword) is not looked at.
_LONGEST_BODY = 64
#: The reason a recipient is skipped, in SEND_SMS's ``skipped``.
OPTED_OUT = "OPTED_OUT"
#: Twilio's code for a send to a recipient who opted out of this sender.
UNSUBSCRIBED = 21610
#: BatchGetItem reads at most 100 keys a call.
BATCH_GET = 100
#: Calls for the keys DynamoDB leaves unprocessed (throttling) before giving up.
BATCH_ROUNDS = 5
WHAT = "The opt-out list (OPT_OUT_TABLE)"


def keyword_event(body: str) -> tuple[str, str] | None:
    """``(detail type, keyword)`` when the body is one of Twilio's keywords, else None."""
    if len(body) > _LONGEST_BODY:
        return None
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return SMS_OPT_OUT, word
    if word in OPT_IN_KEYWORDS:
        return SMS_OPT_IN, word
    if word in HELP_KEYWORDS:
        return SMS_HELP, word
    return None


def sender_key(sender: str | None, messaging_service_sid: str | None) -> str | None:
    """Whose list a recipient is on: the Messaging Service's, else the sending number's."""
    return messaging_service_sid or sender or None


def keyword_detail(detail_type: str, word: str, message: dict[str, str]) -> dict[str, Any]:
    """The event of an inbound keyword (numbers in full, as in ``SMS_RECEIVED``)."""
    return {
        "eventId": event_id(detail_type, message["messageSid"], word),
        "from": message["from"],
        "to": message["to"],
        "messagingServiceSid": message.get("messagingServiceSid") or None,
        "keyword": word,
        "messageSid": message["messageSid"],
        "accountSid": message.get("accountSid", ""),
    }


def apply_keyword(detail_type: str, word: str, message: dict[str, str]) -> None:
    """Record (opt-out) or clear (opt-in) the sender's opt-out; HELP changes nothing. Raises
    ``SERVICE_UNAVAILABLE`` if the table cannot be written."""
    sender = sender_key(message["to"], message.get("messagingServiceSid"))
    if sender is None or not message["from"]:
        return
    if detail_type == SMS_OPT_OUT:
        record_opt_out(sender, message["from"], keyword=word, message_sid=message["messageSid"])
    elif detail_type == SMS_OPT_IN:
        clear_opt_out(sender, message["from"])


def record_opt_out(
    sender: str,
    recipient: str,
    *,
    keyword: str | None = None,
    message_sid: str | None = None,
    reason: str | None = None,
) -> None:
    """``recipient`` opted out of ``sender`` (raises ``SERVICE_UNAVAILABLE`` if not kept)."""
    table = get_settings().opt_out_table
    if not table:
        return
    item: dict[str, Any] = {
        "sender": {"S": sender},
        "recipient": {"S": recipient},
        "optedOutAt": {"N": str(int(time.time()))},
    }
    for name, value in (("keyword", keyword), ("messageSid", message_sid), ("reason", reason)):
        if value:
            item[name] = {"S": value}
    try:
        aws_client("dynamodb").put_item(TableName=table, Item=item)
    except Exception as exc:
        raise aws_failure(exc, WHAT) from exc
    logger.info(
        "Opt-out recorded", extra={"to": mask_phone(recipient), "reason": reason or keyword}
    )


def clear_opt_out(sender: str, recipient: str) -> None:
    """``recipient`` opted in again (raises ``SERVICE_UNAVAILABLE`` if not kept)."""
    table = get_settings().opt_out_table
    if not table:
        return
    key = {"sender": {"S": sender}, "recipient": {"S": recipient}}
    try:
        aws_client("dynamodb").delete_item(TableName=table, Key=key)
    except Exception as exc:
        raise aws_failure(exc, WHAT) from exc
    logger.info("Opt-out cleared", extra={"to": mask_phone(recipient)})


def skipped(params: dict[str, Any], recipients: list[str]) -> dict[str, str]:
    """The recipients of a send (its Twilio ``params``) who opted out of its sender, each with
    the reason (``OPTED_OUT``): one ``BatchGetItem`` per 100 recipients. Raises
    ``SERVICE_UNAVAILABLE`` (or the deadline's ``GATEWAY_TIMEOUT``) if the list cannot be read:
    nothing must be sent then."""
    table = get_settings().opt_out_table
    sender = sender_key(params.get("from_"), params.get("messaging_service_sid"))
    if not table or sender is None or not recipients:
        return {}
    unique = list(dict.fromkeys(recipients))
    found: set[str] = set()
    for start in range(0, len(unique), BATCH_GET):
        keys = [
            {"sender": {"S": sender}, "recipient": {"S": to}}
            for to in unique[start : start + BATCH_GET]
        ]
        found.update(_opted_out(table, keys))
    return {to: OPTED_OUT for to in unique if to in found}


def _opted_out(table: str, keys: list[dict[str, Any]]) -> list[str]:
    """The recipients of ``keys`` on the list (DynamoDB's unprocessed keys asked again)."""
    found: list[str] = []
    request: dict[str, Any] = {
        table: {"Keys": keys, "ProjectionExpression": "recipient", "ConsistentRead": True}
    }
    for round_ in range(BATCH_ROUNDS):
        try:
            answer = aws_client("dynamodb").batch_get_item(RequestItems=request)
        except Exception as exc:
            raise aws_failure(exc, WHAT) from exc
        found += [item["recipient"]["S"] for item in answer.get("Responses", {}).get(table, [])]
        request = answer.get("UnprocessedKeys") or {}
        if not request.get(table, {}).get("Keys"):
            return found
        time.sleep(min(0.05 * 2**round_, 0.5))
    raise SERVICE_UNAVAILABLE(f"{WHAT} is unavailable (keys left unprocessed: throttled)")


def on_unsubscribed(params: dict[str, Any], recipients: list[str], request_key: str) -> None:
    """Twilio refused these recipients with 21610: record their opt-out and publish
    ``SMS_OPT_OUT`` (``reason: "21610"``) for each. The sends are settled already: a failure
    here is logged, not raised (Twilio keeps refusing them, and the next refusal records it)."""
    sender = sender_key(params.get("from_"), params.get("messaging_service_sid"))
    if sender is None or not recipients:
        return
    details = []
    for to in dict.fromkeys(recipients):
        try:
            record_opt_out(sender, to, reason=str(UNSUBSCRIBED))
        except Exception as exc:
            logger.error("Opt-out not recorded", extra={"code": getattr(exc, "code", None)})
        details.append(
            {
                # one event per request and recipient, however often the request is retried
                "eventId": event_id(SMS_OPT_OUT, request_key, f"{to}#{UNSUBSCRIBED}"),
                "from": to,
                "to": params.get("from_") or sender,
                "messagingServiceSid": params.get("messaging_service_sid"),
                "keyword": None,
                "messageSid": None,
                "reason": str(UNSUBSCRIBED),
            }
        )
    try:
        outcomes = publish(SMS_OPT_OUT, details)
    except Exception as exc:
        outcomes = [aws_error_code(exc)] * len(details)
    not_published = [error for error in outcomes if error]
    if not_published:
        logger.error(
            "SMS_OPT_OUT not published",
            extra={"count": len(not_published), "error": not_published[0]},
        )
