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
