"""Every shipped state machine, executed in moto's Step Functions interpreter with the built
functions as its Lambda tasks, the Twilio emulator behind them and the API stand-in in front of
the inbound function (local.workflows). Assertions are on the execution and its history, and on
what reached Twilio.

To execute a new state machine: declare it in examples/template.yaml
(``AWS::Serverless::StateMachine``, ``DefinitionUri`` in examples/statemachines/,
``DefinitionSubstitutions``); the ``workflows`` fixture
deploys it as ``workflows.machines[<LogicalId>]``; start it with ``workflows.start(<LogicalId>,
input)`` and assert on ``workflows.wait(arn)`` and ``workflows.history(arn)``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter

import pytest

from local.template import function_properties
from local.twilio_emulator import TwilioEmulator
from local.workflows import BUCKET, LocalWorkflows
from twilio_connector.sms import COMMIT_MARGIN

SEND, WAIT, CAMPAIGN = (
    "ExampleSendSmsStateMachine",
    "ExampleSendAndWaitStateMachine",
    "ExampleCampaignStateMachine",
)
#: The emulator's magic recipients: Twilio's code, and the connector's.
REFUSED = {
    "+15005550001": (21211, "INVALID_TO_PHONE_NUMBER_ERROR"),
    "+15005550002": (21612, "INVALID_TO_PHONE_NUMBER_ERROR"),
    "+15005550003": (21408, "INVALID_REGION_TO_PHONE_NUMBER_ERROR"),
    "+15005550004": (21610, "PERMISSION_DENIED_ERROR"),
    "+15005550009": (21614, "INVALID_TO_PHONE_NUMBER_ERROR"),
}


@pytest.fixture(scope="module")
def workflows(deployed_workflows: LocalWorkflows) -> LocalWorkflows:
    deployed_workflows.deploy_variant(
        WAIT,
        "send-and-wait-short",
        {"ExampleDeliveryTimeoutSeconds": "4", "ExampleReplyTimeoutSeconds": "4"},
    )
    return deployed_workflows


@pytest.fixture(autouse=True)
def _no_opt_outs(workflows):
    """Each test starts with nobody opted out (a 21610 refusal records an opt-out)."""
    workflows.forget_opt_outs()


@pytest.fixture
def run(workflows, emulator):
    """Start an execution and wait for its end; on a failed assertion, the functions' log."""

    def run_(machine: str, execution_input: dict, timeout: float = 60) -> dict:
        return workflows.wait(workflows.start(machine, execution_input), timeout)

    yield run_


def output(execution: dict) -> dict:
    return json.loads(execution["output"])


def sent_to(emulator: TwilioEmulator, number: str) -> list[dict]:
    return [m for m in list(emulator.messages.values()) if m["to"] == number]


def history_types(workflows: LocalWorkflows, arn: str) -> list[str]:
    return [event["type"] for event in workflows.history(arn)]


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not within {timeout}s")


def waiting_for_reply(workflows: LocalWorkflows, arn: str) -> bool:
    """The execution is parked on its reply task (the task was submitted: the token parked)."""
    events = workflows.history(arn)
    entered = [i for i, e in enumerate(events) if e["type"] == "TaskStateEntered"]
    return len(entered) == 2 and any(e["type"] == "TaskSubmitted" for e in events[entered[1] :])


# --- send, retry, fall back ----------------------------------------------------------------------


def test_send_renders_metadata_and_sends_without_it(workflows, run, emulator):
    with_metadata = workflows.start(
        SEND, {"smsTo": "+14155550100", "smsBody": "Hi ${name}", "metadata": {"name": "Ada"}}
    )
    without = workflows.start(SEND, {"smsTo": "+14155550101", "smsBody": 'Hi ${name!"there"}'})
    for arn in (with_metadata, without):
        execution = workflows.wait(arn)
        assert execution["status"] == "SUCCEEDED", execution
    assert [m["body"] for m in sent_to(emulator, "+14155550100")] == ["Hi Ada"]
    assert [m["body"] for m in sent_to(emulator, "+14155550101")] == ["Hi there"]
    [sid] = output(workflows.describe(without))["sms"]["smsResult"]
    assert sid == sent_to(emulator, "+14155550101")[0]["sid"]


