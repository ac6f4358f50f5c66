"""Send and wait (task tokens resumed on Step Functions, in moto), and the example rule."""

import json

import pytest
from botocore.exceptions import ClientError

from local.apigw import ApiGatewayAdapter
from local.resources import drain
from local.template import EXAMPLES, load_template
from tests.conftest import load_function, reset_layer_caches
from tests.integration.helpers import expect_error

A = "+14155550100"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd" + "x" * 40


@pytest.fixture
def sfn_calls(inbound):
    """Every SendTaskSuccess / SendTaskFailure the connector makes (they go to moto)."""
    from twilio_connector.aws import aws_client

    calls: list[tuple[str, dict]] = []
    client = aws_client("stepfunctions")

    def record(params, model, **kwargs):  # the API parameters
        calls.append((model.name, params))

    client.meta.events.register("before-parameter-build.sfn.SendTaskSuccess", record)
    client.meta.events.register("before-parameter-build.sfn.SendTaskFailure", record)
    return calls


@pytest.fixture
def send():
    return load_function("send_sms").lambda_handler


@pytest.fixture
def webhook(inbound, lambda_context, monkeypatch):
    """The inbound function behind a local API Gateway, as SEND_SMS's status callback URL."""
    with ApiGatewayAdapter(load_function("inbound_sms").lambda_handler, lambda_context) as api:
        monkeypatch.setenv("STATUS_CALLBACK_URL", f"{api.url}/status")
        reset_layer_caches()
        yield api


def test_waits_for_delivery(webhook, emulator, send, lambda_context, sfn_calls):
    result = send({"smsTo": A, "smsBody": "x", "taskToken": TOKEN}, lambda_context)
    emulator.drain_callbacks()
    [(operation, params)] = sfn_calls
    assert operation == "SendTaskSuccess" and params["taskToken"] == TOKEN
    output = json.loads(params["output"])
    assert output["messageSid"] == result["messages"][0]["sid"]
    assert output["status"] == "delivered"


def test_undelivered_fails_the_task_with_the_catalogued_code(
    webhook, emulator, send, lambda_context, sfn_calls
):
    emulator.delivery_outcomes[A] = ("undelivered", 30003)
    send({"smsTo": A, "smsBody": "x", "taskToken": TOKEN}, lambda_context)
    emulator.drain_callbacks()
    [(operation, params)] = sfn_calls
    assert operation == "SendTaskFailure" and params["error"] == "INVALID_TO_PHONE_NUMBER_ERROR"
    assert json.loads(params["cause"])["twilioCode"] == 30003


def test_waits_for_the_reply(webhook, emulator, send, lambda_context, sfn_calls):
    result = send(
        {"smsTo": A, "smsBody": "Reply YES", "taskToken": TOKEN, "waitFor": "reply"},
        lambda_context,
    )
    emulator.drain_callbacks()
    assert sfn_calls == []  # delivered, but this task waits for the answer
    emulator.deliver_incoming(f"{webhook.url}/sms", "Order Number 77", from_=A)
    [(operation, params)] = sfn_calls
    output = json.loads(params["output"])
    assert operation == "SendTaskSuccess" and output["body"] == "Order Number 77"
    assert output["inReplyTo"] == result["messages"][0]["sid"]
    assert output["matches"] == [{"trigger": "order-number", "matchGroups": {"orderNumber": "77"}}]
    emulator.deliver_incoming(f"{webhook.url}/sms", "again", from_=A)
    assert len(sfn_calls) == 1  # a token resumes once


def test_a_final_status_before_the_token_is_parked(inbound, sfn_calls):
    from twilio_connector import task_tokens

    sid = "SM" + "3" * 32
    task_tokens.on_status({"messageSid": sid, "status": "delivered", "errorCode": None})
    assert sfn_calls == []
    task_tokens.park(task_tokens.DELIVERY, sid, TOKEN, {"messageSid": sid})
    assert [c[0] for c in sfn_calls] == ["SendTaskSuccess"]


