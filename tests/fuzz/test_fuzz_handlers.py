"""Every handler, fed valid, near-valid and hostile events: every outcome is a success or a
catalogued error code (the webhook: an HTTP answer), never a crash, a hang or a leak."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.apigw import proxy_event
from local.sample_events import HOST, signed_event
from tests.conftest import load_function
from tests.fuzz import strategies as fuzz
from tests.fuzz.conftest import OUTCOMES
from twilio_connector.errors import CATALOGUE

SLOWEST_SECONDS = 15  # a send with retries inside the deadline; nothing may hang past it


def outcome_of(handler, event, context) -> str:
    started = time.monotonic()
    try:
        result = handler(event, context)
        outcome = "ok" if isinstance(result, dict) else "UNHANDLED"
    except Exception as exc:  # the point: which exceptions can come out
        name = type(exc).__name__
        # UNKNOWN_ERROR is catalogued, but it is what an unexpected exception becomes
        outcome = name if name in CATALOGUE and name != "UNKNOWN_ERROR" else "UNHANDLED"
    assert time.monotonic() - started < SLOWEST_SECONDS, "a handler hung"
    return outcome


def check(name: str, outcome: str) -> None:
    OUTCOMES[name][outcome] += 1
    assert outcome != "UNHANDLED"


@pytest.mark.parametrize(
    ("action", "strategy"),
    [
        ("send_sms", fuzz.send_sms_events),
        ("get_sms", fuzz.get_sms_events),
        ("cancel_sms", fuzz.get_sms_events),  # the same input: a message SID
        ("list_sms", fuzz.list_sms_events),
        ("make_call", fuzz.make_call_events),
    ],
)
def test_actions(aws, emulator, lambda_context, action, strategy):
    handler = load_function(action).lambda_handler

    @given(event=strategy)
    def run(event):
        check(action, outcome_of(handler, event, lambda_context))

    run()


@pytest.mark.parametrize(
    ("action", "strategy"),
    [
        ("verify_start", fuzz.verify_start_events),
        ("verify_check", fuzz.verify_check_events),
        ("lookup_phone", fuzz.lookup_phone_events),
    ],
)
def test_verify_and_lookup(aws, emulator, lambda_context, monkeypatch, action, strategy):
    from local.twilio_emulator.verify_lookup import DEFAULT_VERIFY_SERVICE_SID

    monkeypatch.setenv("VERIFY_SERVICE_SID", DEFAULT_VERIFY_SERVICE_SID)
    handler = load_function(action).lambda_handler

    @given(event=strategy)
    def run(event):
        check(action, outcome_of(handler, event, lambda_context))

    run()


webhook_events = st.one_of(
    fuzz.webhook_forms.map(lambda p: ("signed /sms", signed_event("/sms", p))),
    fuzz.status_forms.map(lambda p: ("signed /status", signed_event("/status", p))),
    fuzz.raw_bodies.map(
        lambda b: (
            "forged",
            proxy_event("POST", "/sms", {"Host": HOST, "X-Twilio-Signature": "x"}, b),
        )
    ),
    fuzz.hostile.map(lambda h: ("not an event", h)),
)


def test_webhook(inbound, lambda_context):
    handler = load_function("inbound_sms").lambda_handler

    @given(case=webhook_events)
    def run(case):
        kind, event = case
        started = time.monotonic()
        try:
            answer = handler(event, lambda_context)
            status = answer.get("statusCode") if isinstance(answer, dict) else None
            outcome = (
                f"HTTP {status}"
                if status in (200, 204, 400, 403, 404, 405, 409, 413)
                else "UNHANDLED"
            )
        except Exception:  # a defect, whatever the input
            outcome = "UNHANDLED"
        assert time.monotonic() - started < SLOWEST_SECONDS
        if kind == "forged":  # refused unread when larger than any webhook of Twilio's
            assert outcome in ("HTTP 403", "HTTP 413"), outcome
        check("inbound_sms", outcome)

    run()
