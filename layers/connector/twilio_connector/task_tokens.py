"""Send and wait: Step Functions task tokens parked until Twilio reports the outcome.

SEND_SMS with ``taskToken`` (a ``.waitForTaskToken`` task) parks the token in the idempotency
table with a TTL: under the message SID to wait for its delivery, or in the recipient's queue of
waiters to wait for their reply. Several executions may wait for a reply from one number: each
inbound message from it resumes the oldest waiter still waiting (a text message says nothing of
which message it answers), so they are answered in the order they asked. The inbound function
resumes the execution: ``SendTaskSuccess`` when the message
is delivered or the recipient answers, ``SendTaskFailure`` with the catalogued code when it
failed or went undelivered. A token Step Functions no longer knows (the state timed out, or the
execution ended) is logged and dropped, never retried.

A token is removed only once Step Functions took the answer (or said it no longer knows the
token): when ``SendTaskSuccess`` fails (throttling, an outage), the webhook fails and Twilio's
retry finds the token still parked. Two deliveries at once may both resume it; Step Functions
keeps the first answer and reports the token gone to the second.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import CANCELED, UNKNOWN_ERROR, aws_failure, error_for_twilio
from twilio_connector.observability import logger, metrics
from twilio_connector.redaction import mask_phone

DELIVERY, REPLY = "delivery", "reply"
WAIT_KINDS = (DELIVERY, REPLY)
FINAL_FAILURES = ("failed", "undelivered", "canceled")
#: Step Functions' answers for a token it no longer waits on.
GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def _key(kind: str, subject: str) -> str:
    return f"task#{kind}#{subject}"


def park(kind: str, subject: str, token: str, context: dict[str, Any]) -> None:
    """Keep ``token`` until the delivery of message ``subject`` / the reply of ``subject``.
    If the message's final status already came, resume at once."""
    settings = get_settings()
    if not settings.idempotency_table:
        raise RuntimeError("IDEMPOTENCY_TABLE is not set: a task token has nowhere to wait")
    expires = int(time.time()) + settings.task_token_ttl_seconds
    if kind == REPLY:
        _enqueue_reply_waiter(subject, token, context, expires)
        return
    # One item per message holds the token and the final status, whichever comes first: each
    # side writes its part and reads the other's in the same atomic update, so whichever comes
    # second resumes the execution, however the two interleave.
    old = (
        aws_client("dynamodb")
        .update_item(
            TableName=settings.idempotency_table,
            Key={"id": {"S": _key(DELIVERY, subject)}},
            UpdateExpression="SET #t = :token, context = :context, expiration = :expires",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":context": {"S": json.dumps(context)},
                ":expires": {"N": str(expires)},
            },
            ReturnValues="ALL_OLD",
        )
        .get("Attributes", {})
    )
    if "final_status" in old:  # the delivery was reported before the token was parked
        _finish(token, json.loads(old["final_status"]["S"]))
        _drop(DELIVERY, subject, token)


def _enqueue_reply_waiter(number: str, token: str, context: dict[str, Any], expires: int) -> None:
    """Append a waiter to ``number``'s queue (one atomic update: concurrent waiters all stay)."""
    waiter = {
        "token": {"S": token},
        "context": {"S": json.dumps(context)},
        "expires": {"N": str(expires)},
    }
    aws_client("dynamodb").update_item(
        TableName=get_settings().idempotency_table,
        Key={"id": {"S": _key(REPLY, number)}},
        UpdateExpression="SET waiters = list_append(if_not_exists(waiters, :none), :waiter), "
        "expiration = :expires",
        ExpressionAttributeValues={
            ":none": {"L": []},
            ":waiter": {"L": [{"M": waiter}]},
            ":expires": {"N": str(expires)},
        },
    )


def _oldest_reply_waiter(number: str) -> tuple[str, dict[str, Any]] | None:
    """The oldest waiter for a reply from ``number`` (left queued: it is dropped once resumed);
    expired ones at the head of the queue are dropped."""
    table = get_settings().idempotency_table
    if not table:
        return None
    key = {"id": {"S": _key(REPLY, number)}}
    while True:
        item = aws_client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
        waiters = item.get("Item", {}).get("waiters", {}).get("L", [])
        if not waiters:
            return None
        first = waiters[0]["M"]
        if int(first["expires"]["N"]) >= time.time():
            return first["token"]["S"], json.loads(first["context"]["S"])
        _drop_reply_waiter(number, first["token"]["S"])


