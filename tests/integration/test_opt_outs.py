"""Opt-out state: inbound STOP / START / HELP keywords, Twilio's 21610, and SEND_SMS skipping
those who opted out (moto for DynamoDB and EventBridge, the Twilio emulator for Twilio)."""

import json
from collections import Counter
from urllib.parse import parse_qsl

import pytest

from local.resources import create_opt_out_table
from local.sample_events import SENDER, inbound_sms, signed_event
from local.template import load_template
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID
from tests.conftest import ORDER_TRIGGER, load_function, reset_layer_caches
from tests.integration.helpers import expect_error

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TABLE = "opt-outs"
MG = "MG" + "b" * 32
UNSUBSCRIBED = "+15005550004"  # the emulator refuses it with 21610, as Twilio's magic number
#: A trigger that matches every message, keywords included, and echoes it.
EVERYTHING = {"name": "everything", "pattern": "(?s).+", "echo": "Got it"}
OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT"]
OPT_IN = ["START", "UNSTOP", "YES"]


@pytest.fixture
def opt_outs(inbound, monkeypatch):
    """The inbound fixture's resources, and ``OptOutTable`` as template.yaml declares it."""
    create_opt_out_table(TABLE)
    monkeypatch.setenv("OPT_OUT_TABLE", TABLE)
    monkeypatch.setenv("SMS_TRIGGERS", json.dumps([ORDER_TRIGGER, EVERYTHING]))
    reset_layer_caches()
    return inbound


@pytest.fixture
def receive(lambda_context):
    handler = load_function("inbound_sms").lambda_handler

    def receive_(body, sid="SM" + "5" * 32, from_=SENDER, **extra):
        params = dict(parse_qsl(inbound_sms()["body"]))
        params.update(Body=body, MessageSid=sid, SmsSid=sid, From=from_, **extra)
        return handler(signed_event("/sms", params), lambda_context)

    return receive_


@pytest.fixture
def send(lambda_context):
    handler = load_function("send_sms").lambda_handler
    return lambda **event: handler(event, lambda_context)


def calls_on_the_table() -> Counter:
    """The DynamoDB operations the connector makes on the opt-out table from now on."""
    from twilio_connector.aws import aws_client

    calls: Counter = Counter()

    def seen(params, model, **kwargs):
        if params.get("TableName") == TABLE or TABLE in params.get("RequestItems", {}):
            calls[model.name] += 1

    aws_client("dynamodb").meta.events.register("before-parameter-build.dynamodb", seen)
    return calls


def kept() -> dict[tuple[str, str], dict]:
    """The opt-out table's items, by (sender, recipient)."""
    import boto3

    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return {(i["sender"]["S"], i["recipient"]["S"]): i for i in items}


