"""The dead-letter replay (twilio_connector.replay, `make replay-dlq`), on moto: what the inbound
function kept goes back on the bus unchanged, nothing is lost, nothing is published twice."""

import io
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime

import pytest

from local.lambda_loader import ROOT
from tests.conftest import ORDER_TRIGGER, load_function
from tests.integration.test_inbound import message, set_triggers

DIGITS = {"name": "digits", "pattern": "(?<d>\\d+)", "echo": "ok ${d}"}


def sid(n: int) -> str:
    return f"SM{n:032x}"


@pytest.fixture
def dlq_url():
    import boto3

    return boto3.client("sqs").get_queue_url(QueueName="inbound-dlq")["QueueUrl"]


def keep(inbound, lambda_context, monkeypatch, count, triggers=(ORDER_TRIGGER,)):
    """``count`` inbound messages whose events EventBridge refused: the real function's
    dead-letter records. Returns what each would have published (the bus's view, later)."""
    from twilio_connector.aws import aws_client

    set_triggers(monkeypatch, *triggers)
    handler = load_function("inbound_sms").lambda_handler
    events = aws_client("events")
    with monkeypatch.context() as patch:
        patch.setattr(events, "put_events", failing_put_events)
        for n in range(count):
            answer = handler(message(f"Order Number {n}", sid=sid(n)), lambda_context)
            assert answer["statusCode"] == 200
    assert inbound.events() == []


def failing_put_events(**kwargs):
    raise ConnectionError("EventBridge is down")


def fail_on_call(events, monkeypatch, *calls, entry=None):
    """Make ``put_events`` raise on the given calls (1-based); with ``entry``, only that entry
    of those calls fails (an ErrorCode, as EventBridge answers)."""
    real, seen = events.put_events, []

    def put_events(**kwargs):
        seen.append(kwargs["Entries"])
        if len(seen) not in calls:
            return real(**kwargs)
        if entry is None:
            raise ConnectionError("EventBridge is down")
        entries = kwargs["Entries"]
        answer = real(Entries=[e for i, e in enumerate(entries) if i != entry])
        answer["Entries"].insert(entry, {"ErrorCode": "InternalFailure", "ErrorMessage": "later"})
        answer["FailedEntryCount"] = 1
        return answer

    monkeypatch.setattr(events, "put_events", put_events)
    return seen


def run(dlq_url, **options):
    from twilio_connector.replay import replay

    log = io.StringIO()
    report = replay(dlq_url, wait_seconds=0, log=log, **options)
    return report, log.getvalue()


def depth(dlq_url, visible_only=False) -> int:
    import boto3

    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    hidden = 0 if visible_only else int(attributes["ApproximateNumberOfMessagesNotVisible"])
    return int(attributes["ApproximateNumberOfMessages"]) + hidden


def test_replay_publishes_the_kept_events_unchanged_and_empties_the_queue(
    inbound, lambda_context, monkeypatch, dlq_url
):
    keep(inbound, lambda_context, monkeypatch, 3)
    report, log = run(dlq_url)
    assert (report.received, report.replayed, report.published) == (3, 3, 3)
    assert not report.left_behind and depth(dlq_url) == 0
    events = inbound.events()
    assert sorted(e["detail"]["messageSid"] for e in events) == [sid(n) for n in range(3)]
    [first] = [e for e in events if e["detail"]["messageSid"] == sid(0)]
    # the event the function would have published: same source, type and detail
    assert first["source"] == "twilio.connector" and first["detail-type"] == "SMS_RECEIVED"
    assert first["detail"] == {
        "eventId": first["detail"]["eventId"],
        "trigger": "order-number",
        "matchGroups": {"orderNumber": "0"},
        "originalMessage": "Order Number 0",
        "to": first["detail"]["to"],
        "from": first["detail"]["from"],
        "messageSid": sid(0),
        "accountSid": first["detail"]["accountSid"],
    }
    assert first["detail"]["from"] not in log  # numbers are masked in the tool's output
    assert "published message=" in log and "trigger=order-number" in log