@pytest.mark.parametrize(
    "number", ["+15005550001", "+15005550003", "+15005550004"], ids=lambda n: REFUSED[n][1]
)
def test_send_catches_each_refusal_with_its_code(run, emulator, number):
    execution = run(SEND, {"smsTo": number, "smsBody": "Hello"})
    assert execution["status"] == "SUCCEEDED", execution
    fallback = output(execution)
    twilio_code, code = REFUSED[number]
    assert fallback["notSent"] is True and fallback["error"] == code
    assert json.loads(fallback["detail"]["errorMessage"])["twilioCode"] == twilio_code
    assert sent_to(emulator, number) == []


def test_send_catches_a_template_error(run):
    execution = run(SEND, {"smsTo": "+14155550102", "smsBody": "Hi ${name}", "metadata": {}})
    assert output(execution)["error"] == "TEMPLATE_METADATA_ERROR"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(  # the client's 4 attempts, then SERVICE_UNAVAILABLE; ~19 s: the retries
            {"fail_statuses": [503] * 4}, marks=pytest.mark.slow
        ),
        {"fail_errors": [{"status": 429, "code": 20429}] * 4},  # TOO_MANY_REQUESTS
        {"drop_after_store": 1, "drop_next": 0},  # Twilio stored it; the answer was lost
    ],
    ids=["503", "429", "lost-after-store"],
)
def test_send_retries_transient_errors_and_sends_once(workflows, run, emulator, fault):
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    arn = workflows.start(SEND, {"smsTo": "+14155550103", "smsBody": "Once"})
    execution = workflows.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    assert len(sent_to(emulator, "+14155550103")) == 1
    [sid] = output(execution)["sms"]["smsResult"]
    assert sid == sent_to(emulator, "+14155550103")[0]["sid"]
    if "fail_errors" in fault:  # Twilio did nothing: one failure, then the retry sends
        assert history_types(workflows, arn).count("TaskFailed") == 1
    # (a 503 to a send is an unknown outcome: the retries are CONFLICT until it is held no more,
    # then the one that finds nothing at Twilio sends; a lost answer may settle inside the call)


# --- send and wait -------------------------------------------------------------------------------


def test_send_and_wait_resumes_on_delivery_then_on_the_reply(workflows, emulator):
    number = "+14155550110"
    arn = workflows.start(WAIT, {"smsTo": number, "smsBody": "Your order shipped"})
    wait_until(lambda: waiting_for_reply(workflows, arn), what="waiting for the reply")
    emulator.deliver_incoming(f"{workflows.api_url}/sms", "YES", from_=number)
    execution = workflows.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    result = output(execution)
    assert result["delivery"]["status"] == "delivered"
    assert result["delivery"]["messageSid"] == sent_to(emulator, number)[0]["sid"]
    assert result["reply"]["body"] == "YES"
    assert result["reply"]["inReplyTo"] == sent_to(emulator, number)[1]["sid"]
    assert "metadata" in result  # no metadata in the input: the example gave the template {}


def test_undelivered_fails_with_the_twilio_code(workflows, run, emulator):
    number = "+14155550111"
    emulator.delivery_outcomes[number] = ("undelivered", 30003)
    execution = run(WAIT, {"smsTo": number, "smsBody": "x"})
    assert execution["status"] == "FAILED"
    error, cause = workflows.failure(execution["executionArn"])
    assert error == "INVALID_TO_PHONE_NUMBER_ERROR"
    assert json.loads(cause)["twilioCode"] == 30003


