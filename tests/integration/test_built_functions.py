"""The functions as ``sam build`` packs them, run as Lambda runs them: each handler imports from
its built artifact and the built layer alone, under awslambdaric in a clean interpreter
(``local.lambda_runtime``: ``python -S``, none of the test virtualenv's packages), and answers
its sample event from ``events/`` against moto and the Twilio emulator (the set-up ``make demo``
and ``make invoke`` use).

``make test`` builds first (``make build build-host``) and sets BUILT_FUNCTIONS, so a missing
build is a failure there; a bare ``pytest`` without a build skips these tests and says why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from local.invoke import INBOUND, SAMPLE_EVENTS, BuiltStack
from local.lambda_loader import EVENTS, ROOT, load_event
from local.lambda_loader import LAYER as LAYER_SOURCE
from local.lambda_runtime import BuiltFunction, InvocationError
from local.offline import (
    SAMPLE_MESSAGE_SID,
    SAMPLE_RECIPIENT,
    SAMPLE_VERIFICATION_CODE,
    SCHEDULED_MESSAGE_SID,
    offline_stack,
)
from local.template import function_names

BUILT = os.environ.get("BUILT_FUNCTIONS")
BUILD_DIR = (ROOT / BUILT) if BUILT else None

pytestmark = pytest.mark.skipif(
    BUILD_DIR is None, reason="no host build named: `make test` builds it and sets BUILT_FUNCTIONS"
)


@pytest.fixture(scope="module")
def build_dir() -> Path:
    assert BUILD_DIR is not None
    assert (BUILD_DIR / "ConnectorLayer" / "python" / "twilio_connector").is_dir(), (
        f"{BUILD_DIR} holds no built layer: run `make build-host`"
    )
    return BUILD_DIR


@pytest.fixture(scope="module")
def stack(build_dir, tmp_path_factory):
    logs = (tmp_path_factory.mktemp("logs") / "functions.log").open("w+")
    with offline_stack() as offline, BuiltStack(offline, build_dir, logs) as built:
        built.log_file = logs
        yield built
    logs.close()


def test_every_sample_event_is_run_by_these_tests():
    samples = {path.stem for path in EVENTS.glob("*.json")} - {"env"}
    assert samples == set(SAMPLE_EVENTS), "a sample event no test runs, or a missing one"
    assert set(SAMPLE_EVENTS.values()) == set(function_names())


def test_send_sms_sample_sends_the_rendered_body_to_both_recipients(stack):
    result = stack.invoke("SendSmsFunction", load_event("send_sms"))
    assert sorted(result["smsResult"].values()) == ["+14155550100", "+14155550101"]
    assert {m["body"] for m in result["messages"]} == {
        "Hello Ada, your order A-1042 ships tomorrow."
    }
    assert result["replayed"] is False
    stack.offline.emulator.drain_callbacks()
    statuses = [e["detail"]["status"] for e in stack.offline.events()]
    assert sorted(statuses) == ["delivered", "delivered", "sent", "sent"]  # via the built inbound


def test_get_sms_sample_reads_the_message_it_names(stack):
    message = stack.invoke("GetSmsFunction", load_event("get_sms"))
    assert message["sid"] == load_event("get_sms")["sid"] == SAMPLE_MESSAGE_SID
    assert message["status"] == "delivered"


def test_cancel_sms_sample_cancels_the_scheduled_reminder(stack):
    message = stack.invoke("CancelSmsFunction", load_event("cancel_sms"))
    assert message["sid"] == load_event("cancel_sms")["sid"] == SCHEDULED_MESSAGE_SID
    assert message["status"] == "canceled"
    assert stack.offline.emulator.advance(timedelta(days=3)) == []  # never sent


def test_list_sms_sample_lists_the_senders_messages(stack):
    page = stack.invoke("ListSmsFunction", load_event("list_sms"))
    assert SAMPLE_MESSAGE_SID in {m["sid"] for m in page["messages"]}
    assert {m["from"] for m in page["messages"]} == {load_event("list_sms")["from"]}
    assert "nextPageToken" in page


def test_make_call_sample_places_the_call(stack):
    call = stack.invoke("MakeCallFunction", load_event("make_call"))
    assert re.fullmatch(r"CA[0-9a-f]{32}", call["sid"])
    assert "Hello Ada" in stack.offline.emulator.calls[call["sid"]]["twiml"]


def test_verify_start_sample_sends_a_code_by_sms(stack):
    started = stack.invoke("VerifyStartFunction", load_event("verify_start"))
    assert started["to"] == SAMPLE_RECIPIENT and started["status"] == "pending"
    assert started["channel"] == "sms" and re.fullmatch(r"VE[0-9a-f]{32}", started["sid"])
    texts = [m["body"] for m in stack.offline.emulator.messages.values() if m["from"] == "Verify"]
    assert texts and texts[-1].startswith("Your Acme Bank verification code is: ")


def test_verify_check_sample_approves_the_pending_code(stack):
    event = load_event("verify_check")
    assert event["code"] == SAMPLE_VERIFICATION_CODE
    # the offline stack seeds it; seeded again here: the CANCEL_SMS test moved the clock days on
    stack.offline.emulator.verify_lookup.seed(SAMPLE_RECIPIENT, SAMPLE_VERIFICATION_CODE)
    checked = stack.invoke("VerifyCheckFunction", event)
    assert checked["status"] == "approved" and checked["valid"] is True
    assert checked["to"] == SAMPLE_RECIPIENT


def test_lookup_phone_sample_gives_the_line_type(stack):
    result = stack.invoke("LookupPhoneFunction", load_event("lookup_phone"))
    assert result["phoneNumber"] == SAMPLE_RECIPIENT and result["valid"] is True
    assert result["countryCode"] == "US" and result["lineType"] == "mobile"


def test_campaign_settle_sample_gives_each_recipients_outcome(stack):
    """The campaign's settle step: one batch's SEND_SMS result, per recipient."""
    result = stack.invoke("CampaignFunction", load_event("campaign_settle"))
    assert result == {
        "index": 7,
        "sent": {"+14155550100": "SM0123456789abcdef0123456789abcdef"},
        "skipped": {"+14155550102": "OPTED_OUT"},
        "refused": {"+15005550001": {"code": "INVALID_TO_PHONE_NUMBER_ERROR", "twilioCode": 21211}},
    }


def test_inbound_sample_echoes_and_publishes(stack):
    answer = stack.invoke(INBOUND, load_event("inbound_sms"))
    assert answer["statusCode"] == 200
    assert "<Message>Your reference number is 12345</Message>" in answer["body"]
    received = [e for e in stack.offline.events() if e["detail-type"] == "SMS_RECEIVED"]
    assert [e["detail"]["matchGroups"] for e in received] == [{"orderNumber": "12345"}]


def test_a_lost_put_events_answer_publishes_once_and_keeps_the_event(stack, build_dir):
    """The built inbound function behind an EventBridge endpoint whose first PutEvents answer is
    lost after moto stored the events (issue 24, 6): botocore's retry published them twice."""
    from local.aws_faults import LostAnswerProxy
    from local.lambda_runtime import BuiltFunction
    from local.resources import drain
    from local.sample_events import inbound_sms, signed_event

    params = dict(parse_qsl(inbound_sms()["body"]))
    sid = "SM" + "d" * 32
    event = signed_event("/sms", {**params, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid})
    stack.offline.events()  # (what earlier tests left)
    with LostAnswerProxy(stack.offline.moto_url) as proxy:
        environment = {**stack.environment(INBOUND), "AWS_ENDPOINT_URL_EVENTBRIDGE": proxy.url}
        function = BuiltFunction(INBOUND, build_dir, environment, stack.logs)
        try:
            answer = function.invoke(event)
        finally:
            function.stop()
    assert proxy.lost == 1 and answer["statusCode"] == 200
    published = [e for e in stack.offline.events() if e["detail"]["messageSid"] == sid]
    assert len(published) == 1  # the attempt whose answer was lost, not sent again
    [kept] = drain(stack.offline.dead_letter_queue_url)
    assert kept["failed"][0]["error"].startswith("OutcomeUnknown:")
    assert kept["failed"][0]["detail"]["eventId"] == published[0]["detail"]["eventId"]


