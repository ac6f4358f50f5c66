"""The operations: alarms (operations/template.yaml, the connector's nested application) on every
function of template.yaml and on the dead-letter queue, each one notifying the alarm topic; the
dashboard; the API's access logs and the concurrency budget (template.yaml); every checkov
suppression of every template with its reason. (That the alarms read metrics the code emits is
checked in tests/integration/test_metrics.py.)"""

import json
import re

import pytest

from local.lambda_loader import ROOT
from local.template import CONNECTOR, EXAMPLES, OPERATIONS, Resolver, load_template

NOTIFY = [{"If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]


@pytest.fixture(scope="module")
def resources():
    """The operations' resources."""
    return load_template(OPERATIONS)["Resources"]


@pytest.fixture(scope="module")
def connector():
    """The connector's resources."""
    return load_template()["Resources"]


def passed(connector, parameter):
    """What the connector passes to the nested operations as ``parameter``."""
    return connector["Operations"]["Properties"]["Parameters"][parameter]


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def test_every_function_has_an_errors_and_a_throttles_alarm(resources, connector):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm").values()
    watched = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for a in alarms
        if a["Properties"]["Namespace"] == "AWS/Lambda"
    }
    for function in of_type(connector, "AWS::Serverless::Function"):
        name = f"{function}Name"  # the nested template's parameter, the function's name
        assert passed(connector, name) == {"Ref": function}, function
        assert ("Errors", name) in watched and ("Throttles", name) in watched, function


def test_the_alarms_watch_the_connector_stack(connector):
    """The metrics' service dimension and the API's name are the connector stack's."""
    assert passed(connector, "ConnectorStackName") == {"Ref": "AWS::StackName"}
    api = connector["InboundApi"]["Properties"]["Name"]
    assert passed(connector, "InboundApiName") == api
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}


def test_the_dead_letter_queue_alarms_on_any_message(resources, connector):
    props = resources["DeadLetterQueueAlarm"]["Properties"]
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"][0]["Value"] == {"Ref": "InboundDeadLetterQueueName"}
    queue = {"GetAtt": "InboundDeadLetterQueue.QueueName"}
    assert passed(connector, "InboundDeadLetterQueueName") == queue
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_every_alarm_notifies_the_topic_and_names_its_runbook(resources):
    runbooks = (ROOT / "docs" / "operations.md").read_text()
    runbooks = runbooks[runbooks.index("### Runbook") :]
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == NOTIFY == props["OKActions"], name
        description = " ".join(props["AlarmDescription"].split())
        [runbook] = re.findall(r'Runbook: docs/operations\.md, "([^"]+)"', description)
        assert f"**{runbook}**" in runbooks, f"{name}: no runbook {runbook!r} in docs/operations.md"


def test_the_email_subscription_and_topic_are_optional(resources):
    assert resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_the_dashboard_shows_what_operators_need(resources, connector):
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "X", body))["widgets"]
    titles = {w["properties"]["title"] for w in widgets}
    assert {
        "Messages sent and failed",
        "Failed messages by error code",
        "Inbound messages",
        "Dead-letter queue depth",
        "Duration p50 (ms)",
        "Duration p99 (ms)",
        "Throttles",
    } <= titles
    functions = of_type(connector, "AWS::Serverless::Function")
    [p99] = [w for w in widgets if w["properties"]["title"] == "Duration p99 (ms)"]
    assert {m[4]["stat"] for m in p99["properties"]["metrics"]} == {"p99"}
    assert all(f"${{{name}Name}}" in body for name in functions)


def test_access_logs_are_json_without_numbers_bodies_or_query_strings(connector):
    resources = connector
    api = resources["InboundApi"]["Properties"]
    condition, setting, otherwise = api["AccessLogSetting"]["If"]
    assert (condition, otherwise) == ("AccessLogs", {"Ref": "AWS::NoValue"})
    assert setting["DestinationArn"] == {"GetAtt": "InboundApiAccessLogGroup.Arn"}
    fields = json.loads(re.sub(r"\$context\.error\.messageString", '"e"', setting["Format"]))
    assert "resourcePath" in fields and "status" in fields and "requestId" in fields
    variables = " ".join(str(v) for v in fields.values())
    for leak in ("$input", "querystring", "$context.path", "requestOverride", "$request"):
        assert leak not in variables
    group = resources["InboundApiAccessLogGroup"]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Condition"] == "AccessLogs"


def test_the_account_wide_log_role_is_opt_in(connector):
    """API Gateway's log role is one per account and region and outlives the stack: the default
    stack leaves it alone, and so writes no access logs (API Gateway refuses them without it)."""
    resolver = Resolver({}, {})
    assert not resolver.condition("SetLogRole") and not resolver.condition("AccessLogs")
    assert Resolver({"SetApiGatewayLogRole": "true"}, {}).condition("AccessLogs")
    assert Resolver({"ApiAccessLogs": "true"}, {}).condition("AccessLogs")
    assert not Resolver({"ApiAccessLogs": "true"}, {}).condition("SetLogRole")
    for name in ("ApiGatewayLogRole", "ApiGatewayAccount"):
        assert connector[name]["Condition"] == "SetLogRole"


def test_send_sms_has_a_concurrency_budget(connector):
    reserved = connector["SendSmsFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {
        "If": [
            "ReserveSendConcurrency",
            {"Ref": "SendSmsReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }


@pytest.mark.parametrize("path", [CONNECTOR, OPERATIONS, EXAMPLES])
def test_every_checkov_suppression_gives_its_reason(path):
    skipped = 0
    for name, resource in load_template(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
            assert len(skip["comment"]) > 40, f"{name}: {skip['id']} has no real reason"
            skipped += 1
    assert skipped > 0
