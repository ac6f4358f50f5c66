"""The send ledger: one DynamoDB record per (request, recipient), so a retried SEND_SMS sends each
message at most once and never loses one.

A record goes ``started`` (claimed, with a lease) -> ``sent`` (Twilio's resource kept), or ->
``failed`` (Twilio refused: nothing was created) or ``unknown`` (the answer was lost). A retry:

- finds ``sent``: adopts the message, sends nothing;
- finds ``started`` with a live lease: another invocation is sending right now (``CONFLICT``);
- finds ``started`` with an expired lease (the process died after calling Twilio) or ``unknown``
  (once its hold is over: a request whose answer was lost may still be taking effect at Twilio,
  so until then a retry is ``BUSY``): must ask Twilio whether the message exists before sending
  (reconciliation);
- finds ``failed`` or nothing: sends.

Claims are conditional writes, so two invocations never both send. A bulk send claims its
recipients in ``TransactWriteItems`` of ``CLAIM_BATCH`` (each recipient's record and its attempts
record, created together), and writes their outcomes in ``BatchWriteItem`` of ``RECORD_BATCH``
while their leases have ``LEASE_MARGIN`` to run: three DynamoDB calls per 50 recipients instead
of three per recipient (``make bench``). A recipient whose record already exists (a retry) is
claimed on its own, as above. powertools idempotency is not used here: it deletes its record
when the function raises and treats an expired in-progress record as never started, which is
the very case (sent, then crashed) this ledger exists for.

Beside the per-recipient records:

- ``sms-request#<request>`` keeps a request's fingerprint (the request as given: recipients,
  template, metadata, sender, media, schedule) and its first attempt's time, for a request with
  an ``idempotencyKey`` or one whose text or schedule depends on the time: the same key with
  another request is refused (``IDEMPOTENCY_KEY_REUSED``) before anything is sent, and a retry
  renders ``.now`` as the first attempt did and is not held to a ``sendAt`` window again.
- ``sms-attempts#<recipient>#<content>#<hour>`` lists every attempt (its lease end and its
  record's key) to a recipient with a given sender and text, by the hour it started. A lost send
  reads the attempts of other requests that could have created the message it found, and their
  records: a message another request recorded as sent is never adopted, and while another such
  attempt is unsettled (claimed, not recorded), the message could be either's: no guess.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from enum import Enum
from typing import Any, NamedTuple

from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import IDEMPOTENCY_KEY_REUSED, aws_failure

PREFIX = "sms-send"
HOUR = 3600
#: Hours of attempts a reconciliation reads at most (the ledger's records live 24 h by default).
MAX_HOURS = 48


class Decision(Enum):
    SEND = "send"  # nothing was sent before
    RECONCILE = "reconcile"  # a previous attempt may have sent it: ask Twilio first
    ADOPT = "adopt"  # it was sent: reuse the recorded message
    BUSY = "busy"  # another invocation is sending it now


#: Recipients claimed in one ``TransactWriteItems``: two actions each (the record and its
#: attempt entry), and a transaction holds 100.
CLAIM_BATCH = 50
#: Outcomes written in one ``BatchWriteItem`` (DynamoDB's limit).
RECORD_BATCH = 25
#: An outcome is written without a condition only while its claim's lease has this long to
#: run: no other invocation can have taken the claim over, whatever the clocks' difference.
LEASE_MARGIN = 5.0
#: Rounds of ``UnprocessedItems`` (throttling) a batch write retries before writing one by one.
BATCH_ROUNDS = 3


class Claim(NamedTuple):  # immutable, and cheaper to create at import than a dataclass
    key: str
    token: str
    decision: Decision
    previous_attempt_at: float | None = None
    resource: dict[str, Any] | None = None
    recipient: str = ""
    attempt_at: float = 0.0  # when this claim was taken (epoch seconds)
    lease_until: float = 0.0  # 0: unknown (another invocation holds or held the record)


def digest(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def request_key(idempotency_key: str | None, normalised: dict[str, Any]) -> str:
    """The caller's ``idempotencyKey``, or a hash of the normalised request."""
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return "hash:" + digest(normalised)


