"""The dead-letter replay: put the events the inbound function could not publish back on the bus.

Each message on the dead-letter queue is a record written by
:func:`twilio_connector.publishing.dead_letter`: the events' detail type, source and bus, and
the details EventBridge did not accept. The replay publishes each detail again, unchanged (the
same ``messageSid`` and ``trigger``, or ``messageSid`` and ``status``: what consumers
de-duplicate on), stamped with the time the message was kept, and:

- deletes a message only once every one of its events was accepted;
- leaves a message whose publish failed where it is (visible again when the run ends);
- replaces a message whose events were partly accepted by one holding only the others;
- publishes an event at most once per run, even when the queue delivers a message twice or two
  messages hold the same event;
- publishes no event the ledger (:mod:`twilio_connector.event_ledger`, in the table the record
  names) shows on the bus already: a later delivery of the message published it, or an earlier
  run did; and records what it publishes there.

Every event has its ``eventId`` (computed for records written before events had one): the one
consumers de-duplicate on, when an outcome was unknown (EventBridge's answer lost, the event kept
and on the bus both) and the replay publishes it again.

A dry run reads every message, publishes and deletes nothing, and reports what a run would do.

Command line (``make replay-dlq``)::

    python -m twilio_connector.replay --stack twilio-connector [--dry-run] [--limit N]
    python -m twilio_connector.replay --queue-url URL [--event-bus-name B] [--event-source S]

The report (JSON) goes to standard output, one line per message to standard error, phone
numbers masked. Exit status: 0 when nothing was left behind, 1 when messages remain on the
queue (a publish failed, a message was unreadable, or one could not be deleted), 2 when the
queue could not be found or read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from twilio_connector import event_ledger
from twilio_connector.aws import aws_client
from twilio_connector.observability import logger
from twilio_connector.publishing import event_entry, event_id, put_entries
from twilio_connector.redaction import mask_phone

#: Where a record that names no bus and source (written before records did) is published: the
#: stack's parameters with ``--stack``, else the template's defaults.
DEFAULT_BUS = "default"
DEFAULT_SOURCE = "twilio.connector"
#: Long enough for a batch of ten to be published and deleted while no one else can take it.
VISIBILITY_TIMEOUT = 300


@dataclass
class Report:
    """What a replay did (or, in a dry run, would do)."""

    dry_run: bool
    #: distinct messages read from the queue
    received: int = 0
    #: messages whose events are all on the bus now, deleted (dry run: that would be)
    replayed: int = 0
    #: events published (dry run: that would be)
    published: int = 0
    #: events already published in this run (a message delivered twice, or kept twice)
    duplicates: int = 0
    #: messages left on the queue, or rewritten with their unpublished events, after a failure
    failed: int = 0
    #: messages left on the queue that are not dead-letter records
    unreadable: int = 0
    #: messages whose events were published but which could not be deleted or rewritten: a
    #: later run would publish those events again (consumers de-duplicate on eventId)
    not_deleted: int = 0
    #: events the ledger shows on the bus already (published since they were kept): skipped
    already_published: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)

    @property
    def left_behind(self) -> bool:
        return bool(self.failed or self.unreadable or self.not_deleted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "received": self.received,
            "replayed": self.replayed,
            "published": self.published,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "unreadable": self.unreadable,
            "notDeleted": self.not_deleted,
            "alreadyPublished": self.already_published,
            "eventsByType": dict(self.events_by_type),
        }


@dataclass
class _Kept:
    """One dead-letter message, read."""

    message: dict[str, Any]
    record: dict[str, Any]
    detail_type: str
    source: str
    bus: str
    details: list[dict[str, Any]]
    time: datetime | None
    #: the table of the ledger of published events (None: not known, nothing is skipped)
    ledger: str | None = None


class _Replay:
    def __init__(
        self,
        queue_url: str,
        *,
        dry_run: bool,
        event_bus_name: str | None,
        event_source: str | None,
        fallback: tuple[str, str],
        log: TextIO,
        ledger_table: str | None = None,
    ) -> None:
        self.queue_url = queue_url
        self.ledger_table = ledger_table
        self.bus, self.source = event_bus_name, event_source
        self.fallback_bus, self.fallback_source = fallback
        self.log = log
        self.report = Report(dry_run=dry_run)
        self.sqs = aws_client("sqs")
        #: events published in this run (dry run: that would be), by identity
        self.published: set[str] = set()
        #: messages left on the queue, by MessageId: their latest receipt handle
        self.held: dict[str, str] = {}
        self.seen: set[str] = set()
        #: messages published but not deleted (they come back when their visibility ends)
        self.undeleted: set[str] = set()
        #: messages this run wrote (the unpublished rest of a message): for the next run
        self.rewritten: set[str] = set()

    def run(self, limit: int | None, visibility_timeout: int, wait_seconds: int) -> Report:
        try:
            while limit is None or self.report.received < limit:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=wait_seconds,
                    VisibilityTimeout=visibility_timeout,
                    MessageSystemAttributeNames=["SentTimestamp"],
                ).get("Messages", [])
                new = [m for m in messages if m["MessageId"] not in self.seen]
                for message in messages:
                    self._one(message, over_limit=limit is not None and self._full(limit))
                if not new:  # the queue is empty, or holds only what this run left there
                    break
        finally:
            self._release()
        return self.report

    def _full(self, limit: int) -> bool:
        return self.report.received >= limit

    def _one(self, message: dict[str, Any], *, over_limit: bool) -> None:
        message_id = message["MessageId"]
        first = message_id not in self.seen
        if message_id in self.held or message_id in self.rewritten or (over_limit and first):
            self.held[message_id] = message["ReceiptHandle"]  # left as it is, released at the end
            return
        self.seen.add(message_id)
        self.report.received += first
        kept = self._read(message)
        if kept is None:
            self.report.unreadable += 1
            self.held[message_id] = message["ReceiptHandle"]
            self._say("unreadable, left on the queue", message_id)
            return
        pending = []
        for detail in kept.details:
            key = _identity(kept, detail)
            if key in self.published:
                self.report.duplicates += 1
                self._say("already published in this run", message_id, kept, detail)
            else:
                pending.append((key, detail))
        pending = self._not_on_the_bus(message_id, kept, pending)
        if self.report.dry_run:
            self._published(kept, pending)
            self.report.replayed += first
            self.held[message_id] = message["ReceiptHandle"]
            for _, detail in pending:
                self._say("would publish", message_id, kept, detail)
            return
        outcomes = put_entries(
            [
                event_entry(
                    kept.detail_type, detail, source=kept.source, bus=kept.bus, time=kept.time
                )
                for _, detail in pending
            ]
        )
        done = [item for item, error in zip(pending, outcomes, strict=True) if error is None]
        left = [
            {"detail": detail, "error": error}
            for (_, detail), error in zip(pending, outcomes, strict=True)
            if error is not None
        ]
        self._published(kept, done)
        self._record(message_id, kept, done)
        for _, detail in done:
            self._say("published", message_id, kept, detail)
        for item in left:
            self._say(f"not published ({item['error']}), kept", message_id, kept, item["detail"])
        if not left:
            if self._delete(message):
                self.report.replayed += first
            return
        self.report.failed += 1
        if done and self._rewrite(kept, left):
            self._delete(message)  # the rest is on the queue in the new message
            return
        if done:  # its published events stay in it: a later run would publish them again
            self.report.not_deleted += 1
        self.held[message_id] = message["ReceiptHandle"]

    def _read(self, message: dict[str, Any]) -> _Kept | None:
        try:
            record = json.loads(message["Body"])
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("detailType"), str):
            return None
        failed = record.get("failed")
        if not isinstance(failed, list) or not failed:
            return None
        details = [item.get("detail") if isinstance(item, dict) else None for item in failed]
        if not all(isinstance(detail, dict) for detail in details):
            return None
        details = [_with_event_id(record["detailType"], detail) for detail in details]
        sent = message.get("Attributes", {}).get("SentTimestamp", "")
        return _Kept(
            message=message,
            record=record,
            detail_type=record["detailType"],
            source=self.source or _text(record.get("source")) or self.fallback_source,
            bus=self.bus or _text(record.get("eventBusName")) or self.fallback_bus,
            details=details,
            time=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent.isdigit() else None,
            ledger=self.ledger_table or _text(record.get("ledgerTable")),
        )

    def _not_on_the_bus(
        self, message_id: str, kept: _Kept, pending: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """``pending`` less what the ledger shows published since the message was kept. If the
        ledger cannot be read, nothing is skipped (a duplicate, with its eventId, not a loss)."""
        if kept.ledger is None:
            return pending
        known: set[str] = set()
        for sid in {_text(d.get("messageSid")) for _, d in pending} - {None}:
            try:
                known |= event_ledger.published(kept.ledger, sid)
            except Exception as exc:
                self._say(f"ledger not read ({type(exc).__name__}): publishing", message_id)
        left = []
        for key, detail in pending:
            if detail.get("eventId") in known:
                self.report.already_published += 1
                self.published.add(key)
                self._say("already on the bus", message_id, kept, detail)
            else:
                left.append((key, detail))
        return left

    def _record(self, message_id: str, kept: _Kept, done: list[tuple[str, dict[str, Any]]]) -> None:
        """Record in the ledger what this run published (for later runs and deliveries)."""
        if kept.ledger is None:
            return
        by_sid: dict[str, list[str]] = {}
        for _, detail in done:
            sid, key = _text(detail.get("messageSid")), _text(detail.get("eventId"))
            if sid and key:
                by_sid.setdefault(sid, []).append(key)
        for sid, keys in by_sid.items():
            try:
                event_ledger.record(kept.ledger, sid, keys)
            except Exception as exc:
                self._say(f"published but not recorded ({type(exc).__name__})", message_id)

    def _published(self, kept: _Kept, done: list[tuple[str, dict[str, Any]]]) -> None:
        self.published.update(key for key, _ in done)
        self.report.published += len(done)
        self.report.events_by_type[kept.detail_type] += len(done)

    def _delete(self, message: dict[str, Any]) -> bool:
        """Delete a message whose events are all published; False (counted) if that failed."""
        message_id = message["MessageId"]
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:
            self.report.not_deleted += message_id not in self.undeleted
            self.undeleted.add(message_id)
            self._say(f"published but not deleted ({type(exc).__name__})", message_id)
            return False
        if message_id in self.undeleted:  # it came back in this run, and is gone now
            self.undeleted.discard(message_id)
            self.report.not_deleted -= 1
        return True

    def _rewrite(self, kept: _Kept, left: list[dict[str, Any]]) -> bool:
        """Keep a partly published message's unpublished events in a message of their own,
        left for the next run."""
        record = {**kept.record, "source": kept.source, "eventBusName": kept.bus, "failed": left}
        try:
            sent = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(record))
        except Exception as exc:
            self._say(f"not rewritten ({type(exc).__name__})", kept.message["MessageId"])
            return False
        self.rewritten.add(sent["MessageId"])
        return True

    def _release(self) -> None:
        """Make what this run left on the queue visible again at once."""
        handles = list(self.held.items())
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, (_, handle) in enumerate(handles[start : start + 10])
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # they become visible when their timeout ends anyway
                self._say(f"not released ({type(exc).__name__})", f"{len(entries)} messages")

    def _say(
        self,
        what: str,
        message_id: str,
        kept: _Kept | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        parts = [what, f"message={message_id}"]
        if kept is not None and detail is not None:
            parts.append(kept.detail_type)
            for name in ("messageSid", "trigger", "status"):
                if isinstance(detail.get(name), str):
                    parts.append(f"{name}={detail[name]}")
            if isinstance(detail.get("from"), str):
                parts.append(f"from={mask_phone(detail['from'])}")
        print(" ".join(parts), file=self.log)


def _identity(kept: _Kept, detail: dict[str, Any]) -> str:
    if isinstance(detail.get("eventId"), str):
        return json.dumps([kept.bus, kept.source, detail["eventId"]])
    return json.dumps([kept.bus, kept.source, kept.detail_type, detail], sort_keys=True)


def _with_event_id(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail with its eventId (records written before events had one lack it)."""
    if "eventId" in detail:
        return detail
    sid = _text(detail.get("messageSid"))
    name = _text(detail.get("trigger" if detail_type == "SMS_RECEIVED" else "status"))
    return {"eventId": event_id(detail_type, sid, name), **detail} if sid and name else detail


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def replay(
    queue_url: str,
    *,
    dry_run: bool = False,
    event_bus_name: str | None = None,
    event_source: str | None = None,
    fallback: tuple[str, str] = (DEFAULT_BUS, DEFAULT_SOURCE),
    limit: int | None = None,
    visibility_timeout: int = VISIBILITY_TIMEOUT,
    wait_seconds: int = 1,
    log: TextIO | None = None,
    ledger_table: str | None = None,
) -> Report:
    """Replay the dead-letter queue at ``queue_url`` (see the module's description).

    ``event_bus_name`` and ``event_source`` override the bus and source each record names;
    ``fallback`` (bus, source) serves records that name none (written before records did);
    ``ledger_table`` overrides the ledger's table each record names.
    """
    return _Replay(
        queue_url,
        dry_run=dry_run,
        event_bus_name=event_bus_name,
        event_source=event_source,
        fallback=fallback,
        log=log or sys.stderr,
        ledger_table=ledger_table,
    ).run(limit, visibility_timeout, wait_seconds)


