"""The example campaign's steps (statemachines/sms_campaign.asl.json): plan the batches and their
pacing slots, settle each batch's per-recipient outcome, tally the campaign.

Pacing: a sender sends ``senderMps`` segments a second and queues the rest (Twilio). Batch ``i``
drains from campaign start + the segments of the batches before it / ``senderMps``, and is handed
to Twilio when batch ``i - 1`` starts draining: the queue then holds at most two batches' worth,
whatever runs concurrently and however often a batch is retried or redriven, since a slot is a
function of the batch's index, not of a shared counter.
Each message carries a ``validityPeriod``: one that would wait in Twilio's queue longer than
``maxQueueSeconds`` (or, with quiet hours, past the window's end) is dropped by Twilio, not
delivered late.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from twilio_connector import inputs, segments
from twilio_connector.aws import aws_client
from twilio_connector.errors import (
    CATALOGUE,
    INVALID_INPUT,
    MISSING_INPUT,
    NOT_FOUND,
    ConnectorError,
)
from twilio_connector.observability import logger
from twilio_connector.phone import to_address

CAMPAIGN_FIELDS = inputs.fields(
    "step", "campaign", "start", "input", "batch", "result", "plan", "results"
)

#: Recipients per batch: one SEND_SMS call, one child execution (the ledger claims 100 at once).
BATCH_SIZE = 100
#: Segments a second a sender sends by default (Twilio's figures: US numbers; WhatsApp 80 a
#: sender, its WhatsApp FAQ): a Messaging Service's is the sum of its senders', so it has to be
#: given.
SENDER_MPS = {"long code": 1.0, "toll-free": 3.0, "short code": 100.0, "whatsapp": 80.0}
MAX_QUEUE_SECONDS = 14_400  # 4 hours
#: Twilio's longest ValidityPeriod.
MAX_VALIDITY = 36_000
#: Codes of a failure that may pass: the batch is retried (idempotent), never counted as refused.
TRANSIENT = frozenset(
    {
        "TOO_MANY_REQUESTS",
        "SERVICE_UNAVAILABLE",
        "TWILIO_CONNECTION_ERROR",
        "GATEWAY_TIMEOUT",
        "CONFLICT",
        "INTERNAL_SERVER_ERROR",
        "BAD_GATEWAY",
        "SEND_OUTCOME_AMBIGUOUS",
    }
)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TOLL_FREE = re.compile(r"^\+1(800|833|844|855|866|877|888)\d{7}$")


def run_step(event: dict[str, Any]) -> dict[str, Any]:
    step = event.get("step")
    if step == "plan":
        return plan(event)
    if step == "settle":
        return settle(event.get("batch") or {}, event.get("result") or {})
    if step == "tally":
        return tally(event.get("plan") or {}, event.get("results") or {})
    raise INVALID_INPUT("step must be plan, settle or tally", field="step")


# --- plan -------------------------------------------------------------------------------------
def sender_mps(campaign: dict[str, Any]) -> float:
    """``senderMps`` as given, or the default of the sender's type."""
    given = campaign.get("senderMps")
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int | float) or not 0 < given <= 10_000:
            raise INVALID_INPUT("senderMps must be a number of segments a second, 0 to 10,000",
                                field="senderMps")  # fmt: skip
        return float(given)
    if campaign.get("messagingServiceSid"):
        raise MISSING_INPUT(
            "senderMps is required with a messagingServiceSid (its senders' throughput together)",
            field="senderMps",
        )
    sender = str(campaign.get("smsFrom") or "")
    if sender.startswith("whatsapp:"):
        return SENDER_MPS["whatsapp"]
    if re.fullmatch(r"\d{3,8}", sender):
        return SENDER_MPS["short code"]
    if _TOLL_FREE.match(sender):
        return SENDER_MPS["toll-free"]
    return SENDER_MPS["long code"]  # the secret's TWILIO_FROM, or a long code: the slowest


def quiet_hours(campaign: dict[str, Any]) -> tuple[time, time] | None:
    """``quietHours: {"start": "21:00", "end": "08:00"}``: no message from start to end."""
    value = campaign.get("quietHours")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), str) and _CLOCK.match(value[k]) for k in ("start", "end")
    ):
        raise INVALID_INPUT(
            'quietHours must be {"start": "HH:MM", "end": "HH:MM"} (24-hour clock)',
            field="quietHours",
        )
    start, end = (time.fromisoformat(value[k]) for k in ("start", "end"))
    if start == end:
        raise INVALID_INPUT("quietHours start and end must differ", field="quietHours")
    return start, end


