"""The AWS resources template.yaml creates, made in moto (tests, demo, bench), and the reset of
the layer's per-environment caches (what a new Lambda execution environment starts without)."""

from __future__ import annotations

import json
from typing import Any

CONNECTOR_SOURCE = "twilio.connector"
SECRET_ID = "twilio-connector/credentials"


def function_environment(**overrides: str) -> dict[str, str]:
    """The functions' environment as template.yaml's Globals give it, offline: fake AWS
    credentials, no X-Ray daemon (tracing off), the secret's name; ``overrides`` on top."""
    return {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "POWERTOOLS_SERVICE_NAME": "twilio-connector",
        "POWERTOOLS_METRICS_NAMESPACE": "TwilioConnector",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "TWILIO_SECRET_ID": SECRET_ID,
        **overrides,
    }


def create_credentials_secret(secrets_client: Any) -> None:
    """The credentials secret, holding the Twilio emulator's test account (and its Verify
    Service)."""
    from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
    from local.twilio_emulator.verify_lookup import DEFAULT_VERIFY_SERVICE_SID

    secrets_client.create_secret(
        Name=SECRET_ID,
        SecretString=json.dumps(
            {
                "TWILIO_ACCOUNT": TEST_ACCOUNT_SID,
                "TWILIO_TOKEN": TEST_AUTH_TOKEN,
                "TWILIO_FROM": MAGIC_FROM,
                "TWILIO_VERIFY_SERVICE_SID": DEFAULT_VERIFY_SERVICE_SID,
            }
        ),
    )


def table_definition(logical_id: str) -> dict[str, Any]:
    """A DynamoDB table's key schema as template.yaml declares it."""
    from local.template import load_template

    properties = load_template()["Resources"][logical_id]["Properties"]
    return {key: properties[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode")}


def idempotency_table_definition() -> dict[str, Any]:
    """``IdempotencyTable``'s key schema as template.yaml declares it."""
    return table_definition("IdempotencyTable")


def create_idempotency_table(name: str) -> None:
    import boto3

    boto3.client("dynamodb").create_table(TableName=name, **idempotency_table_definition())


def create_opt_out_table(name: str) -> None:
    """``OptOutTable`` as template.yaml declares it."""
    import boto3

    boto3.client("dynamodb").create_table(TableName=name, **table_definition("OptOutTable"))


def create_event_capture(queue_name: str) -> str:
    """A rule on the default bus sending the connector's events to a new queue; its URL."""
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    bridge = boto3.client("events")
    bridge.put_rule(
        Name=f"{queue_name}-rule", EventPattern=json.dumps({"source": [CONNECTOR_SOURCE]})
    )
    bridge.put_targets(Rule=f"{queue_name}-rule", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    return url


def drain(queue_url: str) -> list[dict]:
    """Every message waiting on a queue, as JSON, removed from it."""
    import boto3

    sqs, received = boto3.client("sqs"), []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return received


def reset_layer_caches() -> None:
    """Forget the secret, settings, clients and triggers, as a new execution environment would."""
    from twilio_connector import clear_caches

    clear_caches()