def test_status_callback_sample_publishes_the_status(stack):
    answer = stack.invoke(INBOUND, load_event("status_callback"))
    assert answer["statusCode"] == 204
    changed = [e["detail"] for e in stack.offline.events()]
    assert [(d["status"], d["messageSid"]) for d in changed] == [("delivered", "SM" + "8" * 32)]


def test_a_catalogued_error_reaches_the_caller_by_its_code(stack):
    with pytest.raises(InvocationError) as raised:
        stack.invoke("SendSmsFunction", {"smsTo": "4155550100", "smsBody": "Hi"})
    assert raised.value.error_type == "INVALID_TO_PHONE_NUMBER_ERROR"
    body = json.loads(str(raised.value))
    assert body["field"] == "smsTo" and "country code" in body["message"]


def test_a_setting_that_cannot_be_used_names_its_variable(stack):
    """MaxRecipients=lots: INVALID_CONFIGURATION naming MAX_RECIPIENTS, not UNKNOWN_ERROR."""
    with pytest.raises(InvocationError) as raised:
        stack.invoke(
            "SendSmsFunction",
            {"smsTo": SAMPLE_RECIPIENT, "smsBody": "Hi"},
            {"MaxRecipients": "lots"},
        )
    assert raised.value.error_type == "INVALID_CONFIGURATION"
    body = json.loads(str(raised.value))
    assert body["variable"] == "MAX_RECIPIENTS" and "not 'lots'" in body["message"]