def plan(event: dict[str, Any]) -> dict[str, Any]:
    """Read the recipients CSV, write the batches (JSON, the Map's items) beside it: each with
    its recipients, its ``notBefore`` slot and the SEND_SMS request it makes."""
    campaign = event.get("input")
    if not isinstance(campaign, dict):
        raise INVALID_INPUT("The campaign's input must be a JSON object", field="input")
    bucket, key = campaign.get("bucket"), campaign.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise MISSING_INPUT("bucket and key (the recipients CSV) are required", field="key")
    body = campaign.get("smsBody")
    if not isinstance(body, str) or not body:
        raise MISSING_INPUT("smsBody is required", field="smsBody")
    mps = sender_mps(campaign)
    max_queue = inputs.integer(campaign, "maxQueueSeconds", 1, MAX_VALIDITY) or MAX_QUEUE_SECONDS
    window = quiet_hours(campaign)
    start = _instant(campaign.get("startAt") or event.get("start"), "startAt")
    campaign_id = str(event.get("campaign") or "")
    per_message = segments.count(body).segments

    s3 = aws_client("s3")
    try:
        rows = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise INVALID_INPUT("The recipients CSV is not UTF-8 text", field="key") from None
    except Exception as exc:  # an S3 error: named, not a stack trace
        raise NOT_FOUND(f"s3://{bucket}/{key} could not be read ({type(exc).__name__})",
                        field="key") from None  # fmt: skip
    reader = csv.DictReader(io.StringIO(rows))
    if "phone" not in (reader.fieldnames or []):
        raise INVALID_INPUT("The recipients CSV needs a 'phone' column", field="key")
    recipients: dict[str, None] = {}
    invalid = []
    for row in reader:
        written = (row.get("phone") or "").strip()
        address = to_address(written) if written else None
        if address is None:
            invalid.append({"phone": written, "code": "INVALID_TO_PHONE_NUMBER_ERROR"})
        else:
            recipients.setdefault(address, None)  # a number listed twice is sent to once

    # a batch drains from Twilio's queue in size x segments / mps seconds; two batches at most
    # are queued at once (see _schedule): each at most half the queue's limit
    size = max(1, min(BATCH_SIZE, int(max_queue * mps / per_message / 2)))
    groups = _groups(list(recipients), window)
    batches = _schedule(groups, size, per_message / mps, start, window)
    request = {
        "smsBody": body,
        "failOnError": False,
        **{k: campaign[k] for k in ("smsFrom", "messagingServiceSid") if campaign.get(k)},
        # each batch's share of the workflows' Twilio concurrency (the state machine's)
        **({"sendConcurrency": share} if (share := _send_share(event)) else {}),
    }
    items = []
    for index, (slot, numbers, closes) in enumerate(batches):
        validity = min(max_queue, MAX_VALIDITY)
        if closes is not None:  # nothing after the window closes
            validity = min(validity, max(1, int((closes - slot).total_seconds())))
        items.append(
            {
                "index": index,
                "notBefore": _iso(slot),
                "request": {
                    **request,
                    "smsTo": numbers,
                    "idempotencyKey": f"{campaign_id}#batch-{index}",
                    "validityPeriod": validity,
                },
            }
        )
    prefix = f"campaign-plans/{campaign_id.rsplit(':', 1)[-1] or 'campaign'}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/batches.json", Body=json.dumps(items).encode())
    s3.put_object(Bucket=bucket, Key=f"{prefix}/invalid.json", Body=json.dumps(invalid).encode())
    last = batches[-1][0] if batches else start
    logger.info(
        "Campaign planned",
        extra={"recipients": len(recipients), "batches": len(items), "invalid": len(invalid)},
    )
    return {
        "bucket": bucket,
        "batchesKey": f"{prefix}/batches.json",
        "invalidKey": f"{prefix}/invalid.json",
        "recipients": len(recipients) + len(invalid),
        "batches": len(items),
        "senderMps": mps,
        "segmentsPerMessage": per_message,
        "start": _iso(start),
        "lastSlot": _iso(last),
    }