def test_a_publish_failure_in_the_middle_loses_nothing_and_publishes_nothing_twice(
    inbound, lambda_context, monkeypatch, dlq_url
):
    from twilio_connector.aws import aws_client

    keep(inbound, lambda_context, monkeypatch, 5)
    calls = fail_on_call(aws_client("events"), monkeypatch, 3)
    report, log = run(dlq_url)
    assert len(calls) == 5  # one PutEvents per message; the third raised
    # each event carries the time its message was kept, not the time of the replay
    assert all(entry["Time"] <= datetime.now(UTC) for call in calls for entry in call)
    assert (report.received, report.replayed, report.published, report.failed) == (5, 4, 4, 1)
    assert report.left_behind and "not published (ConnectionError), kept" in log
    first_run = [e["detail"]["messageSid"] for e in inbound.events()]
    assert len(first_run) == 4 == len(set(first_run))
    assert depth(dlq_url, visible_only=True) == 1  # the one that failed, visible at once

    monkeypatch.undo()  # EventBridge is back
    report, _ = run(dlq_url)
    assert (report.received, report.published, report.failed) == (1, 1, 0)
    second_run = [e["detail"]["messageSid"] for e in inbound.events()]
    assert sorted(first_run + second_run) == [sid(n) for n in range(5)]  # each exactly once
    assert depth(dlq_url) == 0


def test_a_partly_published_message_keeps_only_what_is_left(
    inbound, lambda_context, monkeypatch, dlq_url
):
    from twilio_connector.aws import aws_client

    keep(inbound, lambda_context, monkeypatch, 1, triggers=(ORDER_TRIGGER, DIGITS))
    fail_on_call(aws_client("events"), monkeypatch, 1, entry=1)
    report, _ = run(dlq_url)
    assert (report.published, report.failed, report.not_deleted) == (1, 1, 0)
    assert [e["detail"]["trigger"] for e in inbound.events()] == ["order-number"]

    monkeypatch.undo()
    report, _ = run(dlq_url)
    assert (report.received, report.published, report.failed) == (1, 1, 0)
    [event] = inbound.events()
    assert event["detail"]["trigger"] == "digits" and event["detail"]["matchGroups"] == {"d": "0"}
    assert depth(dlq_url) == 0


def test_an_event_kept_twice_is_published_once(inbound, lambda_context, monkeypatch, dlq_url):
    import boto3

    keep(inbound, lambda_context, monkeypatch, 1)
    [record] = inbound.dead_letters()
    sqs = boto3.client("sqs")
    for _ in range(2):  # e.g. a webhook retried after its dead-letter record was written
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(record))
    report, _ = run(dlq_url)
    assert (report.received, report.replayed, report.published, report.duplicates) == (2, 2, 1, 1)
    assert len(inbound.events()) == 1 and depth(dlq_url) == 0


def test_a_message_not_deleted_is_not_published_again_in_the_run_and_is_reported(
    inbound, lambda_context, monkeypatch, dlq_url
):
    from twilio_connector.aws import aws_client

    keep(inbound, lambda_context, monkeypatch, 2)
    sqs = aws_client("sqs")
    real, failures = sqs.delete_message, []

    def delete_fails_once(**kwargs):
        if not failures:
            failures.append(kwargs)
            raise ConnectionError("SQS is down")
        return real(**kwargs)

    monkeypatch.setattr(sqs, "delete_message", delete_fails_once)
    report, log = run(dlq_url, visibility_timeout=0)  # the undeleted one comes straight back
    assert "published but not deleted (ConnectionError)" in log
    # it came back in the same run: not published again, deleted this time
    assert (report.received, report.published, report.duplicates) == (2, 2, 1)
    assert report.not_deleted == 0 and not report.left_behind
    assert len(inbound.events()) == 2 and depth(dlq_url) == 0

    record = {"detailType": "SMS_RECEIVED", "failed": [{"detail": {"messageSid": sid(7)}}]}
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(record))
    failures.clear()
    report, _ = run(dlq_url)  # this time it stays hidden until the run ends
    assert (report.published, report.not_deleted) == (1, 1) and report.left_behind


