"""``make campaign-sim RECIPIENTS=100000 SENDER_MPS=10``: the shipped campaign at scale, offline.

The campaign state machine as template.yaml deploys it runs in moto's Step Functions interpreter
(``local.workflows``) against the Twilio emulator with its per-sender throughput model on: the
sender drains ``SENDER_MPS`` segments a simulated second, refuses what would wait past its queue
(21611) and expires what waits past a message's ValidityPeriod (30036). Emulator and Wait states
share one clock running ``--speed`` times faster than real time. The last line printed is one
JSON object: what reached Twilio (each recipient sent once? duplicates, lost, queue overflows,
expiries), the simulated duration against the ideal (recipients x segments / senderMps), and the
AWS cost per million recipients from what the run used: state transitions (child executions
included), Lambda requests and GB-seconds (measured durations, the template's MemorySize),
DynamoDB write and read units, at the public prices of ``local.bench`` (with their date).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from local.bench import (
    DYNAMODB_READ_UNIT,
    DYNAMODB_WRITE_UNIT,
    LAMBDA_ARM_GB_SECOND,
    LAMBDA_REQUEST,
    PRICES_DATE,
)
from local.lambda_loader import layer_on_path

#: Step Functions standard workflows, us-east-1, per state transition (aws.amazon.com/step-
#: functions/pricing, as published on PRICES_DATE): $0.025 per 1,000.
STATE_TRANSITION = 0.025 / 1000
CAMPAIGN = "ExampleCampaignStateMachine"
LEAD_IN_REAL_SECONDS = 5
BODY = "Winter sale: 20% off everything until Sunday. Reply STOP to opt out."
#: US area codes the recipients are spread over (valid numbers, none of the emulator's magic).
AREA_CODES = ("415", "212", "312", "617", "206", "303", "404", "512", "702", "213")


def audience(count: int) -> list[str]:
    return [
        f"+1{AREA_CODES[i % len(AREA_CODES)]}{200 + (i // 10_000) % 800:03d}{i % 10_000:04d}"
        for i in range(count)
    ]


def default_speed(sender_mps: float) -> float:
    """One batch (100 recipients) a real second: what two shared cores keep up with, one batch's
    send (about a real second here, a fraction of one in Lambda) within the next one's lead."""
    return max(1.0, 100 / sender_mps)


def run(recipients: int, sender_mps: float, speed: float | None = None) -> dict[str, Any]:
    """Deploy the stack offline (moto, the emulator) and simulate one campaign on it."""
    from local.twilio_emulator import TwilioEmulator
    from local.workflows import LocalWorkflows

    with TwilioEmulator() as emulator, LocalWorkflows(emulator) as workflows:
        return simulate(workflows, emulator, recipients, sender_mps, speed)


