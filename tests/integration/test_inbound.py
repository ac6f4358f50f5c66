"""InboundSmsFunction: signatures, triggers, publishing, echo replies, nothing lost."""

import copy
import hashlib
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.exceptions import ClientError
from twilio.request_validator import RequestValidator

from local.apigw import ApiGatewayAdapter, proxy_event
from local.sample_events import HOST, MESSAGE_SID, SENDER, inbound_sms, signed_event
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.conftest import ORDER_TRIGGER, load_event, load_function

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def handler():
    return load_function("inbound_sms").lambda_handler


def signed(path="/sms", params=None, host=HOST, token=TEST_AUTH_TOKEN, url=None):
    """An API Gateway event for a form POST, signed for the URL Twilio would have called."""
    params = params if params is not None else dict(parse_qsl(inbound_sms()["body"]))
    url = url or f"https://{host}/Prod{path}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Host": host,
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
    }
    return proxy_event("POST", path, headers, urlencode(params))


def message(body, sid=MESSAGE_SID, **extra):
    params = dict(parse_qsl(inbound_sms()["body"]), Body=body, MessageSid=sid, SmsSid=sid)
    return signed(params={**params, **extra})


def set_triggers(monkeypatch, *triggers):
    from tests.conftest import reset_layer_caches

    monkeypatch.setenv("SMS_TRIGGERS", json.dumps(list(triggers)))
    reset_layer_caches()


# --- the sample events and the contract's event --------------------------------------------------
def test_sample_event_matches_publishes_and_echoes(inbound, handler, lambda_context):
    answer = handler(load_event("inbound_sms"), lambda_context)

    assert answer["statusCode"] == 200
    assert answer["multiValueHeaders"]["Content-Type"] == ["text/xml"]
    assert answer["body"] == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        "<Message>Your reference number is 12345</Message></Response>"
    )
    [event] = inbound.events()
    assert event["source"] == "twilio.connector" and event["detail-type"] == "SMS_RECEIVED"
    assert event["detail"] == {
        # stable: the same for every delivery and replay of this message's event for this trigger
        "eventId": "47e5bf9d-bc15-5e9d-ae40-245e76f9a237",
        "trigger": "order-number",
        "matchGroups": {"orderNumber": "12345"},
        "originalMessage": "Order Number 12345",
        "to": MAGIC_FROM,
        "from": SENDER,
        "messageSid": MESSAGE_SID,
        "accountSid": TEST_ACCOUNT_SID,
    }


def test_the_form_is_parsed_once_per_request(inbound, handler, lambda_context, monkeypatch):
    """The signature check and the route read the same parsed form (the warm path's cost)."""
    from twilio_connector import webhook_api

    calls = []
    parse = webhook_api.form_params
    monkeypatch.setattr(webhook_api, "form_params", lambda event: calls.append(1) or parse(event))
    for _ in range(2):
        assert handler(load_event("inbound_sms"), lambda_context)["statusCode"] == 200
    assert len(calls) == 2  # one a request, and none left over from the previous request


def test_sample_status_callback_publishes_status_changed(inbound, handler, lambda_context):
    answer = handler(load_event("status_callback"), lambda_context)
    assert answer["statusCode"] == 204
    [event] = inbound.events()
    assert event["detail-type"] == "SMS_STATUS_CHANGED"
    assert event["detail"] == {
        "eventId": "20055f0c-8435-5bed-906e-1a2ee76a47bc",
        "messageSid": "SM" + "8" * 32,
        "status": "delivered",
        "errorCode": None,
        "to": SENDER,
        "from": MAGIC_FROM,
        "accountSid": TEST_ACCOUNT_SID,
    }


@pytest.mark.parametrize("name", ["inbound_sms", "status_callback"])
def test_sample_events_are_what_the_generator_makes(name):
    from local.sample_events import SAMPLES

    assert load_event(name) == json.loads(json.dumps(SAMPLES[name]()))


def test_status_callback_with_an_error_code(inbound, handler, lambda_context):
    params = {
        "MessageSid": "SM" + "9" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": SENDER,
        "From": MAGIC_FROM,
        "AccountSid": TEST_ACCOUNT_SID,
    }
    assert handler(signed("/status", params), lambda_context)["statusCode"] == 204
    [event] = inbound.events()
    assert event["detail"]["status"] == "undelivered" and event["detail"]["errorCode"] == 30003


