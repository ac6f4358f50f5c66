"""The send ledger: one DynamoDB record per (request, recipient), so a retried SEND_SMS sends each
message at most once and never loses one.

A record goes ``started`` (claimed, with a lease) -> ``sent`` (Twilio's resource kept), or ->
``failed`` (Twilio refused: nothing was created) or ``unknown`` (the answer was lost). A retry:

- finds ``sent``: adopts the message, sends nothing;
- finds ``started`` with a live lease: another invocation is sending right now (``CONFLICT``);
- finds ``started`` with an expired lease (the process died after calling Twilio) or ``unknown``:
  must ask Twilio whether the message exists before sending (reconciliation);
- finds ``failed`` or nothing: sends.

Claims are conditional writes, so two invocations never both send. powertools idempotency is not
used here: it deletes its record when the function raises and treats an expired in-progress
record as never started, which is the very case (sent, then crashed) this ledger exists for.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import SERVICE_UNAVAILABLE

PREFIX = "sms-send"


class Decision(Enum):
    SEND = "send"  # nothing was sent before
    RECONCILE = "reconcile"  # a previous attempt may have sent it: ask Twilio first
    ADOPT = "adopt"  # it was sent: reuse the recorded message
    BUSY = "busy"  # another invocation is sending it now


@dataclass(frozen=True)
class Claim:
    key: str
    token: str
    decision: Decision
    previous_attempt_at: float | None = None
    resource: dict[str, Any] | None = None


def request_key(idempotency_key: str | None, normalised: dict[str, Any]) -> str:
    """The caller's ``idempotencyKey``, or a hash of the normalised request."""
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    canonical = json.dumps(normalised, sort_keys=True, separators=(",", ":"), default=str)
    return "hash:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class SendLedger:
    def __init__(self, table: str) -> None:
        self.table = table
        self.settings = get_settings()

    def _key(self, request: str, recipient: str) -> str:
        return f"{PREFIX}#{request}#{recipient}"

    def claim(self, request: str, recipient: str, lease_seconds: float) -> Claim:
        """Take the right to send to ``recipient`` for ``request``, or learn why not."""
        from botocore.exceptions import ClientError

        key, token, now = self._key(request, recipient), uuid.uuid4().hex, time.time()
        item = {
            "id": {"S": key},
            "status": {"S": "started"},
            "claim": {"S": token},
            "attempt_at": {"N": f"{now:.3f}"},
            "lease_until": {"N": f"{now + lease_seconds:.3f}"},
            "expiration": {"N": str(int(now) + self.settings.idempotency_ttl_seconds)},
        }
        try:
            answer = aws_client("dynamodb").put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(id) OR (#s <> :sent AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":sent": {"S": "sent"},
                    ":now": {"N": f"{now:.3f}"},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(exc) from exc
            old = exc.response.get("Item") or self._read(key)
            if old.get("status", {}).get("S") == "sent":
                resource = json.loads(old["resource"]["S"])
                return Claim(key, token, Decision.ADOPT, resource=resource)
            return Claim(key, token, Decision.BUSY)
        old = answer.get("Attributes") or {}
        status = old.get("status", {}).get("S")
        if status in ("started", "unknown"):
            return Claim(key, token, Decision.RECONCILE, float(old["attempt_at"]["N"]))
        return Claim(key, token, Decision.SEND)

    def _read(self, key: str) -> dict[str, Any]:
        answer = aws_client("dynamodb").get_item(
            TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
        )
        return answer.get("Item") or {}

    def record(self, claim: Claim, status: str, resource: dict[str, Any] | None = None) -> None:
        """Record the outcome of our claim (ignored if another invocation took it over since)."""
        from botocore.exceptions import ClientError

        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":claim": {"S": claim.token},
            ":zero": {"N": "0"},
        }
        update = "SET #s = :status, lease_until = :zero"
        if resource is not None:
            update += ", sid = :sid, #r = :resource"
            names["#r"] = "resource"
            values[":sid"] = {"S": str(resource.get("sid"))}
            values[":resource"] = {"S": json.dumps(resource)}
        try:
            aws_client("dynamodb").update_item(
                TableName=self.table,
                Key={"id": {"S": claim.key}},
                UpdateExpression=update,
                ConditionExpression="claim = :claim",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> SERVICE_UNAVAILABLE:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return SERVICE_UNAVAILABLE(
        f"The send ledger (IDEMPOTENCY_TABLE) is unavailable ({code}); nothing was sent"
    )
