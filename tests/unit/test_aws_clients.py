"""The DynamoDB client's two shortcuts for the send ledger's batches (twilio_connector.aws):
requests as built, and the transaction's first table only for endpoint resolution. Each must
send exactly what botocore would: the same request, to the same endpoint."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config

from twilio_connector.aws import AS_BUILT, AsBuilt, aws_client, clear_clients

RESOURCE = {
    "sid": "SM" + "b" * 32,
    "body": "Rappel : votre rendez-vous \u00e0 9h \u2013 r\u00e9pondez OUI \U0001f600",
    "to": "+14155550100",
    "date_sent": None,
    "num_segments": "2",
    "subresource_uris": {"media": "/2010-04-01/Accounts/AC1/Messages/SM1/Media.json"},
}


def transaction(table: str) -> dict[str, Any]:
    """A claim batch as SendLedger._claim_fresh builds it."""
    actions = []
    for n in range(3):
        key = f"sms-send#hash:{'a' * 40}#+1415555{n:04d}"
        actions.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": {
                        "id": {"S": key},
                        "status": {"S": "started"},
                        "claim": {"S": "c" * 32},
                        "attempt_at": {"N": "1764950126.123"},
                        "lease_until": {"N": "1764950166.123"},
                        "expiration": {"N": "1765036526"},
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        actions.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": {
                        "id": {"S": f"sms-attempts#+1415555{n:04d}#{'d' * 40}#490263"},
                        "entries": {"SS": [f"1764950166.123|{key}"]},
                        "expiration": {"N": "1765040400"},
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
        )
    return {"TransactItems": actions}


def batch(table: str) -> dict[str, Any]:
    """An outcome batch as SendLedger._write_batch builds it."""
    item = {
        "id": {"S": f"sms-send#key:{'a' * 40}#+14155550100"},
        "status": {"S": "sent"},
        "claim": {"S": "c" * 32},
        "attempt_at": {"N": "1764950126.123"},
        "lease_until": {"N": "0.000"},
        "expiration": {"N": "1765036526"},
        "sid": {"S": RESOURCE["sid"]},
        "resource": {"S": json.dumps(RESOURCE)},
    }
    return {"RequestItems": {table: [{"PutRequest": {"Item": item}}]}}


@pytest.fixture
def clients() -> Any:
    """The connector's DynamoDB client and a plain one, as botocore builds it."""
    clear_clients()
    plain = boto3.client("dynamodb", config=Config(parameter_validation=False))
    yield aws_client("dynamodb"), plain
    clear_clients()


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("TransactWriteItems", transaction("send-ledger")),
        ("BatchWriteItem", batch("send-ledger")),
        # a binary attribute is not JSON as built: botocore's serializer encodes it
        (
            "BatchWriteItem",
            {"RequestItems": {"t": [{"PutRequest": {"Item": {"b": {"B": b"\x00"}}}}]}},
        ),
        # the opt-out lookup of a bulk send
        (
            "BatchGetItem",
            {
                "RequestItems": {
                    "opt-outs": {
                        "Keys": [
                            {"sender": {"S": "+15005550006"}, "recipient": {"S": f"+1415{n}"}}
                            for n in range(100)
                        ],
                        "ProjectionExpression": "recipient",
                        "ConsistentRead": True,
                    }
                }
            },
        ),
        # another operation is botocore's own
        ("PutItem", {"TableName": "t", "Item": {"id": {"S": "x"}, "b": {"B": b"\xff"}}}),
    ],
)
def test_the_ledgers_requests_are_what_botocore_sends(
    clients: tuple[Any, Any], operation: str, params: dict[str, Any]
) -> None:
    # Given the connector's client and botocore's
    connector, plain = clients
    model = plain.meta.service_model.operation_model(operation)
    # When both serialize the same parameters
    ours = connector._serializer.serialize_to_request(params, model)
    theirs = plain._serializer.serialize_to_request(params, model)
    # Then the requests are the same, byte for byte
    assert ours == theirs
    assert isinstance(connector._serializer, AsBuilt)
    assert operation in AS_BUILT["dynamodb"] or operation == "PutItem"


@pytest.mark.parametrize(
    "table",
    ["send-ledger", "arn:aws:dynamodb:us-east-1:111122223333:table/send-ledger"],
)
@pytest.mark.parametrize("mode", ["preferred", "disabled"])
def test_a_transaction_goes_where_botocore_would_send_it(
    monkeypatch: pytest.MonkeyPatch, table: str, mode: str
) -> None:
    # Given account-based endpoints on or off, and a table named or given by its ARN
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", mode)
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")
    clear_clients()
    connector = aws_client("dynamodb")
    plain = boto3.client("dynamodb")
    model = plain.meta.service_model.operation_model("TransactWriteItems")
    params = transaction(table)
    # When each resolves the transaction's endpoint
    ours = connector._resolve_endpoint_ruleset(
        connector.meta.service_model.operation_model("TransactWriteItems"), params, {}
    )
    theirs = plain._resolve_endpoint_ruleset(model, params, {})
    clear_clients()
    # Then it is the same, though the connector searched the first action only
    assert ours == theirs
    assert (
        connector.meta.service_model.operation_model("TransactWriteItems")
        .operation_context_parameters["ResourceArnList"]["path"]
        .startswith("TransactItems[:1].")
    )
    if mode == "preferred" and table.startswith("arn:"):
        assert "111122223333.ddb." in ours[0]