# --- signatures ----------------------------------------------------------------------------------
def refused(handler, context, event, inbound):
    answer = handler(event, context)
    assert answer["statusCode"] == 403
    assert inbound.events() == [] and inbound.dead_letters() == []
    return answer


def test_forged_signature_is_refused(inbound, handler, lambda_context):
    refused(handler, lambda_context, signed(token="f" * 32), inbound)


def test_altered_body_is_refused(inbound, handler, lambda_context):
    event = load_event("inbound_sms")
    event["body"] = event["body"].replace("12345", "99999")
    refused(handler, lambda_context, event, inbound)


def test_added_parameter_is_refused(inbound, handler, lambda_context):
    event = load_event("inbound_sms")
    event["body"] += "&Extra=1"
    refused(handler, lambda_context, event, inbound)


def test_wrong_url_is_refused(inbound, handler, lambda_context):
    event = load_event("inbound_sms")
    event["headers"]["Host"] = "attacker.example.com"
    refused(handler, lambda_context, event, inbound)
    event = load_event("inbound_sms")
    event["requestContext"]["path"] = "/Dev/sms"
    refused(handler, lambda_context, event, inbound)


def test_missing_signature_is_refused_and_counted(inbound, handler, lambda_context, capsys):
    event = load_event("inbound_sms")
    del event["headers"]["X-Twilio-Signature"]
    refused(handler, lambda_context, event, inbound)
    output = capsys.readouterr().out
    assert '"WebhookSignatureInvalid"' in output  # the metric
    assert TEST_AUTH_TOKEN not in output


def test_forged_status_callback_is_refused(inbound, handler, lambda_context):
    event = load_event("status_callback")
    event["body"] = event["body"].replace("delivered", "failed")
    refused(handler, lambda_context, event, inbound)


def test_repeated_keys_and_blank_values_are_signed_as_sent(inbound, handler, lambda_context):
    pairs = [*parse_qsl(inbound_sms()["body"], keep_blank_values=True), ("MediaUrl0", "")]
    pairs += [("Tag", "b"), ("Tag", "a")]
    url = f"https://{HOST}/Prod/sms"

    class Multi(dict):
        def getlist(self, key):
            return [v for k, v in pairs if k == key]

    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, Multi(pairs))
    event = signed()
    event["body"] = urlencode(pairs)
    event["headers"]["X-Twilio-Signature"] = signature
    assert handler(event, lambda_context)["statusCode"] == 200


def json_event(body: str, signed_body: str | None = None):
    digest = hashlib.sha256((signed_body or body).encode()).hexdigest()
    url = f"https://{HOST}/Prod/sms?bodySHA256={digest}"
    headers = {
        "Content-Type": "application/json",
        "Host": HOST,
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, {}),
    }
    return proxy_event("POST", "/sms", headers, body, query=f"bodySHA256={digest}")


def test_json_body_webhook_is_checked_by_its_body_hash(inbound, handler, lambda_context):
    body = json.dumps(
        {"MessageSid": "SM" + "5" * 32, "From": SENDER, "To": MAGIC_FROM, "Body": "Order Number 7"}
    )
    answer = handler(json_event(body), lambda_context)
    assert answer["statusCode"] == 200 and "Your reference number is 7" in answer["body"]
    assert inbound.events()[0]["detail"]["matchGroups"] == {"orderNumber": "7"}


def test_altered_json_body_is_refused(inbound, handler, lambda_context):
    body = json.dumps({"MessageSid": "SM" + "5" * 32, "Body": "Order Number 7"})
    refused(handler, lambda_context, json_event(body.replace("7", "8"), signed_body=body), inbound)


def test_custom_domain_uses_public_webhook_url(inbound, handler, lambda_context, monkeypatch):
    from tests.conftest import reset_layer_caches

    # Twilio calls https://hooks.example.com/twilio/sms; API Gateway sees its own host
    public = "https://hooks.example.com/twilio"
    event = signed(url=f"{public}/sms")
    assert handler(event, lambda_context)["statusCode"] == 403
    monkeypatch.setenv("PUBLIC_WEBHOOK_URL", public)
    reset_layer_caches()
    assert handler(event, lambda_context)["statusCode"] == 200


