"""local.moto_dynamodb: moto's transactions without whole-table copies keep their semantics."""

import pytest
from botocore.exceptions import ClientError

from local.resources import create_idempotency_table


@pytest.fixture
def table():
    import boto3
    from moto import mock_aws

    with mock_aws():
        create_idempotency_table("t")
        yield boto3.client("dynamodb")


def put(key: str, **extra) -> dict:
    return {"Put": {"TableName": "t", "Item": {"id": {"S": key}, **extra}}}


def test_a_cancelled_transaction_leaves_the_table_as_it_was(table):
    # Given an item, and a transaction that writes a new item, changes the old one and fails
    table.put_item(TableName="t", Item={"id": {"S": "old"}, "v": {"S": "before"}})
    refused = put("old", v={"S": "after"})
    refused["Put"]["ConditionExpression"] = "attribute_not_exists(id)"
    with pytest.raises(ClientError) as raised:
        table.transact_write_items(TransactItems=[put("new"), refused])

    # Then it is cancelled with its reasons, and nothing it wrote is left
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"]
    assert "Item" not in table.get_item(TableName="t", Key={"id": {"S": "new"}})
    old = table.get_item(TableName="t", Key={"id": {"S": "old"}})["Item"]
    assert old["v"]["S"] == "before"


def test_an_update_in_a_cancelled_transaction_is_rolled_back(table):
    table.put_item(TableName="t", Item={"id": {"S": "set"}, "entries": {"SS": ["a"]}})
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"id": {"S": "set"}},
            "UpdateExpression": "ADD entries :e",
            "ExpressionAttributeValues": {":e": {"SS": ["b"]}},
        }
    }
    refused = put("set-2")
    refused["Put"]["ConditionExpression"] = "attribute_exists(id)"
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=[update, refused])
    item = table.get_item(TableName="t", Key={"id": {"S": "set"}})["Item"]
    assert item["entries"]["SS"] == ["a"]


def test_a_transaction_costs_no_copy_of_the_table(table, monkeypatch):
    """The backup is of the named items only: a table of 2,000 items is not copied."""
    import copy

    for start in range(0, 2000, 25):
        table.batch_write_item(
            RequestItems={
                "t": [
                    {"PutRequest": {"Item": {"id": {"S": f"k{n}"}}}}
                    for n in range(start, start + 25)
                ]
            }
        )
    copied = []
    real = copy.deepcopy

    def counting(value, memo=None):
        copied.append(type(value).__name__)
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    table.transact_write_items(TransactItems=[put(f"n{n}") for n in range(100)])
    assert "Table" not in copied