def test_refused_number_fails_send_and_wait_with_its_code(run):
    execution = run(WAIT, {"smsTo": "+15005550004", "smsBody": "x"})
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PERMISSION_DENIED_ERROR"


def test_timeouts_end_the_waits(workflows, emulator):
    never_delivered, never_replies = "+14155550112", "+14155550113"
    emulator.delivery_outcomes[never_delivered] = ("sent", None)  # no final status, ever
    first = workflows.start("send-and-wait-short", {"smsTo": never_delivered, "smsBody": "x"})
    second = workflows.start("send-and-wait-short", {"smsTo": never_replies, "smsBody": "x"})
    execution = workflows.wait(first)
    assert (execution["status"], execution["error"]) == ("FAILED", "DeliveryTimeout")
    assert "TaskTimedOut" in history_types(workflows, first)
    execution = workflows.wait(second)
    assert execution["status"] == "SUCCEEDED"
    assert output(execution)["reply"] == {"replied": False}


def test_two_executions_waiting_on_one_number_each_get_their_reply(workflows, emulator):
    """The rule: an inbound message resumes the oldest waiter for its sender."""
    number = "+14155550114"
    first = workflows.start(WAIT, {"smsTo": number, "smsBody": "First question"})
    wait_until(lambda: waiting_for_reply(workflows, first), what="the first waiting")
    second = workflows.start(WAIT, {"smsTo": number, "smsBody": "Second question"})
    wait_until(lambda: waiting_for_reply(workflows, second), what="the second waiting")
    emulator.deliver_incoming(f"{workflows.api_url}/sms", "answer one", from_=number)
    emulator.deliver_incoming(f"{workflows.api_url}/sms", "answer two", from_=number)
    replies = [output(workflows.wait(arn))["reply"]["body"] for arn in (first, second)]
    assert replies == ["answer one", "answer two"]


# --- starting a workflow on SMS_RECEIVED ---------------------------------------------------------


def test_an_inbound_sms_starts_the_example_through_the_rule(workflows, emulator):
    number = "+14155550120"
    before = {e["executionArn"] for e in workflows.executions(SEND)}
    answer = emulator.deliver_incoming(f"{workflows.api_url}/sms", "Order Number 12345", number)
    assert answer["status"] == 200, answer
    arn = wait_until(
        lambda: next(
            (
                e["executionArn"]
                for e in workflows.executions(SEND)
                if e["executionArn"] not in before
            ),
            None,
        ),
        what="an execution started by the rule",
    )
    execution = workflows.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["input"]) == {
        "smsTo": number,
        "smsBody": "Thanks! We are on it.",
        "metadata": {"orderNumber": "12345"},
    }
    assert [m["body"] for m in sent_to(emulator, number)] == ["Thanks! We are on it."]


# --- the campaign --------------------------------------------------------------------------------


def upload_audience(workflows, audience: list[str], key: str) -> None:
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["phone", "name"])
    writer.writerows([number, f"n{i}"] for i, number in enumerate(audience))
    workflows.client("s3").put_object(Bucket=BUCKET, Key=key, Body=rows.getvalue())


def refused_items(workflows, arn: str) -> dict[str, dict]:
    """The campaign's refused recipients (REFUSED.json beside its results), by phone number."""
    s3 = workflows.client("s3")
    written = workflows.output(arn)["refusedFile"]
    items = json.loads(s3.get_object(Bucket=written["Bucket"], Key=written["Key"])["Body"].read())
    return {item["phone"]: item for item in items}


def assert_refusals_reported(refused_found: dict[str, dict], refused: dict = REFUSED) -> None:
    assert set(refused_found) == set(refused)
    for number, (twilio_code, code) in refused.items():
        assert refused_found[number]["code"] == code
        assert refused_found[number]["twilioCode"] == twilio_code


