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

Beside the per-recipient records:

- ``sms-request#<request>`` binds an ``idempotencyKey`` to the request's fingerprint (recipients,
  rendered body, sender, media, schedule): the same key with another request is refused
  (``IDEMPOTENCY_KEY_REUSED``) before anything is sent.
- ``sms-sid#<sid>`` names the (request, recipient) a message belongs to: reconciliation never
  adopts a message another request sent or adopted.
- ``sms-inflight#<recipient>#<content>`` lists the attempts whose outcome is not settled yet
  (claimed, not recorded as sent or failed) per recipient and content: reconciliation adopts an
  unowned message only when no other request's attempt could have sent it.
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
from twilio_connector.errors import IDEMPOTENCY_KEY_REUSED, aws_failure

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
    recipient: str = ""
    entry: str | None = None  # this attempt in the in-flight list, until its outcome is settled


def digest(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def request_key(idempotency_key: str | None, normalised: dict[str, Any]) -> str:
    """The caller's ``idempotencyKey``, or a hash of the normalised request."""
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return "hash:" + digest(normalised)


class SendLedger:
    def __init__(self, table: str, content: str = "") -> None:
        """``content``: a digest of what reconciliation compares (sender and body)."""
        self.table, self.content = table, content
        self.settings = get_settings()

    def _key(self, request: str, recipient: str) -> str:
        return f"{PREFIX}#{request}#{recipient}"

    def _in_flight_key(self, recipient: str) -> str:
        return f"sms-inflight#{recipient}#{self.content}"

    def _expiration(self) -> dict[str, str]:
        return {"N": str(int(time.time()) + self.settings.idempotency_ttl_seconds)}

    def bind(self, request: str, fingerprint: str) -> None:
        """Bind ``request`` (an ``idempotencyKey``) to the request's fingerprint; raise
        ``IDEMPOTENCY_KEY_REUSED`` if the key was used for another request."""
        from botocore.exceptions import ClientError

        try:
            aws_client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"sms-request#{request}"},
                    "fingerprint": {"S": fingerprint},
                    "expiration": self._expiration(),
                },
                ConditionExpression="attribute_not_exists(id) OR fingerprint = :fingerprint",
                ExpressionAttributeValues={":fingerprint": {"S": fingerprint}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(exc) from exc
            raise IDEMPOTENCY_KEY_REUSED(
                "This idempotencyKey was used for a different request (recipients, body, "
                "sender, media or schedule); nothing was sent. Give each send its own key, "
                "e.g. States.Format('{}-{}', $$.Execution.Id, $$.State.Name)",
                field="idempotencyKey",
            ) from None
        except Exception as exc:
            raise _unavailable(exc) from exc

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
        except Exception as exc:
            raise _unavailable(exc) from exc
        old = answer.get("Attributes") or {}
        status = old.get("status", {}).get("S")
        previous = float(old["attempt_at"]["N"]) if status in ("started", "unknown") else None
        entry = f"{now + lease_seconds:.3f}|{key}"
        # in the in-flight list before Twilio is called: a lost send of another request to the
        # same recipient with the same text must not take this attempt's message for its own
        self._update(
            self._in_flight_key(recipient),
            "ADD entries :entry SET expiration = :expiration",
            {":entry": {"SS": [entry]}, ":expiration": self._expiration()},
        )
        decision = Decision.SEND if previous is None else Decision.RECONCILE
        return Claim(key, token, decision, previous, recipient=recipient, entry=entry)

    def _read(self, key: str) -> dict[str, Any]:
        try:
            answer = aws_client("dynamodb").get_item(
                TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
            )
        except Exception as exc:
            raise _unavailable(exc) from exc
        return answer.get("Item") or {}

    def _update(self, key: str, expression: str, values: dict[str, Any]) -> None:
        try:
            aws_client("dynamodb").update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            raise _unavailable(exc) from exc

    def others_in_flight(self, claim: Claim, since: float) -> int:
        """How many other requests' attempts to this recipient with this content are unsettled
        and could have created a message at or after ``since`` (epoch seconds)."""
        entries = self._read(self._in_flight_key(claim.recipient)).get("entries", {}).get("SS", [])
        others, stale = 0, []
        for entry in entries:
            lease_until, _, key = entry.partition("|")
            if key == claim.key:
                if entry != claim.entry:
                    stale.append(entry)  # an earlier attempt of this request: this one goes on
            elif float(lease_until) >= since:
                others += 1
        if stale:
            self._update(
                self._in_flight_key(claim.recipient),
                "DELETE entries :stale",
                {":stale": {"SS": stale}},
            )
        return others

    def owner(self, sid: str) -> str | None:
        """The (request, recipient) key that sent or adopted message ``sid``, if any."""
        item = self._read(f"sms-sid#{sid}")
        return item["owner"]["S"] if item else None

    def adopt(self, claim: Claim, sid: str) -> bool:
        """Make message ``sid`` this claim's, unless another request has it."""
        from botocore.exceptions import ClientError

        try:
            aws_client("dynamodb").put_item(
                TableName=self.table,
                Item=self._owner_item(claim, sid),
                ConditionExpression="attribute_not_exists(id) OR #o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": claim.key}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(exc) from exc
            return False
        except Exception as exc:
            raise _unavailable(exc) from exc
        return True

    def _owner_item(self, claim: Claim, sid: str) -> dict[str, Any]:
        return {
            "id": {"S": f"sms-sid#{sid}"},
            "owner": {"S": claim.key},
            "expiration": self._expiration(),
        }

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
        own = {
            "Update": {
                "TableName": self.table,
                "Key": {"id": {"S": claim.key}},
                "UpdateExpression": update,
                "ConditionExpression": "claim = :claim",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        settled: list[dict[str, Any]] = []  # a sent message is owned; the attempt is settled
        if resource is not None:
            item = self._owner_item(claim, str(resource.get("sid")))
            settled.append({"Put": {"TableName": self.table, "Item": item}})
        if status in ("sent", "failed") and claim.entry:
            settled.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"id": {"S": self._in_flight_key(claim.recipient)}},
                        "UpdateExpression": "DELETE entries :entry",
                        "ExpressionAttributeValues": {":entry": {"SS": [claim.entry]}},
                    }
                }
            )
        client = aws_client("dynamodb")
        try:
            client.transact_write_items(TransactItems=[own, *settled])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or [{}]
            if reasons[0].get("Code") != "ConditionalCheckFailed":
                raise _unavailable(exc) from exc
            # another attempt of this request took the claim over: it decides the record, but
            # the message is still this (request, recipient)'s and this attempt is settled
            if settled:
                try:
                    client.transact_write_items(TransactItems=settled)
                except Exception as retry_exc:
                    raise _unavailable(retry_exc) from retry_exc
        except Exception as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> Exception:
    return aws_failure(exc, "The send ledger (IDEMPOTENCY_TABLE)")
