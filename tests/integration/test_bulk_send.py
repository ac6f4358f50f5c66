"""Bulk SEND_SMS: concurrent, bounded, in input order, and a result that fits a state."""

import json

import pytest

from tests.conftest import load_function, reset_layer_caches


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def numbers(count):
    return [f"+1415{n:07d}" for n in range(count)]


def test_many_recipients_are_sent_concurrently_in_input_order(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("SEND_CONCURRENCY", "8")
    reset_layer_caches()
    emulator.faults.latency = 0.05
    recipients = numbers(40)
    result = handler({"smsTo": recipients, "smsBody": "bulk"}, lambda_context)
    assert [m["to"] for m in result["messages"]] == recipients
    assert list(result["smsResult"].values()) == recipients
    assert 2 <= emulator.max_in_flight <= 8  # concurrent, never past SEND_CONCURRENCY


@pytest.mark.parametrize("ledger", [False, True], ids=["plain", "ledger"])
def test_send_concurrency_holds_a_call_to_its_share(
    aws, emulator, handler, lambda_context, monkeypatch, ledger
):
    """A workflow's calls in flight together (the campaign's batches) each take their share of
    Twilio's concurrency: ``sendConcurrency`` below SEND_CONCURRENCY bounds the call, with and
    without the send ledger."""
    monkeypatch.setenv("SEND_CONCURRENCY", "8")
    if not ledger:
        monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    reset_layer_caches()
    emulator.faults.latency = 0.05
    event = {"smsTo": numbers(24), "smsBody": "shared", "sendConcurrency": 3}
    result = handler(event, lambda_context)
    assert list(result["smsResult"].values()) == numbers(24)
    assert 2 <= emulator.max_in_flight <= 3
    bad = handler({**event, "sendConcurrency": 0, "failOnError": False}, lambda_context)
    [error] = bad["twilioError"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "sendConcurrency")


def test_one_connection_per_sender_is_reused(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("SEND_CONCURRENCY", "4")
    reset_layer_caches()
    emulator.faults.latency = 0.01
    handler({"smsTo": numbers(40), "smsBody": "pooled"}, lambda_context)
    handler({"smsTo": numbers(40), "smsBody": "pooled again"}, lambda_context)
    assert len(emulator.messages) == 80
    assert emulator.connections <= 4  # kept alive across requests and invocations


def test_a_result_too_large_for_a_state_is_compacted(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("MAX_RESULT_BYTES", "20000")
    reset_layer_caches()
    recipients = numbers(60)
    result = handler({"smsTo": recipients, "smsBody": "x" * 300}, lambda_context)
    assert result["messagesCompacted"] is True
    assert set(result["messages"][0]) == {
        "sid",
        "to",
        "from",
        "status",
        "date_created",
        "error_code",
        "segments",
        "encoding",
    }
    assert {(m["segments"], m["encoding"]) for m in result["messages"]} == {(2, "GSM-7")}
    assert [m["to"] for m in result["messages"]] == recipients
    assert len(json.dumps(result)) <= 20000


def test_partial_failure_error_stays_small(aws, emulator, handler, lambda_context):
    recipients = numbers(120) + ["+15005550001"] * 1 + ["+15005550004"]
    with pytest.raises(Exception) as raised:
        handler({"smsTo": recipients, "smsBody": "x"}, lambda_context)
    body = json.loads(str(raised.value))
    assert body["sentCount"] == 120 and body["failedCount"] == 2
    assert len(body["sent"]) == 50 and body["listsTruncated"] is True
    assert len(str(raised.value)) < 32_768  # what Step Functions keeps of an error's cause