def batch_outcomes(workflows, arn: str) -> dict[str, dict]:
    """Each recipient's outcome in its batch's result (SUCCEEDED file): {"sent": sid} or
    {"skipped": reason} or {"refused": {...}}, by phone number."""
    s3 = workflows.client("s3")
    written = workflows.output(arn)["ResultWriterDetails"]
    manifest = json.loads(
        s3.get_object(Bucket=written["Bucket"], Key=written["Key"])["Body"].read()
    )
    outcomes: dict[str, dict] = {}
    for result_file in manifest["ResultFiles"]["SUCCEEDED"]:
        body = s3.get_object(Bucket=BUCKET, Key=result_file["Key"])["Body"].read()
        for item in json.loads(body):
            output = json.loads(item["Output"])
            for kind in ("sent", "skipped", "refused"):
                for number, value in output[kind].items():
                    assert number not in outcomes, f"{number} in two batches"
                    outcomes[number] = {kind: value}
    return outcomes


def expected_refusals(workflows, arn: str) -> dict:
    """The 21610 refusal records the recipient's opt-out: if their batch was sent again (retried
    for another recipient's transient error, or redriven), they are then skipped, not sent; if
    not, the refusal stands, with its code. The other refusals are reported each with its code."""
    unsubscribed = "+15005550004"
    outcome = batch_outcomes(workflows, arn)[unsubscribed]
    if outcome == {"skipped": "OPTED_OUT"}:
        return {number: codes for number, codes in REFUSED.items() if number != unsubscribed}
    assert outcome["refused"]["twilioCode"] == 21610, outcome
    return REFUSED


#: Fast enough for a test: the pacing itself is proven by tests/integration/test_campaign_sim.py.
FAST = {"senderMps": 1000}


def test_campaign_skips_who_opted_out(workflows, emulator):
    """A recipient who answered STOP (through the inbound webhook) is skipped: their item
    succeeds with ``skipped``, nothing is sent to them, the others are sent to as before."""
    emulator.status_callbacks = False
    audience = [f"+1415558{i:04d}" for i in range(6)]
    opted = audience[2]
    emulator.deliver_incoming(f"{workflows.api_url}/sms", " Stop ", from_=opted)
    upload_audience(workflows, audience, "opted.csv")

    arn = workflows.start(
        CAMPAIGN, {"bucket": BUCKET, "key": "opted.csv", "smsBody": "Sale", **FAST}
    )
    execution = workflows.wait(arn, timeout=120)

    assert execution["status"] == "SUCCEEDED", execution
    assert sent_to(emulator, opted) == []
    assert all(len(sent_to(emulator, number)) == 1 for number in audience if number != opted)
    outcomes = batch_outcomes(workflows, arn)
    assert set(outcomes) == set(audience)
    assert outcomes[opted] == {"skipped": "OPTED_OUT"}
    sid = outcomes[audience[0]]["sent"]
    assert emulator.messages[sid]["to"] == audience[0]
    summary = workflows.output(arn)
    assert (summary["sent"], summary["skipped"], summary["refused"]) == (5, 1, 0)


@pytest.mark.slow  # ~23 s: the Map's retries, at their intervals
def test_campaign_transient_failures_are_retried_not_tolerated(workflows, emulator):
    """The shipped campaign (its retry budget as template.yaml deploys it): 100 recipients, 5
    refused (4.8%: tolerated), and 5 transient failures: three 503s and two messages Twilio
    stored before answering 503, whose outcome is unknown, so SEND_SMS answers CONFLICT until
    their hold is over. The transient ones are retried past the hold and sent, not counted as
    failures (which would pass the 5%); only the refusals fail their items."""
    emulator.status_callbacks = False
    good = [f"+1415557{i:04d}" for i in range(100)]
    upload_audience(workflows, good[:50] + list(REFUSED) + good[50:], "transient.csv")
    emulator.faults.fail_statuses = [503, 503, 503]
    emulator.faults.fail_after_store = [503, 503]
    arn = workflows.start(
        CAMPAIGN, {"bucket": BUCKET, "key": "transient.csv", "smsBody": "Winter sale", **FAST}
    )
    execution = workflows.wait(arn, timeout=240)
    assert execution["status"] == "SUCCEEDED", execution
    counts = Counter(m["to"] for m in list(emulator.messages.values()))
    assert all(counts[number] == 1 for number in good), [n for n in good if counts[n] != 1]
    assert not emulator.faults.fail_statuses and not emulator.faults.fail_after_store
    assert_refusals_reported(refused_items(workflows, arn), expected_refusals(workflows, arn))