class SendLedger:
    def __init__(self, table: str, content: str = "", unknown_hold: float = 0.0) -> None:
        """``content``: a digest of what reconciliation compares (sender and body).
        ``unknown_hold``: how long after its claim an attempt whose outcome is unknown may
        still be taking effect at Twilio (its record is held as long: a retry meanwhile is
        ``BUSY``, and asks Twilio only once the message would be there)."""
        self.table, self.content, self.unknown_hold = table, content, unknown_hold
        self.settings = get_settings()

    def _key(self, request: str, recipient: str) -> str:
        return f"{PREFIX}#{request}#{recipient}"

    def _attempts_key(self, recipient: str, hour: int) -> str:
        return f"sms-attempts#{recipient}#{self.content}#{hour}"

    def _expiration(self) -> dict[str, str]:
        return {"N": str(int(time.time()) + self.settings.idempotency_ttl_seconds)}

    def begin(self, request: str, fingerprint: str) -> tuple[float, bool]:
        """Record ``request``'s first attempt (its fingerprint and time), or find it: the time
        of the first attempt (epoch seconds) and whether this is a retry. Raises
        ``IDEMPOTENCY_KEY_REUSED`` if the key was used for another request."""
        from botocore.exceptions import ClientError

        now = int(time.time() * 1000) / 1000  # whole milliseconds: what .now shows, kept
        try:
            aws_client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"sms-request#{request}"},
                    "fingerprint": {"S": fingerprint},
                    "first_at": {"N": f"{now:.3f}"},
                    "expiration": self._expiration(),
                },
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(exc) from exc
            old = exc.response.get("Item") or self._read(f"sms-request#{request}")
            if old.get("fingerprint", {}).get("S") != fingerprint:
                raise IDEMPOTENCY_KEY_REUSED(
                    "This idempotencyKey was used for a different request (recipients, body, "
                    "metadata, sender, media or schedule); nothing was sent. Give each send its "
                    "own key, e.g. States.Format('{}-{}', $$.Execution.Id, $$.State.Name)",
                    field="idempotencyKey",
                ) from None
            return float(old.get("first_at", {}).get("N", now)), True
        except Exception as exc:
            raise _unavailable(exc) from exc
        return now, False

    def claim(self, request: str, recipient: str, lease_seconds: float) -> Claim:
        """Take the right to send to ``recipient`` for ``request``, or learn why not."""
        from botocore.exceptions import ClientError

        key, token, now = self._key(request, recipient), uuid.uuid4().hex, time.time()
        item = self._claim_item(key, token, now, now + lease_seconds)
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
        # listed before Twilio is called: a lost send of another request to this recipient
        # with the same text must not take this attempt's message for its own
        attempt = self._attempt_update(recipient, key, now, now + lease_seconds)
        self._update(attempt["Key"]["id"]["S"], attempt["UpdateExpression"], attempt["Values"])
        decision = Decision.SEND if previous is None else Decision.RECONCILE
        return Claim(key, token, decision, previous, None, recipient, now, now + lease_seconds)

    def claim_many(
        self, request: str, recipients: list[str], lease_seconds: float
    ) -> dict[str, Claim]:
        """Claims of recipients ``request`` never attempted, ``CLAIM_BATCH`` in one
        ``TransactWriteItems`` with their attempt entries. A recipient left out (its record
        exists: a retry, or another invocation of the request) is for :meth:`claim`, which
        reads what was there. Raises ``SERVICE_UNAVAILABLE`` / ``GATEWAY_TIMEOUT`` if the table
        cannot be written: nothing of the failed transaction was written."""
        claims: dict[str, Claim] = {}
        for start in range(0, len(recipients), CLAIM_BATCH):
            chunk = list(dict.fromkeys(recipients[start : start + CLAIM_BATCH]))
            claims.update(self._claim_fresh(request, chunk, lease_seconds))
        return claims

    def _claim_fresh(
        self, request: str, recipients: list[str], lease_seconds: float
    ) -> dict[str, Claim]:
        from botocore.exceptions import ClientError

        now = time.time()
        lease_until = now + lease_seconds
        batch_token = uuid.uuid4().hex[:28]  # a claim's token: the batch's and its place in it
        pending = {
            to: Claim(
                self._key(request, to),
                f"{batch_token}{index:04x}",
                Decision.SEND,
                recipient=to,
                attempt_at=now,
                lease_until=lease_until,
            )
            for index, to in enumerate(recipients)
        }
        # what the batch's records share, formatted once
        at, until = f"{now:.3f}", f"{lease_until:.3f}"
        expiration = {"N": str(int(now) + self.settings.idempotency_ttl_seconds)}
        hour = int(now // HOUR)
        attempts_expiration = {"N": str((hour + 1) * HOUR + self.settings.idempotency_ttl_seconds)}
        while pending:
            order = list(pending.values())
            actions: list[dict[str, Any]] = []
            for claim in order:
                item = _record_item(claim.key, claim.token, at, until, expiration)
                actions.append(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(id)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    }
                )
                # a fresh recipient has no attempts record this hour: created whole, as
                # _attempt_update's ADD would create it (and a put costs DynamoDB less than an
                # update); one that has (another request, same text): claim() adds to it
                actions.append(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "id": {"S": self._attempts_key(claim.recipient, hour)},
                                "entries": {"SS": [f"{until}|{claim.key}"]},
                                "expiration": attempts_expiration,
                            },
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    }
                )
            try:
                aws_client("dynamodb").transact_write_items(TransactItems=actions)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise _unavailable(exc) from exc
                reasons = exc.response.get("CancellationReasons") or []
                claim_reasons = reasons[::2]
                tokens = [r.get("Item", {}).get("claim", {}).get("S") for r in claim_reasons]
                if claim_reasons and all(
                    token == claim.token for token, claim in zip(tokens, order, strict=False)
                ):
                    # an SDK retry of a transaction that was written: these claims are ours
                    return pending
                # a record that exists: claim() decides; a concurrent transaction on the same
                # items (another invocation of this request): claim() too, one by one
                left_out = {
                    claim.recipient
                    for index, claim in enumerate(order)
                    if _cancelled(reasons, 2 * index) or _cancelled(reasons, 2 * index + 1)
                }
                if not left_out:  # a reason DynamoDB did not attribute: one by one, all
                    return {}
                for recipient in left_out:
                    pending.pop(recipient)
                continue
            except Exception as exc:
                raise _unavailable(exc) from exc
            return pending
        return {}

    def _claim_item(self, key: str, token: str, now: float, lease_until: float) -> dict[str, Any]:
        expiration = {"N": str(int(now) + self.settings.idempotency_ttl_seconds)}
        return _record_item(key, token, f"{now:.3f}", f"{lease_until:.3f}", expiration)

    def _attempt_update(
        self, recipient: str, key: str, now: float, lease_until: float
    ) -> dict[str, Any]:
        """The attempt entry of a claim, in the record of its recipient, content and hour."""
        hour = int(now // HOUR)
        return {
            "Key": {"id": {"S": self._attempts_key(recipient, hour)}},
            "UpdateExpression": "ADD entries :entry SET expiration = :expiration",
            "Values": {
                ":entry": {"SS": [f"{lease_until:.3f}|{key}"]},
                ":expiration": {
                    "N": str((hour + 1) * HOUR + self.settings.idempotency_ttl_seconds)
                },
            },
        }

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

    def others(self, claim: Claim, since: float) -> tuple[list[tuple[str, bool]], set[str]]:
        """Other requests' attempts to this recipient with this content that could have created
        a message at or after ``since`` (epoch seconds): the unsettled ones (their record's key,
        and whether it is lost: its outcome unknown, or its lease over without an outcome), and
        the SIDs of the messages they recorded as sent."""
        now = time.time()
        first = max(int(since // HOUR), int(now // HOUR) - MAX_HOURS)
        keys: set[str] = set()
        for hour in range(first, int(now // HOUR) + 1):
            item = self._read(self._attempts_key(claim.recipient, hour))
            for entry in item.get("entries", {}).get("SS", []):
                lease_until, _, key = entry.partition("|")
                if key != claim.key and float(lease_until) >= since:
                    keys.add(key)
        unsettled: list[tuple[str, bool]] = []
        owned: set[str] = set()
        for key in sorted(keys):
            record = self._read(key)
            status = record.get("status", {}).get("S")
            if status == "sent":
                owned.add(record.get("sid", {}).get("S", ""))
            elif status in ("started", "unknown"):
                lease_until = float(record.get("lease_until", {}).get("N", "0"))
                unsettled.append((key, status == "unknown" or lease_until < now))
        return unsettled, owned

    def record(self, claim: Claim, status: str, resource: dict[str, Any] | None = None) -> None:
        """Record the outcome of our claim (ignored if another invocation took it over since)."""
        from botocore.exceptions import ClientError

        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":claim": {"S": claim.token},
            ":held": {"N": f"{self._held_until(claim, status):.3f}"},
        }
        update = "SET #s = :status, lease_until = :held"
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
        except Exception as exc:
            raise _unavailable(exc) from exc

    def record_many(self, outcomes: list[tuple[Claim, str, dict[str, Any] | None]]) -> None:
        """Record many outcomes: ``RECORD_BATCH`` to a ``BatchWriteItem`` while their claims'
        leases have ``LEASE_MARGIN`` to run (no other invocation can hold them: the write needs
        no condition), :meth:`record` one by one otherwise (a single outcome too), and for what
        DynamoDB left unprocessed ``BATCH_ROUNDS`` times. Raises the first error of those
        one-by-one writes."""
        safe_until = time.time() + LEASE_MARGIN
        batched = [o for o in outcomes if o[0].lease_until > safe_until]
        one_by_one = [o for o in outcomes if o[0].lease_until <= safe_until]
        if len(batched) < 2:  # one write either way: the conditional one
            batched, one_by_one = [], outcomes
        for start in range(0, len(batched), RECORD_BATCH):
            one_by_one += self._write_batch(batched[start : start + RECORD_BATCH])
        failure: Exception | None = None
        for claim, status, resource in one_by_one:
            try:
                self.record(claim, status, resource)
            except Exception as exc:  # the others are still recorded
                failure = failure or exc
        if failure is not None:
            raise failure

    def _write_batch(
        self, outcomes: list[tuple[Claim, str, dict[str, Any] | None]]
    ) -> list[tuple[Claim, str, dict[str, Any] | None]]:
        """One ``BatchWriteItem`` of outcomes (retried for what DynamoDB leaves unprocessed);
        what is still unwritten, for :meth:`record`."""
        by_key = {claim.key: (claim, status, resource) for claim, status, resource in outcomes}
        requests = [
            {"PutRequest": {"Item": self._outcome_item(*outcome)}} for outcome in by_key.values()
        ]
        for round_ in range(BATCH_ROUNDS):
            try:
                answer = aws_client("dynamodb").batch_write_item(
                    RequestItems={self.table: requests}
                )
            except Exception:  # throttled past botocore's retries, or unreachable
                break
            requests = (answer.get("UnprocessedItems") or {}).get(self.table) or []
            if not requests:
                return []
            time.sleep(min(0.05 * 2**round_, 0.5))
        return [by_key[request["PutRequest"]["Item"]["id"]["S"]] for request in requests]

    def _outcome_item(
        self, claim: Claim, status: str, resource: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The whole record :meth:`record` would leave, for a claim this invocation holds."""
        item = self._claim_item(
            claim.key, claim.token, claim.attempt_at, self._held_until(claim, status)
        )
        item["status"] = {"S": status}
        if resource is not None:
            item["sid"] = {"S": str(resource.get("sid"))}
            item["resource"] = {"S": json.dumps(resource)}
        return item

    def _held_until(self, claim: Claim, status: str) -> float:
        """Until when a record with this outcome cannot be claimed (0: at once)."""
        if status != "unknown":
            return 0.0
        return (claim.attempt_at or time.time()) + self.unknown_hold


def _record_item(
    key: str, token: str, at: str, until: str, expiration: dict[str, str]
) -> dict[str, Any]:
    """A claimed record: its attempt's time and lease end as DynamoDB numbers (text)."""
    return {
        "id": {"S": key},
        "status": {"S": "started"},
        "claim": {"S": token},
        "attempt_at": {"N": at},
        "lease_until": {"N": until},
        "expiration": expiration,
    }


def _cancelled(reasons: list[dict[str, Any]], index: int) -> bool:
    """Whether a cancelled transaction's action ``index`` was refused (not merely not run)."""
    return index < len(reasons) and reasons[index].get("Code") not in (None, "None")


def _unavailable(exc: Exception) -> Exception:
    return aws_failure(exc, "The send ledger (IDEMPOTENCY_TABLE)")
