"""``make invoke`` as a user runs it: the result alone on standard output, template parameters
overridden, a list of events against the same stand-ins, an offline session that keeps them
between invocations (also reachable as Lambda's Invoke API), a signed inbound event of one's own,
and no metrics warning on standard error.

Each test runs ``python -m local.invoke`` / ``local.session`` (what the Makefile's targets run)
against the host build; servers listen on 127.0.0.1 on free ports and are stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.lambda_loader import ROOT
from local.offline import SAMPLE_MESSAGE_SID
from local.sign_inbound import signed_inbound

BUILT = os.environ.get("BUILT_FUNCTIONS")
BUILD_DIR = (ROOT / BUILT) if BUILT else None

pytestmark = pytest.mark.skipif(
    BUILD_DIR is None, reason="no host build named: `make test` builds it and sets BUILT_FUNCTIONS"
)
METRICS_WARNING = "No application metrics to publish"


def invoke(*args: str, stdin: str = "", session: Path | None = None, timeout: float = 120):
    """``make invoke``'s command; without ``session``, a running session is ignored."""
    where = ["--session-file", str(session)] if session else ["--no-session"]
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", *args, "--build-dir", str(BUILD_DIR), *where],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def write(path: Path, document: object) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_stdout_is_the_result_alone_and_reads_give_no_metrics_warning(tmp_path):
    # Given GET_SMS, LIST_SMS and MAKE_CALL, which count no metric, run in one list
    steps = [
        {"function": "GetSmsFunction", "event": "events/get_sms.json"},
        {"function": "ListSmsFunction", "event": "events/list_sms.json"},
        {"function": "MakeCallFunction", "event": "events/make_call.json"},
    ]
    run = invoke("--steps", write(tmp_path / "steps.json", steps))
    # Then standard output is one JSON document, and standard error has no metrics warning
    assert run.returncode == 0, run.stderr
    outputs = json.loads(run.stdout)
    assert [o["function"] for o in outputs] == [s["function"] for s in steps]
    assert outputs[0]["output"]["sid"] == SAMPLE_MESSAGE_SID
    assert outputs[2]["output"]["sid"].startswith("CA")
    assert METRICS_WARNING not in run.stderr
    assert "UserWarning" not in run.stderr and "Traceback" not in run.stderr


def test_one_invocation_prints_its_result_alone_and_counts_the_status_callbacks():
    run = invoke("SendSmsFunction", "events/send_sms.json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # nothing else on standard output
    assert sorted(result["smsResult"].values()) == ["+14155550100", "+14155550101"]
    assert "status callbacks: waited for 4 status callback(s): 4 arrived" in run.stderr
    assert run.stderr.count("event on the bus: SMS_STATUS_CHANGED") == 4


@pytest.mark.slow  # ~7-13 s: three make invoke runs
def test_parameter_overrides_reach_the_function_as_the_template_derives_them():
    # Given a national number and a decimal, with DefaultPhoneRegion and TemplateLocale overridden
    event = json.dumps({"smsTo": "020 7946 0958", "smsBody": "Total ${3.5}"})
    run = invoke(
        "SendSmsFunction",
        "-",
        "--parameter-overrides",
        "DefaultPhoneRegion=GB TemplateLocale=de_DE",
        stdin=event,
    )
    # Then the number is British and the decimal German
    assert run.returncode == 0, run.stderr
    [message] = json.loads(run.stdout)["messages"]
    assert message["to"] == "+442079460958" and message["body"] == "Total 3,5"
    # And without them the same event is refused, as the template's defaults have no region
    default = invoke("SendSmsFunction", "-", stdin=event)
    assert default.returncode == 1
    assert json.loads(default.stdout)["errorType"] == "INVALID_TO_PHONE_NUMBER_ERROR"


def test_sms_triggers_override_replaces_the_demo_trigger(tmp_path):
    # (not STOP: Twilio answers the opt-out keywords itself, and the connector echoes none)
    triggers = [{"name": "balance", "pattern": "(?i)balance", "echo": "Your balance is 10."}]
    event = write(tmp_path / "balance.json", signed_inbound("Body=BALANCE"))
    run = invoke(
        "InboundSmsFunction",
        event,
        "--parameter-overrides",
        f"SmsTriggers='{json.dumps(triggers)}'",
    )
    assert run.returncode == 0, run.stderr
    assert "<Message>Your balance is 10.</Message>" in json.loads(run.stdout)["body"]
    assert '"trigger": "balance"' in run.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("DefaultPhoneRegion=USA", "Parameter 'DefaultPhoneRegion' must match pattern"),
        ("LogLevel=LOUD", "Parameter 'LogLevel' must be one of AllowedValues"),
        ("SmsTrigger=[]", "template.yaml has no parameter 'SmsTrigger'"),
    ],
)
def test_a_parameter_cloudformation_would_refuse_is_a_usage_error(overrides, message):
    run = invoke("GetSmsFunction", "events/get_sms.json", "--parameter-overrides", overrides)
    assert run.returncode == 2 and message in run.stderr and run.stdout == ""