@pytest.mark.slow  # ~45 s: a campaign, an outage, then its redrive
def test_campaign_with_refusals_and_an_outage_then_a_redrive(workflows, emulator):
    """250 recipients, 5 of them refused by Twilio, and a Twilio outage (every answer 503) from
    the 100th message on: the campaign fails once the failures pass its 5%; redriven after the
    outage, it sends to everyone else, exactly once, and reports the refused ones one by one."""
    emulator.status_callbacks = False  # 500 callbacks are not the subject here
    good = [f"+1415556{i:04d}" for i in range(245)]
    upload_audience(workflows, good[:60] + list(REFUSED) + good[60:], "audience.csv")

    # The connector with a budget of 10 (its output WorkflowMaxConcurrency 5): on two cores, 50
    # items retrying at once through the outage would only be slower, not another path. Its
    # transient retries cut to 2 (the shipped 40 outlast any test): the outage fails items as a
    # longer one would.
    workflows.deploy_variant(
        CAMPAIGN, "campaign-budget-10", {"TwilioConcurrency": "10", "CampaignRetryAttempts": "2"}
    )
    arn = workflows.start(
        "campaign-budget-10",
        {"bucket": BUCKET, "key": "audience.csv", "smsBody": "Spring sale", **FAST},
    )
    wait_until(lambda: len(emulator.messages) >= 100, timeout=120, what="100 messages sent")
    emulator.faults.fail_statuses = [503] * 1_000_000  # the outage
    execution = workflows.wait(arn, timeout=120)
    assert (execution["status"], execution["error"]) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )
    sent_before = len(emulator.messages)
    assert sent_before < len(good)

    emulator.faults.fail_statuses = []  # the outage ends
    # a send answered 503 has an unknown outcome, held until it can no longer take effect at
    # Twilio (the timeouts and the commit margin): the operator redrives after that
    variables = function_properties("SendSmsFunction")["Environment"]["Variables"]
    timeouts = float(variables["TWILIO_CONNECT_TIMEOUT"]) + float(variables["TWILIO_READ_TIMEOUT"])
    time.sleep(timeouts + COMMIT_MARGIN + 1)
    workflows.redrive(arn)
    execution = workflows.wait(arn, timeout=120)
    assert execution["status"] == "SUCCEEDED", execution

    counts = Counter(m["to"] for m in list(emulator.messages.values()))
    assert all(counts[number] == 1 for number in good), [n for n in good if counts[n] != 1]
    assert not any(counts[number] for number in REFUSED)

    assert_refusals_reported(refused_items(workflows, arn), expected_refusals(workflows, arn))


# --- make demo -----------------------------------------------------------------------------------


def test_the_demo_shows_send_and_wait_executing(workflows, emulator):
    from local.demo_workflow import send_and_wait

    execution, lines = send_and_wait(workflows, emulator)
    assert execution["status"] == "SUCCEEDED"
    steps = [line.split("s  ", 1)[1] for line in lines]
    assert steps[0] == "ExecutionStarted" and steps[-1].startswith("ExecutionSucceeded")
    assert "-> SendAndWaitForDelivery" in steps and "-> AskAndWaitForReply" in steps
    assert steps.count("TaskSubmitted: waiting for its task token") == 2
    assert any('"status": "delivered"' in s for s in steps if s.startswith("TaskSucceeded"))
    assert any('"body": "YES"' in s for s in steps if s.startswith("TaskSucceeded"))