def _drop_reply_waiter(number: str, token: str) -> None:
    """Remove ``token`` from the head of ``number``'s queue, unless another delivery did."""
    from botocore.exceptions import ClientError

    try:
        aws_client("dynamodb").update_item(
            TableName=get_settings().idempotency_table,
            Key={"id": {"S": _key(REPLY, number)}},
            UpdateExpression="REMOVE waiters[0]",
            ConditionExpression="waiters[0].#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _drop(kind: str, subject: str, token: str) -> None:
    """Remove a token once Step Functions took its answer (unless another was parked since)."""
    from botocore.exceptions import ClientError

    try:
        aws_client("dynamodb").delete_item(
            TableName=get_settings().idempotency_table,
            Key={"id": {"S": _key(kind, subject)}},
            ConditionExpression="#t = :token",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _resume(token: str, *, output: dict[str, Any] | None = None, error: Any = None) -> bool:
    from botocore.exceptions import ClientError

    client = aws_client("stepfunctions")
    try:
        if error is None:
            client.send_task_success(taskToken=token, output=json.dumps(output))
        else:
            client.send_task_failure(taskToken=token, error=error.code, cause=str(error)[:32768])
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code not in GONE:
            raise aws_failure(exc, "Step Functions") from exc  # the token stays parked
        logger.warning("Task token no longer waited on: dropped", extra={"reason": code})
        metrics.add_metric(name="TaskTokenExpired", unit=MetricUnit.Count, value=1)
        return False
    metrics.add_metric(name="TaskResumed", unit=MetricUnit.Count, value=1)
    return True


def on_status(detail: dict[str, Any]) -> None:
    """A status callback (or CANCEL_SMS): resume a delivery wait on the final status. A final
    status that comes before its token was parked (a fast delivery) is kept for ``park``."""
    status = detail["status"]
    if status != "delivered" and status not in FINAL_FAILURES:
        return
    table = get_settings().idempotency_table
    if not table:
        return
    sid = detail["messageSid"]
    old = (
        aws_client("dynamodb")
        .update_item(
            TableName=table,
            Key={"id": {"S": _key(DELIVERY, sid)}},
            UpdateExpression=(
                "SET final_status = :final, expiration = if_not_exists(expiration, :expires)"
            ),
            ExpressionAttributeValues={
                ":final": {"S": json.dumps(detail)},
                ":expires": {"N": str(int(time.time()) + 3600)},
            },
            ReturnValues="ALL_OLD",
        )
        .get("Attributes", {})
    )
    if "token" not in old or int(old.get("expiration", {}).get("N", "0")) < time.time():
        return  # not parked yet (park finds the final status), or no longer waited on
    token = old["token"]["S"]
    _finish(token, detail)
    _drop(DELIVERY, sid, token)


def _finish(token: str, detail: dict[str, Any]) -> None:
    status = detail["status"]
    if status == "delivered":
        _resume(token, output=detail)
    elif status == "canceled":
        _resume(
            token,
            error=CANCELED(
                "The message was canceled: it will not be delivered",
                messageSid=detail["messageSid"],
                status=status,
            ),
        )
    else:
        code = detail.get("errorCode")
        error_class = error_for_twilio(None, code) if code else UNKNOWN_ERROR
        error = error_class(
            f"The message was {status}" + (f" (Twilio error {code})" if code else ""),
            twilioCode=code,
            messageSid=detail["messageSid"],
            status=status,
        )
        _resume(token, error=error)
    logger.info(
        "Delivery wait resumed", extra={"messageSid": detail["messageSid"], "status": status}
    )


def on_reply(message: dict[str, str], matches: list[dict[str, Any]]) -> None:
    """An inbound message: resume the oldest wait for a reply from its sender, if any (a waiter
    Step Functions no longer knows, say one that timed out, is dropped for the next). One message
    resumes one waiter, however often it is delivered: the waiter it goes to is claimed under its
    ``MessageSid`` first, and a later delivery resumes that one again (Step Functions keeps the
    first answer), never the next."""
    while (parked := _oldest_reply_waiter(message["from"])) is not None:
        token, context, claimed_now = _claim_reply(message["messageSid"], *parked)
        output = {
            "body": message["body"],
            "from": message["from"],
            "to": message["to"],
            "messageSid": message["messageSid"],
            "inReplyTo": context.get("messageSid"),
            "matches": matches,
        }
        resumed = _resume(token, output=output)
        _drop_reply_waiter(message["from"], token)
        if resumed:
            logger.info("Reply wait resumed", extra={"from": mask_phone(message["from"])})
            return
        if not claimed_now:
            return  # an earlier delivery's waiter: it got this reply, or had stopped waiting
        _release_reply(message["messageSid"], token)  # it had stopped waiting: the next one


def _claim_reply(
    message_sid: str, token: str, context: dict[str, Any]
) -> tuple[str, dict[str, Any], bool]:
    """Give the reply ``message_sid`` to the waiter ``token``, unless an earlier delivery of it
    gave it to one already: (the waiter's token, its context, whether it was claimed now)."""
    from botocore.exceptions import ClientError

    table = get_settings().idempotency_table
    key = {"id": {"S": _key("reply-of", message_sid)}}
    try:
        aws_client("dynamodb").put_item(
            TableName=table,
            Item={
                **key,
                "token": {"S": token},
                "context": {"S": json.dumps(context)},
                "expiration": {"N": str(int(time.time()) + get_settings().task_token_ttl_seconds)},
            },
            ConditionExpression="attribute_not_exists(id)",
        )
        return token, context, True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    item = aws_client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return item["token"]["S"], json.loads(item["context"]["S"]), False


def _release_reply(message_sid: str, token: str) -> None:
    """Forget that ``message_sid`` went to ``token`` (a waiter that had stopped waiting)."""
    _drop("reply-of", message_sid, token)