def _send_share(event: dict[str, Any]) -> int | None:
    """``sendConcurrency`` as the state machine gives it to the plan step: the batches in flight
    together (its Map's MaxConcurrency) times this stay within the workflows' Twilio budget."""
    return inputs.integer(event, "sendConcurrency", 1, 1000)


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise MISSING_INPUT("The campaign's start time is missing", field=field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise INVALID_INPUT(f"{field} must be an ISO 8601 timestamp", field=field) from None
    if moment.tzinfo is None:
        raise INVALID_INPUT(f"{field} needs a time zone (Z or +hh:mm)", field=field)
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """Whole seconds, as a Wait state's ``TimestampPath`` takes it (RFC 3339, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _groups(
    numbers: list[str], window: tuple[time, time] | None
) -> list[tuple[tuple[str, ...], list[str]]]:
    """Recipients by the time zones of their number (one group without quiet hours)."""
    if window is None:
        return [((), numbers)]
    from twilio_connector.time_zones import zones_of

    grouped: dict[tuple[str, ...], list[str]] = {}
    for number in numbers:
        grouped.setdefault(zones_of(number), []).append(number)
    return list(grouped.items())


def _schedule(
    groups: list[tuple[tuple[str, ...], list[str]]],
    size: int,
    seconds_per_message: float,
    start: datetime,
    window: tuple[time, time] | None,
) -> list[tuple[datetime, list[str], datetime | None]]:
    """Each batch's slot: one after the other at the sender's rate; with quiet hours, a batch
    whose recipients' window is closed waits for it to open, and the sender's time goes to the
    batches whose window is open. (when it is sent, recipients, when their window closes)."""
    queues = [
        (zones, [numbers[i : i + size] for i in range(0, len(numbers), size)])
        for zones, numbers in groups
    ]
    heads = [0] * len(queues)
    cursor, previous, planned = start, start, []
    while True:
        best = None
        for g, (zones, batches) in enumerate(queues):
            if heads[g] == len(batches):
                continue
            batch = batches[heads[g]]
            length = timedelta(seconds=len(batch) * seconds_per_message)
            slot, closes = _opening(zones, window, cursor, length)
            if best is None or slot < best[0]:
                best = (slot, g, batch, length, closes)
        if best is None:
            return planned
        slot, g, batch, length, closes = best
        heads[g] += 1
        # a batch that follows on from the one before is handed to Twilio when that one starts
        # draining, so that the queue never runs dry while this one's send starts (Twilio then
        # queues at most two batches); a batch that waited for its window, when it opens
        planned.append((slot if slot > cursor else previous, batch, closes))
        cursor, previous = slot + length, slot


def _opening(
    zones: tuple[str, ...], window: tuple[time, time] | None, moment: datetime, length: timedelta
) -> tuple[datetime, datetime | None]:
    """The first moment at or after ``moment`` from which a batch of ``length`` is sent inside
    every zone's allowed hours, and when those hours close (None: no quiet hours)."""
    if window is None or not zones:
        return moment, None
    for _ in range(16):
        closes = [_quiet_from(zone, window, moment) for zone in zones]
        blocked = [zone for zone, close in zip(zones, closes, strict=True) if close is None]
        if not blocked and min(closes) >= moment + length:  # type: ignore[type-var]
            return moment, min(closes)  # type: ignore[type-var]
        # the latest opening of the zones closed now, or (too little time left) the next one
        after = moment if blocked else min(closes)  # type: ignore[type-var]
        zones_to_open = blocked or list(zones)
        moment = max(_opens_after(zone, window, after) for zone in zones_to_open)
    # the zones' windows never meet (a prefix spanning half the globe): its first zone's window
    return _opening(zones[:1], window, moment, length) if len(zones) > 1 else (moment, None)


def _quiet_from(zone: str, window: tuple[time, time], moment: datetime) -> datetime | None:
    """When quiet hours next begin in ``zone``, if ``moment`` is outside them; None inside."""
    quiet_start, quiet_end = window
    local = moment.astimezone(ZoneInfo(zone))
    now = local.time()
    inside = (
        quiet_start <= now < quiet_end
        if quiet_start < quiet_end
        else now >= quiet_start or now < quiet_end
    )
    if inside:
        return None
    begins = datetime.combine(local.date(), quiet_start, tzinfo=local.tzinfo)
    if begins <= local:
        begins = datetime.combine(local.date() + timedelta(days=1), quiet_start, local.tzinfo)
    return begins.astimezone(UTC)


def _opens_after(zone: str, window: tuple[time, time], moment: datetime) -> datetime:
    """The first end of quiet hours in ``zone`` after ``moment``."""
    local = moment.astimezone(ZoneInfo(zone))
    opens = datetime.combine(local.date(), window[1], tzinfo=local.tzinfo)
    while opens <= local:
        opens = datetime.combine(opens.date() + timedelta(days=1), window[1], local.tzinfo)
    return opens.astimezone(UTC)


# --- settle -----------------------------------------------------------------------------------
def settle(batch: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One batch's SEND_SMS result (``failOnError: false``) -> its recipients' outcomes. A
    transient failure of any recipient is raised, with its code: the batch is retried (its
    idempotency key sends nothing twice); a failure of the whole request is raised too."""
    errors = result.get("twilioError") or []
    answer = result.get("twilioResult") or {}
    refused: dict[str, dict[str, Any]] = {}
    for error in errors:
        code = error.get("code") or "UNKNOWN_ERROR"
        if code in TRANSIENT or "to" not in error:
            details = {k: v for k, v in error.items() if k not in ("code", "message", "to")}
            cls = CATALOGUE.get(code, CATALOGUE["UNKNOWN_ERROR"])
            raise cls(str(error.get("message") or code), **details)
        refused[error["to"]] = {
            "code": code,
            **({"twilioCode": error["twilioCode"]} if "twilioCode" in error else {}),
        }
    sent = {to: sid for sid, to in (answer.get("smsResult") or {}).items()}
    return {
        "index": batch.get("index"),
        "sent": sent,
        "skipped": answer.get("skipped") or {},
        "refused": refused,
    }


# --- tally ------------------------------------------------------------------------------------
def tally(planned: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The campaign's counts from the Map's result files; every refused recipient (Twilio's
    refusals, numbers that are not numbers) with its code in ``REFUSED.json`` beside them."""
    s3 = aws_client("s3")
    bucket, manifest_key = results.get("Bucket"), results.get("Key")
    if not bucket or not manifest_key:
        raise MISSING_INPUT("results (the Map's ResultWriterDetails) are required", field="results")
    manifest = _read_json(s3, bucket, manifest_key)
    refused = list(_read_json(s3, planned["bucket"], planned["invalidKey"]))
    sent = skipped = failed_batches = 0
    for result_file in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
        for item in _read_json(s3, bucket, result_file["Key"]):
            outcome = json.loads(item["Output"])
            sent += len(outcome["sent"])
            skipped += len(outcome["skipped"])
            refused += [{"phone": to, **why} for to, why in outcome["refused"].items()]
    for result_file in manifest.get("ResultFiles", {}).get("FAILED", []):
        for item in _read_json(s3, bucket, result_file["Key"]):
            failed_batches += 1
            request = json.loads(item["Input"])["request"]
            refused += [{"phone": to, "code": item.get("Error")} for to in request["smsTo"]]
    key = manifest_key.rsplit("/", 1)[0] + "/REFUSED.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(refused).encode())
    total = int(planned.get("recipients") or 0)
    percent = round(100.0 * len(refused) / total, 3) if total else 0.0
    logger.info(
        "Campaign tallied",
        extra={"sent": sent, "skipped": skipped, "refused": len(refused), "percent": percent},
    )
    return {
        "recipients": total,
        "sent": sent,
        "skipped": skipped,
        "refused": len(refused),
        "refusedPercent": percent,
        "failedBatches": failed_batches,
        "refusedFile": {"Bucket": bucket, "Key": key},
        "ResultWriterDetails": results,
    }


def _read_json(s3: Any, bucket: str, key: str) -> Any:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ConnectorError:
        raise
    except Exception as exc:  # an S3 error: named, not a stack trace
        raise INVALID_INPUT(f"s3://{bucket}/{key} could not be read ({type(exc).__name__})",
                            field="results") from None  # fmt: skip


def ideal_seconds(recipients: int, per_message: int, mps: float) -> float:
    return math.ceil(recipients * per_message / mps)