def test_the_built_functions_list_unknown_fields_and_refuse_near_misses(stack):
    """Issue 25: a workflow's whole state passes; a typo of a known field does not."""
    event = {**load_event("send_sms"), "orderId": "A-1042", "dryRun": True}
    result = stack.invoke("SendSmsFunction", event)
    assert result["dryRun"] is True and result["ignoredFields"] == ["orderId"]
    assert result["wouldSend"]["body"] == "Hello Ada, your order A-1042 ships tomorrow."
    with pytest.raises(InvocationError) as raised:
        stack.invoke("ListSmsFunction", {**load_event("list_sms"), "pagesize": 5})
    assert raised.value.error_type == "INVALID_INPUT"
    assert json.loads(str(raised.value))["didYouMean"] == "pageSize"
    listed = stack.invoke("ListSmsFunction", {**load_event("list_sms"), "status": "delivered"})
    assert listed["ignoredFields"] == ["status"]


def test_the_built_inbound_answers_an_unrouted_signed_request_404_or_405(stack):
    from local.sample_events import signed_event

    assert stack.invoke(INBOUND, signed_event("/nope", {}))["statusCode"] == 404
    event = signed_event("/sms", {})
    event["httpMethod"] = event["requestContext"]["httpMethod"] = "GET"
    answer = stack.invoke(INBOUND, event)
    assert answer["statusCode"] == 405 and answer["multiValueHeaders"]["Allow"] == ["POST"]


def test_the_function_logs_carry_no_full_phone_number(stack):
    stack.log_file.flush()
    logs = Path(stack.log_file.name).read_text()
    assert '"function_name":"SendSmsFunction"' in logs  # the functions did log
    assert "+14155550100" not in logs and "+14155550101" not in logs


def test_a_missing_requirement_fails_the_import(build_dir, tmp_path):
    """What this module guards against: a layer without a package a handler imports."""
    layer = tmp_path / "ConnectorLayer" / "python"
    layer.mkdir(parents=True)
    for entry in (build_dir / "ConnectorLayer" / "python").iterdir():
        if entry.name != "regex":
            (layer / entry.name).symlink_to(entry)
    (tmp_path / INBOUND).symlink_to(build_dir / INBOUND)
    with (
        BuiltFunction(INBOUND, tmp_path, {"SMS_TRIGGERS": "[]"}, logs=open(os.devnull, "w")) as fn,
        pytest.raises(InvocationError) as raised,
    ):
        fn.invoke({})
    assert raised.value.error_type == "Runtime.ImportModuleError"
    assert "No module named 'regex'" in str(raised.value)


