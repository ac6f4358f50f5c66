"""``make demo``: the connector end to end, offline.

Starts moto in server mode (Secrets Manager, EventBridge, SQS, DynamoDB), the Twilio emulator and
a local API Gateway in front of the inbound function, all on 127.0.0.1; puts the credentials in
the secret; then invokes the real handlers: SEND_SMS with ``events/send_sms.json`` (a templated
SMS to two recipients, whose status callbacks come back as SMS_STATUS_CHANGED events) and with a
recipient Twilio refuses, GET_SMS on the message it sent, LIST_SMS over the account page by page,
MAKE_CALL with ``events/make_call.json``, and an inbound "Order Number 12345" that a trigger
matches: the echo reply is printed and the SMS_RECEIVED event read back from the bus (a rule with
an SQS target).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from contextlib import ExitStack, closing
from typing import Any

from local.apigw import ApiGatewayAdapter
from local.lambda_loader import load_event, load_function
from local.resources import (
    SECRET_ID,
    create_event_capture,
    create_idempotency_table,
    drain,
    function_environment,
)
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioEmulator

TRIGGERS = [
    {
        "name": "order-number",
        "pattern": "Order Number (?<orderNumber>.+)",
        "echo": "Your reference number is ${orderNumber}",
        "echoError": "There was a problem publishing that event.",
    }
]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoContext:
    function_name = "SendSmsFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SendSmsFunction"
    aws_request_id = "demo-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def start_moto(stack: ExitStack) -> str:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    return f"http://127.0.0.1:{port}"


def configure(moto_url: str, emulator_url: str) -> None:
    os.environ.update(
        function_environment(
            AWS_ENDPOINT_URL=moto_url,
            TWILIO_API_URL=emulator_url,
            POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_LOG_LEVEL="ERROR",
            EVENT_BUS_NAME="default",
            IDEMPOTENCY_TABLE="idempotency",
            SMS_TRIGGERS=json.dumps(TRIGGERS),
        )
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)


def create_resources() -> str:
    """What template.yaml creates, in moto: the idempotency table, the dead-letter queue, and a
    rule sending the connector's events to a queue the demo reads. Returns that queue's URL."""
    import boto3

    create_idempotency_table("idempotency")
    sqs = boto3.client("sqs")
    os.environ["DEAD_LETTER_QUEUE_URL"] = sqs.create_queue(QueueName="inbound-dlq")["QueueUrl"]
    return create_event_capture("connector-events")


def watch_task_callbacks() -> list[tuple[str, dict]]:
    """Step Functions (moto) takes the callbacks; this lists them as the connector makes them."""
    from twilio_connector.aws import aws_client

    calls: list[tuple[str, dict]] = []
    client = aws_client("stepfunctions")
    for operation in ("SendTaskSuccess", "SendTaskFailure"):
        client.meta.events.register(
            f"before-parameter-build.sfn.{operation}",
            lambda params, model, **kwargs: calls.append((model.name, params)),
        )
    return calls


def create_secret() -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(
        Name=SECRET_ID,
        SecretString=json.dumps(
            {
                "TWILIO_ACCOUNT": TEST_ACCOUNT_SID,
                "TWILIO_TOKEN": TEST_AUTH_TOKEN,
                "TWILIO_FROM": MAGIC_FROM,
            }
        ),
    )


def invoke(handler: Any, event: dict) -> tuple[dict | None, Exception | None]:
    try:
        return handler(event, DemoContext()), None
    except Exception as error:  # a catalogued error, shown as Step Functions would see it
        return None, error


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request lines
    with ExitStack() as stack:
        moto_url = start_moto(stack)
        emulator = stack.enter_context(TwilioEmulator())
        configure(moto_url, emulator.url)
        print(f"moto (server mode)   {moto_url}")
        print(f"Twilio emulator      {emulator.url}")
        create_secret()
        events_queue = create_resources()
        print(f"secret               {SECRET_ID} (account {TEST_ACCOUNT_SID})")
        inbound = load_function("inbound_sms").lambda_handler
        api = stack.enter_context(ApiGatewayAdapter(inbound, DemoContext()))
        os.environ["STATUS_CALLBACK_URL"] = f"{api.url}/status"
        print(f"webhooks (local API) {api.url}/sms  {api.url}/status\n")

        send_sms = load_function("send_sms").lambda_handler
        event = load_event("send_sms")
        print("SEND_SMS  events/send_sms.json")
        print(f"  smsBody  {event['smsBody']}")
        print(f"  metadata {json.dumps(event['metadata'])}")
        result, error = invoke(send_sms, event)
        if error is not None or result is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        for message in result["messages"]:
            print(f"  sent     {message['sid']}  to {message['to']}  status {message['status']}")
        print(f"  body     {result['messages'][0]['body']}")
        print(f"  smsResult {json.dumps(result['smsResult'], indent=None)}")

        print("\nSEND_SMS  to Twilio's magic number +15005550003 (no permission for its region)")
        _, error = invoke(send_sms, {"smsTo": "+15005550003", "smsBody": "Hello"})
        if error is None:
            print("  UNEXPECTED: Twilio's refusal did not surface")
            return 1
        print(f"  errorType    {type(error).__name__}")
        print(f"  errorMessage {error}")

        sid = result["messages"][0]["sid"]
        print(f"\nGET_SMS   sid {sid}")
        fetched, error = invoke(load_function("get_sms").lambda_handler, {"sid": sid})
        if fetched is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        print(
            f"  status   {fetched['status']}  to {fetched['to']}  created {fetched['date_created']}"
        )

        print("\nLIST_SMS  the account's messages, 1 per page (following nextPageToken)")
        list_sms, event, listed = load_function("list_sms").lambda_handler, {"pageSize": 1}, []
        while True:
            page, error = invoke(list_sms, event)
            if page is None:
                print(f"  FAILED   {type(error).__name__}: {error}")
                return 1
            listed += page["messages"]
            for message in page["messages"]:
                print(f"  page {len(listed)}   {message['sid']}  to {message['to']}")
            if not page["nextPageToken"]:
                break
            event = {"pageSize": 1, "nextPageToken": page["nextPageToken"]}

        print("\nMAKE_CALL events/make_call.json")
        call, error = invoke(load_function("make_call").lambda_handler, load_event("make_call"))
        if call is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        print(f"  placed   {call['sid']}  to {call['to']}  status {call['status']}")
        print(f"  TwiML    {emulator.calls[call['sid']]['twiml']}")

        emulator.drain_callbacks()
        print("\nSMS_STATUS_CHANGED events (Twilio's status callbacks, via POST /status)")
        statuses = drain(events_queue)
        for event in statuses:
            detail = event["detail"]
            print(f"  {detail['messageSid']}  {detail['status']}")

        print("\nSEND AND WAIT  SEND_SMS with a taskToken (a .waitForTaskToken state)")
        resumed = watch_task_callbacks()
        token = "demo-task-token-" + "x" * 24
        waiting, error = invoke(
            send_sms,
            {"smsTo": "+14155550123", "smsBody": "Your code ships today", "taskToken": token},
        )
        if waiting is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        print(f"  sent     {waiting['messages'][0]['sid']}; the execution waits")
        emulator.drain_callbacks()
        for operation, params in resumed:
            status = json.loads(params.get("output") or "{}").get("status")
            print(f"  {operation}(taskToken={params['taskToken'][:16]}..., status={status})")
        read_later = drain(events_queue)  # the status events of this send

        text = "Order Number 12345"
        print(f'\nINBOUND   the emulator delivers "{text}" from +14155550199 to POST /sms')
        answer = emulator.deliver_incoming(f"{api.url}/sms", text, from_="+14155550199")
        print(f"  HTTP {answer['status']} {answer['content_type']}")
        print(f"  reply    {answer['body']}")
        received = [e for e in drain(events_queue) if e["detail-type"] == "SMS_RECEIVED"]
        for event in received:
            print(f"  event    {event['detail-type']} from {event['source']}:")
            print(f"           {json.dumps(event['detail'])}")

        stored = len(emulator.messages)
        print(f"\nThe emulator stored {stored} message(s) and {len(emulator.calls)} call(s).")
        print("Stopping moto, the emulator and the local API.")
        ok = len(listed) == 2 and len(statuses) == 4 and len(received) == 1 and len(resumed) == 1
        ok = ok and len(read_later) == 2
        return 0 if ok and "Your reference number is 12345" in answer["body"] else 1


if __name__ == "__main__":
    sys.exit(main())
