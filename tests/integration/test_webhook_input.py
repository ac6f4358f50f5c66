"""The inbound API's input, before anything is processed: what an unauthenticated request costs,
what it can put in the logs, and which tokens a genuine request may be signed with."""

import base64
import json
import os
import time
import types
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from local.apigw import proxy_event
from local.sample_events import HOST, inbound_sms
from local.twilio_emulator import TEST_AUTH_TOKEN
from tests.conftest import SECRET, load_event, load_function
from tests.integration.test_inbound import refused, signed

OLD, NEW = TEST_AUTH_TOKEN, "e" * 32


@pytest.fixture
def handler():
    return load_function("inbound_sms").lambda_handler


# --- 16: a JSON body without its body hash -------------------------------------------------------
def test_an_unsigned_json_body_is_refused_not_a_server_error(inbound, handler, lambda_context):
    """A JSON request is signed through its ``bodySHA256`` query parameter; without it twilio's
    validator failed with a TypeError (500, the 5xx alarm) instead of refusing it."""
    headers = {
        "Content-Type": "application/json",
        "Host": HOST,
        "X-Twilio-Signature": "anything=",
    }
    body = json.dumps({"MessageSid": "SM" + "5" * 32, "Body": "Order Number 7"})
    answer = refused(handler, lambda_context, proxy_event("POST", "/sms", headers, body), inbound)
    assert answer["body"] == "Forbidden"


def test_a_json_body_nested_past_the_stack_is_refused_not_a_server_error(
    inbound, handler, lambda_context
):
    headers = {"Content-Type": "application/json", "Host": HOST, "X-Twilio-Signature": "x="}
    event = proxy_event("POST", "/sms", headers, "[" * 60_000, query="bodySHA256=00")
    refused(handler, lambda_context, event, inbound)


# --- 17: bounded before it is parsed ------------------------------------------------------------
def forged_form(fields: int, field: str = "a=b") -> dict:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Host": HOST,
        "X-Twilio-Signature": "forged=",
    }
    return proxy_event("POST", "/sms", headers, "&".join([field] * fields))


def test_a_huge_forged_form_is_refused_before_it_is_parsed(
    inbound, handler, lambda_context, monkeypatch
):
    """5.9 MB and 720,000 fields took 6.4 s of CPU to parse before the 403."""
    from twilio_connector import webhooks

    parsed = []
    real_parse = webhooks.parse_qsl
    monkeypatch.setattr(
        webhooks, "parse_qsl", lambda *a, **k: parsed.append(1) or real_parse(*a, **k)
    )
    event = forged_form(720_000, "ab=cdefg")  # 5.8 MB
    assert len(event["body"]) > 5_000_000
    started = time.process_time()
    answer = handler(event, lambda_context)
    assert answer["statusCode"] == 413 and answer["body"] == "Payload Too Large"
    assert time.process_time() - started < 0.5
    assert parsed == []  # refused on its size alone
    assert inbound.events() == [] and inbound.dead_letters() == []

    encoded = forged_form(1)
    encoded["body"] = base64.b64encode(b"a=b&" * 20_000).decode()  # 80 KB once decoded
    encoded["isBase64Encoded"] = True
    assert handler(encoded, lambda_context)["statusCode"] == 413


def test_a_form_of_too_many_small_fields_is_refused(inbound, handler, lambda_context):
    from twilio_connector.webhooks import MAX_BODY_BYTES, MAX_FIELDS

    event = forged_form(MAX_FIELDS + 1)
    assert len(event["body"]) < MAX_BODY_BYTES
    assert handler(event, lambda_context)["statusCode"] == 413
    assert handler(forged_form(MAX_FIELDS), lambda_context)["statusCode"] == 403  # parsed


def test_the_largest_genuine_message_is_still_accepted(inbound, handler, lambda_context):
    """1,600 four-byte characters with ten media: what Twilio can send, well under the caps."""
    params = dict(parse_qsl(inbound_sms()["body"]))
    params["Body"] = "Order Number 1 " + "\U0001f600" * 1585
    for n in range(10):
        params[f"MediaUrl{n}"] = f"https://api.twilio.com/2010-04-01/Media/ME{n:032x}"
        params[f"MediaContentType{n}"] = "image/jpeg"
    answer = handler(signed(params=params), lambda_context)
    assert answer["statusCode"] == 200 and "Your reference number is 1" in answer["body"]


