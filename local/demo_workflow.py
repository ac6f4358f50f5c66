"""`make demo`, part two: a shipped workflow executing. The send-and-wait example runs in moto's
Step Functions interpreter with the built functions (``local.workflows``): the SMS goes out, the
emulator's delivery report resumes the execution, the customer's "YES" resumes it again; its
history is printed one step a line.
"""

from __future__ import annotations

import json
import sys
import time

from local.twilio_emulator import TwilioEmulator
from local.workflows import LocalWorkflows, summarize

CUSTOMER = "+14155550177"


def send_and_wait(workflows: LocalWorkflows, emulator: TwilioEmulator) -> tuple[dict, list[str]]:
    """Run the send-and-wait example to its end; the execution and its history, summarized."""
    arn = workflows.start(
        "ExampleSendAndWaitStateMachine",
        {
            "smsTo": CUSTOMER,
            "smsBody": "Hello ${name}, your order ships today.",
            "metadata": {"name": "Ada"},
        },
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the reply task has parked its token
        events = workflows.history(arn)
        entered = [i for i, e in enumerate(events) if e["type"] == "TaskStateEntered"]
        if len(entered) == 2 and any(e["type"] == "TaskSubmitted" for e in events[entered[1] :]):
            break
        time.sleep(0.1)
    emulator.deliver_incoming(f"{workflows.api_url}/sms", "YES", from_=CUSTOMER)
    execution = workflows.wait(arn)
    return execution, summarize(workflows.history(arn))


def main() -> int:
    print("\nWORKFLOW  examples/statemachines/send_and_wait.asl.json, in moto's Step Functions")
    print("          interpreter; the functions run as `sam build` packed them (awslambdaric)")
    with TwilioEmulator() as emulator, LocalWorkflows(emulator) as workflows:
        execution, lines = send_and_wait(workflows, emulator)
    for line in lines:
        print(f"  {line}")
    result = json.loads(execution.get("output") or "{}")
    print(f"  status   {execution['status']}")
    print(f"  delivery {result.get('delivery', {}).get('status')}")
    print(f"  reply    {result.get('reply', {}).get('body')}")
    return 0 if execution["status"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
