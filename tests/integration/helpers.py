"""Calling a handler and reading the catalogued error it raises."""

import json

import pytest


def expect_error(handler, context, event, code: str) -> dict:
    with pytest.raises(Exception) as raised:
        handler(event, context)
    assert type(raised.value).__name__ == code, str(raised.value)
    body = json.loads(str(raised.value))
    assert body["code"] == code and body["message"]
    return body


#: How long the tests hold an attempt whose outcome is unknown (``SEND_LEASE_SECONDS``): the
#: window in which Twilio may still store its message, during which a retry is CONFLICT.
HOLD = 0.3


def hold_unknown_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown outcomes held ``HOLD`` seconds instead of the timeouts and commit margin."""
    from tests.conftest import reset_layer_caches

    monkeypatch.setenv("SEND_LEASE_SECONDS", str(HOLD))
    reset_layer_caches()


def after_the_hold() -> None:
    """Wait, as the workflow's Retry interval would, until the held attempt is asked about."""
    import time

    time.sleep(HOLD + 0.05)