def test_the_schedule_then_cancel_list_runs_against_the_same_stand_ins():
    run = invoke("--steps", "events/steps/schedule_then_cancel.json")
    assert run.returncode == 0, run.stderr
    sent, canceled, fetched = (step["output"] for step in json.loads(run.stdout))
    sid = sent["messages"][0]["sid"]
    assert sent["messages"][0]["status"] == "scheduled"
    assert (canceled["sid"], canceled["status"]) == (sid, "canceled")
    assert (fetched["sid"], fetched["status"]) == (sid, "canceled")


def test_a_duplicate_webhook_in_a_list_emits_once():
    run = invoke("--steps", "events/steps/duplicate_webhook.json")
    assert run.returncode == 0, run.stderr
    first, second = json.loads(run.stdout)
    assert first["output"]["body"] == second["output"]["body"]  # Twilio gets the same reply
    assert run.stderr.count("event on the bus: SMS_RECEIVED") == 1


def test_a_step_naming_an_output_that_is_not_there_is_a_usage_error(tmp_path):
    steps = [
        {"function": "GetSmsFunction", "event": "events/get_sms.json"},
        {"function": "CancelSmsFunction", "event": {"sid.$": "$.steps[0].messages[0].sid"}},
    ]
    run = invoke("--steps", write(tmp_path / "steps.json", steps))
    assert run.returncode == 2
    assert "step 1 (CancelSmsFunction): '$.steps[0].messages[0].sid': nothing at" in run.stderr


