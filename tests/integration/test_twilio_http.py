"""The connector's HTTP client for Twilio: proxies from the environment, refused connections."""

import socket
from contextlib import closing

import pytest

from tests.conftest import load_function, reset_layer_caches
from tests.integration.helpers import expect_error


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def test_the_environment_proxy_carries_the_requests(
    aws, emulator, handler, lambda_context, monkeypatch
):
    # the emulator stands in for the proxy: it is sent the absolute URL of a host that does not
    # resolve, which only a proxy can reach
    monkeypatch.setenv("TWILIO_API_URL", "http://api.twilio.invalid")
    monkeypatch.setenv("HTTP_PROXY", emulator.url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    reset_layer_caches()
    result = handler({"smsTo": "+14155550100", "smsBody": "via proxy"}, lambda_context)
    assert len(result["messages"]) == 1
    assert [r["path"] for r in emulator.requests][-1].endswith("/Messages.json")


def test_a_refused_connection_is_a_connection_error(
    aws, emulator, handler, lambda_context, monkeypatch
):
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv("TWILIO_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("BACKOFF_BASE_SECONDS", "0.01")
    reset_layer_caches()
    event = {"smsTo": "+14155550100", "smsBody": "x"}
    body = expect_error(handler, lambda_context, event, "TWILIO_CONNECTION_ERROR")
    assert "ConnectionError" in body["message"]
    assert emulator.messages == {}