def test_twilio_published_test_vectors():
    """twilio-python's own vectors: token 12345, https://mycompany.com/myapp.php?foo=1&bar=2."""
    from twilio_connector.webhooks import signature_is_valid

    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }

    def event(signature, host="mycompany.com", scheme="https", body=None, query=None, ctype=None):
        headers = {
            "Host": host,
            "X-Forwarded-Proto": scheme,
            "X-Twilio-Signature": signature,
            "Content-Type": ctype or "application/x-www-form-urlencoded",
        }
        built = proxy_event(
            "POST", "/myapp.php", headers, body or urlencode(params), query=query or "foo=1&bar=2"
        )
        built["requestContext"]["path"] = "/myapp.php"
        return built

    assert signature_is_valid(event("RSOYDt4T1cUTdK1PDd93/VVr8B8="), "12345", None)
    assert signature_is_valid(
        event("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "mycompany.com:1234"), "12345", None
    )
    assert signature_is_valid(event("kvajT1Ptam85bY51eRf/AJRuM3w="), "12345", None)  # with :443
    assert signature_is_valid(event("0ZXoZLH/DfblKGATFgpif+LLRf4=", scheme="http"), "12345", None)
    body = '{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    json_vector = event(
        "a9nBmqA0ju/hNViExpshrM61xv4=",
        body=body,
        query=f"foo=1&bar=2&bodySHA256={body_hash}",
        ctype="application/json",
    )
    assert signature_is_valid(json_vector, "12345", None)
    assert not signature_is_valid(event("RSOYDt4T1cUTdK1PDd93/VVr8B8="), "54321", None)
    assert not signature_is_valid(
        event("RSOYDt4T1cUTdK1PDd93/VVr8B8=", query="foo=1"), "12345", None
    )


# --- triggers, replies, events -------------------------------------------------------------------
def test_no_match_replies_empty_and_publishes_nothing(inbound, handler, lambda_context):
    answer = handler(message("Hello there"), lambda_context)
    assert answer["statusCode"] == 200 and answer["body"] == EMPTY
    assert inbound.events() == []


def test_several_triggers_matching_one_message(inbound, handler, lambda_context, monkeypatch):
    set_triggers(
        monkeypatch,
        ORDER_TRIGGER,
        {"name": "any-number", "pattern": "(?<digits>\\d+)", "echo": "Got ${digits}"},
        {"name": "silent", "pattern": "(?i)order"},
        {"name": "unrelated", "pattern": "^STOP$", "echo": "bye"},
    )
    answer = handler(message("Order Number 12345"), lambda_context)
    assert answer["body"] == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        "<Message>Your reference number is 12345</Message><Message>Got 12345</Message>"
        "</Response>"
    )
    events = inbound.events()
    assert sorted(e["detail"]["trigger"] for e in events) == [
        "any-number",
        "order-number",
        "silent",
    ]
    by_name = {e["detail"]["trigger"]: e["detail"] for e in events}
    assert by_name["silent"]["matchGroups"] == {}
    assert by_name["any-number"]["matchGroups"] == {"digits": "12345"}


def test_java_pattern_syntax(inbound, handler, lambda_context, monkeypatch):
    set_triggers(
        monkeypatch,
        {"name": "quoted", "pattern": "\\Q[ref]\\E (?<ref>[A-Z]{2}\\d++)", "echo": "${ref}"},
    )
    answer = handler(message("see [ref] AB123 please"), lambda_context)
    assert "<Message>AB123</Message>" in answer["body"]


def test_echo_is_xml_escaped_and_optional(inbound, handler, lambda_context, monkeypatch):
    set_triggers(
        monkeypatch,
        {"name": "tag", "pattern": "tag (?<t>.+)", "echo": "You sent ${t}"},
        {"name": "no-echo", "pattern": "tag"},
        {"name": "broken-echo", "pattern": "tag", "echo": "${missing}"},
    )
    answer = handler(message("tag <b>&"), lambda_context)
    assert "<Message>You sent &lt;b&gt;&amp;</Message>" in answer["body"]
    assert answer["body"].count("<Message>") == 1
    assert len(inbound.events()) == 3  # the events do not depend on the replies


