"""`make demo` runs offline end to end: moto in server mode, the emulator, the real handler."""

import re
import subprocess
import sys

import pytest

from local.lambda_loader import ROOT


@pytest.mark.slow  # ~7 s (+5 s stopping): the whole demo
def test_demo_sends_two_messages_and_shows_a_catalogued_error():
    run = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(re.findall(r"sent +SM[0-9a-f]{32}  to", run.stdout)) == 2
    assert "Hello Ada, your order A-1042 ships tomorrow." in run.stdout
    assert "errorType    INVALID_REGION_TO_PHONE_NUMBER_ERROR" in run.stdout
    assert "GET_SMS" in run.stdout and run.stdout.count("  page ") == 4
    assert "  status   canceled  sid SMfedcba9876543210fedcba9876543210" in run.stdout
    assert re.search(r"placed +CA[0-9a-f]{32}", run.stdout)
    assert "<Message>Your reference number is 12345</Message>" in run.stdout
    assert "SendTaskSuccess(taskToken=demo-task-token-..., status=delivered)" in run.stdout
    assert '"matchGroups": {"orderNumber": "12345"}' in run.stdout
    assert len(re.findall(r"SM[0-9a-f]{32}  delivered", run.stdout)) == 2
    assert re.search(r"pending  VE[0-9a-f]{32}  to \+14155550100 by sms", run.stdout)
    assert "status pending  valid false" in run.stdout  # a wrong code: an answer, not an error
    assert "status approved  valid true" in run.stdout
    assert "+14155550100  valid true  US  line type mobile" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert '{"_aws"' not in run.stdout + run.stderr  # no raw metric records on the user's screen
    assert "No application metrics to publish" not in run.stderr