# --- 18: a header's text in the logs -------------------------------------------------------------
def test_signature_settings_header_never_reaches_a_log_unredacted(
    inbound, handler, lambda_context, all_logs
):
    """twilio's validator warned with the header's algorithm as it came, CR/LF included, through
    the root logger (outside the redacting formatter)."""
    event = load_event("inbound_sms")
    event["headers"]["X-Twilio-Webhooks-Signature-Settings"] = (
        "key=k,algorithm=EVIL\r\nINJECTED +14155550199"
    )
    refused(handler, lambda_context, event, inbound)
    logs = all_logs()
    assert "unknown algorithm" in logs
    assert "\r\nINJECTED" not in logs and "\nINJECTED" not in logs
    assert "+14155550199" not in logs and "+1********99" in logs


def test_twilio_library_logs_go_through_redaction(all_logs):
    import logging

    logging.getLogger("twilio.request_validator").warning(
        "header %s", f"{TEST_AUTH_TOKEN}\r\nforged +14155550199"
    )
    logs = all_logs()
    assert "header" in logs and TEST_AUTH_TOKEN not in logs
    assert "+14155550199" not in logs and "\r\nforged" not in logs


# --- 11: the auth token rotated -----------------------------------------------------------------
def put_secret(aws, **fields):
    aws.put_secret_value(
        SecretId=os.environ["TWILIO_SECRET_ID"], SecretString=json.dumps({**SECRET, **fields})
    )


def test_a_webhook_signed_with_a_rotated_token_is_accepted_at_once(
    inbound, handler, lambda_context, aws
):
    """Twilio signs with the new token as soon as it is promoted; the cached secret (5 minutes)
    refused every inbound SMS until it expired, and they were lost."""
    assert handler(signed(token=OLD), lambda_context)["statusCode"] == 200  # the secret is cached
    put_secret(aws, TWILIO_TOKEN=NEW)
    event = signed(
        params={**dict(parse_qsl(inbound_sms()["body"])), "MessageSid": "SM" + "1" * 32},
        token=NEW,
    )
    answer = handler(event, lambda_context)
    assert answer["statusCode"] == 200 and "Your reference number" in answer["body"]
    assert len(inbound.events()) == 2


def test_the_previous_token_is_accepted_during_its_grace_period(
    inbound, handler, lambda_context, aws, capsys
):
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    put_secret(
        aws, TWILIO_TOKEN=NEW, TWILIO_PREVIOUS_TOKEN=OLD, TWILIO_PREVIOUS_TOKEN_EXPIRES=until
    )
    assert handler(signed(token=OLD), lambda_context)["statusCode"] == 200
    assert '"WebhookPreviousToken"' in capsys.readouterr().out
    assert handler(signed(token=NEW), lambda_context)["statusCode"] == 200
    assert len(inbound.events()) == 1  # (one delivery of the message: processed once)
    refused(handler, lambda_context, signed(token="f" * 32), inbound)


def test_the_previous_token_is_refused_once_its_grace_period_ended(
    inbound, handler, lambda_context, aws
):
    ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    put_secret(
        aws, TWILIO_TOKEN=NEW, TWILIO_PREVIOUS_TOKEN=OLD, TWILIO_PREVIOUS_TOKEN_EXPIRES=ended
    )
    refused(handler, lambda_context, signed(token=OLD), inbound)


@pytest.mark.parametrize(
    "fields",
    [
        {"TWILIO_PREVIOUS_TOKEN": OLD},
        {"TWILIO_PREVIOUS_TOKEN": OLD, "TWILIO_PREVIOUS_TOKEN_EXPIRES": "tomorrow"},
        {"TWILIO_PREVIOUS_TOKEN": OLD, "TWILIO_PREVIOUS_TOKEN_EXPIRES": "2026-12-06T12:00:00"},
    ],
)
def test_a_previous_token_without_a_valid_end_is_a_secret_error(
    inbound, handler, lambda_context, aws, fields
):
    put_secret(aws, TWILIO_TOKEN=NEW, **fields)
    answer = handler(signed(token=OLD), lambda_context)
    assert answer["statusCode"] == 500 and answer["body"] == "AUTHENTICATION_CONNECTION_ERROR"


def test_forged_requests_read_the_secret_at_most_once_a_second(
    inbound, handler, lambda_context, aws, monkeypatch
):
    from twilio_connector import credentials
    from twilio_connector.aws import aws_client

    clock = {"now": 1000.0}
    monkeypatch.setattr(
        credentials, "time", types.SimpleNamespace(monotonic=lambda: clock["now"], time=time.time)
    )
    reads = []
    aws_client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append(1)
    )
    for _ in range(20):
        refused(handler, lambda_context, signed(token="f" * 32), inbound)
    assert len(reads) == 2  # the first read, and one fresh read after the first refusal
    clock["now"] += 1.0
    refused(handler, lambda_context, signed(token="f" * 32), inbound)
    assert len(reads) == 3