def stack_targets(stack_name: str) -> tuple[str, str, str]:
    """The dead-letter queue URL, event bus and event source of a deployed stack."""
    [stack] = aws_client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    if "InboundDeadLetterQueueUrl" not in outputs:
        raise LookupError(f"stack {stack_name} has no InboundDeadLetterQueueUrl output")
    return (
        outputs["InboundDeadLetterQueueUrl"],
        parameters.get("EventBusName") or DEFAULT_BUS,
        parameters.get("EventSource") or DEFAULT_SOURCE,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twilio_connector.replay",
        description="Publish the events kept on the inbound dead-letter queue again.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the stack whose InboundDeadLetterQueueUrl to replay")
    where.add_argument("--queue-url", help="the dead-letter queue's URL")
    parser.add_argument("--event-bus-name", help="publish to this bus, not the record's")
    parser.add_argument("--event-source", help="publish with this source, not the record's")
    parser.add_argument(
        "--ledger-table", help="the table of published events, not the one each record names"
    )
    parser.add_argument("--dry-run", action="store_true", help="publish and delete nothing")
    parser.add_argument("--limit", type=int, help="read at most this many messages")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=VISIBILITY_TIMEOUT,
        help="seconds a message read stays hidden from other readers (default %(default)s)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=1,
        help="long polling: how long an empty receive waits for messages (default %(default)s)",
    )
    args = parser.parse_args(argv)
    # standard output is the report's: the layer's log lines go to standard error meanwhile
    previous = logger.registered_handler.setStream(sys.stderr)
    try:
        if args.stack:
            queue_url, *fallback = stack_targets(args.stack)
        else:
            queue_url, fallback = args.queue_url, [DEFAULT_BUS, DEFAULT_SOURCE]
        report = replay(
            queue_url,
            dry_run=args.dry_run,
            event_bus_name=args.event_bus_name,
            event_source=args.event_source,
            fallback=(fallback[0], fallback[1]),
            limit=args.limit,
            visibility_timeout=args.visibility_timeout,
            wait_seconds=args.wait_seconds,
            ledger_table=args.ledger_table,
        )
    except Exception as exc:
        print(f"replay: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        logger.registered_handler.setStream(previous)
    print(json.dumps(report.to_dict(), indent=2))
    return 1 if report.left_behind and not report.dry_run else 0


if __name__ == "__main__":
    sys.exit(main())
