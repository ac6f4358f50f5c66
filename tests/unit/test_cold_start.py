"""Cold start: a function imports only what its first request needs, and nothing another
function needs (checked in a fresh interpreter per function)."""

import json
import os
import subprocess
import sys

import pytest

from local.lambda_loader import LAYER, ROOT

# built on first use, never at import; and no X-Ray SDK when tracing is off
HEAVY_LAZY = {"boto3", "twilio.rest", "babel", "aws_xray_sdk.core"}
NOT_FOR = {
    "send_sms": {"regex", "twilio_connector.triggers", "twilio_connector.inbound",
                 "twilio_connector.webhooks", "twilio_connector.messages",
                 "twilio_connector.calls", "aws_lambda_powertools.event_handler"},
    "get_sms": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                "twilio_connector.freemarker", "twilio_connector.inbound", "phonenumbers"},
    "cancel_sms": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                   "twilio_connector.freemarker", "twilio_connector.inbound", "phonenumbers"},
    "list_sms": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                 "twilio_connector.freemarker", "twilio_connector.inbound"},
    "make_call": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                  "twilio_connector.freemarker", "twilio_connector.inbound",
                  "twilio_connector.messages"},
    "verify_start": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                     "twilio_connector.freemarker", "twilio_connector.inbound",
                     "twilio_connector.messages", "twilio_connector.lookup", "phonenumbers"},
    "verify_check": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                     "twilio_connector.freemarker", "twilio_connector.inbound",
                     "twilio_connector.messages", "twilio_connector.lookup", "phonenumbers"},
    "lookup_phone": {"regex", "twilio_connector.sms", "twilio_connector.ledger",
                     "twilio_connector.freemarker", "twilio_connector.inbound",
                     "twilio_connector.messages", "twilio_connector.verify", "phonenumbers"},
    "inbound_sms": {"twilio_connector.sms", "twilio_connector.ledger",
                    "twilio_connector.messages", "twilio_connector.calls", "phonenumbers",
                    "twilio_connector.twilio_api"},
}  # fmt: skip


def imported_by(action: str) -> set[str]:
    code = (
        "import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "SMS_TRIGGERS": "[]"}
    run = subprocess.run(
        [sys.executable, "-c", code, str(LAYER), str(ROOT / "functions" / action)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return set(json.loads(run.stdout))


@pytest.mark.parametrize("action", sorted(NOT_FOR))
def test_a_function_imports_only_what_it_needs(action):
    modules = imported_by(action)
    assert "twilio_connector" in modules  # the layer was imported
    assert not HEAVY_LAZY & modules, f"{action} imports {HEAVY_LAZY & modules} at cold start"
    assert not NOT_FOR[action] & modules, f"{action} imports {NOT_FOR[action] & modules}"
