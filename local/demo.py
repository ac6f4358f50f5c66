"""``make demo``: the connector end to end, offline.

Starts moto in server mode (Secrets Manager, EventBridge, SQS, DynamoDB), the Twilio emulator and
a local API Gateway in front of the inbound function, all on 127.0.0.1; puts the credentials in
the secret; then invokes the real handlers: SEND_SMS with ``events/send_sms.json`` (a templated
SMS to two recipients, whose status callbacks come back as SMS_STATUS_CHANGED events) and with a
recipient Twilio refuses, GET_SMS on the message it sent, CANCEL_SMS with ``events/cancel_sms.json``
on the reminder the emulator holds for tomorrow, LIST_SMS over the account page by page (the two
messages sent and the two the emulator starts with, see ``local.offline``), MAKE_CALL with
``events/make_call.json``, VERIFY_START / VERIFY_CHECK (the code read from the SMS in the
emulator's outbox; a wrong code first) and LOOKUP_PHONE with ``events/lookup_phone.json``, and
an inbound "Order Number 12345" that a trigger matches: the echo
reply is printed and the SMS_RECEIVED event read back from the bus (a rule with an SQS target).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from typing import Any

from local.apigw import ApiGatewayAdapter
from local.lambda_loader import load_event, load_function
from local.offline import TRIGGERS, offline_stack
from local.resources import SECRET_ID, drain, reset_layer_caches
from local.twilio_emulator import TEST_ACCOUNT_SID


class DemoContext:
    function_name = "SendSmsFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SendSmsFunction"
    aws_request_id = "demo-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def configure(dead_letter_queue_url: str) -> None:
    """The functions' settings, for the handlers this process runs (see ``make invoke`` for
    the functions as sam build packs them)."""
    os.environ.update(
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="ERROR",
        EVENT_BUS_NAME="default",
        IDEMPOTENCY_TABLE="idempotency",
        OPT_OUT_TABLE="opt-outs",
        SMS_TRIGGERS=json.dumps(TRIGGERS),
        DEAD_LETTER_QUEUE_URL=dead_letter_queue_url,
    )


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


def invoke(handler: Any, event: dict) -> tuple[dict | None, Exception | None]:
    try:
        return handler(event, DemoContext()), None
    except Exception as error:  # a catalogued error, shown as Step Functions would see it
        return None, error


def verify_and_lookup(emulator: Any) -> bool | None:
    """VERIFY_START, VERIFY_CHECK (a wrong code, then the one the SMS carried), LOOKUP_PHONE;
    None when one failed."""
    from local.twilio_emulator.verify_lookup import VERIFY_SENDER

    print("\nVERIFY_START events/verify_start.json")
    started, error = invoke(
        load_function("verify_start").lambda_handler, load_event("verify_start")
    )
    if started is None:
        print(f"  FAILED   {type(error).__name__}: {error}")
        return None
    print(f"  {started['status']}  {started['sid']}  to {started['to']} by {started['channel']}")
    texts = [m for m in emulator.messages.values() if m["from"] == VERIFY_SENDER]
    code = texts[-1]["body"].rsplit(" ", 1)[1]
    print(f"  the phone got: {texts[-1]['body']}")
    check = load_function("verify_check").lambda_handler
    results = []
    for given in ("000000" if code != "000000" else "111111", code):
        print(f"VERIFY_CHECK code {given}")
        checked, error = invoke(check, {"to": started["to"], "code": given})
        if checked is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return None
        print(f"  status {checked['status']}  valid {str(checked['valid']).lower()}")
        results.append(checked["valid"])

    print("\nLOOKUP_PHONE events/lookup_phone.json")
    found, error = invoke(load_function("lookup_phone").lambda_handler, load_event("lookup_phone"))
    if found is None:
        print(f"  FAILED   {type(error).__name__}: {error}")
        return None
    print(
        f"  {found['phoneNumber']}  valid {str(found['valid']).lower()}  {found['countryCode']}"
        f"  line type {found['lineType']}"
    )
    return results == [False, True] and found["lineType"] == "mobile"


def main() -> int:
    with ExitStack() as stack:
        offline = stack.enter_context(offline_stack())
        emulator, events_queue = offline.emulator, offline.events_queue_url
        os.environ["TWILIO_API_URL"] = emulator.url
        configure(offline.dead_letter_queue_url)
        print(f"moto (server mode)   {offline.moto_url}")
        print(f"Twilio emulator      {emulator.url}")
        print(f"secret               {SECRET_ID} (account {TEST_ACCOUNT_SID})")
        inbound = load_function("inbound_sms").lambda_handler
        api = stack.enter_context(ApiGatewayAdapter(inbound, DemoContext()))
        os.environ["STATUS_CALLBACK_URL"] = f"{api.url}/status"
        # the inbound function read its settings when it was loaded (its cold start): the
        # functions below start from this environment, as a new deployment's would
        reset_layer_caches()
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

        print("\nCANCEL_SMS events/cancel_sms.json (a reminder scheduled for tomorrow)")
        canceled, error = invoke(
            load_function("cancel_sms").lambda_handler, load_event("cancel_sms")
        )
        if canceled is None:
            print(f"  FAILED   {type(error).__name__}: {error}")
            return 1
        print(f"  status   {canceled['status']}  sid {canceled['sid']}  to {canceled['to']}")

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

        verified = verify_and_lookup(emulator)
        if verified is None:
            return 1

        report = emulator.drain_callbacks()
        print("\nSMS_STATUS_CHANGED events (Twilio's status callbacks, via POST /status)")
        print(f"  {report.summary()}")
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
        ok = len(listed) == 4 and len(statuses) == 4 and len(received) == 1 and len(resumed) == 1
        ok = ok and len(read_later) == 2 and canceled["status"] == "canceled" and verified
        return 0 if ok and "Your reference number is 12345" in answer["body"] else 1


if __name__ == "__main__":
    sys.exit(main())