def test_duplicate_webhook_publishes_once(inbound, handler, lambda_context):
    first = handler(load_event("inbound_sms"), lambda_context)
    again = handler(load_event("inbound_sms"), lambda_context)  # Twilio's retry, or a replay
    assert first["body"] == again["body"] and again["statusCode"] == 200
    assert len(inbound.events()) == 1
    other = handler(message("Order Number 777", sid="SM" + "6" * 32), lambda_context)
    assert "777" in other["body"] and len(inbound.events()) == 1


def test_publish_failure_replies_echo_error_and_keeps_the_message(
    inbound, handler, lambda_context, monkeypatch
):
    from tests.conftest import reset_layer_caches

    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    reset_layer_caches()
    answer = handler(load_event("inbound_sms"), lambda_context)
    assert answer["statusCode"] == 200
    assert "<Message>There was a problem publishing that event.</Message>" in answer["body"]
    assert inbound.events() == []
    [kept] = inbound.dead_letters()
    assert kept["detailType"] == "SMS_RECEIVED"
    assert kept["message"]["body"] == "Order Number 12345"
    assert kept["failed"][0]["detail"]["matchGroups"] == {"orderNumber": "12345"}


def refuse_entries_of(events, monkeypatch, trigger, refusing=lambda: True):
    """EventBridge answers ``InternalFailure`` for every entry of ``trigger`` (while
    ``refusing()``) and accepts the others: ``FailedEntryCount > 0``, no exception."""
    real = events.put_events

    def put_events(**kwargs):
        entries = kwargs["Entries"]
        refused = [json.loads(e["Detail"])["trigger"] == trigger and refusing() for e in entries]
        accepted = [e for e, no in zip(entries, refused, strict=True) if not no]
        answer = real(Entries=accepted) if accepted else {"Entries": []}
        results = iter(answer["Entries"])
        answer["Entries"] = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try later"} if no else next(results)
            for no in refused
        ]
        answer["FailedEntryCount"] = sum(refused)
        return answer

    monkeypatch.setattr(events, "put_events", put_events)


def test_failed_entry_count_is_a_failure(inbound, handler, lambda_context, monkeypatch):
    from twilio_connector.aws import aws_client

    set_triggers(
        monkeypatch,
        ORDER_TRIGGER,
        {"name": "digits", "pattern": "(?<d>\\d+)", "echo": "ok ${d}", "echoError": "sorry ${d}"},
    )
    refuse_entries_of(aws_client("events"), monkeypatch, "digits")
    answer = handler(message("Order Number 42"), lambda_context)
    assert "<Message>Your reference number is 42</Message>" in answer["body"]
    assert "<Message>sorry 42</Message>" in answer["body"]
    assert [e["detail"]["trigger"] for e in inbound.events()] == ["order-number"]
    [kept] = inbound.dead_letters()
    assert [f["detail"]["trigger"] for f in kept["failed"]] == ["digits"]
    assert kept["failed"][0]["error"] == "InternalFailure"


def test_when_even_the_dead_letter_queue_fails_twilio_gets_an_error(
    inbound, handler, lambda_context, monkeypatch
):
    from tests.conftest import reset_layer_caches

    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/missing")
    reset_layer_caches()
    answer = handler(load_event("inbound_sms"), lambda_context)
    assert answer["statusCode"] == 500  # Twilio then uses the number's fallback URL
    # and the failure was not recorded as done: a retry is processed again
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL")
    reset_layer_caches()
    assert "12345" in handler(load_event("inbound_sms"), lambda_context)["body"]
    assert len(inbound.events()) == 1


def test_a_retry_after_a_partial_publish_publishes_only_the_rest(
    inbound, handler, lambda_context, monkeypatch
):
    """One trigger's event is published, the next is refused and so is the dead-letter queue:
    the webhook fails (500); Twilio's retry publishes the second event, not the first again."""
    from twilio_connector.aws import aws_client

    set_triggers(
        monkeypatch,
        ORDER_TRIGGER,
        {"name": "digits", "pattern": "(?<d>\\d+)", "echo": "ok ${d}", "echoError": "sorry ${d}"},
    )
    sqs = aws_client("sqs")
    real_send = sqs.send_message
    outage = {"on": True}

    def queue_down(**kwargs):
        if outage["on"]:
            raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessage")
        return real_send(**kwargs)

    refuse_entries_of(aws_client("events"), monkeypatch, "digits", lambda: outage["on"])
    monkeypatch.setattr(sqs, "send_message", queue_down)
    event = message("Order Number 42")
    first = handler(event, lambda_context)
    assert first["statusCode"] == 500 and first["body"] == "SERVICE_UNAVAILABLE"
    assert [e["detail"]["trigger"] for e in inbound.events()] == ["order-number"]
    outage["on"] = False
    again = handler(event, lambda_context)  # Twilio's retry of the same delivery
    assert again["statusCode"] == 200
    assert "Your reference number is 42" in again["body"] and "ok 42" in again["body"]
    assert [e["detail"]["trigger"] for e in inbound.events()] == ["digits"]  # only the rest
    assert inbound.dead_letters() == []
    assert handler(event, lambda_context)["body"] == again["body"]  # and then it is done
    assert inbound.events() == []


