"""The verify-then-continue example executed in moto's Step Functions interpreter, with the built
VERIFY_START / VERIFY_CHECK as its Lambda tasks and the Twilio emulator's Verify behind them
(local.workflows). The test plays the application: a rule sends the example's
VerificationCodeRequested events to a queue, and the code the person received (the SMS in the
emulator's outbox) comes back with SendTaskSuccess.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest

from local.twilio_emulator.verify_lookup import VERIFY_SENDER
from local.workflows import LocalWorkflows

VERIFY = "ExampleVerifyThenContinueStateMachine"
A = "+14155550100"
LANDLINE = "+14155550106"  # the emulator's ranges: a last digit of 6 is a landline


@pytest.fixture(scope="module")
def workflows(deployed_workflows: LocalWorkflows) -> LocalWorkflows:
    deployed_workflows.deploy_variant(
        VERIFY, "verify-then-continue-short", {"ExampleVerifyCodeTimeoutSeconds": "2"}
    )
    return deployed_workflows


@pytest.fixture(scope="module")
def code_requests(workflows):
    """What the application subscribes to: the example's VerificationCodeRequested events."""
    sqs, events = workflows.client("sqs"), workflows.client("events")
    name = f"code-requests-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(
        Name=name, EventPattern=json.dumps({"detail-type": ["VerificationCodeRequested"]})
    )
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}])
    return url


def next_request(workflows, queue_url: str, execution_arn: str, timeout: float = 30) -> dict:
    """The next VerificationCodeRequested event of this execution (others are left alone)."""
    sqs, deadline = workflows.client("sqs"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0
        )
        for message in answer.get("Messages", []):
            event = json.loads(message["Body"])
            if event["detail"]["executionId"] == execution_arn:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                return event
        status = workflows.describe(execution_arn)["status"]
        if status != "RUNNING":
            raise AssertionError(f"{execution_arn} is {status}, not waiting for a code")
    raise TimeoutError(f"no VerificationCodeRequested for {execution_arn} in {timeout}s")


def answer(workflows, event: dict, code: str) -> None:
    workflows.client("stepfunctions").send_task_success(
        taskToken=event["detail"]["taskToken"], output=json.dumps({"code": code})
    )


def sms_code(emulator) -> str:
    """The code the person received: the last Verify SMS in the emulator's outbox."""
    texts = [m["body"] for m in list(emulator.messages.values()) if m["from"] == VERIFY_SENDER]
    return texts[-1].rsplit(" ", 1)[1]


def detail(cause: str) -> dict:
    """The connector's error detail from a failed Lambda task's cause (Lambda's error payload:
    the detail is its errorMessage, as ``States.StringToJson`` reads it in a workflow)."""
    return json.loads(json.loads(cause)["errorMessage"])


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_the_right_code_verifies_and_the_process_continues(workflows, code_requests, emulator):
    arn = workflows.start(VERIFY, {"to": "+1 (415) 555-0100"})
    event = next_request(workflows, code_requests, arn)
    assert event["source"] == "twilio.connector"
    assert event["detail"]["to"] == A and event["detail"]["channel"] == "sms"
    assert event["detail"]["verificationSid"].startswith("VE")
    answer(workflows, event, sms_code(emulator))
    execution = workflows.wait(arn)
    assert execution["status"] == "SUCCEEDED", workflows.function_log()[-3000:]
    assert json.loads(execution["output"]) == {"verified": True, "to": A}


def test_a_wrong_code_asks_again(workflows, code_requests, emulator):
    arn = workflows.start(VERIFY, {"to": A})
    first = next_request(workflows, code_requests, arn)
    code = sms_code(emulator)
    answer(workflows, first, wrong(code))
    second = next_request(workflows, code_requests, arn)  # asked again, same verification
    assert second["detail"]["verificationSid"] == first["detail"]["verificationSid"]
    answer(workflows, second, code)
    assert workflows.wait(arn)["status"] == "SUCCEEDED"
    checks = [r for r in emulator.requests if r["path"].endswith("/VerificationCheck")]
    assert [c["form"]["Code"] for c in checks] == [[wrong(code)], [code]]


def test_five_wrong_codes_end_in_too_many_attempts(workflows, code_requests, emulator):
    arn = workflows.start(VERIFY, {"to": A})
    for _ in range(6):  # Twilio checks five; the sixth check is 60202
        event = next_request(workflows, code_requests, arn)
        answer(workflows, event, wrong(sms_code(emulator)))
    execution = workflows.wait(arn)
    assert execution["status"] == "FAILED"
    error, cause = workflows.failure(arn)
    assert error == "VERIFICATION_MAX_ATTEMPTS_ERROR"
    assert detail(cause)["twilioCode"] == 60202
    assert "TooManyAttempts" in json.dumps(workflows.history(arn), default=str)


def test_a_landline_cannot_be_sent_a_code_by_sms(workflows, emulator):
    execution = workflows.wait(workflows.start(VERIFY, {"to": LANDLINE}))
    assert execution["status"] == "FAILED"
    error, cause = workflows.failure(execution["executionArn"])
    assert error == "INVALID_TO_PHONE_NUMBER_ERROR" and detail(cause)["twilioCode"] == 60205


def test_no_code_in_time_ends_the_wait(workflows, code_requests, emulator):
    arn = workflows.start("verify-then-continue-short", {"to": A})
    next_request(workflows, code_requests, arn)  # nobody answers
    assert workflows.wait(arn)["status"] == "FAILED"
    assert workflows.failure(arn)[0] == "VerificationExpired"


def test_a_code_given_after_the_verification_expired(workflows, code_requests, emulator):
    arn = workflows.start(VERIFY, {"to": A})
    event = next_request(workflows, code_requests, arn)
    code = sms_code(emulator)
    emulator.advance(timedelta(minutes=10))  # Verify's codes live 10 minutes
    answer(workflows, event, code)
    assert workflows.wait(arn)["status"] == "FAILED"
    assert workflows.failure(arn)[0] == "VerificationExpired"