@pytest.fixture
def session(tmp_path):
    """An offline session started as `make offline-start` starts it, stopped afterwards."""
    state = tmp_path / "session.json"
    start = subprocess.run(
        [sys.executable, "-m", "local.session", "start", "--build-dir", str(BUILD_DIR),
         "--session-file", str(state), "--parameter-overrides", "DefaultPhoneRegion=US"],
        capture_output=True, text=True, cwd=ROOT, timeout=150, check=False,
    )  # fmt: skip
    assert start.returncode == 0, start.stderr
    info = json.loads(start.stdout)
    assert info == json.loads(state.read_text())
    assert info["url"].startswith("http://127.0.0.1:") and info["parameters"] == {
        "DefaultPhoneRegion": "US"
    }
    try:
        yield state, info
    finally:
        stop = subprocess.run(
            [sys.executable, "-m", "local.session", "stop", "--session-file", str(state)],
            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
        )  # fmt: skip
        assert stop.returncode == 0, stop.stderr
        deadline = time.monotonic() + 10
        while _alive(info["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(info["pid"]) and not state.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_a_session_keeps_what_one_invocation_did_for_the_next(session, tmp_path):
    state, info = session
    # Given a message scheduled in one invocation (a national number: the session's PARAMS)
    tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    schedule = {
        "smsTo": "(415) 555-0123",
        "smsBody": "See you tomorrow",
        "messagingServiceSid": "MG" + "0123456789abcdef" * 2,
        "sendAt": tomorrow,
    }
    sent = invoke("SendSmsFunction", "-", stdin=json.dumps(schedule), session=state)
    assert sent.returncode == 0, sent.stderr
    assert f"in the offline session at {info['url']}" in sent.stderr
    [message] = json.loads(sent.stdout)["messages"]
    assert message["status"] == "scheduled" and message["to"] == "+14155550123"
    # When the next invocation cancels it
    canceled = invoke(
        "CancelSmsFunction", "-", stdin=json.dumps({"sid": message["sid"]}), session=state
    )
    # Then the session still held it
    assert canceled.returncode == 0, canceled.stderr
    assert json.loads(canceled.stdout)["status"] == "canceled"
    # And a webhook signed by `make sign-inbound`, delivered twice, is accepted and emits once
    event = tmp_path / "inbound.json"
    signed = subprocess.run(
        [sys.executable, "-m", "local.sign_inbound", "--body",
         "From=+14155550199&Body=Order Number 777", "--out", str(event)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    )  # fmt: skip
    assert "make invoke FN=InboundSmsFunction" in signed.stderr
    first = invoke("InboundSmsFunction", str(event), session=state)
    second = invoke("InboundSmsFunction", str(event), session=state)
    for run in (first, second):
        assert run.returncode == 0, run.stderr
        answer = json.loads(run.stdout)
        assert answer["statusCode"] == 200
        assert "<Message>Your reference number is 777</Message>" in answer["body"]
    assert '"matchGroups": {"orderNumber": "777"}' in first.stderr
    assert "SMS_RECEIVED" not in second.stderr  # a webhook Twilio delivers twice emits once
    assert METRICS_WARNING not in Path(info["log"]).read_text()


def test_a_session_answers_lambdas_invoke_api(session):
    import boto3

    _, info = session
    client = boto3.client(
        "lambda",
        endpoint_url=info["url"],
        region_name="us-east-1",
        aws_access_key_id="offline",
        aws_secret_access_key="offline",
    )
    fetched = client.invoke(FunctionName="GetSmsFunction", Payload=json.dumps({"sid": "nope"}))
    assert fetched["StatusCode"] == 200 and fetched["FunctionError"] == "Unhandled"
    assert json.loads(fetched["Payload"].read())["errorType"] == "INVALID_INPUT"
    found = client.invoke(
        FunctionName="GetSmsFunction", Payload=json.dumps({"sid": SAMPLE_MESSAGE_SID})
    )
    assert "FunctionError" not in found
    assert json.loads(found["Payload"].read())["status"] == "delivered"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")


@pytest.mark.slow  # ~5-10 s: two make invoke runs
def test_a_signed_event_is_refused_when_signed_for_another_url(tmp_path):
    """The signature covers the URL: an event signed for a custom domain verifies only when
    the function runs with that PublicWebhookUrl (so the command signs what it claims to)."""
    public = "https://hooks.example.com/twilio"
    event = write(tmp_path / "e.json", signed_inbound("Body=Order Number 9", public_url=public))
    refused = invoke("InboundSmsFunction", event)
    assert json.loads(refused.stdout)["statusCode"] == 403
    accepted = invoke(
        "InboundSmsFunction", event, "--parameter-overrides", f"PublicWebhookUrl={public}"
    )
    assert json.loads(accepted.stdout)["statusCode"] == 200, accepted.stderr


def test_the_usage_line_does_not_build_and_a_changed_source_does():
    def planned(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", "invoke", *args],  # noqa: S607
            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
        ).stdout  # fmt: skip

    assert "sam build" not in planned("-W", "template.yaml")  # no FN: usage, nothing built
    assert "sam build" in planned("FN=GetSmsFunction", "-W", "template.yaml")
    assert re.search(r"local\.invoke GetSmsFunction events/get_sms\.json", planned(
        "FN=GetSmsFunction", "EVENT=events/get_sms.json"))  # fmt: skip


def test_make_invoke_without_s_prints_the_result_alone():
    """Through the Makefile, without `make -s`: nothing make echoes reaches standard output
    (the build is the one under test: HOST_BUILT empty skips the stamp's check). Run as from a
    shell: under `make test`, a make inside make would print its "Entering directory" lines,
    as GNU make does in every sub-make."""
    shell = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    run = subprocess.run(
        ["make", "invoke", "FN=GetSmsFunction", "EVENT=events/get_sms.json", "HOST_BUILT=",  # noqa: S607
         f"HOST_BUILD={BUILD_DIR}", "PARAMS=DefaultPhoneRegion=US"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False, env=shell,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sid"] == SAMPLE_MESSAGE_SID
    assert METRICS_WARNING not in run.stderr


def test_a_rebuild_gives_a_running_session_new_execution_environments(tmp_path):
    """`make invoke` rebuilds when a source changed; the session's warm functions, started on
    the old build, are then replaced, as a deployment replaces Lambda's environments."""
    from types import SimpleNamespace

    from local.invoke import BuiltStack
    from local.offline import OfflineStack

    for part in ("ConnectorLayer", "GetSmsFunction"):
        (tmp_path / part).symlink_to(BUILD_DIR / part)
    stamp = tmp_path / ".built"
    stamp.touch()
    # the functions are made, not started: nothing needs to listen (moto's state is per process,
    # so an offline stack here would collide with the other modules')
    nowhere = "http://127.0.0.1:9"
    offline = OfflineStack(
        nowhere,
        SimpleNamespace(url=nowhere),  # type: ignore[arg-type]
        nowhere,
        nowhere,
        resources={"TwilioCredentialsSecret": "secret", "IdempotencyTable": "table"},
    )
    built = BuiltStack(offline, tmp_path)
    with built.api:
        before = built.function("GetSmsFunction")
        assert built.function("GetSmsFunction") is before  # warm
        os.utime(stamp, (stamp.stat().st_atime, stamp.stat().st_mtime + 5))
        assert built.function("GetSmsFunction") is not before


@pytest.mark.slow  # ~8 s: a list of steps, every function cold
def test_parameters_reach_every_function_of_the_run_the_inbound_one_included():
    """LogLevel is the template's POWERTOOLS_LOG_LEVEL: the offline defaults do not override it,
    and the inbound function taking the send's status callbacks runs with it too."""
    chatty = invoke("SendSmsFunction", "events/send_sms.json")
    quiet = invoke(
        "SendSmsFunction", "events/send_sms.json", "--parameter-overrides", "LogLevel=ERROR"
    )
    assert chatty.returncode == quiet.returncode == 0, quiet.stderr
    assert '"level":"INFO"' in chatty.stderr
    assert '"level":"INFO"' not in quiet.stderr
    assert "4 arrived" in quiet.stderr  # the callbacks were handled, silently
