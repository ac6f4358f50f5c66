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
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.bench import (
    DYNAMODB_READ_UNIT,
    DYNAMODB_WRITE_UNIT,
    LAMBDA_ARM_GB_SECOND,
    LAMBDA_REQUEST,
    PRICES_DATE,
)

#: Step Functions standard workflows, us-east-1, per state transition (aws.amazon.com/step-
#: functions/pricing, as published on PRICES_DATE): $0.025 per 1,000.
STATE_TRANSITION = 0.025 / 1000
CAMPAIGN = "ExampleCampaignStateMachine"
BODY = "Winter sale: 20% off everything until Sunday. Reply STOP to opt out."
#: US area codes the recipients are spread over (valid numbers, none of the emulator's magic).
AREA_CODES = ("415", "212", "312", "617", "206", "303", "404", "512", "702", "213")


def audience(count: int) -> list[str]:
    return [
        f"+1{AREA_CODES[i % len(AREA_CODES)]}{200 + (i // 10_000) % 800:03d}{i % 10_000:04d}"
        for i in range(count)
    ]


def default_speed(sender_mps: float) -> float:
    """About two batches (100 recipients) a real second: what two shared cores keep up with."""
    return max(1.0, 2 * 100 / sender_mps)


def run(recipients: int, sender_mps: float, speed: float | None = None) -> dict[str, Any]:
    from local.twilio_emulator import MAGIC_FROM, TwilioEmulator
    from local.workflows import BUCKET, LocalWorkflows

    speed = speed or default_speed(sender_mps)
    work = Path(tempfile.mkdtemp(prefix="campaign-sim-"))
    clock_file, counts_file = work / "clock.json", work / "counts.json"
    os.environ["LOCAL_SIM_CLOCK_FILE"] = str(clock_file)
    os.environ["LOCAL_SIM_COUNTS_FILE"] = str(counts_file)
    clock_file.write_text(json.dumps({"real": time.time(), "simulated": time.time(), "speed": 1}))
    try:
        with TwilioEmulator(throughput=True) as emulator:
            emulator.status_callbacks = False  # the sends are the subject, not the callbacks
            emulator.configure_senders(True, {MAGIC_FROM: {"mps": sender_mps}})
            with LocalWorkflows(emulator) as workflows:
                rows = io.StringIO()
                writer = csv.writer(rows)
                writer.writerow(["phone"])
                writer.writerows([number] for number in audience(recipients))
                workflows.client("s3").put_object(
                    Bucket=BUCKET, Key="sim.csv", Body=rows.getvalue().encode()
                )
                emulator.set_clock_speed(speed)
                real, simulated = emulator._clock_anchor
                clock_file.write_text(
                    json.dumps({"real": real, "simulated": simulated, "speed": speed})
                )
                start = emulator.clock() + 1
                started_real = time.time()
                arn = workflows.start(
                    CAMPAIGN,
                    {
                        "bucket": BUCKET,
                        "key": "sim.csv",
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
                time.sleep(1.2)  # the counters' last dump
                counts = json.loads(counts_file.read_text())
                output = workflows.output(arn) if execution["status"] == "SUCCEEDED" else {}
    finally:
        os.environ.pop("LOCAL_SIM_CLOCK_FILE", None)
        os.environ.pop("LOCAL_SIM_COUNTS_FILE", None)
    to_counts = summary["to_counts"]
    expected = set(audience(recipients))
    sent_once = sum(1 for number in expected if to_counts.get(number) == 1)
    duplicates = sum(n - 1 for n in to_counts.values() if n > 1)
    refused, failed = summary["refused"], summary["failed"]
    last_sent = _epoch(summary["last_sent"])
    cost = _cost(counts)
    return {
        "recipients": recipients,
        "sent_once": sent_once,
        "duplicates": duplicates,
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
        "state_transitions": counts["state_transitions"],
        "lambda_requests": sum(f["requests"] for f in counts["lambda"].values()),
        "dynamodb_write_units": counts["dynamodb_write_units"],
        "dynamodb_read_units": counts["dynamodb_read_units"],
        "aws_cost_per_million_usd": round(cost * 1_000_000 / recipients, 2),
        "prices": f"us-east-1, {PRICES_DATE}",
    }


def _segments(body: str) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "connector"))
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
    lambda_cost = sum(
        f["requests"] * LAMBDA_REQUEST + f["seconds"] * f["memory_mb"] / 1024 * LAMBDA_ARM_GB_SECOND
        for f in counts["lambda"].values()
    )
    return (
        counts["state_transitions"] * STATE_TRANSITION
        + lambda_cost
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