def test_an_expired_token_is_logged_and_dropped(webhook, emulator, send, lambda_context, all_logs):
    from twilio_connector.aws import aws_client

    attempts = []

    def timed_out(params, model, **kwargs):
        attempts.append(params["taskToken"])
        raise ClientError(
            {"Error": {"Code": "TaskTimedOut", "Message": "Task Timed Out"}}, "SendTaskSuccess"
        )

    aws_client("stepfunctions").meta.events.register(
        "before-parameter-build.sfn.SendTaskSuccess", timed_out
    )
    send({"smsTo": A, "smsBody": "x", "taskToken": TOKEN}, lambda_context)
    emulator.drain_callbacks()
    assert attempts == [TOKEN]  # tried once, not retried
    assert {d["status"] for d in emulator.webhook_deliveries} == {204}
    assert "Task token no longer waited on: dropped" in all_logs()
    assert TOKEN not in all_logs()


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"smsTo": [A, "+14155550101"], "smsBody": "x", "taskToken": TOKEN}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "taskToken": TOKEN, "waitFor": "ever"}, "INVALID_INPUT"),
        ({"smsTo": A, "smsBody": "x", "taskToken": 42}, "INVALID_INPUT"),
    ],
)
def test_send_and_wait_input_errors(aws, emulator, send, lambda_context, event, code):
    expect_error(send, lambda_context, event, code)
    assert emulator.messages == {}


def test_the_example_rule_starts_the_example_with_the_match_groups(
    inbound, emulator, send, lambda_context, monkeypatch
):
    """The rule of examples/template.yaml (its pattern and input transformer, on moto's bus with
    an SQS target in place of the state machine) turns an inbound match into the example's
    input, which SEND_SMS accepts."""
    import boto3

    machine = load_template(EXAMPLES)["Resources"]["ExampleSendSmsStateMachine"]
    props = machine["Properties"]["Events"]["OrderNumberReceived"]["Properties"]
    pattern = json.loads(
        json.dumps(props["Pattern"])
        .replace('{"Ref": "EventSource"}', '"twilio.connector"')
        .replace('{"Ref": "TriggerName"}', '"order-number"')
    )
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="example-input")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    bridge = boto3.client("events")
    bridge.put_rule(Name="example", EventPattern=json.dumps(pattern))
    bridge.put_targets(
        Rule="example",
        Targets=[
            {"Id": "sm", "Arn": arn["QueueArn"], "InputTransformer": props["InputTransformer"]}
        ],
    )
    with ApiGatewayAdapter(load_function("inbound_sms").lambda_handler, lambda_context) as api:
        emulator.deliver_incoming(f"{api.url}/sms", "Order Number 4242", from_=A)
        emulator.deliver_incoming(f"{api.url}/sms", "no order here", from_=A)
    [execution_input] = drain(url)
    assert execution_input["smsTo"] == A
    assert execution_input["metadata"] == {"orderNumber": "4242"}
    task_payload = {k: execution_input[k] for k in ("smsTo", "smsBody", "metadata")}
    result = send(task_payload, lambda_context)  # what the example's SendSms state does
    assert result["messages"][0]["to"] == A


def test_a_throttled_resume_keeps_the_token_for_the_retry(
    inbound, webhook, emulator, send, lambda_context, sfn_calls
):
    """SendTaskSuccess fails (throttling): the status callback fails (500) and the token stays
    parked, so the callback's retry resumes the execution."""
    throttle_next_resume()
    send({"smsTo": A, "smsBody": "x", "taskToken": TOKEN}, lambda_context)
    emulator.drain_callbacks()
    [delivered] = [
        d for d in emulator.webhook_deliveries if d["params"]["MessageStatus"] == "delivered"
    ]
    assert delivered["status"] == 500 and delivered["body"] == "SERVICE_UNAVAILABLE"
    assert [(name, p["taskToken"]) for name, p in sfn_calls] == [("SendTaskSuccess", TOKEN)]
    again = emulator.signed_post(delivered["url"], delivered["params"])  # Twilio's retry
    assert again["status"] == 204
    assert [(name, p["taskToken"]) for name, p in sfn_calls] == [("SendTaskSuccess", TOKEN)] * 2
    emulator.signed_post(delivered["url"], delivered["params"])  # resumed: the token is gone
    assert len(sfn_calls) == 2
    delivered_events = [e for e in inbound.events() if e["detail"]["status"] == "delivered"]
    # published once, by the callback that failed (kept before resuming); its repeats publish
    # nothing again (issue 24, 8: the 500 came after the event was on the bus)
    assert len(delivered_events) == 1