def by_type(events: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event in events:
        found.setdefault(event["detail-type"], []).append(event["detail"])
    return found


# --- inbound keywords -----------------------------------------------------------------------------
@pytest.mark.parametrize("keyword", OPT_OUT)
@pytest.mark.parametrize("written", [str, lambda k: f"  {k.lower()}\n", str.title])
def test_each_opt_out_keyword_is_recorded_and_published_without_an_echo(
    opt_outs, receive, keyword, written
):
    body = written(keyword)
    sid = "SM" + "6" * 32
    answer = receive(body, sid=sid)

    # no reply: Twilio answers the keyword itself (the trigger's echo is not sent)
    assert answer["statusCode"] == 200 and answer["body"] == EMPTY
    item = kept()[(MAGIC_FROM, SENDER)]
    assert item["keyword"]["S"] == keyword and item["messageSid"]["S"] == sid
    events = by_type(opt_outs.events())
    [detail] = events["SMS_OPT_OUT"]
    assert detail == {
        "eventId": detail["eventId"],
        "from": SENDER,
        "to": MAGIC_FROM,
        "messagingServiceSid": None,
        "keyword": keyword,
        "messageSid": sid,
        "accountSid": TEST_ACCOUNT_SID,
    }
    # and the message is what it was before: a trigger that matches it still publishes
    [received] = events["SMS_RECEIVED"]
    assert received["trigger"] == "everything" and received["originalMessage"] == body


@pytest.mark.parametrize("keyword", OPT_IN)
def test_each_opt_in_keyword_clears_the_opt_out(opt_outs, receive, keyword):
    receive("STOP", sid="SM" + "1" * 32)
    assert (MAGIC_FROM, SENDER) in kept()
    opt_outs.events()

    answer = receive(f" {keyword.lower()} ", sid="SM" + "2" * 32)

    assert kept() == {}
    events = by_type(opt_outs.events())
    [detail] = events["SMS_OPT_IN"]
    assert detail["keyword"] == keyword and detail["from"] == SENDER
    assert detail["messageSid"] == "SM" + "2" * 32
    # Twilio does not answer these for the connector: the trigger's echo is sent as before
    assert "<Message>Got it</Message>" in answer["body"]
    assert len(events["SMS_RECEIVED"]) == 1


def test_help_is_published_and_changes_nothing(opt_outs, receive):
    answer = receive("help")
    assert answer["body"] == EMPTY
    assert kept() == {}
    events = by_type(opt_outs.events())
    assert [d["keyword"] for d in events["SMS_HELP"]] == ["HELP"]
    assert "SMS_OPT_OUT" not in events and len(events["SMS_RECEIVED"]) == 1


@pytest.mark.parametrize("body", ["STOP please", "stop.", "Don't stop", "STOP STOP", ""])
def test_a_keyword_in_a_sentence_is_no_keyword(opt_outs, receive, body):
    receive(body)
    assert kept() == {}
    assert not {"SMS_OPT_OUT", "SMS_OPT_IN", "SMS_HELP"} & set(by_type(opt_outs.events()))


def test_a_keyword_delivered_twice_is_published_once(opt_outs, receive):
    sid = "SM" + "7" * 32
    first = receive("STOP", sid=sid)
    again = receive("STOP", sid=sid)  # Twilio's retry
    assert first["body"] == again["body"] == EMPTY
    assert len(by_type(opt_outs.events())["SMS_OPT_OUT"]) == 1


def test_opt_outs_are_kept_per_messaging_service(opt_outs, receive, send):
    # Given a STOP to a number of a Messaging Service
    receive("Stop", MessagingServiceSid=MG)
    assert set(kept()) == {(MG, SENDER)}
    [detail] = by_type(opt_outs.events())["SMS_OPT_OUT"]
    assert detail["messagingServiceSid"] == MG

    # Then sends through that service skip the sender; sends from another sender do not
    through_service = send(smsTo=[SENDER], smsBody="Sale", messagingServiceSid=MG)
    assert through_service["skipped"] == {SENDER: "OPTED_OUT"}
    assert through_service["smsResult"] == {}
    from_number = send(smsTo=[SENDER], smsBody="Your code")
    assert from_number["skipped"] == {} and list(from_number["smsResult"].values()) == [SENDER]


def test_a_yes_still_resumes_the_reply_waiter(opt_outs, receive, send, emulator):
    from twilio_connector.aws import aws_client

    token = "AQCEAAAAKgAAAAMAAAAAAAAAAd" + "y" * 40
    calls = []
    aws_client("stepfunctions").meta.events.register(
        "before-parameter-build.sfn.SendTaskSuccess", lambda params, **_: calls.append(params)
    )
    result = send(smsTo=SENDER, smsBody="Reply YES", taskToken=token, waitFor="reply")

    receive("YES", sid="SM" + "8" * 32)

    [params] = calls
    output = json.loads(params["output"])
    assert params["taskToken"] == token and output["body"] == "YES"
    assert output["inReplyTo"] == result["messages"][0]["sid"]
    assert "SMS_OPT_IN" in by_type(opt_outs.events())


def test_an_unwritable_table_fails_the_webhook_and_keeps_the_event(opt_outs, receive):
    import boto3

    boto3.client("dynamodb").delete_table(TableName=TABLE)
    answer = receive("STOP")
    assert answer["statusCode"] == 500
    [record] = [r for r in opt_outs.dead_letters() if r["detailType"] == "SMS_OPT_OUT"]
    assert record["failed"][0]["detail"]["keyword"] == "STOP"
    assert record["failed"][0]["error"] == "SERVICE_UNAVAILABLE"
    assert record["message"]["from"] == SENDER


# --- SEND_SMS -------------------------------------------------------------------------------------
A, B, C = "+14155550100", "+14155550101", "+14155550102"


def opt_out(*numbers: str, sender: str = MAGIC_FROM) -> None:
    from twilio_connector.optouts import record_opt_out

    for number in numbers:
        record_opt_out(sender, number, keyword="STOP")


def test_a_send_skips_who_opted_out_without_calling_twilio(opt_outs, send, emulator):
    opt_out(B)
    result = send(smsTo=[A, B, C], smsBody="Sale")
    assert result["skipped"] == {B: "OPTED_OUT"}
    assert sorted(result["smsResult"].values()) == [A, C]
    assert [m["to"] for m in result["messages"]] == [A, C]
    assert sorted(m["to"] for m in emulator.messages.values()) == [A, C]


def test_a_dry_run_shows_who_would_be_skipped(opt_outs, send, emulator):
    opt_out(B)
    result = send(smsTo=[A, B], smsBody="Sale", dryRun=True)
    assert result["skipped"] == {B: "OPTED_OUT"}
    assert [(m["to"], m.get("skipped")) for m in result["messages"]] == [
        (A, None),
        (B, "OPTED_OUT"),
    ]
    assert result["wouldSend"]["recipients"] == [A]
    assert not emulator.messages


def test_a_send_to_one_who_opted_out_sends_nothing(opt_outs, send, emulator):
    opt_out(A)
    result = send(smsTo=A, smsBody="Sale")
    assert result == {
        "smsResult": {},
        "messages": [],
        "replayed": False,
        "skipped": {A: "OPTED_OUT"},
    }
    assert emulator.messages == {}


def test_send_and_wait_to_one_who_opted_out_fails_at_once(opt_outs, lambda_context, emulator):
    opt_out(A)
    handler = load_function("send_sms").lambda_handler
    event = {"smsTo": A, "smsBody": "Reply YES", "taskToken": "t" * 40, "waitFor": "reply"}
    body = expect_error(handler, lambda_context, event, "PERMISSION_DENIED_ERROR")
    assert body["twilioCode"] == 21610 and A not in body["message"]
    assert emulator.messages == {}


def test_a_bulk_send_reads_the_list_once_per_100_recipients(opt_outs, send, emulator):
    numbers = [f"+1415555{n:04d}" for n in range(250)]
    opted = set(numbers[::50])
    opt_out(*opted)
    calls = calls_on_the_table()

    result = send(smsTo=numbers, smsBody="Bulk")

    assert result["skipped"] == {n: "OPTED_OUT" for n in numbers if n in opted}
    sent = Counter(m["to"] for m in emulator.messages.values())
    assert set(sent) == set(numbers) - opted and set(sent.values()) == {1}
    assert calls == Counter(BatchGetItem=3)  # not a GetItem a recipient
    assert_allowed("SendSmsFunction", calls)


def test_an_unreadable_list_sends_nothing(opt_outs, lambda_context, emulator):
    import boto3

    boto3.client("dynamodb").delete_table(TableName=TABLE)
    handler = load_function("send_sms").lambda_handler
    body = expect_error(
        handler, lambda_context, {"smsTo": [A, B], "smsBody": "x"}, "SERVICE_UNAVAILABLE"
    )
    assert "OPT_OUT_TABLE" in body["message"]
    assert emulator.messages == {}


def test_a_21610_refusal_records_the_opt_out_and_publishes_it(opt_outs, lambda_context, emulator):
    handler = load_function("send_sms").lambda_handler
    event = {"smsTo": [A, UNSUBSCRIBED], "smsBody": "Sale", "idempotencyKey": "campaign-1"}

    body = expect_error(handler, lambda_context, event, "PERMISSION_DENIED_ERROR")

    assert body["twilioCode"] == 21610
    assert kept()[(MAGIC_FROM, UNSUBSCRIBED)]["reason"]["S"] == "21610"
    [detail] = by_type(opt_outs.events())["SMS_OPT_OUT"]
    assert detail == {
        "eventId": detail["eventId"],
        "from": UNSUBSCRIBED,
        "to": MAGIC_FROM,
        "messagingServiceSid": None,
        "keyword": None,
        "messageSid": None,
        "reason": "21610",
    }
    # the workflow's retry of the request skips it: Twilio is not asked again
    before = len(emulator.messages)
    again = handler(event, lambda_context)
    assert again["skipped"] == {UNSUBSCRIBED: "OPTED_OUT"} and again["replayed"] is True
    assert len(emulator.messages) == before


def test_the_functions_may_make_the_calls_they_make(opt_outs, receive, send):
    inbound = calls_on_the_table()
    receive("STOP", sid="SM" + "3" * 32)
    receive("START", sid="SM" + "4" * 32)
    assert inbound == Counter(PutItem=1, DeleteItem=1)
    assert_allowed("InboundSmsFunction", inbound)
    reset_layer_caches()  # SEND_SMS's calls alone
    sending = calls_on_the_table()
    with pytest.raises(Exception, match="PERMISSION_DENIED_ERROR"):
        send(smsTo=[A, UNSUBSCRIBED], smsBody="x")
    assert sending == Counter(BatchGetItem=1, PutItem=1)
    assert_allowed("SendSmsFunction", sending)
    for name in ("InboundSmsFunction", "SendSmsFunction"):
        variables = load_template()["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["OPT_OUT_TABLE"] == {"Ref": "OptOutTable"}


def assert_allowed(function: str, calls: Counter) -> None:
    """The function's statement on ``OptOutTable`` in template.yaml allows these calls."""
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    allowed = {
        action.removeprefix("dynamodb:")
        for policy in policies
        if "Statement" in policy
        for statement in policy["Statement"]
        if statement["Resource"] == {"GetAtt": "OptOutTable.Arn"}
        for action in statement["Action"]
    }
    assert set(calls) <= allowed, (function, set(calls) - allowed)