def test_dry_run_publishes_and_deletes_nothing(inbound, lambda_context, monkeypatch, dlq_url):
    import boto3

    keep(inbound, lambda_context, monkeypatch, 2)
    boto3.client("sqs").send_message(QueueUrl=dlq_url, MessageBody="not a record")
    report, log = run(dlq_url, dry_run=True)
    assert report.to_dict() == {
        "dryRun": True,
        "received": 3,
        "replayed": 2,
        "published": 2,
        "duplicates": 0,
        "failed": 0,
        "unreadable": 1,
        "notDeleted": 0,
        "alreadyPublished": 0,
        "eventsByType": {"SMS_RECEIVED": 2},
    }
    assert log.count("would publish") == 2 and "unreadable" in log
    assert inbound.events() == []
    # every message is still there, and visible now (a real run can start at once)
    assert depth(dlq_url, visible_only=True) == 3


def test_an_unreadable_message_is_left_and_reported(inbound, monkeypatch, dlq_url):
    import boto3

    boto3.client("sqs").send_message(QueueUrl=dlq_url, MessageBody='{"detailType": 1}')
    report, _ = run(dlq_url)
    assert (report.received, report.unreadable, report.published) == (1, 1, 0)
    assert report.left_behind and depth(dlq_url) == 1


def test_limit_reads_at_most_that_many(inbound, lambda_context, monkeypatch, dlq_url):
    keep(inbound, lambda_context, monkeypatch, 3)
    report, _ = run(dlq_url, limit=2)
    assert (report.received, report.published) == (2, 2) and depth(dlq_url) == 1


def test_status_changes_are_replayed_too(inbound, lambda_context, monkeypatch, dlq_url):
    from twilio_connector.aws import aws_client
    from twilio_connector.inbound import receive_status

    with monkeypatch.context() as patch:
        patch.setattr(aws_client("events"), "put_events", failing_put_events)
        receive_status({"MessageSid": sid(9), "MessageStatus": "delivered"})
    report, _ = run(dlq_url)
    assert report.events_by_type == Counter({"SMS_STATUS_CHANGED": 1})
    [event] = inbound.events()
    assert event["detail-type"] == "SMS_STATUS_CHANGED"
    assert event["detail"]["messageSid"] == sid(9) and event["detail"]["status"] == "delivered"


STACK = ["--stack", "twilio-connector", "--wait-seconds", "0"]


def test_the_command_line_reads_the_stack(inbound, lambda_context, monkeypatch, dlq_url, capsys):
    import boto3

    from twilio_connector.replay import main

    keep(inbound, lambda_context, monkeypatch, 1)
    boto3.client("cloudformation").create_stack(
        StackName="twilio-connector",
        TemplateBody=json.dumps(
            {
                "Parameters": {
                    "EventBusName": {"Type": "String", "Default": "default"},
                    "EventSource": {"Type": "String", "Default": "twilio.connector"},
                },
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"InboundDeadLetterQueueUrl": {"Value": dlq_url}},
            }
        ),
    )
    capsys.readouterr()  # the inbound function's output
    assert main([*STACK, "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["published"] == 1
    assert main(STACK) == 0
    assert json.loads(capsys.readouterr().out)["replayed"] == 1
    assert len(inbound.events()) == 1
    assert main(["--stack", "no-such-stack", "--wait-seconds", "0"]) == 2
    assert "no-such-stack" in capsys.readouterr().err


def test_make_replay_dlq_against_moto_in_server_mode(tmp_path):
    """The documented command, as an operator runs it (moto standing in for AWS)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from local.offline import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        record = {
            "detailType": "SMS_RECEIVED",
            "source": "twilio.connector",
            "eventBusName": "default",
            "failed": [{"detail": {"messageSid": sid(1), "trigger": "t"}, "error": "x"}],
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
        command = ["make", "-s", "replay-dlq", f"QUEUE_URL={url}"]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["replayed"] == 1 and "published message=" in done.stderr
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    finally:
        server.stop()
