"""The connector's metrics, as its handlers emit them (CloudWatch EMF on standard output), and
the alarms and dashboard (operations/template.yaml) reading only metrics the code really emits."""

import json
import re

import pytest

from local.template import OPERATIONS, load_template
from tests.conftest import ORDER_TRIGGER, load_event, load_function, reset_layer_caches
from tests.integration.test_inbound import message, set_triggers
from tests.integration.test_send_sms import put_secret

NAMESPACE = "TwilioConnector"
INVALID_TO = "+15005550001"  # the emulator answers 21211: INVALID_TO_PHONE_NUMBER_ERROR


def emitted(output: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value) of every EMF record in ``output``."""
    found = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            [dimensions] = directive["Dimensions"]
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                found.append(
                    (
                        metric["Name"],
                        {name: record[name] for name in dimensions},
                        sum(value) if isinstance(value, list) else value,
                    )
                )
    return found


def total(found, name, **dimensions) -> float:
    return sum(
        value
        for metric, dims, value in found
        if metric == name and dims == {"service": "twilio-connector", **dimensions}
    )


@pytest.fixture
def send():
    handler = load_function("send_sms").lambda_handler

    def send(context, recipients, **event):
        try:
            return handler({"smsTo": recipients, "smsBody": "Hi", **event}, context)
        except Exception as error:  # the catalogued error a workflow would catch
            return error

    return send


def test_sends_count_failures_by_error_code_and_twilio_failures_by_class(
    aws, emulator, send, lambda_context, capsys
):
    send(lambda_context, ["+14155550100", INVALID_TO])
    found = emitted(capsys.readouterr().out)
    assert total(found, "SmsSent") == 1 and total(found, "SmsFailed") == 1
    assert total(found, "SmsFailed", ErrorCode="INVALID_TO_PHONE_NUMBER_ERROR") == 1
    assert total(found, "TwilioFailures", FailureClass="refused") == 1

    emulator.faults.fail_statuses = [429] * 10_000
    send(lambda_context, ["+14155550100"])
    found = emitted(capsys.readouterr().out)
    assert total(found, "TwilioFailures", FailureClass="throttled") == 1  # once, after retries
    assert total(found, "SmsFailed", ErrorCode="TOO_MANY_REQUESTS") == 1

    emulator.faults.fail_statuses = [503] * 10_000
    send(lambda_context, ["+14155550100"], idempotencyKey="second")
    found = emitted(capsys.readouterr().out)
    # the send's 503 (an unknown outcome), and the look that asks Twilio whether it took effect
    assert total(found, "TwilioFailures", FailureClass="unavailable") == 2

    emulator.faults.fail_statuses = []
    put_secret(aws, TWILIO_TOKEN="0" * 32)
    reset_layer_caches()  # the secret is read again
    send(lambda_context, ["+14155550100"], idempotencyKey="third")
    found = emitted(capsys.readouterr().out)
    assert total(found, "TwilioFailures", FailureClass="auth") == 1


def test_get_sms_counts_a_twilio_refusal(aws, emulator, lambda_context, capsys):
    handler = load_function("get_sms").lambda_handler
    with pytest.raises(Exception, match="NOT_FOUND"):
        handler({"sid": "SM" + "0" * 32}, lambda_context)
    found = emitted(capsys.readouterr().out)
    assert total(found, "TwilioFailures", FailureClass="refused") == 1


def matched_unmatched_and_forged(lambda_context):
    """The inbound handler, after a matched, an unmatched and a forged message."""
    handler = load_function("inbound_sms").lambda_handler
    handler(load_event("inbound_sms"), lambda_context)
    handler(message("Hello there", sid="SM" + "1" * 32), lambda_context)
    forged = load_event("inbound_sms")
    del forged["headers"]["X-Twilio-Signature"]
    handler(forged, lambda_context)
    return handler


def test_inbound_counts_matched_unmatched_and_rejected(inbound, lambda_context, capsys):
    matched_unmatched_and_forged(lambda_context)
    found = emitted(capsys.readouterr().out)
    assert total(found, "SmsReceived") == 2
    assert total(found, "SmsMatched") == 1 and total(found, "SmsUnmatched") == 1
    assert total(found, "EventsPublished") == 1
    assert total(found, "WebhookSignatureInvalid") == 1


def verify_and_lookup(emulator, lambda_context, monkeypatch) -> None:
    """VERIFY_START, a wrong code, the right one, and a LOOKUP_PHONE."""
    from local.twilio_emulator.verify_lookup import DEFAULT_VERIFY_SERVICE_SID

    monkeypatch.setenv("VERIFY_SERVICE_SID", DEFAULT_VERIFY_SERVICE_SID)
    reset_layer_caches()
    load_function("verify_start").lambda_handler({"to": "+14155550100"}, lambda_context)
    code = emulator.verify_lookup.code_for("+14155550100")
    check = load_function("verify_check").lambda_handler
    for given in ("000000" if code != "000000" else "111111", code):
        check({"to": "+14155550100", "code": given}, lambda_context)
    load_function("lookup_phone").lambda_handler({"phone": "+14155550100"}, lambda_context)


def test_verify_and_lookup_count_what_they_do(aws, emulator, lambda_context, capsys, monkeypatch):
    verify_and_lookup(emulator, lambda_context, monkeypatch)
    found = emitted(capsys.readouterr().out)
    assert total(found, "VerificationsStarted") == 1 and total(found, "VerificationsApproved") == 1
    assert total(found, "VerificationCodesRejected") == 1 and total(found, "PhoneLookups") == 1


def every_metric_emitted(aws, inbound, emulator, send, lambda_context, capsys, monkeypatch):
    """Drive every path that emits a metric; what was emitted."""
    send(lambda_context, ["+14155550100", INVALID_TO])
    for status in (429, 503):
        emulator.faults.fail_statuses = [status] * 10_000
        send(lambda_context, ["+14155550100"], idempotencyKey=str(status))
    emulator.faults.fail_statuses = []
    handler = matched_unmatched_and_forged(lambda_context)
    set_triggers(monkeypatch, {"name": "redos", "pattern": "(a|aa)+$"}, ORDER_TRIGGER)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")  # publish fails: dead-lettered
    handler(message("Order Number 1 " + "a" * 40 + "!", sid="SM" + "2" * 32), lambda_context)
    verify_and_lookup(emulator, lambda_context, monkeypatch)
    put_secret(aws, TWILIO_TOKEN="0" * 32)
    reset_layer_caches()  # the secret is read again
    send(lambda_context, ["+14155550100"], idempotencyKey="auth")
    return emitted(capsys.readouterr().out)


def template_reads() -> set[tuple[str, frozenset]]:
    """(metric, dimensions) of the connector's metrics the alarms and dashboard read; the
    service dimension's value (the connector's stack name, its POWERTOOLS_SERVICE_NAME) left out."""
    resources = load_template(OPERATIONS)["Resources"]
    reads = set()
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and props["Namespace"] == NAMESPACE:
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            assert dims.pop("service") == {"Ref": "ConnectorStackName"}
            reads.add((props["MetricName"], frozenset(dims.items())))
    [dashboard] = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.loads(
        re.sub(r"\$\{[^}]+\}", "STACK", dashboard["Properties"]["DashboardBody"]["Sub"])
    )
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if isinstance(metric[0], dict):  # SEARCH('{Namespace,Dim,...} MetricName="X" ...')
                expression = metric[0]["expression"]
                schema = re.search(r"\{([^}]+)\}", expression).group(1).split(",")
                name = re.search(r'MetricName=\\?"(\w+)', expression).group(1)
                if schema[0] == NAMESPACE:
                    reads.add((name, frozenset((d, "*") for d in schema[1:] if d != "service")))
            elif metric[0] == NAMESPACE:
                fields = [m for m in metric if not isinstance(m, dict)]
                dims = dict(zip(fields[2::2], fields[3::2], strict=True))
                assert dims.pop("service") == "STACK"
                reads.add((fields[1], frozenset(dims.items())))
    return reads


def test_alarms_and_dashboard_read_only_metrics_the_code_emits(
    aws, inbound, emulator, send, lambda_context, capsys, monkeypatch
):
    found = every_metric_emitted(aws, inbound, emulator, send, lambda_context, capsys, monkeypatch)
    produced = set()
    for name, dims, _ in found:
        assert dims.pop("service") == "twilio-connector"
        produced.add((name, frozenset(dims.items())))
        produced.add((name, frozenset((d, "*") for d in dims)))  # what a SEARCH matches
    reads = template_reads()
    assert len(reads) >= 15  # the alarms' and the dashboard's
    assert {read for read in reads if read not in produced} == set()