def simulate(
    workflows: Any, emulator: Any, recipients: int, sender_mps: float, speed: float | None = None
) -> dict[str, Any]:
    """One campaign on a deployed stack (``local.workflows``), the emulator's throughput model
    on, on the simulated clock; the emulator's and the Wait states' clock is put back after."""
    from local.twilio_emulator import MAGIC_FROM
    from local.workflows import BUCKET

    speed = speed or default_speed(sender_mps)
    key = f"campaign-sim-{recipients}.csv"
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["phone"])
    writer.writerows([number] for number in audience(recipients))
    workflows.client("s3").put_object(Bucket=BUCKET, Key=key, Body=rows.getvalue().encode())
    emulator.status_callbacks = False  # the sends are the subject, not the callbacks
    emulator.configure_senders(True, {MAGIC_FROM: {"mps": sender_mps}})
    before = workflows.usage()
    try:
        real, simulated = emulator.set_clock_speed(speed)
        workflows.set_clock(real, simulated, speed)
        # the campaign starts at startAt: a few real seconds from now, for the execution to
        # plan it and start its Map (in AWS, a second or two before a campaign of hours)
        start = emulator.clock() + LEAD_IN_REAL_SECONDS * speed
        started_real = time.time()
        arn = workflows.start(
            CAMPAIGN,
            {
                "bucket": BUCKET,
                "key": key,
                "smsBody": BODY,
                "senderMps": sender_mps,
                "startAt": datetime.fromtimestamp(start, UTC).isoformat(),
            },
        )
        ideal = recipients * _segments(BODY) / sender_mps
        execution = workflows.wait(arn, timeout=max(600, 4 * ideal / speed + 300))
        if execution["status"] != "SUCCEEDED":
            print(workflows.failure(arn), file=sys.stderr)
        summary = _drained(emulator, timeout=ideal / speed + 60)
        real_seconds = time.time() - started_real
        time.sleep(1.2)  # the counters' last write
        used = _difference(workflows.usage(), before)
        output = workflows.output(arn) if execution["status"] == "SUCCEEDED" else {}
    finally:
        workflows.real_clock()
        emulator.configure_senders(False)
        emulator.set_clock_speed(1.0, real_time=True)
    to_counts = summary["to_counts"]
    expected = audience(recipients)
    refused, failed = summary["refused"], summary["failed"]
    last_sent = _epoch(summary["last_sent"])
    cost = _cost(used)
    return {
        "recipients": recipients,
        "sent_once": sum(1 for number in expected if to_counts.get(number) == 1),
        "duplicates": sum(n - 1 for n in to_counts.values() if n > 1),
        "lost": sum(1 for number in expected if not to_counts.get(number)),
        "queue_overflow": int(refused.get("21611", 0)) + int(failed.get("30001", 0)),
        "expired": int(failed.get("30036", 0)),
        "simulated_seconds": round(last_sent - start, 1) if last_sent else None,
        "ideal_seconds": round(ideal, 1),
        "max_queue_seconds": summary.get("max_queue_seconds"),
        "sender_mps": sender_mps,
        "clock_speed": speed,
        "real_seconds": round(real_seconds, 1),
        "execution": execution["status"],
        "campaign_sent": output.get("sent"),
        "state_transitions": used["state_transitions"],
        "lambda_requests": sum(f["requests"] for f in used["lambda"].values()),
        "lambda_gb_seconds": round(_gb_seconds(used), 1),
        "dynamodb_write_units": used["dynamodb_write_units"],
        "dynamodb_read_units": used["dynamodb_read_units"],
        "aws_cost_per_million_usd": round(cost * 1_000_000 / recipients, 2),
        "prices": f"us-east-1, {PRICES_DATE}",
    }


def _difference(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    used: dict[str, Any] = {
        kind: after.get(kind, 0) - before.get(kind, 0)
        for kind in ("state_transitions", "dynamodb_write_units", "dynamodb_read_units")
    }
    used["lambda"] = {}
    for name, entry in after["lambda"].items():
        earlier = before["lambda"].get(name, {"requests": 0, "seconds": 0.0})
        used["lambda"][name] = {
            "requests": entry["requests"] - earlier["requests"],
            "seconds": entry["seconds"] - earlier["seconds"],
            "memory_mb": entry["memory_mb"],
        }
    return used


def _gb_seconds(used: dict[str, Any]) -> float:
    return sum(f["seconds"] * f["memory_mb"] / 1024 for f in used["lambda"].values())


def _segments(body: str) -> int:
    layer_on_path()
    from twilio_connector.segments import count

    return count(body).segments


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _drained(emulator: Any, timeout: float) -> dict[str, Any]:
    """The emulator's summary once every created message has left its queue."""
    deadline = time.monotonic() + timeout
    while True:
        summary = emulator.summary()
        settled = summary["sent"] + sum(summary["failed"].values())
        if settled >= summary["created"] or time.monotonic() > deadline:
            return summary
        time.sleep(0.5)


def _cost(counts: dict[str, Any]) -> float:
    requests = sum(f["requests"] for f in counts["lambda"].values())
    return (
        counts["state_transitions"] * STATE_TRANSITION
        + requests * LAMBDA_REQUEST
        + _gb_seconds(counts) * LAMBDA_ARM_GB_SECOND
        + counts["dynamodb_write_units"] * DYNAMODB_WRITE_UNIT
        + counts["dynamodb_read_units"] * DYNAMODB_READ_UNIT
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--sender-mps", type=float, default=10.0)
    parser.add_argument("--speed", type=float, help="simulated seconds a real second")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.recipients, args.sender_mps, args.speed)), flush=True)


if __name__ == "__main__":
    main()