def test_catastrophic_pattern_is_bounded_and_does_not_block_others(
    inbound, handler, lambda_context, monkeypatch, capsys, all_logs
):
    redos = {"name": "redos", "pattern": "(a|aa)+$", "echo": "never"}  # exponential backtracking
    set_triggers(monkeypatch, redos, ORDER_TRIGGER)
    started = time.monotonic()
    answer = handler(message("Order Number 1 " + "a" * 40 + "!"), lambda_context)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert "Your reference number is 1 " in answer["body"]
    assert [e["detail"]["trigger"] for e in inbound.events()] == ["order-number"]
    assert "Trigger pattern timed out" in all_logs()
    assert '"TriggerTimeout"' in capsys.readouterr().out  # the metric


def test_a_webhook_without_message_sid_is_a_bad_request(inbound, handler, lambda_context):
    params = {"From": SENDER, "To": MAGIC_FROM, "Body": "hi"}
    assert handler(signed(params=params), lambda_context)["statusCode"] == 400


def test_unreadable_secret_is_a_server_error(inbound, handler, lambda_context, aws):
    aws.put_secret_value(SecretId="twilio-connector/credentials", SecretString="{}")
    answer = handler(load_event("inbound_sms"), lambda_context)
    assert answer["statusCode"] == 500 and answer["body"] == "AUTHENTICATION_CONNECTION_ERROR"