def _distributions(layer: Path) -> set[str]:
    return {path.name for path in layer.glob("*.dist-info")}


def test_the_deployed_build_holds_the_same_distributions_as_the_tested_one(build_dir):
    """The tested build is for this machine; the deployed one (``sam build``) is for the
    template's architecture. Same packages, same versions: only compiled files differ."""
    deployed = ROOT / ".aws-sam" / "build" / "ConnectorLayer" / "python"
    if not deployed.is_dir():
        pytest.fail("no `sam build` output in .aws-sam/build: `make test` builds it first")
    assert _distributions(deployed) == _distributions(build_dir / "ConnectorLayer" / "python")
    for logical_id in function_names():
        built = {p.name for p in (ROOT / ".aws-sam" / "build" / logical_id).iterdir()}
        assert "app.py" in built


@pytest.mark.parametrize("build", ["deployed", "tested"])
def test_the_build_ships_bytecode_lambda_need_not_compile(build_dir, build):
    """Lambda cannot write ``__pycache__``: without bytecode in the artifact every cold start
    compiles every module. ``make build`` adds it, unchecked (valid whatever the timestamps)."""
    root = ROOT / ".aws-sam" / "build" if build == "deployed" else build_dir
    layer = root / "ConnectorLayer" / "python"
    sources = [
        *(layer / "twilio_connector").glob("*.py"),
        layer / "boto3" / "session.py",
        layer / "twilio" / "rest" / "api" / "v2010" / "account" / "message" / "__init__.py",
        root / "SendSmsFunction" / "app.py",
    ]
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file(), f"no bytecode for {source.relative_to(root)}"
        flags = int.from_bytes(cached.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{cached.name}: not unchecked-hash bytecode"  # PEP 552


def test_make_invoke_reads_the_event_from_standard_input(build_dir):
    run = subprocess.run(
        [sys.executable, "-m", "local.invoke", "GetSmsFunction", "-", "--build-dir", build_dir],
        input=json.dumps({"sid": SAMPLE_MESSAGE_SID}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sid"] == SAMPLE_MESSAGE_SID


def test_make_invoke_prints_a_functions_error_as_lambda_does(build_dir):
    run = subprocess.run(
        [sys.executable, "-m", "local.invoke", "GetSmsFunction", "-", "--build-dir", build_dir],
        input='{"sid": "not-a-sid"}',
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    error = json.loads(run.stdout)
    assert set(error) == {"errorType", "errorMessage"}  # the result: no stack trace
    assert error["errorType"] == "INVALID_INPUT" and json.loads(error["errorMessage"])["field"]
    # the function's logs (standard error) hold the runtime's record of it, as CloudWatch would
    assert f"[ERROR] INVALID_INPUT: {error['errorMessage']}" in run.stderr


@pytest.mark.parametrize("build", ["deployed", "tested"])
def test_the_built_layer_holds_the_templates_locale_data(build_dir, build):
    """The corrections to Babel's CLDR (``make locale-data``) are package data: a build
    without them would format dates and numbers unlike FreeMarker, silently."""
    root = ROOT / ".aws-sam" / "build" if build == "deployed" else build_dir
    package = root / "ConnectorLayer" / "python" / "twilio_connector" / "freemarker"
    source = LAYER_SOURCE / "twilio_connector" / "freemarker"
    for name in ("cldr_java17.json", "cldr_java17_zones.json"):
        assert (package / name).read_bytes() == (source / name).read_bytes(), name


def test_the_built_layer_formats_with_java_17s_locale_data(build_dir):
    code = (
        "import sys; sys.path[:0] = [sys.argv[1]]; "
        "from twilio_connector.freemarker import render_template; "
        'print(render_template(\'${d?date.iso?string("d MMM yyyy")} '
        '${t?datetime.iso?string("zzzz")}\', '
        "{'d': '2024-03-05', 't': '2024-03-05T14:30:00Z'}, locale='es_MX', time_zone='UTC'))"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(build_dir / "ConnectorLayer" / "python")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "5 mar. 2024 hora universal coordinada"