def test_a_throttled_reply_resume_keeps_the_token(
    webhook, emulator, send, lambda_context, sfn_calls
):
    throttle_next_resume()
    send({"smsTo": A, "smsBody": "Reply", "taskToken": TOKEN, "waitFor": "reply"}, lambda_context)
    emulator.drain_callbacks()
    assert emulator.deliver_incoming(f"{webhook.url}/sms", "yes", from_=A)["status"] == 500
    delivery = emulator.webhook_deliveries[-1]
    assert emulator.signed_post(delivery["url"], delivery["params"])["status"] == 200
    assert [name for name, _ in sfn_calls] == ["SendTaskSuccess"] * 2
    assert json.loads(sfn_calls[1][1]["output"])["body"] == "yes"
    emulator.deliver_incoming(f"{webhook.url}/sms", "again", from_=A)
    assert len(sfn_calls) == 2


def throttle_next_resume() -> None:
    """The next SendTaskSuccess is refused with ThrottlingException (after sfn_calls saw it)."""
    from twilio_connector.aws import aws_client

    armed = [True]

    def throttle_once(params, model, **kwargs):
        if armed.pop() if armed else False:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "SendTaskSuccess",
            )

    aws_client("stepfunctions").meta.events.register(
        "before-parameter-build.sfn.SendTaskSuccess", throttle_once
    )


# --- a cancel ends the wait; park and the delivery report agree however they interleave ---------
def test_a_canceled_message_ends_its_delivery_wait(
    webhook, emulator, send, lambda_context, sfn_calls
):
    """CANCEL_SMS of the message a send-and-wait waits on fails the task with CANCELED at once
    (it would wait for a delivery that never comes), and again for a repeated cancel."""
    from datetime import UTC, datetime, timedelta

    cancel = load_function("cancel_sms").lambda_handler
    send_at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    result = send(
        {
            "smsTo": A,
            "smsBody": "Your appointment",
            "messagingServiceSid": "MG" + "a" * 32,
            "sendAt": send_at,
            "taskToken": TOKEN,
        },
        lambda_context,
    )
    sid = result["messages"][0]["sid"]
    assert sfn_calls == []  # scheduled: nothing delivered yet
    canceled = cancel({"sid": sid}, lambda_context)
    assert canceled["status"] == "canceled"
    [(operation, params)] = sfn_calls
    assert operation == "SendTaskFailure" and params["taskToken"] == TOKEN
    assert params["error"] == "CANCELED" and json.loads(params["cause"])["messageSid"] == sid


def test_a_canceled_status_callback_ends_the_wait(inbound, sfn_calls):
    from twilio_connector import task_tokens

    sid = "SM" + "4" * 32
    task_tokens.park(task_tokens.DELIVERY, sid, TOKEN, {"messageSid": sid})
    task_tokens.on_status({"messageSid": sid, "status": "canceled", "errorCode": None})
    [(operation, params)] = sfn_calls
    assert operation == "SendTaskFailure" and params["error"] == "CANCELED"


def test_a_delivery_report_racing_the_park_resumes_once(inbound, sfn_calls):
    """The delivery is reported while the token is being parked: the report's write lands
    between park's and the report's own look (forced here). Either way the task is resumed,
    once (issue 24, item 15)."""
    from twilio_connector import task_tokens
    from twilio_connector.aws import aws_client

    sid = "SM" + "5" * 32
    parked = []

    def park_in_between(params, model, **kwargs):
        body = json.loads(params["body"] or "{}")
        writes = model.name in ("PutItem", "UpdateItem")
        key = (body.get("Key") or body.get("Item") or {}).get("id", {}).get("S", "")
        if writes and sid in key and not parked and "final" in json.dumps(body):
            parked.append(True)  # the status callback is about to write: the park comes first
            task_tokens.park(task_tokens.DELIVERY, sid, TOKEN, {"messageSid": sid})

    aws_client("dynamodb").meta.events.register("before-call.dynamodb", park_in_between)
    task_tokens.on_status({"messageSid": sid, "status": "delivered", "errorCode": None})
    assert parked
    assert [c[0] for c in sfn_calls] == ["SendTaskSuccess"]