def test_a_pattern_java_refuses_is_reported_at_cold_start_and_no_message_is_lost(
    inbound, lambda_context, monkeypatch, all_logs
):
    import importlib.util

    from local.lambda_loader import ROOT
    from tests.conftest import reset_layer_caches

    # Java refuses a Python-style named group: the cold start names the trigger and the reason
    monkeypatch.setenv("SMS_TRIGGERS", json.dumps([{"name": "x", "pattern": "(?P<n>\\d+)"}]))
    reset_layer_caches()
    spec = importlib.util.spec_from_file_location(
        "inbound_cold_start", ROOT / "functions" / "inbound_sms" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logs = all_logs()
    assert "SMS_TRIGGERS cannot be used" in logs
    assert "SMS_TRIGGERS[0] (x): invalid pattern: Unknown inline modifier near index 2" in logs

    # every message is then kept on the dead-letter queue and answered with the code
    answer = module.lambda_handler(message("Order Number 7"), lambda_context)
    assert answer["statusCode"] == 500 and answer["body"] == "TRIGGER_CONFIGURATION_ERROR"
    assert inbound.events() == []
    [kept] = inbound.dead_letters()
    assert kept["detailType"] == "SMS_RECEIVED"
    assert kept["message"]["body"] == "Order Number 7"
    assert "Unknown inline modifier" in kept["reason"]

    # the status callbacks do not need the triggers and keep working
    status = {"MessageSid": MESSAGE_SID, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert module.lambda_handler(signed("/status", status), lambda_context)["statusCode"] == 204


# --- end to end over HTTP: the emulator's webhooks through the local API Gateway -----------------
def test_emulator_delivers_a_signed_message_through_api_gateway(
    inbound, emulator, handler, lambda_context
):
    with ApiGatewayAdapter(handler, lambda_context) as api:
        answer = emulator.deliver_incoming(f"{api.url}/sms", "Order Number 12345", from_=SENDER)
    assert answer["status"] == 200 and answer["content_type"] == "text/xml"
    assert "<Message>Your reference number is 12345</Message>" in answer["body"]
    [event] = inbound.events()
    assert event["detail"]["messageSid"] in emulator.messages


def test_send_sms_status_callbacks_become_events(
    inbound, emulator, handler, lambda_context, monkeypatch
):
    send = load_function("send_sms").lambda_handler
    emulator.delivery_outcomes["+14155550101"] = ("undelivered", 30003)
    with ApiGatewayAdapter(handler, lambda_context) as api:
        monkeypatch.setenv("STATUS_CALLBACK_URL", f"{api.url}/status")
        from tests.conftest import reset_layer_caches

        reset_layer_caches()
        result = send({"smsTo": ["+14155550100", "+14155550101"], "smsBody": "hi"}, lambda_context)
        emulator.drain_callbacks()
    sids = {m["to"]: m["sid"] for m in result["messages"]}
    statuses = sorted(
        (e["detail"]["to"], e["detail"]["status"], e["detail"]["errorCode"])
        for e in inbound.events()
    )
    assert statuses == [
        ("+14155550100", "delivered", None),
        ("+14155550100", "sent", None),
        ("+14155550101", "sent", None),
        ("+14155550101", "undelivered", 30003),
    ]
    assert {d["status"] for d in emulator.webhook_deliveries} == {204}
    assert emulator.messages[sids["+14155550100"]]["status"] == "delivered"


def test_logs_hold_no_token_and_no_full_number(inbound, handler, lambda_context, all_logs):
    handler(load_event("inbound_sms"), lambda_context)
    forged = copy.deepcopy(load_event("inbound_sms"))
    forged["headers"]["X-Twilio-Signature"] = "forged="
    handler(forged, lambda_context)
    output = all_logs()
    assert "SMS received" in output
    for secret in (TEST_AUTH_TOKEN, SENDER, "Order Number 12345"):
        assert secret not in output


def test_a_delivery_already_in_progress_is_a_conflict(
    inbound, handler, lambda_context, monkeypatch
):
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    module = load_function("inbound_sms")

    def in_progress(message, context=None):
        raise IdempotencyAlreadyInProgressError("same MessageSid, being processed")

    monkeypatch.setattr(module, "receive_sms", in_progress)
    answer = handler(load_event("inbound_sms"), lambda_context)
    assert answer["statusCode"] == 409 and inbound.events() == []


def test_a_status_error_code_in_other_digits_is_not_a_crash(inbound, handler, lambda_context):
    """Found by `make fuzz`: ErrorCode=² (a Unicode digit) reached int()."""
    params = {"MessageSid": "SM" + "4" * 32, "MessageStatus": "failed", "ErrorCode": "²"}
    assert handler(signed("/status", params), lambda_context)["statusCode"] == 204
    assert inbound.events()[0]["detail"]["errorCode"] is None


# --- unrouted paths and methods ------------------------------------------------------------------
def signed_request(method: str, path: str, params: dict | None = None) -> dict:
    """A request Twilio's token signed, to any method and path of the API."""
    return signed_event(path, params or {}, method=method)


def log_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/sms", 405, "POST"),
        ("PUT", "/status", 405, "POST"),
        ("POST", "/nope", 404, None),
        ("GET", "/", 404, None),
    ],
)
def test_a_signed_request_to_no_route_is_404_or_405_at_warning(
    inbound, handler, lambda_context, all_logs, method, path, status, allow
):
    answer = handler(signed_request(method, path), lambda_context)

    assert answer["statusCode"] == status, answer
    assert answer["multiValueHeaders"].get("Allow") == ([allow] if allow else None)
    assert "UNKNOWN_ERROR" not in answer["body"]
    lines = log_lines(all_logs())
    [refusal] = [line for line in lines if line["message"] == "Webhook refused: no such route"]
    assert refusal["level"] == "WARNING" and refusal["route"] == path
    assert refusal["method"] == method
    assert not [line for line in lines if line["level"] == "ERROR"]
    assert inbound.events() == []


def test_an_unsigned_request_to_no_route_is_refused_by_the_signature_check(
    inbound, handler, lambda_context
):
    event = signed_request("POST", "/nope")
    event["headers"]["X-Twilio-Signature"] = "forged"
    event["multiValueHeaders"]["X-Twilio-Signature"] = ["forged"]
    assert handler(event, lambda_context)["statusCode"] == 403  # the routes stay unknown
